/* SPDX-License-Identifier: GPL-2.0-or-later */
/* merge: clients that turned out to be one person merge into one survivor
 * (--into). Each listed client is one call of kmen.merge_clients, so one
 * transaction with its audit row: its links move to the survivor, its
 * identifier becomes an alias that still resolves, and a conflict (an AIFO
 * in the same agenda on both sides) is refused by the function. Client
 * identifiers are public: they may be printed. */
#include <string.h>

#include "apr_strings.h"

#include "kmenctl.h"

#define UUID_LEN 36

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hexadecimal digits, as kmen.client.client_id prints. */
static int is_client_id(const char *s)
{
    if (strlen(s) != UUID_LEN)
        return 0;
    for (int i = 0; i < UUID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return 0;
    }
    return 1;
}

static int check_usage(const kmenctl_args *args)
{
    if (!args->into)
        return kmenctl_usage_error("merge", "--into is required");
    if (!is_client_id(args->into))
        return kmenctl_usage_error("merge", "--into is not a client identifier (a UUID)");
    for (int i = 1; i < args->npositional; i++)
        if (!is_client_id(args->positional[i]))
            return kmenctl_usage_error("merge", "argument %d is not a client identifier (a UUID)",
                                       i + 1);
    return 0;
}

/* What an outcome of kmen.merge_clients other than merged means. */
static const char *refusal(const char *outcome)
{
    if (strcmp(outcome, "conflict") == 0)
        return "conflict: both hold an AIFO in the same agenda";
    return outcome; /* unknown, same */
}

/* 1 merged, 0 refused (reported), -1 the database failed. */
static int merge_one(PGconn *conn, const char *into, const char *from, const char *request_id)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, into);
    kmenctl_param_text(&ps, from);
    kmenctl_param_text(&ps, request_id);
    PGresult *res = kmenctl_query(
        conn, from, "SELECT kmen.merge_clients($1::uuid, $2::uuid, 'kmenctl merge', $3)", &ps);
    if (!res)
        return -1;
    const char *outcome = PQgetvalue(res, 0, 0);
    int merged = strcmp(outcome, "merged") == 0;
    if (merged)
        printf("%s: merged\n", from);
    else
        fprintf(stderr, "%s: %s\n", from, refusal(outcome));
    PQclear(res);
    return merged;
}

static int merge_all(apr_pool_t *p, PGconn *conn, const kmenctl_args *args)
{
    const char *token = kmen_random_token(p, 6);
    int refused = 0;
    if (!token)
        return -1;
    const char *run = apr_pstrcat(p, "kmenctl-merge ", token, NULL);
    for (int i = 1; i < args->npositional; i++) {
        const char *request_id = apr_psprintf(p, "%s:%d", run, i);
        int merged = merge_one(conn, args->into, args->positional[i], request_id);
        if (merged < 0)
            return -1;
        refused += !merged;
    }
    return refused ? 1 : 0;
}

int kmenctl_merge(apr_pool_t *p, const kmenctl_args *args)
{
    int rc = check_usage(args);
    if (rc)
        return rc;
    PGconn *conn = kmenctl_connect(args->positional[0]);
    rc = conn ? merge_all(p, conn, args) : -1;
    PQfinish(conn);
    return rc ? KMENCTL_FAILURE : KMENCTL_OK;
}
