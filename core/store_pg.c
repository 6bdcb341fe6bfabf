/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libpq connection pool per child and the calls of the sql/ functions.
 *
 * Every statement is prepared once per connection and every value travels
 * as a parameter, never inside the SQL text. A connection that breaks (the
 * database restarted) is dropped and the call retried once on a fresh one, so
 * httpd recovers without a restart.
 *
 * A request may make its calls one transaction (kmen_store_begin): they then
 * run on one pinned connection and are never retried, since a retry on
 * another connection would write half of the work twice or half of it not at
 * all; the transaction's end commits them, or rolls them back when one
 * failed. */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "apr_lib.h"
#include "apr_reslist.h"
#include "apr_strings.h"

#include "conf_check.h"
#include "context.h"
#include "crypto.h"
#include "store_pg.h"

struct kmen_store {
    const char *conninfo;
    int pool_size;
    apr_reslist_t *conns;
};

typedef enum {
    ST_PING = 0,
    ST_REQUEST_ISSUE,
    ST_REQUEST_BY_STATE,
    ST_LOGIN_CONSUME,
    ST_SESSION_CREATE,
    ST_SESSION_FETCH,
    ST_SESSION_DELETE,
    ST_SESSION_DELETE_SUBJECT,
    ST_AUDIT,
    ST_RESOLVE_BSI,
    ST_RESOLVE_FIRST,
    ST_LINK_SYSTEM,
    ST_AGENDA_AIFO,
    ST_AGENDA_AIFO_STORE,
    ST_RESOLVE_PSEUDONYM,
    ST_FOREIGNER_ACCEPT,
    ST_PENDING_CREATE,
    ST_PENDING_COMPLETE,
    ST_SESSION_UPDATE,
    ST_EVIDENCE_REQUEST,
    ST_EVIDENCE_DELIVER,
    ST_EVIDENCE_STATES,
    ST_EVIDENCE_DOCUMENT,
    ST_POTENTIAL_CREATE,
    ST_LINK_POTENTIAL,
    ST_AUDIT_SUMMARY,
    ST_MESSAGE_FIRST_SEEN,
    ST_RESOLVE_BSI_ONLY,
    ST_ATTACH_AIFO,
    ST_AUDIT_CLIENT,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_COUNT
} statement_id;

static const struct {
    const char *name;
    const char *sql;
} statements[ST_COUNT] = {
    /* A standby answers reads but refuses every login: not healthy. */
    [ST_PING] = {"kmen_ping", "SELECT kmen.ping() WHERE NOT pg_is_in_recovery()"},
    [ST_REQUEST_ISSUE] = {"kmen_request_issue",
                          "SELECT kmen.request_issue($1, $2::bytea, $3, $4::integer, $5::integer, "
                          "$6::boolean)"},
    [ST_REQUEST_BY_STATE] = {"kmen_request_by_state", "SELECT kmen.request_by_state($1::bytea)"},
    [ST_LOGIN_CONSUME] = {"kmen_login_consume",
                          "SELECT outcome, return_to, min_loa, eidas_accept FROM "
                          "kmen.login_consume($1, $2, to_timestamp($3::double precision))"},
    [ST_SESSION_CREATE] =
        {"kmen_session_create",
         "SELECT kmen.session_create($1::bytea, $2::bytea, $3, $4::bytea, $5::integer)"},
    [ST_SESSION_FETCH] =
        {"kmen_session_fetch",
         "SELECT payload, remaining FROM kmen.session_fetch($1::bytea, $2::integer)"},
    [ST_SESSION_DELETE] = {"kmen_session_delete", "SELECT kmen.session_delete($1::bytea)"},
    [ST_SESSION_DELETE_SUBJECT] = {"kmen_session_delete_subject",
                                   "SELECT kmen.session_delete_subject($1::bytea, $2)"},
    [ST_AUDIT] = {"kmen_audit", "SELECT kmen.audit_append($1, $2, $3, $4)"},
    [ST_RESOLVE_BSI] = {"kmen_resolve_bsi",
                        "SELECT client_id, systems, merged_from, has_evidence, bsi_only "
                        "FROM kmen.resolve_bsi($1::bytea, $2)"},
    [ST_RESOLVE_FIRST] = {"kmen_resolve_first",
                          "SELECT client_id, status, systems, merged_from, has_evidence FROM "
                          "kmen.resolve_first($1::bytea, $2, "
                          "$3::bytea, "
                          "$4::bytea, $5, $6, $7::date, $8)"},
    [ST_LINK_SYSTEM] = {"kmen_link_system", "SELECT kmen.link_system($1::uuid, $2, $3)"},
    [ST_AGENDA_AIFO] = {"kmen_agenda_aifo", "SELECT kmen.agenda_aifo($1::uuid, $2)"},
    [ST_AGENDA_AIFO_STORE] = {"kmen_agenda_aifo_store",
                              "SELECT kmen.agenda_aifo_store($1::uuid, $2, $3::bytea, $4::bytea)"},
    [ST_RESOLVE_PSEUDONYM] = {"kmen_resolve_pseudonym",
                              "SELECT client_id, systems, merged_from, has_evidence, false "
                              "FROM kmen.resolve_pseudonym($1::bytea, $2)"},
    [ST_FOREIGNER_ACCEPT] = {"kmen_foreigner_accept",
                             "SELECT client_id, status FROM "
                             "kmen.resolve_foreigner_accept($1::bytea, $2, $3, $4::date, $5)"},
    [ST_PENDING_CREATE] =
        {"kmen_pending_create",
         "SELECT kmen.pending_create($1::bytea, $2, $3, $4::date, $5::integer, $6)"},
    [ST_PENDING_COMPLETE] = {"kmen_pending_complete",
                             "SELECT outcome, client_id, systems FROM "
                             "kmen.pending_complete($1::uuid, $2::uuid, $3)"},
    [ST_SESSION_UPDATE] = {"kmen_session_update",
                           "SELECT kmen.session_update($1::bytea, $2::bytea)"},
    [ST_EVIDENCE_REQUEST] = {"kmen_evidence_request",
                             "SELECT kmen.evidence_request($1::uuid, $2, $3, $4)"},
    [ST_EVIDENCE_DELIVER] = {"kmen_evidence_deliver",
                             "SELECT kmen.evidence_deliver($1::uuid, $2, $3, $4::bytea, $5)"},
    [ST_EVIDENCE_STATES] = {"kmen_evidence_states", "SELECT kmen.evidence_states($1::uuid)"},
    [ST_EVIDENCE_DOCUMENT] =
        {"kmen_evidence_document",
         "SELECT content_type, document FROM kmen.evidence_document($1::uuid, $2::uuid)"},
    [ST_POTENTIAL_CREATE] =
        {"kmen_potential_create",
         "SELECT client_id, outcome FROM kmen.potential_create($1::bytea, $2::bytea, $3::bytea, "
         "$4::bytea, $5::bytea, $6::bytea, $7)"},
    [ST_AUDIT_SUMMARY] = {"kmen_audit_summary",
                          "SELECT event, outcome, count FROM kmen.audit_summary($1::integer)"},
    [ST_LINK_POTENTIAL] = {"kmen_link_potential", "SELECT outcome, client_id, systems FROM "
                                                  "kmen.link_potential($1::uuid, $2::uuid, $3)"},
    [ST_MESSAGE_FIRST_SEEN] = {"kmen_message_first_seen",
                               "SELECT kmen.message_first_seen($1 || ':' || $2, "
                               "to_timestamp($3::double precision))"},
    [ST_RESOLVE_BSI_ONLY] = {"kmen_resolve_bsi_only",
                             "SELECT client_id, status, systems, merged_from, has_evidence FROM "
                             "kmen.resolve_bsi_only($1::bytea, $2, $3, $4::date, $5)"},
    [ST_ATTACH_AIFO] = {"kmen_attach_aifo",
                        "SELECT client_id, status, systems, merged_from, has_evidence, outcome "
                        "FROM kmen.attach_aifo($1::bytea, $2, $3::bytea, $4::bytea, $5)"},
    [ST_AUDIT_CLIENT] = {"kmen_audit_client",
                         "SELECT kmen.audit_append_client($1, $2, $3, $4::uuid, $5)"},
    [ST_BEGIN] = {"kmen_begin", "BEGIN"},
    [ST_COMMIT] = {"kmen_commit", "COMMIT"},
    [ST_ROLLBACK] = {"kmen_rollback", "ROLLBACK"},
};

#define STATEMENT_TIMEOUT "SET statement_timeout = '5s'"
#define POOL_WAIT 5 /* seconds a request waits for a free connection */

/* A pooled connection, and whether its statements are prepared. The pool's
 * constructor is handed no request: a connection that failed to open is
 * handed out all the same, for the request that asked for it to log why
 * with its ID, and then dropped. malloc'ed: a pool would grow with every
 * reconnection. */
typedef struct {
    PGconn *pg;
    int ready;
} connection;

/* libpq's messages end in a newline and may span lines ("\n\tIs the server
 * running ...?", DETAIL and HINT, one line per host tried), and one log entry
 * is one line: a line break becomes "; ", or a space where the next line
 * goes on with the sentence (it starts in lower case). */
static const char *libpq_message(apr_pool_t *p, const char *message)
{
    char *out = apr_palloc(p, 2 * strlen(message) + 1), *o = out;
    for (const char *m = message; *m;) {
        if (*m != '\n') {
            *o++ = *m++;
            continue;
        }
        while (apr_isspace(*m))
            m++;
        if (*m && !apr_islower(*m))
            *o++ = ';';
        if (*m)
            *o++ = ' ';
    }
    *o = '\0';
    return out;
}

/* One statement on a connection being set up; 1 when it succeeded. */
static int setup_step(PGresult *res)
{
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

/* The setting and the statements in one transaction: a new connection costs
 * the database one commit, not one per statement. */
static int connection_prepare(PGconn *pg)
{
    if (PQstatus(pg) != CONNECTION_OK)
        return 0;
    int ok = setup_step(PQexec(pg, "BEGIN"));
    for (int i = 0; ok && i < ST_COUNT; i++)
        ok = setup_step(PQprepare(pg, statements[i].name, statements[i].sql, 0, NULL));
    return ok && setup_step(PQexec(pg, STATEMENT_TIMEOUT "; COMMIT"));
}

static apr_status_t connection_open(void **resource, void *params, apr_pool_t *p)
{
    const kmen_store *store = params;
    connection *conn = malloc(sizeof(*conn));
    (void)p;
    if (!conn)
        return APR_ENOMEM;
    conn->pg = PQconnectdb(store->conninfo);
    conn->ready = connection_prepare(conn->pg);
    *resource = conn;
    return APR_SUCCESS;
}

static apr_status_t connection_close(void *resource, void *params, apr_pool_t *p)
{
    connection *conn = resource;
    (void)params;
    (void)p;
    PQfinish(conn->pg);
    free(conn);
    return APR_SUCCESS;
}

/* Parsing connects to nothing: a database that is down must not stop httpd,
 * a connection string libpq cannot read would fail every connection. */
const char *kmen_store_conninfo_check(apr_pool_t *p, const char *conninfo)
{
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &message);
    const char *err = NULL;
    if (!options)
        err = message ? libpq_message(p, message) : "out of memory";
    PQconninfoFree(options);
    PQfreemem(message);
    return err;
}

kmen_store *kmen_store_create(apr_pool_t *p, const char *conninfo, int pool_size)
{
    kmen_store *store = apr_pcalloc(p, sizeof(*store));
    store->conninfo = conninfo;
    store->pool_size = pool_size;
    return store;
}

apr_status_t kmen_store_child_init(kmen_store *store, apr_pool_t *pchild)
{
    apr_status_t rv = apr_reslist_create(&store->conns, 0, store->pool_size, store->pool_size, 0,
                                         connection_open, connection_close, store, pchild);
    if (rv == APR_SUCCESS)
        apr_reslist_timeout_set(store->conns, apr_time_from_sec(POOL_WAIT));
    return rv;
}

static apr_status_t result_clear(void *res)
{
    PQclear(res);
    return APR_SUCCESS;
}

/* A connection of the pool ready for the statements, or NULL (logged):
 * none free in time, or a new one that did not open. */
static connection *connection_acquire(kmen_ctx *ctx, kmen_store *store)
{
    connection *conn = NULL;
    if (apr_reslist_acquire(store->conns, (void **)&conn) != APR_SUCCESS) {
        kmen_log(ctx, KMEN_LOG_ERR,
                 KMEN_LOGNO(0603) "no database connection free within %d s (%s %d)", POOL_WAIT,
                 kmen_conf_spelling(ctx->conf, KMEN_FIELD_db_pool_size), store->pool_size);
        return NULL;
    }
    if (conn->ready)
        return conn;
    /* Not the conninfo: it may hold a password. */
    kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0601) "database connection failed: %s",
             libpq_message(ctx->pool, PQerrorMessage(conn->pg)));
    apr_reslist_invalidate(store->conns, conn);
    return NULL;
}

/* The transaction a request opened on STORE (kmen_store_begin), if any. */
typedef struct {
    kmen_store *store;
    connection *conn; /* pinned until the transaction ends */
    int failed;       /* a call failed: the end rolls back */
} transaction;

#define TRANSACTION_KEY "kmen_store_transaction"

static transaction *transaction_of(kmen_ctx *ctx, const kmen_store *store)
{
    void *data = NULL;
    apr_pool_userdata_get(&data, TRANSACTION_KEY, ctx->pool);
    transaction *tx = data;
    return tx && tx->store == store && tx->conn ? tx : NULL;
}

/* One statement on CONN; NULL (logged) when it failed, and *broken when the
 * connection itself failed (or reached a read-only server), so a retry on a
 * new one may succeed. */
static PGresult *run(kmen_ctx *ctx, connection *conn, statement_id id, int n,
                     const char *const *values, const int *lengths, const int *formats, int *broken)
{
    PGresult *res = PQexecPrepared(conn->pg, statements[id].name, n, values, lengths, formats, 0);
    ExecStatusType es = PQresultStatus(res);
    if (es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK) {
        apr_pool_cleanup_register(ctx->pool, res, result_clear, apr_pool_cleanup_null);
        return res;
    }
    /* A read-only server (SQLSTATE 25006) counts as broken too: with a
     * multi-host KmenDatabase that lacks target_session_attrs=read-write,
     * libpq reaches the hot standby while the primary is down, and such a
     * pooled connection would refuse every write long after the primary is
     * back. Dropping it makes the retry connect afresh, hosts in order. */
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    *broken = PQstatus(conn->pg) != CONNECTION_OK || (sqlstate && strcmp(sqlstate, "25006") == 0);
    kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0602) "database call %s failed: %s", statements[id].name,
             libpq_message(ctx->pool, PQresultErrorMessage(res)));
    PQclear(res);
    return NULL;
}

/* Back to the pool, or dropped when broken. */
static void connection_return(kmen_store *store, connection *conn, int broken)
{
    if (broken)
        apr_reslist_invalidate(store->conns, conn);
    else
        apr_reslist_release(store->conns, conn);
}

/* After the database restarted, every pooled connection of this child is
 * dead: each broken one is dropped and the call tried again, at most once
 * per pooled connection and once more on a fresh one. *pin: the connection
 * of a call that succeeded stays the caller's, out of the pool. */
static PGresult *call_pooled(kmen_ctx *ctx, kmen_store *store, statement_id id, int n,
                             const char *const *values, const int *lengths, const int *formats,
                             connection **pin)
{
    int broken = 1;
    PGresult *res = NULL;
    for (int attempt = 0; !res && broken && attempt <= store->pool_size; attempt++) {
        connection *conn = connection_acquire(ctx, store);
        if (!conn)
            return NULL;
        broken = 0;
        res = run(ctx, conn, id, n, values, lengths, formats, &broken);
        if (res && pin)
            *pin = conn;
        else
            connection_return(store, conn, broken);
    }
    return res;
}

/* In a transaction, on its connection, once: after a failure the
 * transaction is aborted and every further call fails without a round trip. */
static PGresult *call(kmen_ctx *ctx, kmen_store *store, statement_id id, int n,
                      const char *const *values, const int *lengths, const int *formats)
{
    transaction *tx = transaction_of(ctx, store);
    if (!tx)
        return call_pooled(ctx, store, id, n, values, lengths, formats, NULL);
    int broken = 0;
    PGresult *res =
        tx->failed ? NULL : run(ctx, tx->conn, id, n, values, lengths, formats, &broken);
    tx->failed = !res;
    return res;
}

/* A transaction the request never ended (it cannot happen on any path of
 * the handlers, but a connection left mid-transaction must not go back to
 * the pool): closing the connection rolls it back. */
static apr_status_t transaction_abandon(void *data)
{
    transaction *tx = data;
    if (tx->conn)
        apr_reslist_invalidate(tx->store->conns, tx->conn);
    tx->conn = NULL;
    return APR_SUCCESS;
}

kmen_store_status kmen_store_begin(kmen_ctx *ctx, kmen_store *store)
{
    transaction *tx = apr_pcalloc(ctx->pool, sizeof(*tx));
    tx->store = store;
    if (!call_pooled(ctx, store, ST_BEGIN, 0, NULL, NULL, NULL, &tx->conn))
        return KMEN_STORE_DOWN;
    apr_pool_userdata_setn(tx, TRANSACTION_KEY, NULL, ctx->pool);
    apr_pool_cleanup_register(ctx->pool, tx, transaction_abandon, apr_pool_cleanup_null);
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_commit(kmen_ctx *ctx, kmen_store *store)
{
    transaction *tx = transaction_of(ctx, store);
    int broken = 0, failed = tx->failed;
    PGresult *res =
        run(ctx, tx->conn, failed ? ST_ROLLBACK : ST_COMMIT, 0, NULL, NULL, NULL, &broken);
    /* a connection whose transaction did not end cleanly is not reused */
    connection_return(store, tx->conn, broken || !res);
    tx->conn = NULL;
    return res && !failed ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

/* bytea parameters travel in binary, the others as text. */
#define BIN(len) (len), 1
#define TXT 0, 0

static PGresult *call_params(kmen_ctx *ctx, kmen_store *store, statement_id id, int n,
                             const char *const *values, const int *spec)
{
    int lengths[8], formats[8];
    for (int i = 0; i < n; i++) {
        lengths[i] = spec[2 * i];
        formats[i] = spec[2 * i + 1];
    }
    return call(ctx, store, id, n, values, lengths, formats);
}

/* A bytea column, decoded into ctx->pool. */
static kmen_store_status bytea_value(kmen_ctx *ctx, PGresult *res, int row, int col,
                                     const unsigned char **out, apr_size_t *len)
{
    size_t n = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
    if (!bytes)
        return KMEN_STORE_DOWN;
    *out = apr_pmemdup(ctx->pool, bytes, n);
    *len = n;
    PQfreemem(bytes);
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_ping(kmen_ctx *ctx, kmen_store *store)
{
    PGresult *res = call(ctx, store, ST_PING, 0, NULL, NULL, NULL);
    return res && PQntuples(res) == 1 ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_request_issue(kmen_ctx *ctx, kmen_store *store, const char *id,
                                           const unsigned char *state_hash, const char *return_to,
                                           int min_loa, int ttl, int eidas_accept)
{
    const char *v[] = {id,
                       (const char *)state_hash,
                       return_to,
                       apr_itoa(ctx->pool, min_loa),
                       apr_itoa(ctx->pool, ttl),
                       eidas_accept ? "true" : "false"};
    const int spec[] = {TXT, BIN(KMEN_HASH_LEN), TXT, TXT, TXT, TXT};
    return call_params(ctx, store, ST_REQUEST_ISSUE, 6, v, spec) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_request_by_state(kmen_ctx *ctx, kmen_store *store,
                                              const unsigned char *state_hash, const char **id)
{
    const char *v[] = {(const char *)state_hash};
    const int spec[] = {BIN(KMEN_HASH_LEN)};
    PGresult *res = call_params(ctx, store, ST_REQUEST_BY_STATE, 1, v, spec);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    if (PQgetisnull(res, 0, 0))
        return KMEN_STORE_NOT_FOUND;
    *id = apr_pstrdup(ctx->pool, PQgetvalue(res, 0, 0));
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_message_first_seen(kmen_ctx *ctx, kmen_store *store, const char *kind,
                                                const char *id, apr_time_t until)
{
    const char *v[] = {kind, id, apr_psprintf(ctx->pool, "%" APR_TIME_T_FMT, apr_time_sec(until))};
    PGresult *res = call(ctx, store, ST_MESSAGE_FIRST_SEEN, 3, v, NULL, NULL);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    return PQgetvalue(res, 0, 0)[0] == 't' ? KMEN_STORE_OK : KMEN_STORE_NOT_FOUND;
}

kmen_store_status kmen_store_login_consume(kmen_ctx *ctx, kmen_store *store, const char *request_id,
                                           const char *assertion_id, apr_time_t assertion_expires,
                                           kmen_login_consumed *out)
{
    const char *v[] = {
        request_id, assertion_id,
        apr_psprintf(ctx->pool, "%" APR_TIME_T_FMT, apr_time_sec(assertion_expires))};
    PGresult *res = call(ctx, store, ST_LOGIN_CONSUME, 3, v, NULL, NULL);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    out->outcome = apr_pstrdup(ctx->pool, PQgetvalue(res, 0, 0));
    out->return_to = PQgetisnull(res, 0, 1) ? NULL : apr_pstrdup(ctx->pool, PQgetvalue(res, 0, 1));
    out->min_loa = PQgetisnull(res, 0, 2) ? 0 : atoi(PQgetvalue(res, 0, 2));
    out->eidas_accept = !PQgetisnull(res, 0, 3) && PQgetvalue(res, 0, 3)[0] == 't';
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_session_create(kmen_ctx *ctx, kmen_store *store,
                                            const unsigned char *id_hash,
                                            const unsigned char *subject, const char *session_index,
                                            const void *payload, apr_size_t payload_len,
                                            int lifetime)
{
    const char *v[] = {(const char *)id_hash, (const char *)subject, session_index, payload,
                       apr_itoa(ctx->pool, lifetime)};
    const int spec[] = {BIN(KMEN_HASH_LEN), BIN(KMEN_HASH_LEN), TXT, BIN((int)payload_len), TXT};
    return call_params(ctx, store, ST_SESSION_CREATE, 5, v, spec) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_session_fetch(kmen_ctx *ctx, kmen_store *store,
                                           const unsigned char *id_hash, int idle,
                                           const unsigned char **payload, apr_size_t *len,
                                           int *remaining)
{
    const char *v[] = {(const char *)id_hash, apr_itoa(ctx->pool, idle)};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT};
    PGresult *res = call_params(ctx, store, ST_SESSION_FETCH, 2, v, spec);
    if (!res || PQntuples(res) > 1)
        return KMEN_STORE_DOWN;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
        return KMEN_STORE_NOT_FOUND;
    *remaining = atoi(PQgetvalue(res, 0, 1));
    return bytea_value(ctx, res, 0, 0, payload, len);
}

kmen_store_status kmen_store_session_delete(kmen_ctx *ctx, kmen_store *store,
                                            const unsigned char *id_hash)
{
    const char *v[] = {(const char *)id_hash};
    const int spec[] = {BIN(KMEN_HASH_LEN)};
    return call_params(ctx, store, ST_SESSION_DELETE, 1, v, spec) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_session_delete_subject(kmen_ctx *ctx, kmen_store *store,
                                                    const unsigned char *subject,
                                                    const char *session_index,
                                                    apr_array_header_t **hashes)
{
    const char *v[] = {(const char *)subject, session_index};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT};
    PGresult *res = call_params(ctx, store, ST_SESSION_DELETE_SUBJECT, 2, v, spec);
    if (!res)
        return KMEN_STORE_DOWN;
    *hashes = apr_array_make(ctx->pool, PQntuples(res) + 1, sizeof(unsigned char *));
    for (int i = 0; i < PQntuples(res); i++) {
        const unsigned char *hash = NULL;
        apr_size_t n = 0;
        if (bytea_value(ctx, res, i, 0, &hash, &n) == KMEN_STORE_OK && n == KMEN_HASH_LEN)
            APR_ARRAY_PUSH(*hashes, const unsigned char *) = hash;
    }
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_audit(kmen_ctx *ctx, kmen_store *store, const char *event,
                                   const char *outcome, const char *detail)
{
    const char *v[] = {event, outcome, detail, kmen_ctx_request_id(ctx)};
    return call(ctx, store, ST_AUDIT, 4, v, NULL, NULL) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_audit_client(kmen_ctx *ctx, kmen_store *store, const char *event,
                                          const char *outcome, const char *detail,
                                          const char *client_id)
{
    const char *v[] = {event, outcome, detail, client_id, kmen_ctx_request_id(ctx)};
    return call(ctx, store, ST_AUDIT_CLIENT, 5, v, NULL, NULL) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

static const char *value_or_null(kmen_ctx *ctx, PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : apr_pstrdup(ctx->pool, PQgetvalue(res, 0, col));
}

/* A returning login: one client by the blind index of its BSI or eIDAS
 * pseudonym. */
static kmen_store_status resolve_by_index(kmen_ctx *ctx, kmen_store *store, statement_id id,
                                          const unsigned char *index, kmen_resolved *out)
{
    const char *v[] = {(const char *)index, kmen_ctx_request_id(ctx)};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT};
    PGresult *res = call_params(ctx, store, id, 2, v, spec);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    out->client_id = value_or_null(ctx, res, 0);
    out->status = "returning";
    out->systems = value_or_null(ctx, res, 1);
    out->merged_from = value_or_null(ctx, res, 2);
    out->has_evidence = !PQgetisnull(res, 0, 3) && PQgetvalue(res, 0, 3)[0] == 't';
    out->bsi_only = !PQgetisnull(res, 0, 4) && PQgetvalue(res, 0, 4)[0] == 't';
    return out->client_id ? KMEN_STORE_OK : KMEN_STORE_NOT_FOUND;
}

/* A resolution's row: client_id, status, systems, merged_from, has_evidence. */
static kmen_store_status resolved_row(kmen_ctx *ctx, PGresult *res, kmen_resolved *out)
{
    if (!res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return KMEN_STORE_DOWN;
    out->client_id = value_or_null(ctx, res, 0);
    out->status = value_or_null(ctx, res, 1);
    out->systems = value_or_null(ctx, res, 2);
    out->merged_from = value_or_null(ctx, res, 3);
    out->has_evidence = !PQgetisnull(res, 0, 4) && PQgetvalue(res, 0, 4)[0] == 't';
    out->bsi_only = 0;
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_resolve_bsi(kmen_ctx *ctx, kmen_store *store,
                                         const unsigned char *bsi_index, kmen_resolved *out)
{
    return resolve_by_index(ctx, store, ST_RESOLVE_BSI, bsi_index, out);
}

kmen_store_status kmen_store_resolve_first(kmen_ctx *ctx, kmen_store *store,
                                           const kmen_first_login *in, kmen_resolved *out)
{
    const char *v[] = {(const char *)in->bsi_index,
                       in->agenda,
                       (const char *)in->aifo_index,
                       (const char *)in->aifo_sealed,
                       in->given_name,
                       in->family_name,
                       in->birth_date,
                       kmen_ctx_request_id(ctx)};
    const int spec[] = {BIN(KMEN_HASH_LEN),
                        TXT,
                        BIN(KMEN_HASH_LEN),
                        BIN((int)in->aifo_sealed_len),
                        TXT,
                        TXT,
                        TXT,
                        TXT};
    return resolved_row(ctx, call_params(ctx, store, ST_RESOLVE_FIRST, 8, v, spec), out);
}

kmen_store_status kmen_store_resolve_bsi_only(kmen_ctx *ctx, kmen_store *store,
                                              const kmen_first_login *in, kmen_resolved *out)
{
    const char *v[] = {(const char *)in->bsi_index, in->given_name, in->family_name, in->birth_date,
                       kmen_ctx_request_id(ctx)};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT, TXT, TXT, TXT};
    return resolved_row(ctx, call_params(ctx, store, ST_RESOLVE_BSI_ONLY, 5, v, spec), out);
}

kmen_store_status kmen_store_attach_aifo(kmen_ctx *ctx, kmen_store *store,
                                         const kmen_first_login *in, kmen_resolved *out,
                                         const char **outcome)
{
    const char *v[] = {(const char *)in->bsi_index, in->agenda, (const char *)in->aifo_index,
                       (const char *)in->aifo_sealed, kmen_ctx_request_id(ctx)};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT, BIN(KMEN_HASH_LEN), BIN((int)in->aifo_sealed_len),
                        TXT};
    PGresult *res = call_params(ctx, store, ST_ATTACH_AIFO, 5, v, spec);
    kmen_store_status st = resolved_row(ctx, res, out);
    if (st == KMEN_STORE_OK)
        *outcome = value_or_null(ctx, res, 5);
    return st;
}

kmen_store_status kmen_store_link_system(kmen_ctx *ctx, kmen_store *store, const char *client_id,
                                         const char *system)
{
    const char *v[] = {client_id, system, kmen_ctx_request_id(ctx)};
    return call(ctx, store, ST_LINK_SYSTEM, 3, v, NULL, NULL) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_agenda_aifo(kmen_ctx *ctx, kmen_store *store, const char *client_id,
                                         const char *agenda, const unsigned char **sealed,
                                         apr_size_t *len)
{
    const char *v[] = {client_id, agenda};
    PGresult *res = call(ctx, store, ST_AGENDA_AIFO, 2, v, NULL, NULL);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    if (PQgetisnull(res, 0, 0))
        return KMEN_STORE_NOT_FOUND;
    return bytea_value(ctx, res, 0, 0, sealed, len);
}

kmen_store_status kmen_store_agenda_aifo_store(kmen_ctx *ctx, kmen_store *store,
                                               const char *client_id, const char *agenda,
                                               const unsigned char *index,
                                               const unsigned char *sealed, apr_size_t len)
{
    const char *v[] = {client_id, agenda, (const char *)index, (const char *)sealed};
    const int spec[] = {TXT, TXT, BIN(KMEN_HASH_LEN), BIN((int)len)};
    return call_params(ctx, store, ST_AGENDA_AIFO_STORE, 4, v, spec) ? KMEN_STORE_OK
                                                                     : KMEN_STORE_DOWN;
}

kmen_store_status kmen_store_resolve_pseudonym(kmen_ctx *ctx, kmen_store *store,
                                               const unsigned char *pseudonym_index,
                                               kmen_resolved *out)
{
    return resolve_by_index(ctx, store, ST_RESOLVE_PSEUDONYM, pseudonym_index, out);
}

kmen_store_status kmen_store_foreigner_accept(kmen_ctx *ctx, kmen_store *store,
                                              const kmen_foreigner *in, kmen_resolved *out)
{
    const char *v[] = {(const char *)in->pseudonym_index, in->given_name, in->family_name,
                       in->birth_date, kmen_ctx_request_id(ctx)};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT, TXT, TXT, TXT};
    PGresult *res = call_params(ctx, store, ST_FOREIGNER_ACCEPT, 5, v, spec);
    if (!res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return KMEN_STORE_DOWN;
    out->client_id = value_or_null(ctx, res, 0);
    out->status = value_or_null(ctx, res, 1);
    out->systems = out->merged_from = NULL;
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_pending_create(kmen_ctx *ctx, kmen_store *store,
                                            const kmen_foreigner *in, int ttl,
                                            const char **pending_id)
{
    const char *v[] = {
        (const char *)in->pseudonym_index, in->given_name,          in->family_name, in->birth_date,
        apr_itoa(ctx->pool, ttl),          kmen_ctx_request_id(ctx)};
    const int spec[] = {BIN(KMEN_HASH_LEN), TXT, TXT, TXT, TXT, TXT};
    PGresult *res = call_params(ctx, store, ST_PENDING_CREATE, 6, v, spec);
    if (!res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return KMEN_STORE_DOWN;
    *pending_id = value_or_null(ctx, res, 0);
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_pending_complete(kmen_ctx *ctx, kmen_store *store,
                                              const char *pending_id, const char *link,
                                              const char **outcome, kmen_resolved *out)
{
    const char *v[] = {pending_id, link, kmen_ctx_request_id(ctx)};
    PGresult *res = call(ctx, store, ST_PENDING_COMPLETE, 3, v, NULL, NULL);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    *outcome = value_or_null(ctx, res, 0);
    out->client_id = value_or_null(ctx, res, 1);
    out->status = *outcome;
    out->systems = value_or_null(ctx, res, 2);
    out->merged_from = NULL;
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_session_update(kmen_ctx *ctx, kmen_store *store,
                                            const unsigned char *id_hash, const void *payload,
                                            apr_size_t payload_len)
{
    const char *v[] = {(const char *)id_hash, payload};
    const int spec[] = {BIN(KMEN_HASH_LEN), BIN((int)payload_len)};
    return call_params(ctx, store, ST_SESSION_UPDATE, 2, v, spec) ? KMEN_STORE_OK : KMEN_STORE_DOWN;
}

/* The single text column of a one-row answer (NULL when SQL NULL). */
static kmen_store_status single_value(kmen_ctx *ctx, PGresult *res, const char **out)
{
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    *out = value_or_null(ctx, res, 0);
    return *out ? KMEN_STORE_OK : KMEN_STORE_NOT_FOUND;
}

kmen_store_status kmen_store_evidence_request(kmen_ctx *ctx, kmen_store *store,
                                              const char *client_id, const char *type,
                                              const char *country, const char **id)
{
    const char *v[] = {client_id, type, country, kmen_ctx_request_id(ctx)};
    return single_value(ctx, call(ctx, store, ST_EVIDENCE_REQUEST, 4, v, NULL, NULL), id);
}

kmen_store_status kmen_store_evidence_deliver(kmen_ctx *ctx, kmen_store *store, const char *id,
                                              const char *state, const char *content_type,
                                              const unsigned char *document, apr_size_t len,
                                              const char **outcome)
{
    const char *v[] = {id, state, content_type, (const char *)document, kmen_ctx_request_id(ctx)};
    const int spec[] = {TXT, TXT, TXT, BIN((int)len), TXT};
    return single_value(ctx, call_params(ctx, store, ST_EVIDENCE_DELIVER, 5, v, spec), outcome);
}

kmen_store_status kmen_store_evidence_states(kmen_ctx *ctx, kmen_store *store,
                                             const char *client_id, const char **states)
{
    const char *v[] = {client_id};
    return single_value(ctx, call(ctx, store, ST_EVIDENCE_STATES, 1, v, NULL, NULL), states);
}

kmen_store_status kmen_store_evidence_document(kmen_ctx *ctx, kmen_store *store, const char *id,
                                               const char *client_id, const char **content_type,
                                               const unsigned char **document, apr_size_t *len)
{
    const char *v[] = {id, client_id};
    PGresult *res = call(ctx, store, ST_EVIDENCE_DOCUMENT, 2, v, NULL, NULL);
    if (!res || PQntuples(res) > 1)
        return KMEN_STORE_DOWN;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 1))
        return KMEN_STORE_NOT_FOUND;
    *content_type = value_or_null(ctx, res, 0);
    return bytea_value(ctx, res, 0, 1, document, len);
}

kmen_store_status kmen_store_potential_create(kmen_ctx *ctx, kmen_store *store,
                                              const kmen_contact *contact, const char **client_id)
{
    const char *v[7];
    int spec[14];
    for (int i = 0; i < 3; i++) {
        v[2 * i] = (const char *)contact->index[i];
        v[2 * i + 1] = (const char *)contact->sealed[i];
        spec[4 * i] = contact->index[i] ? KMEN_HASH_LEN : 0;
        spec[4 * i + 1] = 1;
        spec[4 * i + 2] = (int)contact->sealed_len[i];
        spec[4 * i + 3] = 1;
    }
    v[6] = kmen_ctx_request_id(ctx);
    spec[12] = 0;
    spec[13] = 0;
    return single_value(ctx, call_params(ctx, store, ST_POTENTIAL_CREATE, 7, v, spec), client_id);
}

kmen_store_status kmen_store_link_potential(kmen_ctx *ctx, kmen_store *store, const char *current,
                                            const char *potential, const char **outcome,
                                            kmen_resolved *out)
{
    const char *v[] = {current, potential, kmen_ctx_request_id(ctx)};
    PGresult *res = call(ctx, store, ST_LINK_POTENTIAL, 3, v, NULL, NULL);
    if (!res || PQntuples(res) != 1)
        return KMEN_STORE_DOWN;
    *outcome = value_or_null(ctx, res, 0);
    out->client_id = value_or_null(ctx, res, 1);
    out->status = "linked";
    out->systems = value_or_null(ctx, res, 2);
    out->merged_from = NULL;
    return KMEN_STORE_OK;
}

kmen_store_status kmen_store_audit_summary(kmen_ctx *ctx, kmen_store *store, int hours,
                                           apr_array_header_t **rows)
{
    const char *v[] = {apr_itoa(ctx->pool, hours)};
    PGresult *res = call(ctx, store, ST_AUDIT_SUMMARY, 1, v, NULL, NULL);
    if (!res)
        return KMEN_STORE_DOWN;
    *rows = apr_array_make(ctx->pool, PQntuples(res) + 1, sizeof(kmen_audit_count));
    for (int i = 0; i < PQntuples(res); i++) {
        kmen_audit_count *row = apr_array_push(*rows);
        row->event = apr_pstrdup(ctx->pool, PQgetvalue(res, i, 0));
        row->outcome = apr_pstrdup(ctx->pool, PQgetvalue(res, i, 1));
        row->count = apr_atoi64(PQgetvalue(res, i, 2));
    }
    return KMEN_STORE_OK;
}

void kmen_store_pool_use(const kmen_store *store, int *in_use, int *size)
{
    *in_use = store->conns ? apr_reslist_acquired_count(store->conns) : 0;
    *size = store->pool_size;
}
