/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats: one aligned line per count, all counted in one query (one snapshot,
 * one round trip). Reads no identifier, so it needs no key file. */
#include <string.h>

#include "apr_strings.h"

#include "kmenctl.h"

static const struct {
    const char *label;
    const char *count;
} counts[] = {
    {"clients", "SELECT count(*) FROM kmen.client"},
    {"  from the filing service (essl)", "SELECT count(*) FROM kmen.client WHERE source = 'essl'"},
    {"  from NIA (nia)", "SELECT count(*) FROM kmen.client WHERE source = 'nia'"},
    {"  from eIDAS (eidas)", "SELECT count(*) FROM kmen.client WHERE source = 'eidas'"},
    {"  from an unofficial contact (contact)",
     "SELECT count(*) FROM kmen.client WHERE source = 'contact'"},
    {"  potential (unverified)", "SELECT count(*) FROM kmen.client WHERE potential"},
    {"  verified", "SELECT count(*) FROM kmen.client WHERE NOT potential"},
    {"  with a linked BSI", "SELECT count(DISTINCT client) FROM kmen.client_bsi"},
    {"  deceased", "SELECT count(*) FROM kmen.client WHERE deceased IS NOT NULL"},
    {"merged identifiers (aliases)", "SELECT count(*) FROM kmen.client_alias"},
    {"eIDAS pseudonyms", "SELECT count(*) FROM kmen.client_pseudonym"},
    {"AIFO links", "SELECT count(*) FROM kmen.client_aifo"},
    {"system links", "SELECT count(*) FROM kmen.client_system"},
    {"sessions live", "SELECT count(*) FROM kmen.session WHERE expires > now()"},
    {"sessions expired", "SELECT count(*) FROM kmen.session WHERE expires <= now()"},
    {"outstanding requests", "SELECT count(*) FROM kmen.authn_request WHERE expires > now()"},
    {"expired requests", "SELECT count(*) FROM kmen.authn_request WHERE expires <= now()"},
    {"pending verifications", "SELECT count(*) FROM kmen.pending WHERE expires > now()"},
    {"evidence requests", "SELECT count(*) FROM kmen.evidence"},
    {"replay entries", "SELECT count(*) FROM kmen.replay"},
    {"audit rows", "SELECT count(*) FROM kmen.audit"},
};
#define COUNTS (int)(sizeof(counts) / sizeof(counts[0]))

static const char *stats_sql(apr_pool_t *p)
{
    const char *sql = "SELECT ";
    for (int i = 0; i < COUNTS; i++)
        sql = apr_pstrcat(p, sql, i ? ", (" : "(", counts[i].count, ")", NULL);
    return sql;
}

static void print_counts(const PGresult *res)
{
    int width = 0;
    for (int i = 0; i < COUNTS; i++)
        if ((int)strlen(counts[i].label) > width)
            width = (int)strlen(counts[i].label);
    for (int i = 0; i < COUNTS; i++)
        printf("%-*s %10s\n", width, counts[i].label, PQgetvalue(res, 0, i));
}

int kmenctl_stats(apr_pool_t *p, const kmenctl_args *args)
{
    PGconn *conn = kmenctl_connect(args->positional[0]);
    if (!conn)
        return KMENCTL_FAILURE;
    PGresult *res = kmenctl_query(conn, "stats", stats_sql(p), NULL);
    if (res)
        print_counts(res);
    PQclear(res);
    PQfinish(conn);
    return res ? KMENCTL_OK : KMENCTL_FAILURE;
}
