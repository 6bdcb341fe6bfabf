/* SPDX-License-Identifier: GPL-2.0-or-later */
/* purge: removes what can no longer be used: sessions past their absolute
 * lifetime (the idle timeout is a per-location setting kmenctl cannot know),
 * assertion IDs past the time they could be replayed, AuthnRequests nobody
 * answered in time, pending eIDAS verifications nobody completed in time,
 * and with --audit-days, audit rows older than that. One transaction; the
 * purge itself leaves an audit row. --dry-run runs the same deletions and
 * rolls them back: its counts are exactly what a purge would delete then. */
#include <stdlib.h>

#include "apr_strings.h"

#include "kmenctl.h"

static const struct {
    const char *label;
    const char *sql;
} expired[] = {
    {"sessions", "DELETE FROM kmen.session WHERE expires < now()"},
    {"replay entries", "DELETE FROM kmen.replay WHERE expires < now()"},
    {"authn requests", "DELETE FROM kmen.authn_request WHERE expires < now()"},
    {"pending verifications", "DELETE FROM kmen.pending WHERE expires < now()"},
};
#define EXPIRED (int)(sizeof(expired) / sizeof(expired[0]))

static long delete_rows(PGconn *conn, const char *what, const char *sql, const kmenctl_params *ps)
{
    PGresult *res = kmenctl_query(conn, what, sql, ps);
    if (!res)
        return -1;
    long n = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}

/* Prints one count and adds it to *detail, the audit row's summary. */
static void report_count(apr_pool_t *p, const char *label, long n, const char **detail)
{
    printf("%-21s %10ld\n", label, n);
    *detail = apr_psprintf(p, "%s%s%s %ld", *detail, **detail ? ", " : "", label, n);
}

/* The deletions inside the open transaction; 0 or -1 after printing why. */
static int delete_all(apr_pool_t *p, PGconn *conn, const char *audit_days, const char **detail)
{
    *detail = "";
    for (int i = 0; i < EXPIRED; i++) {
        long n = delete_rows(conn, expired[i].label, expired[i].sql, NULL);
        if (n < 0)
            return -1;
        report_count(p, expired[i].label, n, detail);
    }
    if (!audit_days)
        return 0;
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, audit_days);
    long n =
        delete_rows(conn, "audit rows",
                    "DELETE FROM kmen.audit WHERE at < now() - make_interval(days => $1)", &ps);
    if (n < 0)
        return -1;
    report_count(p, "audit rows", n, detail);
    return 0;
}

/* The audit row of a purge, then the commit. */
static int record_purge(PGconn *conn, const char *detail)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, detail);
    PGresult *res = kmenctl_query(conn, "audit",
                                  "INSERT INTO kmen.audit (event, outcome, detail) "
                                  "VALUES ('purge', 'ok', $1)",
                                  &ps);
    if (!res)
        return -1;
    PQclear(res);
    return kmenctl_exec(conn, "commit", "COMMIT");
}

static int purge(apr_pool_t *p, PGconn *conn, const kmenctl_args *args)
{
    const char *detail;
    if (kmenctl_exec(conn, "begin", "BEGIN") || delete_all(p, conn, args->audit_days, &detail))
        return -1;
    if (!args->dry_run)
        return record_purge(conn, detail);
    if (kmenctl_exec(conn, "rollback", "ROLLBACK"))
        return -1;
    printf("dry run: nothing was deleted\n");
    return 0;
}

int kmenctl_purge(apr_pool_t *p, const kmenctl_args *args)
{
    /* 0 would delete the whole audit log, unasked; without --audit-days it is all kept. */
    if (args->audit_days && kmenctl_days(args->audit_days) < 0)
        return kmenctl_usage_error("purge", "--audit-days takes a number of days from 1 to 36500 "
                                            "(0 would delete every audit row)");
    PGconn *conn = kmenctl_connect(args->positional[0]);
    if (!conn)
        return KMENCTL_FAILURE;
    int rc = purge(p, conn, args);
    PQfinish(conn);
    return rc ? KMENCTL_FAILURE : KMENCTL_OK;
}
