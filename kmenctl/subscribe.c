/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sync, first step: every AIFO of the register agenda that is not subscribed
 * yet (a new client, a changed AIFO) is subscribed to the base registers'
 * change notifications (POST /subscribe), SUBSCRIBE_BATCH at a time, and the
 * subscription recorded. Subscribing again is harmless: the gateway answers
 * 204 again. The AIFO is opened from its ciphertext only for the call. */
#include <string.h>

#include "apr_strings.h"

#include "sync.h"

#define SUBSCRIBE_BATCH 256

/* The next batch of unsubscribed AIFO after the blind index `after`, in
 * index order (so that AIFO the gateway does not know are passed over). */
static PGresult *next_batch(kmenctl_sync_run *s, const unsigned char *after, size_t after_len)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, s->n.agenda);
    kmenctl_param_bytes(&ps, after, after_len);
    return kmenctl_query(s->n.conn, "unsubscribed AIFO",
                         "SELECT aifo_index, aifo_sealed FROM kmen.client_aifo WHERE agenda = $1 "
                         "AND subscribed IS NULL AND aifo_index > $2 ORDER BY aifo_index "
                         "LIMIT " APR_STRINGIFY(SUBSCRIBE_BATCH),
                         &ps);
}

static unsigned char *bytea_of(apr_pool_t *p, const PGresult *res, int row, int col, size_t *len)
{
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
    unsigned char *copy = raw ? apr_pmemdup(p, raw, *len) : NULL;
    PQfreemem(raw);
    return copy;
}

static int mark_subscribed(kmenctl_sync_run *s, const unsigned char *index, size_t len)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, s->n.agenda);
    kmenctl_param_bytes(&ps, index, len);
    PGresult *res = kmenctl_query(s->n.conn, "subscription",
                                  "UPDATE kmen.client_aifo SET subscribed = now() "
                                  "WHERE agenda = $1 AND aifo_index = $2",
                                  &ps);
    PQclear(res);
    return res ? 0 : -1;
}

/* The batch's calls from its rows; -1 when an AIFO cannot be opened. */
static int prepare_calls(kmenctl_sync_run *s, apr_pool_t *p, const PGresult *res,
                         kmenctl_gateway_call *calls, unsigned char **index, size_t *index_len)
{
    for (int i = 0; i < PQntuples(res); i++) {
        size_t sealed_len;
        unsigned char *sealed = bytea_of(p, res, i, 1, &sealed_len);
        index[i] = bytea_of(p, res, i, 0, &index_len[i]);
        const char *aifo =
            sealed ? kmen_id_open(p, s->n.keys, KMEN_ID_AIFO, s->n.agenda, sealed, sealed_len)
                   : NULL;
        if (!aifo || !index[i]) {
            kmenctl_fail("sync: an AIFO of the register cannot be opened (another register key?)");
            return -1;
        }
        calls[i] = kmenctl_subscribe_call(s->n.agenda, aifo);
    }
    return 0;
}

/* Records the batch's answers: -1 after an outage (the others are recorded). */
static int take_answers(kmenctl_sync_run *s, apr_pool_t *p, kmenctl_gateway_call *calls, int n,
                        unsigned char **index, size_t *index_len)
{
    const char *failure = NULL;
    for (int i = 0; i < n; i++) {
        if (calls[i].answer.status == 204 || calls[i].answer.status == 200) {
            if (mark_subscribed(s, index[i], index_len[i]))
                return -1;
            s->subscribed++;
        } else if (calls[i].answer.status == 404) {
            s->not_known++;
        } else if (!failure) {
            failure = kmenctl_gateway_failure(p, &calls[i]);
        }
    }
    if (failure)
        s->failure = apr_pstrdup(s->pool, failure);
    return failure ? -1 : 0;
}

/* The batch's subscriptions are recorded in one transaction, even when an
 * outage stops the run after them. */
static int subscribe_batch(kmenctl_sync_run *s, apr_pool_t *p, const PGresult *res)
{
    int n = PQntuples(res), rc = -1;
    kmenctl_gateway_call *calls = apr_pcalloc(p, sizeof(*calls) * (size_t)n);
    unsigned char **index = apr_pcalloc(p, sizeof(*index) * (size_t)n);
    size_t *index_len = apr_pcalloc(p, sizeof(*index_len) * (size_t)n);
    if (!prepare_calls(s, p, res, calls, index, index_len)) {
        kmenctl_gateway_run(s->gateway, p, calls, n);
        rc = kmenctl_exec(s->n.conn, "subscriptions", "BEGIN");
        int answers = rc ? -1 : take_answers(s, p, calls, n, index, index_len);
        if (!rc)
            rc = kmenctl_exec(s->n.conn, "subscriptions", "COMMIT");
        if (!rc)
            rc = answers;
    }
    for (int i = 0; i < n; i++)
        kmenctl_gateway_call_clear(&calls[i]);
    return rc;
}

int kmenctl_sync_subscribe(kmenctl_sync_run *s)
{
    apr_pool_t *p;
    apr_pool_create(&p, s->pool);
    unsigned char *after = (unsigned char *)"";
    size_t after_len = 0;
    int rc = 0, rows;
    do {
        PGresult *res = next_batch(s, after, after_len);
        if (!res) {
            rc = -1;
            break;
        }
        apr_pool_clear(p);
        rows = PQntuples(res);
        if (rows > 0) {
            after = bytea_of(p, res, rows - 1, 0, &after_len);
            rc = subscribe_batch(s, p, res);
        }
        PQclear(res);
    } while (!rc && rows == SUBSCRIBE_BATCH);
    apr_pool_destroy(p);
    return rc;
}
