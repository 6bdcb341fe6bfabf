/* SPDX-License-Identifier: GPL-2.0-or-later */
/* migrate: applies the numbered sql/NNN_*.sql files above the database's
 * highest kmen.schema_migration version, each in its own transaction. Every
 * migration records its own number; a file that does not is rolled back, so
 * a second run can never apply it again by mistake. */
#include <stdlib.h>
#include <string.h>

#include "apr_file_info.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "kmenctl.h"

#define INSTALLED_SQL_DIR "/usr/share/mod-kmen/sql"
#define SOURCE_SQL_DIR "sql"

typedef struct {
    long number;
    const char *name;
} migration;

/* NNN_anything.sql -> NNN; -1 for any other name. */
static long migration_number(const char *name)
{
    size_t len = strlen(name);
    char *end;
    if (len < 6 || name[0] < '0' || name[0] > '9' || strcmp(name + len - 4, ".sql") != 0)
        return -1;
    long n = strtol(name, &end, 10);
    return *end == '_' ? n : -1;
}

static int by_number(const void *a, const void *b)
{
    long x = ((const migration *)a)->number, y = ((const migration *)b)->number;
    return (x > y) - (x < y);
}

/* The migrations in dir, sorted; NULL after printing why not. */
static apr_array_header_t *list_migrations(apr_pool_t *p, const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t entry;
    char err[256];
    apr_status_t rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS) {
        kmenctl_fail("--sql-dir %s: %s", dir, apr_strerror(rv, err, sizeof(err)));
        return NULL;
    }
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(migration));
    while (apr_dir_read(&entry, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        long n = migration_number(entry.name);
        if (n >= 0 && entry.filetype == APR_REG) {
            migration *m = apr_array_push(all);
            m->number = n;
            m->name = apr_pstrdup(p, entry.name);
        }
    }
    apr_dir_close(d);
    qsort(all->elts, (size_t)all->nelts, sizeof(migration), by_number);
    for (int i = 1; i < all->nelts; i++) {
        const migration *m = &APR_ARRAY_IDX(all, i, migration);
        if (m->number == APR_ARRAY_IDX(all, i - 1, migration).number) {
            kmenctl_fail("%s: two migrations numbered %ld", dir, m->number);
            return NULL;
        }
    }
    return all;
}

/* The highest applied version: 0 for a database without the kmen schema. */
static long current_version(PGconn *conn)
{
    PGresult *res = kmenctl_query(conn, "schema version",
                                  "SELECT to_regclass('kmen.schema_migration') IS NOT NULL", NULL);
    if (!res)
        return -1;
    int present = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!present)
        return 0;
    res = kmenctl_query(conn, "schema version",
                        "SELECT coalesce(max(version), 0) FROM kmen.schema_migration", NULL);
    if (!res)
        return -1;
    long version = kmenctl_count(res, 0, 0);
    PQclear(res);
    return version;
}

/* Migration errors are printed whole: the position and context help, and
 * no secret can be in them. */
static int run_file(PGconn *conn, const char *name, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = kmenctl_succeeded(res);
    if (!ok)
        kmenctl_fail("%s: %s", name, PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

static int apply_migration(apr_pool_t *p, PGconn *conn, const char *dir, const migration *m)
{
    apr_size_t len;
    const char *path = apr_pstrcat(p, dir, "/", m->name, NULL);
    const char *sql = kmenctl_read_file(p, path, &len);
    if (!sql || kmenctl_exec(conn, "begin", "BEGIN"))
        return -1;
    if (run_file(conn, m->name, sql)) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    if (current_version(conn) != m->number) {
        kmenctl_fail("%s did not record version %ld in kmen.schema_migration: rolled back", m->name,
                     m->number);
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    return kmenctl_exec(conn, "commit", "COMMIT");
}

static const char *default_sql_dir(apr_pool_t *p)
{
    apr_finfo_t info;
    if (apr_stat(&info, INSTALLED_SQL_DIR, APR_FINFO_TYPE, p) == APR_SUCCESS &&
        info.filetype == APR_DIR)
        return INSTALLED_SQL_DIR;
    return SOURCE_SQL_DIR; /* run from the source tree */
}

static int migrate_database(apr_pool_t *p, PGconn *conn, const char *dir)
{
    apr_array_header_t *all = list_migrations(p, dir);
    long version = all ? current_version(conn) : -1;
    int applied = 0;
    if (version < 0)
        return -1;
    for (int i = 0; i < all->nelts; i++) {
        const migration *m = &APR_ARRAY_IDX(all, i, migration);
        if (m->number <= version)
            continue;
        if (apply_migration(p, conn, dir, m))
            return -1;
        printf("applied %s\n", m->name);
        version = m->number;
        applied++;
    }
    if (!applied)
        printf("nothing to apply: ");
    printf("schema version %ld\n", version);
    return 0;
}

int kmenctl_migrate(apr_pool_t *p, const kmenctl_args *args)
{
    const char *dir = args->sql_dir ? args->sql_dir : default_sql_dir(p);
    PGconn *conn = kmenctl_connect(args->positional[0]);
    if (!conn)
        return KMENCTL_FAILURE;
    /* The migrations' own NOTICEs (e.g. "schema exists") are not news here. */
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    int rc = migrate_database(p, conn, dir);
    PQfinish(conn);
    return rc ? KMENCTL_FAILURE : KMENCTL_OK;
}
