/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify and sync: change, merge, death and data, each in its own
 * transaction; for sync (n->cursor set) the same transaction advances the
 * feed's cursor, so that an event is applied exactly once. The AIFO reach
 * the database only as blind index (lookups) and ciphertext (a changed
 * AIFO); skip reasons name the role of an AIFO, never its value. */
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "notify.h"

typedef struct {
    char id[24];        /* kmen.client.id */
    char client_id[40]; /* the public identifier, for the audit row */
} client_ref;

/* Links an event's audit rows: "kmenctl-notify RUN:LINE" or "kmenctl-sync RUN:SEQ". */
static const char *request_id(kmenctl_notify_ctx *n)
{
    if (n->cursor)
        return apr_pstrcat(n->pool, "kmenctl-sync ", n->run, ":", n->cursor, NULL);
    return apr_psprintf(n->pool, "kmenctl-notify %s:%ld", n->run, n->line);
}

static void index_of(kmenctl_notify_ctx *n, const char *aifo, unsigned char out[KMEN_HASH_LEN])
{
    kmen_id_index(n->pool, n->keys, KMEN_ID_AIFO, n->agenda, aifo, out);
}

/* One statement of the line's transaction: 1 with rows, 0 without, -1 on
 * failure (n's error says why). */
static int run(kmenctl_notify_ctx *n, const char *sql, const kmenctl_params *ps, PGresult **out)
{
    PGresult *res = kmenctl_try(n->conn, sql, ps);
    if (!kmenctl_succeeded(res)) {
        n->error = apr_pstrcat(n->pool, "database: ", kmenctl_pg_message(res, n->conn), NULL);
        PQclear(res);
        return -1;
    }
    int rows = PQntuples(res) > 0 || atol(PQcmdTuples(res)) > 0;
    if (out)
        *out = res;
    else
        PQclear(res);
    return rows;
}

/* The client holding aifo_index in the agenda, locked for this line. */
static int find_client(kmenctl_notify_ctx *n, const unsigned char index[KMEN_HASH_LEN],
                       client_ref *c)
{
    kmenctl_params ps = {0};
    PGresult *res;
    kmenctl_param_text(&ps, n->agenda);
    kmenctl_param_bytes(&ps, index, KMEN_HASH_LEN);
    int found = run(n,
                    "SELECT c.id, c.client_id FROM kmen.client_aifo a "
                    "JOIN kmen.client c ON c.id = a.client "
                    "WHERE a.agenda = $1 AND a.aifo_index = $2 FOR UPDATE OF c",
                    &ps, &res);
    if (found == 1) {
        apr_cpystrn(c->id, PQgetvalue(res, 0, 0), sizeof(c->id));
        apr_cpystrn(c->client_id, PQgetvalue(res, 0, 1), sizeof(c->client_id));
    }
    if (found >= 0)
        PQclear(res);
    return found;
}

static int audit(kmenctl_notify_ctx *n, const char *outcome, const char *event, const client_ref *c)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, outcome);
    kmenctl_param_text(&ps, event);
    kmenctl_param_text(&ps, c->client_id);
    kmenctl_param_text(&ps, request_id(n));
    return run(n,
               "INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id) "
               "VALUES ('notify', $1, $2, $3, $4)",
               &ps, NULL);
}

/* Ends the line's transaction without changes: status -1 reports the
 * database's error, 0 or 1 the reason given. */
static kmenctl_notify_outcome give_up(kmenctl_notify_ctx *n, int status, const char *reason,
                                      const char **why)
{
    *why = status < 0 ? n->error : reason;
    PQclear(PQexec(n->conn, "ROLLBACK"));
    return PQstatus(n->conn) == CONNECTION_OK ? KMENCTL_NOTIFY_SKIPPED : KMENCTL_NOTIFY_FATAL;
}

static int begin(kmenctl_notify_ctx *n)
{
    return run(n, "BEGIN", NULL, NULL) < 0 ? -1 : 0;
}

int kmenctl_sync_cursor_store(kmenctl_notify_ctx *n)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, n->agenda);
    kmenctl_param_text(&ps, n->cursor);
    return run(n,
               "INSERT INTO kmen.sync_cursor (agenda, cursor) VALUES ($1, $2) "
               "ON CONFLICT (agenda) DO UPDATE SET cursor = EXCLUDED.cursor, updated = now()",
               &ps, NULL);
}

/* The event's changes, its audit rows and (sync) the cursor, all or none. */
static kmenctl_notify_outcome commit(kmenctl_notify_ctx *n, const char **why)
{
    if ((n->cursor && kmenctl_sync_cursor_store(n) < 0) || run(n, "COMMIT", NULL, NULL) < 0)
        return give_up(n, -1, NULL, why);
    return KMENCTL_NOTIFY_APPLIED;
}

static int replace_aifo(kmenctl_notify_ctx *n, const unsigned char old_index[KMEN_HASH_LEN],
                        const char *new_aifo, const unsigned char new_index[KMEN_HASH_LEN])
{
    apr_size_t sealed_len;
    unsigned char *sealed =
        kmen_id_seal(n->pool, n->keys, KMEN_ID_AIFO, n->agenda, new_aifo, &sealed_len);
    kmenctl_params ps = {0};
    if (!sealed) {
        n->error = "encryption failed";
        return -1;
    }
    kmenctl_param_text(&ps, n->agenda);
    kmenctl_param_bytes(&ps, old_index, KMEN_HASH_LEN);
    kmenctl_param_bytes(&ps, new_index, KMEN_HASH_LEN);
    kmenctl_param_bytes(&ps, sealed, sealed_len);
    /* The new AIFO is subscribed afresh by the next kmenctl sync. */
    return run(n,
               "UPDATE kmen.client_aifo SET aifo_index = $3, aifo_sealed = $4, subscribed = NULL "
               "WHERE agenda = $1 AND aifo_index = $2",
               &ps, NULL);
}

kmenctl_notify_outcome kmenctl_notify_change(kmenctl_notify_ctx *n, const char *old_aifo,
                                             const char *new_aifo, const char **why)
{
    unsigned char old_index[KMEN_HASH_LEN], new_index[KMEN_HASH_LEN];
    client_ref c, other;
    index_of(n, old_aifo, old_index);
    index_of(n, new_aifo, new_index);
    if (begin(n))
        return give_up(n, -1, NULL, why);
    int found = find_client(n, old_index, &c);
    if (found != 1)
        return give_up(n, found, "the old AIFO is not in the register", why);
    found = find_client(n, new_index, &other);
    if (found != 0)
        return give_up(n, found, "the new AIFO already belongs to a client (a merge?)", why);
    if (replace_aifo(n, old_index, new_aifo, new_index) < 0 ||
        audit(n, "applied", "change", &c) < 0)
        return give_up(n, -1, NULL, why);
    return commit(n, why);
}

kmenctl_notify_outcome kmenctl_notify_death(kmenctl_notify_ctx *n, const char *aifo,
                                            const char *date, const char **why)
{
    unsigned char index[KMEN_HASH_LEN];
    kmenctl_params ps = {0};
    index_of(n, aifo, index);
    kmenctl_param_text(&ps, n->agenda);
    kmenctl_param_bytes(&ps, index, KMEN_HASH_LEN);
    kmenctl_param_text(&ps, date);
    kmenctl_param_text(&ps, request_id(n));
    if (begin(n))
        return give_up(n, -1, NULL, why);
    int found = run(n,
                    "WITH d AS (UPDATE kmen.client c SET deceased = $3 FROM kmen.client_aifo a "
                    "WHERE a.client = c.id AND a.agenda = $1 AND a.aifo_index = $2 "
                    "RETURNING c.client_id) "
                    "INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id) "
                    "SELECT 'notify', 'applied', 'death', client_id, $4 FROM d",
                    &ps, NULL);
    if (found != 1)
        return give_up(n, found, "the AIFO is not in the register", why);
    return commit(n, why);
}

kmenctl_notify_outcome kmenctl_notify_data(kmenctl_notify_ctx *n, const char *aifo,
                                           const kmenctl_person *data, const char **why)
{
    unsigned char index[KMEN_HASH_LEN];
    client_ref c;
    kmenctl_params ps = {0};
    index_of(n, aifo, index);
    if (begin(n))
        return give_up(n, -1, NULL, why);
    int found = find_client(n, index, &c);
    if (found != 1)
        return give_up(n, found, "the AIFO is not in the register", why);
    kmenctl_param_text(&ps, c.id);
    kmenctl_param_text(&ps, data->family_name);
    kmenctl_param_text(&ps, data->given_name);
    kmenctl_param_text(&ps, data->birth_date);
    /* A correction replaces what the register holds; what it leaves out stays. */
    if (run(n,
            "UPDATE kmen.client SET family_name = coalesce($2, family_name), "
            "given_name = coalesce($3, given_name), birth_date = coalesce($4::date, birth_date) "
            "WHERE id = $1::bigint",
            &ps, NULL) < 0 ||
        audit(n, "applied", "data", &c) < 0)
        return give_up(n, -1, NULL, why);
    return commit(n, why);
}

/* The base register cancelled the merged AIFO in favour of the surviving
 * one: it is not kept (nor could it be: one AIFO per client and agenda). */
static int drop_aifo(kmenctl_notify_ctx *n, const unsigned char index[KMEN_HASH_LEN])
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, n->agenda);
    kmenctl_param_bytes(&ps, index, KMEN_HASH_LEN);
    return run(n, "DELETE FROM kmen.client_aifo WHERE agenda = $1 AND aifo_index = $2", &ps, NULL);
}

/* kmen.merge_clients: every link of merged moves to surviving, merged's
 * identifier becomes an alias of it. 1 merged, 0 refused (*reason), -1 on
 * error. */
static int merge_clients(kmenctl_notify_ctx *n, const client_ref *surviving,
                         const client_ref *merged, const char **reason)
{
    kmenctl_params ps = {0};
    PGresult *res;
    kmenctl_param_text(&ps, surviving->client_id);
    kmenctl_param_text(&ps, merged->client_id);
    kmenctl_param_text(&ps, request_id(n));
    if (run(n, "SELECT kmen.merge_clients($1::uuid, $2::uuid, 'notify merge', $3)", &ps, &res) < 0)
        return -1;
    const char *outcome = PQgetvalue(res, 0, 0);
    int done = strcmp(outcome, "merged") == 0;
    if (strcmp(outcome, "conflict") == 0)
        *reason = "both clients have an AIFO in the same agenda";
    else if (!done)
        *reason = apr_pstrcat(n->pool, "the register refused the merge: ", outcome, NULL);
    PQclear(res);
    return done;
}

kmenctl_notify_outcome kmenctl_notify_merge(kmenctl_notify_ctx *n, const char *surviving_aifo,
                                            const char *merged_aifo, const char **why)
{
    unsigned char surviving_index[KMEN_HASH_LEN], merged_index[KMEN_HASH_LEN];
    client_ref surviving, merged;
    const char *reason = NULL;
    index_of(n, surviving_aifo, surviving_index);
    index_of(n, merged_aifo, merged_index);
    if (begin(n))
        return give_up(n, -1, NULL, why);
    int found = find_client(n, surviving_index, &surviving);
    if (found != 1)
        return give_up(n, found, "the surviving AIFO is not in the register", why);
    if ((found = find_client(n, merged_index, &merged)) != 1)
        return give_up(n, found, "the merged AIFO is not in the register", why);
    if (strcmp(surviving.id, merged.id) == 0)
        return give_up(n, 0, "both AIFO already belong to one client", why);
    if (drop_aifo(n, merged_index) < 0)
        return give_up(n, -1, NULL, why);
    if ((found = merge_clients(n, &surviving, &merged, &reason)) != 1)
        return give_up(n, found, reason, why);
    /* Both audit rows carry the line's request_id, as merge_clients' own
     * does: together they say which client identifier lives on as which. */
    if (audit(n, "applied", "merge", &surviving) < 0 || audit(n, "merged", "merge", &merged) < 0)
        return give_up(n, -1, NULL, why);
    return commit(n, why);
}
