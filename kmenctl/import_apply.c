/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import-essl, register side: everything from the staging table to the
 * register happens in set-based statements inside the one transaction that
 * the COPY began, so a million rows cost a handful of round trips and a
 * failure anywhere leaves the register as it was.
 *
 * Rows whose (agenda, aifo_index) is already in kmen.client_aifo are matched:
 * only their systems are added. An AIFO that appears on several lines of the
 * file is one person: the first line makes the client, the later ones are
 * reported as duplicates and counted as matched (their systems are added).
 *
 * Rows without an AIFO (the gateway identified nobody, or several people)
 * make potential clients, one per source_id not yet in kmen.essl_source. */
#include <string.h>

#include "apr_strings.h"

#include "import.h"

/* Staging and sorting a million rows in memory rather than in temporary
 * files (temp_buffers must be set before the session's first temporary
 * table); JIT-compiling these one-off statements costs more than it saves.
 * All three are per-session and go with the connection. */
static const char *const session_settings =
    "SET temp_buffers = '512MB'; SET work_mem = '256MB'; SET jit = off";

static const char *const create_stage =
    "CREATE TEMP TABLE essl_stage (line integer NOT NULL, aifo_index bytea, "
    "aifo_sealed bytea, family_name text NOT NULL, given_name text NOT NULL, "
    "birth_date date NOT NULL, systems text[] NOT NULL, source_id text, "
    "client_id uuid NOT NULL) ON COMMIT DROP";

apr_hash_t *kmenctl_essl_known_sources(apr_pool_t *p, kmenctl_essl_import *im)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, im->agenda);
    PGresult *res = kmenctl_query(im->conn, "known rows",
                                  "SELECT source_id FROM kmen.essl_source WHERE agenda = $1", &ps);
    if (!res)
        return NULL;
    apr_hash_t *known = apr_hash_make(p);
    for (int i = 0; i < PQntuples(res); i++)
        apr_hash_set(known, apr_pstrdup(p, PQgetvalue(res, i, 0)), APR_HASH_KEY_STRING, "");
    PQclear(res);
    return known;
}

const char *kmenctl_essl_summary(apr_pool_t *p, const kmenctl_essl_import *im)
{
    long matched = im->good - im->added + im->potential_rows - im->potential;
    const char *line =
        apr_psprintf(p, "added %ld, matched %ld, rejected %ld", im->added, matched, im->rejected);
    if (!im->gateway && !im->potential_rows)
        return line;
    return apr_psprintf(p, "%s, identified %ld, potential %ld", line, im->identified,
                        im->potential);
}

int kmenctl_essl_stage_open(kmenctl_essl_import *im)
{
    if (kmenctl_exec(im->conn, "session settings", session_settings) ||
        kmenctl_exec(im->conn, "begin", "BEGIN") ||
        kmenctl_exec(im->conn, "staging table", create_stage))
        return -1;
    PGresult *res = PQexec(im->conn, "COPY essl_stage FROM STDIN");
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    if (!ok)
        kmenctl_fail("copy: %s", kmenctl_pg_message(res, im->conn));
    PQclear(res);
    return ok ? 0 : -1;
}

/* Later lines of an AIFO already seen in the file, with its first line. */
static const char *const find_duplicates =
    "CREATE TEMP TABLE essl_duplicate ON COMMIT DROP AS "
    "SELECT line, first_line FROM (SELECT line, min(line) OVER (PARTITION BY aifo_index) "
    "AS first_line FROM essl_stage WHERE aifo_index IS NOT NULL) w WHERE line <> first_line";

static int report_duplicates(kmenctl_essl_import *im)
{
    if (kmenctl_exec(im->conn, "analyze", "ANALYZE essl_stage") ||
        kmenctl_exec(im->conn, "duplicates", find_duplicates))
        return -1;
    PGresult *res = kmenctl_query(
        im->conn, "duplicates", "SELECT line, first_line FROM essl_duplicate ORDER BY line", NULL);
    if (!res)
        return -1;
    if (PQntuples(res) > 0)
        kmenctl_progress_clear(&im->progress);
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(stderr, "line %s: duplicate of line %s, counted as matched\n",
                PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

/* Client ids are drawn from the sequence up front so that the client row and
 * its AIFO row can be written by two plain INSERT … SELECT statements; drawn
 * in blind-index order, so that both tables' indexes grow at their right
 * edge instead of at a million random places. The table holds its rows in id
 * order, and a temporary table's sequential scan reads them back in that
 * order (never in parallel, never from the middle as a synchronised scan of a
 * shared table may): the INSERTs below need no ORDER BY, whose sort of every
 * row would cost them a third of their time. */
static const char *new_clients_sql(apr_pool_t *p, const char *agenda)
{
    return apr_pstrcat(p,
                       "CREATE TEMP TABLE essl_new ON COMMIT DROP AS "
                       "SELECT nextval('kmen.client_id_seq') AS id, n.* FROM (SELECT s.line, "
                       "s.aifo_index, s.aifo_sealed, s.family_name, s.given_name, s.birth_date, "
                       "s.systems, s.client_id FROM essl_stage s "
                       "WHERE s.aifo_index IS NOT NULL "
                       "AND NOT EXISTS (SELECT FROM essl_duplicate d WHERE d.line = s.line) "
                       "AND NOT EXISTS (SELECT FROM kmen.client_aifo a WHERE a.agenda = ",
                       agenda, " AND a.aifo_index = s.aifo_index) ORDER BY s.aifo_index) n", NULL);
}

static const char *const insert_clients =
    "INSERT INTO kmen.client (id, client_id, source, family_name, given_name, birth_date) "
    "SELECT id, client_id, 'essl', family_name, given_name, birth_date FROM essl_new";

/* ON CONFLICT: a first NIA login of the same person may have created the
 * AIFO since essl_new was built; that client wins and ours is removed. */
static const char *insert_aifos_sql(apr_pool_t *p, const char *agenda)
{
    return apr_pstrcat(p,
                       "WITH ins AS (INSERT INTO kmen.client_aifo "
                       "(agenda, aifo_index, aifo_sealed, client) SELECT ",
                       agenda,
                       ", aifo_index, aifo_sealed, id FROM essl_new ON CONFLICT DO NOTHING "
                       "RETURNING client) SELECT count(*), (SELECT count(*) FROM essl_new) "
                       "FROM ins",
                       NULL);
}

static const char *const drop_raced_clients =
    "DELETE FROM kmen.client c USING essl_new n WHERE c.id = n.id "
    "AND NOT EXISTS (SELECT FROM kmen.client_aifo a WHERE a.client = n.id)";

/* Foreign-key checks cost a third of a large import, and on the rows written
 * between unchecked(im, 1) and unchecked(im, 0) they cannot fail: those rows
 * reference clients this transaction has just inserted, which no other
 * session can see, let alone delete. session_replication_role = replica
 * skips them, as a logical-replication apply does. Only a superuser may set
 * it; anyone else takes the checked path. Never around a DELETE: ON DELETE
 * CASCADE is a trigger too. */
static int unchecked(kmenctl_essl_import *im, int on)
{
    const char *superuser = PQparameterStatus(im->conn, "is_superuser");
    if (!superuser || strcmp(superuser, "on") != 0)
        return 0;
    return kmenctl_exec(im->conn, "replication role",
                        on ? "SET LOCAL session_replication_role = replica"
                           : "SET LOCAL session_replication_role = origin");
}

static int add_clients(apr_pool_t *p, kmenctl_essl_import *im, const char *agenda)
{
    if (kmenctl_exec(im->conn, "new clients", new_clients_sql(p, agenda)) ||
        kmenctl_exec(im->conn, "insert clients", insert_clients) || unchecked(im, 1))
        return -1;
    PGresult *res = kmenctl_query(im->conn, "insert AIFO", insert_aifos_sql(p, agenda), NULL);
    if (!res || unchecked(im, 0)) {
        PQclear(res);
        return -1;
    }
    im->added = kmenctl_count(res, 0, 0);
    long planned = kmenctl_count(res, 0, 1);
    PQclear(res);
    im->raced = im->added < planned;
    if (im->raced && kmenctl_exec(im->conn, "concurrent logins", drop_raced_clients))
        return -1;
    return 0;
}

/* A new client's systems: no conflict is possible but a system named twice
 * on one line. */
static const char *const insert_new_systems = "INSERT INTO kmen.client_system (client, system) "
                                              "SELECT DISTINCT n.id, sys.name FROM essl_new n "
                                              "CROSS JOIN LATERAL unnest(n.systems) AS sys(name) "
                                              "WHERE cardinality(n.systems) > 0 ORDER BY 1, 2";

/* The systems of the lines that did not make a client (matched, duplicates)
 * go to the client that holds their AIFO; all lines do when some_new is 0. */
static const char *insert_other_systems_sql(apr_pool_t *p, const char *agenda, int some_new)
{
    return apr_pstrcat(p,
                       "INSERT INTO kmen.client_system (client, system) "
                       "SELECT a.client, sys.name FROM essl_stage s "
                       "JOIN kmen.client_aifo a ON a.agenda = ",
                       agenda,
                       " AND a.aifo_index = s.aifo_index "
                       "CROSS JOIN LATERAL unnest(s.systems) AS sys(name) "
                       "WHERE cardinality(s.systems) > 0 ",
                       some_new ? "AND NOT EXISTS (SELECT FROM essl_new n WHERE n.line = s.line) "
                                : "",
                       "ORDER BY 1, 2 ON CONFLICT DO NOTHING", NULL);
}

/* A new client's systems. After a lost race some clients of essl_new are
 * gone again: then every line's systems take add_other_systems' way. */
static int add_new_systems(kmenctl_essl_import *im)
{
    if (im->added == 0 || im->raced)
        return 0;
    if (unchecked(im, 1) || kmenctl_exec(im->conn, "insert systems", insert_new_systems))
        return -1;
    return unchecked(im, 0);
}

/* The other lines' systems: ON CONFLICT needs client_system's primary key,
 * so on an empty register this comes after kmenctl_essl_bulk_end. */
static int add_other_systems(apr_pool_t *p, kmenctl_essl_import *im, const char *agenda)
{
    int some_new = im->added > 0 && !im->raced;
    if (some_new && im->good == im->added)
        return 0; /* every line made a new client */
    return kmenctl_exec(im->conn, "insert systems", insert_other_systems_sql(p, agenda, some_new));
}

/* --- potential clients: the rows no AIFO was found for ------------------------------------ */

static const char *new_potentials_sql(apr_pool_t *p, const char *agenda)
{
    return apr_pstrcat(
        p,
        "CREATE TEMP TABLE essl_potential ON COMMIT DROP AS "
        "SELECT nextval('kmen.client_id_seq') AS id, n.* FROM (SELECT DISTINCT ON "
        "(s.source_id) s.source_id, s.family_name, s.given_name, s.birth_date, s.client_id "
        "FROM essl_stage s WHERE s.aifo_index IS NULL AND NOT EXISTS (SELECT "
        "FROM kmen.essl_source e WHERE e.agenda = ",
        agenda, " AND e.source_id = s.source_id) ORDER BY s.source_id, s.line) n", NULL);
}

static const char *const insert_potentials =
    "INSERT INTO kmen.client (id, client_id, source, potential, family_name, given_name, "
    "birth_date) SELECT id, client_id, 'essl', true, family_name, given_name, birth_date "
    "FROM essl_potential ORDER BY id";

static const char *record_sources_sql(apr_pool_t *p, const char *agenda)
{
    return apr_pstrcat(p,
                       "WITH ins AS (INSERT INTO kmen.essl_source (agenda, source_id, client_id) "
                       "SELECT ",
                       agenda,
                       ", n.source_id, c.client_id FROM essl_potential n JOIN kmen.client c ON "
                       "c.id = n.id RETURNING 1) SELECT count(*) FROM ins",
                       NULL);
}

/* Every potential row's systems, new or known, to the client its source_id
 * made (or, after a merge, to the survivor). */
static const char *potential_systems_sql(apr_pool_t *p, const char *agenda)
{
    return apr_pstrcat(p,
                       "INSERT INTO kmen.client_system (client, system) "
                       "SELECT k.client, sys.name FROM essl_stage s JOIN kmen.essl_source e ON "
                       "e.agenda = ",
                       agenda,
                       " AND e.source_id = s.source_id "
                       "CROSS JOIN LATERAL (SELECT kmen.client_of(e.client_id) AS client) k "
                       "CROSS JOIN LATERAL unnest(s.systems) AS sys(name) "
                       "WHERE s.aifo_index IS NULL AND k.client IS NOT NULL "
                       "AND cardinality(s.systems) > 0 ORDER BY 1, 2 ON CONFLICT DO NOTHING",
                       NULL);
}

static int add_potentials(apr_pool_t *p, kmenctl_essl_import *im, const char *agenda)
{
    if (!im->potential_rows)
        return 0;
    if (kmenctl_exec(im->conn, "new potential clients", new_potentials_sql(p, agenda)) ||
        kmenctl_exec(im->conn, "insert potential clients", insert_potentials))
        return -1;
    PGresult *res = kmenctl_query(im->conn, "record rows", record_sources_sql(p, agenda), NULL);
    if (!res)
        return -1;
    im->potential = kmenctl_count(res, 0, 0);
    PQclear(res);
    return kmenctl_exec(im->conn, "potential systems", potential_systems_sql(p, agenda));
}

static int audit_and_commit(apr_pool_t *p, kmenctl_essl_import *im)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, kmenctl_essl_summary(p, im));
    PGresult *res = kmenctl_query(im->conn, "audit",
                                  "INSERT INTO kmen.audit (event, outcome, detail) "
                                  "VALUES ('import_essl', 'ok', $1)",
                                  &ps);
    if (!res)
        return -1;
    PQclear(res);
    return kmenctl_exec(im->conn, "commit", "COMMIT");
}

int kmenctl_essl_apply(kmenctl_essl_import *im)
{
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    /* The agenda is validated against ^A[0-9]{1,6}$; quoting it anyway. */
    char *quoted = PQescapeLiteral(im->conn, im->agenda, strlen(im->agenda));
    const char *agenda = apr_pstrdup(p, quoted ? quoted : "NULL");
    PQfreemem(quoted);
    kmenctl_progress_status(&im->progress, "import-essl: writing the register...");
    int rc = report_duplicates(im);
    if (!rc)
        rc = kmenctl_essl_bulk_begin(im);
    if (!rc)
        rc = add_clients(p, im, agenda);
    if (!rc)
        rc = add_new_systems(im);
    if (!rc)
        rc = kmenctl_essl_bulk_end(im);
    if (!rc)
        rc = add_other_systems(p, im, agenda);
    if (!rc)
        rc = add_potentials(p, im, agenda);
    if (!rc)
        rc = audit_and_commit(p, im);
    kmenctl_progress_end(&im->progress);
    apr_pool_destroy(p);
    return rc;
}
