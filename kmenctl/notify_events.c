/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: change, merge and death, each in its own transaction. The AIFO
 * reach the database only as blind index (lookups) and ciphertext (a changed
 * AIFO); skip reasons name the role of an AIFO, never its value. */
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "notify.h"

typedef struct {
    char id[24];        /* kmen.client.id */
    char client_id[40]; /* the public identifier, for the audit row */
} client_ref;

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
    kmenctl_param_text(&ps, apr_psprintf(n->pool, "kmenctl-notify %s:%ld", n->run, n->line));
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

static kmenctl_notify_outcome commit(kmenctl_notify_ctx *n, const char **why)
{
    if (run(n, "COMMIT", NULL, NULL) < 0)
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
    return run(n,
               "UPDATE kmen.client_aifo SET aifo_index = $3, aifo_sealed = $4 "
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
    kmenctl_param_text(&ps, apr_psprintf(n->pool, "kmenctl-notify %s:%ld", n->run, n->line));
    /* One statement, so its own transaction: the death and its audit row. */
    int found = run(n,
                    "WITH d AS (UPDATE kmen.client c SET deceased = $3 FROM kmen.client_aifo a "
                    "WHERE a.client = c.id AND a.agenda = $1 AND a.aifo_index = $2 "
                    "RETURNING c.client_id) "
                    "INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id) "
                    "SELECT 'notify', 'applied', 'death', client_id, $4 FROM d",
                    &ps, NULL);
    if (found != 1) {
        *why = found < 0 ? n->error : "the AIFO is not in the register";
        return PQstatus(n->conn) == CONNECTION_OK ? KMENCTL_NOTIFY_SKIPPED : KMENCTL_NOTIFY_FATAL;
    }
    return KMENCTL_NOTIFY_APPLIED;
}

/* An agenda (other than the merge's own AIFO) in which both clients have an
 * AIFO: the register keeps one per client and agenda, and which one is right
 * is for a person to decide. 1 and *agenda when there is one. */
static int agenda_conflict(kmenctl_notify_ctx *n, const client_ref *surviving,
                           const client_ref *merged, const unsigned char merged_index[],
                           const char **agenda)
{
    kmenctl_params ps = {0};
    PGresult *res;
    kmenctl_param_text(&ps, merged->id);
    kmenctl_param_text(&ps, surviving->id);
    kmenctl_param_text(&ps, n->agenda);
    kmenctl_param_bytes(&ps, merged_index, KMEN_HASH_LEN);
    int found = run(n,
                    "SELECT m.agenda FROM kmen.client_aifo m WHERE m.client = $1::bigint "
                    "AND NOT (m.agenda = $3 AND m.aifo_index = $4) AND EXISTS (SELECT FROM "
                    "kmen.client_aifo s WHERE s.client = $2::bigint AND s.agenda = m.agenda) "
                    "LIMIT 1",
                    &ps, &res);
    if (found == 1)
        *agenda = apr_pstrdup(n->pool, PQgetvalue(res, 0, 0));
    if (found >= 0)
        PQclear(res);
    return found;
}

/* Every table that references kmen.client, as merge_moves and move_links
 * handle them. A table added later and not handled here would lose the
 * merged client's rows to ON DELETE CASCADE: such a merge is refused. */
#define MERGE_HANDLES                                                                              \
    "'kmen.client_aifo', 'kmen.client_bsi', 'kmen.client_pseudonym', 'kmen.client_system', "       \
    "'kmen.evidence'"

static const char *const find_unhandled_reference =
    "SELECT ns.nspname || '.' || t.relname FROM pg_constraint f "
    "JOIN pg_class t ON t.oid = f.conrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace "
    "WHERE f.contype = 'f' AND f.confrelid = 'kmen.client'::regclass "
    "AND ns.nspname || '.' || t.relname NOT IN (" MERGE_HANDLES ") LIMIT 1";

/* 1 and *table when a table references kmen.client that merge does not move. */
static int unhandled_reference(kmenctl_notify_ctx *n, const char **table)
{
    PGresult *res;
    int found = run(n, find_unhandled_reference, NULL, &res);
    if (found == 1)
        *table = apr_pstrdup(n->pool, PQgetvalue(res, 0, 0));
    if (found >= 0)
        PQclear(res);
    return found;
}

/* $1 the surviving client, $2 the merged one. Systems are copied (a system
 * both hold stays once); names and dates only fill gaps of the survivor. */
static const char *const merge_moves[] = {
    "UPDATE kmen.client_bsi SET client = $1::bigint WHERE client = $2::bigint",
    "UPDATE kmen.client_pseudonym SET client = $1::bigint WHERE client = $2::bigint",
    "UPDATE kmen.evidence SET client = $1::bigint WHERE client = $2::bigint",
    "INSERT INTO kmen.client_system (client, system, linked) SELECT $1::bigint, system, linked "
    "FROM kmen.client_system WHERE client = $2::bigint ON CONFLICT DO NOTHING",
    "UPDATE kmen.client s SET family_name = coalesce(s.family_name, m.family_name), "
    "given_name = coalesce(s.given_name, m.given_name), "
    "birth_date = coalesce(s.birth_date, m.birth_date), "
    "deceased = coalesce(s.deceased, m.deceased) "
    "FROM kmen.client m WHERE s.id = $1::bigint AND m.id = $2::bigint",
};

/* The merged AIFO itself is not kept: the base register has cancelled it in
 * favour of the surviving one. The merged client's AIFO in other agendas
 * move; deleting the client then drops the rest (ON DELETE CASCADE). */
static int move_links(kmenctl_notify_ctx *n, const client_ref *surviving, const client_ref *merged,
                      const unsigned char merged_index[])
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, surviving->id);
    kmenctl_param_text(&ps, merged->id);
    for (size_t i = 0; i < sizeof(merge_moves) / sizeof(merge_moves[0]); i++)
        if (run(n, merge_moves[i], &ps, NULL) < 0)
            return -1;
    kmenctl_params aifo = ps;
    kmenctl_param_text(&aifo, n->agenda);
    kmenctl_param_bytes(&aifo, merged_index, KMEN_HASH_LEN);
    if (run(n,
            "UPDATE kmen.client_aifo SET client = $1::bigint WHERE client = $2::bigint "
            "AND NOT (agenda = $3 AND aifo_index = $4)",
            &aifo, NULL) < 0)
        return -1;
    kmenctl_params gone = {0};
    kmenctl_param_text(&gone, merged->id);
    return run(n, "DELETE FROM kmen.client WHERE id = $1::bigint", &gone, NULL) < 0 ? -1 : 0;
}

/* 1 and *reason when the merge must not happen, 0 when it may, -1 on error. */
static int merge_blocked(kmenctl_notify_ctx *n, const client_ref *surviving,
                         const client_ref *merged, const unsigned char merged_index[],
                         const char **reason)
{
    const char *name = NULL;
    int found = unhandled_reference(n, &name);
    if (found == 1)
        *reason = apr_pstrcat(n->pool, "kmenctl cannot merge: it does not move ", name, " rows yet",
                              NULL);
    if (found != 0)
        return found;
    found = agenda_conflict(n, surviving, merged, merged_index, &name);
    if (found == 1)
        *reason = apr_pstrcat(n->pool, "both clients have an AIFO in agenda ", name, NULL);
    return found;
}

kmenctl_notify_outcome kmenctl_notify_merge(kmenctl_notify_ctx *n, const char *surviving_aifo,
                                            const char *merged_aifo, const char **why)
{
    unsigned char surviving_index[KMEN_HASH_LEN], merged_index[KMEN_HASH_LEN];
    client_ref surviving, merged;
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
    const char *reason = NULL;
    if ((found = merge_blocked(n, &surviving, &merged, merged_index, &reason)) != 0)
        return give_up(n, found, reason, why);
    /* Both audit rows carry the line's request_id: together they say which
     * client identifier now lives on as which. */
    if (move_links(n, &surviving, &merged, merged_index) ||
        audit(n, "applied", "merge", &surviving) < 0 || audit(n, "merged", "merge", &merged) < 0)
        return give_up(n, -1, NULL, why);
    return commit(n, why);
}
