/* SPDX-License-Identifier: GPL-2.0-or-later */
/* purge: removes what can no longer be used: sessions past their absolute
 * lifetime (the idle timeout is a per-location setting kmenctl cannot know),
 * assertion IDs past the time they could be replayed, AuthnRequests nobody
 * answered in time, pending eIDAS verifications nobody completed in time,
 * and with --audit-days, audit rows older than that. One transaction; the
 * purge itself leaves an audit row. */
#include <errno.h>
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

static int purge(apr_pool_t *p, PGconn *conn, const char *audit_days)
{
    const char *detail = "";
    if (kmenctl_exec(conn, "begin", "BEGIN"))
        return -1;
    for (int i = 0; i < EXPIRED; i++) {
        long n = delete_rows(conn, expired[i].label, expired[i].sql, NULL);
        if (n < 0)
            return -1;
        printf("%-21s %10ld\n", expired[i].label, n);
        detail = apr_psprintf(p, "%s%s%s %ld", detail, i ? ", " : "", expired[i].label, n);
    }
    if (audit_days) {
        kmenctl_params ps = {0};
        kmenctl_param_text(&ps, audit_days);
        long n =
            delete_rows(conn, "audit rows",
                        "DELETE FROM kmen.audit WHERE at < now() - make_interval(days => $1)", &ps);
        if (n < 0)
            return -1;
        printf("%-21s %10ld\n", "audit rows", n);
        detail = apr_psprintf(p, "%s, audit rows %ld", detail, n);
    }
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

static int days_valid(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 && n <= 36500;
}

int kmenctl_purge(apr_pool_t *p, const kmenctl_args *args)
{
    if (args->audit_days && !days_valid(args->audit_days))
        return kmenctl_usage_error("purge", "--audit-days takes a number of days (0 to 36500)");
    PGconn *conn = kmenctl_connect(args->positional[0]);
    if (!conn)
        return KMENCTL_FAILURE;
    int rc = purge(p, conn, args->audit_days);
    PQfinish(conn);
    return rc ? KMENCTL_FAILURE : KMENCTL_OK;
}
