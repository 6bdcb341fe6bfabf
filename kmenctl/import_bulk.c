/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import-essl into an empty register: the indexes of the tables it fills are
 * dropped before the rows and built again after them.
 *
 * Filled row by row, an index whose keys are random (the client's UUID) is
 * touched at a random leaf page by every insert: once it outgrows
 * shared_buffers, ten million rows cost ten million random page reads and
 * writes, and a full-page image in the WAL for every page touched after each
 * checkpoint. Built once from the sorted keys, it costs a few seconds. The
 * indexes on ordered keys are rebuilt as well: one sorted build is cheaper
 * than ten million descents and WAL records.
 *
 * The definitions are read from the catalog (pg_get_constraintdef,
 * pg_get_indexdef) and kept in a temporary table, so a later migration's
 * index is dropped and rebuilt as it was defined. Left alone: foreign keys,
 * and the indexes they depend on (kmen.client's primary key), which the other
 * tables' foreign keys would have to be dropped with.
 *
 * Everything happens inside the import's one transaction: a failure or an
 * interruption rolls the drops back with the rows. The price is the ACCESS
 * EXCLUSIVE lock that DROP INDEX takes on the three tables, held until the
 * commit: a login waits for the import to end. Hence the empty register only:
 * there, nobody can be waiting to log in as a client the import would find. */
#include <string.h>

#include "import.h"

static const char *const lock_tables =
    "LOCK TABLE kmen.client, kmen.client_aifo, kmen.client_system IN ACCESS EXCLUSIVE MODE";

static const char *const register_empty = "SELECT NOT EXISTS (SELECT FROM kmen.client)";

/* Primary-key, unique and exclusion constraints, then the indexes that belong
 * to no constraint; neither when a foreign key depends on the index. */
static const char *const save_definitions =
    "CREATE TEMP TABLE essl_rebuilt ON COMMIT DROP AS "
    "WITH filled(rel) AS (VALUES ('kmen.client'::regclass), ('kmen.client_aifo'::regclass), "
    "('kmen.client_system'::regclass)) "
    "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) "
    "AS drop_sql, format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, "
    "c.conname, pg_get_constraintdef(c.oid)) AS create_sql "
    "FROM pg_constraint c JOIN filled ON filled.rel = c.conrelid "
    "WHERE c.contype IN ('p', 'u', 'x') AND NOT EXISTS (SELECT FROM pg_constraint f "
    "WHERE f.contype = 'f' AND f.conindid = c.conindid) "
    "UNION ALL SELECT format('DROP INDEX %s', i.indexrelid::regclass), "
    "pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN filled ON filled.rel = i.indrelid "
    "WHERE NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)";

/* Runs one column of essl_rebuilt, statement by statement, on the server. */
static const char *const run_drops =
    "DO $$DECLARE s text; BEGIN FOR s IN SELECT drop_sql FROM essl_rebuilt LOOP "
    "EXECUTE s; END LOOP; END$$";

/* The sorts of the builds in memory; the setting ends with the transaction. */
static const char *const run_creates =
    "SET LOCAL maintenance_work_mem = '1GB'; "
    "DO $$DECLARE s text; BEGIN FOR s IN SELECT create_sql FROM essl_rebuilt LOOP "
    "EXECUTE s; END LOOP; END$$";

/* 1 when kmen.client has no row, 0 when it has, -1 on an error. */
static int register_is_empty(kmenctl_essl_import *im)
{
    PGresult *res = kmenctl_query(im->conn, "empty register", register_empty, NULL);
    if (!res)
        return -1;
    int empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return empty;
}

int kmenctl_essl_bulk_begin(kmenctl_essl_import *im)
{
    /* Checked before the lock, so that a populated register is never locked;
     * again under it, in case a first login came in between. */
    int empty = register_is_empty(im);
    if (empty == 1 && kmenctl_exec(im->conn, "lock", lock_tables))
        return -1;
    if (empty == 1)
        empty = register_is_empty(im);
    if (empty != 1)
        return empty;
    if (kmenctl_exec(im->conn, "index definitions", save_definitions) ||
        kmenctl_exec(im->conn, "drop indexes", run_drops))
        return -1;
    im->bulk = 1;
    kmenctl_progress_clear(&im->progress);
    fprintf(stderr, "empty register: indexes built after the rows; logins wait until the "
                    "import ends\n");
    kmenctl_progress_status(&im->progress, "import-essl: writing the register...");
    return 0;
}

int kmenctl_essl_bulk_end(kmenctl_essl_import *im)
{
    if (!im->bulk)
        return 0;
    kmenctl_progress_status(&im->progress, "import-essl: building the indexes...");
    return kmenctl_exec(im->conn, "build indexes", run_creates);
}
