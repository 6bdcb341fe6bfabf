/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libpq helpers shared by the commands. */
#include <stdlib.h>

#include "kmenctl.h"

PGconn *kmenctl_connect(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        kmenctl_fail("cannot connect to the database: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

const char *kmenctl_pg_message(const PGresult *res, PGconn *conn)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return msg ? msg : PQerrorMessage(conn);
}

int kmenctl_succeeded(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

PGresult *kmenctl_try(PGconn *conn, const char *sql, const kmenctl_params *params)
{
    static const kmenctl_params none = {0, {NULL}, {0}, {0}};
    const kmenctl_params *ps = params ? params : &none;
    return PQexecParams(conn, sql, ps->n, NULL, ps->values, ps->lengths, ps->formats, 0);
}

PGresult *kmenctl_query(PGconn *conn, const char *what, const char *sql,
                        const kmenctl_params *params)
{
    PGresult *res = kmenctl_try(conn, sql, params);
    if (kmenctl_succeeded(res))
        return res;
    kmenctl_fail("%s: %s", what, kmenctl_pg_message(res, conn));
    PQclear(res);
    return NULL;
}

/* The simple protocol: sql may hold several statements. */
int kmenctl_exec(PGconn *conn, const char *what, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = kmenctl_succeeded(res);
    if (!ok)
        kmenctl_fail("%s: %s", what, kmenctl_pg_message(res, conn));
    PQclear(res);
    return ok ? 0 : -1;
}

void kmenctl_param_text(kmenctl_params *ps, const char *value)
{
    ps->values[ps->n] = value;
    ps->lengths[ps->n] = 0;
    ps->formats[ps->n] = 0;
    ps->n++;
}

/* bytea travels in binary: no hex round trip, no escaping. */
void kmenctl_param_bytes(kmenctl_params *ps, const unsigned char *value, apr_size_t len)
{
    ps->values[ps->n] = (const char *)value;
    ps->lengths[ps->n] = (int)len;
    ps->formats[ps->n] = 1;
    ps->n++;
}

void kmenctl_param_null(kmenctl_params *ps)
{
    ps->values[ps->n] = NULL;
    ps->lengths[ps->n] = 0;
    ps->formats[ps->n] = 0;
    ps->n++;
}

long kmenctl_count(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtol(PQgetvalue(res, row, col), NULL, 10);
}
