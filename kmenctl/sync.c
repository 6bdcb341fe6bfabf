/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sync: subscribes the register's new AIFO (subscribe.c), then reads the
 * gateway's change feed (GET /changes) from the cursor the register keeps and
 * applies each event as notify does (notify_events.c), the cursor advancing
 * in the event's own transaction: killed at any point, the next run neither
 * applies an event twice nor skips one. An event that cannot apply (unknown
 * AIFO, a conflict, a malformed event) is skipped: reported on stderr as
 * "seq S: reason", an audit row, and the cursor moves past it, likewise in
 * one transaction. Nothing printed or logged holds an AIFO or a name. */
#include <string.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "sync.h"
#include "validate.h"

typedef struct {
    const char *seq, *event, *aifo, *value;
    kmenctl_person data; /* a data event's corrections */
} feed_event;

static int load_cursor(kmenctl_sync_run *s)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, s->n.agenda);
    PGresult *res = kmenctl_query(s->n.conn, "cursor",
                                  "SELECT cursor FROM kmen.sync_cursor WHERE agenda = $1", &ps);
    if (!res)
        return -1;
    apr_cpystrn(s->cursor, PQntuples(res) ? PQgetvalue(res, 0, 0) : "", sizeof(s->cursor));
    PQclear(res);
    return 0;
}

static const char *text_member(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static const char *name_problem(const char *name)
{
    return name && kmenctl_name_problem(name, strlen(name)) ? "value holds a bad name" : NULL;
}

/* A data event's value: an object of corrections, each checked. */
static const char *data_problem(json_t *value, kmenctl_person *data)
{
    data->family_name = text_member(value, "family_name");
    data->given_name = text_member(value, "given_name");
    data->birth_date = text_member(value, "birth_date");
    data->address = NULL;
    if (!json_is_object(value) || !(data->family_name || data->given_name || data->birth_date))
        return "value is no object of family_name, given_name, birth_date";
    if (data->birth_date && !kmenctl_date_valid(data->birth_date, strlen(data->birth_date)))
        return "value's birth_date is not a real YYYY-MM-DD date";
    const char *why = name_problem(data->family_name);
    return why ? why : name_problem(data->given_name);
}

/* NULL when ev is an event that can be applied, else why not. */
static const char *event_problem(json_t *ev, feed_event *e)
{
    e->event = text_member(ev, "event");
    e->aifo = text_member(ev, "aifo");
    e->value = text_member(ev, "value");
    if (!e->event)
        return "no event";
    if (!e->aifo || kmenctl_aifo_problem(e->aifo, strlen(e->aifo)))
        return "aifo is missing or malformed";
    if (strcmp(e->event, "data") == 0)
        return data_problem(json_object_get(ev, "value"), &e->data);
    if (strcmp(e->event, "death") == 0)
        return e->value && kmenctl_date_valid(e->value, strlen(e->value))
                   ? NULL
                   : "value is not a real YYYY-MM-DD date";
    if (strcmp(e->event, "change") != 0 && strcmp(e->event, "merge") != 0)
        return "unknown event (change, merge, death or data)";
    if (!e->value || kmenctl_aifo_problem(e->value, strlen(e->value)))
        return "value is missing or not an AIFO";
    return strcmp(e->aifo, e->value) == 0 ? "aifo and value are the same AIFO" : NULL;
}

static kmenctl_notify_outcome apply_event(kmenctl_sync_run *s, const feed_event *e,
                                          const char **why)
{
    if (strcmp(e->event, "change") == 0)
        return kmenctl_notify_change(&s->n, e->aifo, e->value, why);
    if (strcmp(e->event, "merge") == 0)
        return kmenctl_notify_merge(&s->n, e->aifo, e->value, why);
    if (strcmp(e->event, "death") == 0)
        return kmenctl_notify_death(&s->n, e->aifo, e->value, why);
    return kmenctl_notify_data(&s->n, e->aifo, &e->data, why);
}

/* An event passed over: its audit row and the cursor, in one transaction. */
static int skip_event(kmenctl_sync_run *s, const char *event, const char *why)
{
    kmenctl_params ps = {0};
    fprintf(stderr, "seq %s: %s\n", s->n.cursor, why);
    kmenctl_param_text(&ps, apr_pstrcat(s->n.pool, event ? event : "?", ": ", why, NULL));
    kmenctl_param_text(&ps,
                       apr_pstrcat(s->n.pool, "kmenctl-sync ", s->n.run, ":", s->n.cursor, NULL));
    int rc = kmenctl_exec(s->n.conn, "skip", "BEGIN");
    PGresult *res = rc ? NULL
                       : kmenctl_query(s->n.conn, "skip",
                                       "INSERT INTO kmen.audit (event, outcome, detail, "
                                       "request_id) VALUES ('sync', 'skipped', $1, $2)",
                                       &ps);
    PQclear(res);
    if (!res || kmenctl_sync_cursor_store(&s->n) < 0 || kmenctl_exec(s->n.conn, "skip", "COMMIT"))
        return -1;
    s->skipped++;
    return 0;
}

/* One event of a page: 0 to go on, -1 to stop. */
static int take_event(kmenctl_sync_run *s, json_t *ev)
{
    feed_event e = {.seq = text_member(ev, "seq")};
    const char *why = event_problem(ev, &e);
    if (!e.seq || !*e.seq || strlen(e.seq) >= KMENCTL_CURSOR_MAX) {
        kmenctl_fail("sync: the gateway sent an event without a usable seq: stopped before it");
        return -1;
    }
    s->n.cursor = e.seq;
    kmenctl_notify_outcome outcome = why ? KMENCTL_NOTIFY_SKIPPED : apply_event(s, &e, &why);
    if (outcome == KMENCTL_NOTIFY_FATAL) {
        kmenctl_fail("seq %s: %s", e.seq, why);
        return -1;
    }
    if (outcome == KMENCTL_NOTIFY_SKIPPED && skip_event(s, e.event, why))
        return -1;
    if (outcome == KMENCTL_NOTIFY_APPLIED)
        s->applied++;
    apr_cpystrn(s->cursor, e.seq, sizeof(s->cursor));
    return 0;
}

/* The events of one page, then its `next`: the number of events, or -1. */
static int take_page(kmenctl_sync_run *s, json_t *page, apr_pool_t *event_pool)
{
    json_t *events = json_object_get(page, "events"), *ev;
    const char *next = text_member(page, "next");
    size_t i;
    if (!json_is_array(events) || !next || strlen(next) >= KMENCTL_CURSOR_MAX) {
        kmenctl_fail("sync: the gateway's /changes answer is not {events, next}");
        return -1;
    }
    json_array_foreach(events, i, ev)
    {
        s->n.pool = event_pool;
        int rc = take_event(s, ev);
        apr_pool_clear(event_pool);
        if (rc)
            return -1;
    }
    if (strcmp(next, s->cursor) == 0)
        return (int)json_array_size(events);
    s->n.cursor = next; /* past events of people the agenda does not follow */
    if (kmenctl_sync_cursor_store(&s->n) < 0) {
        kmenctl_fail("sync: %s", s->n.error);
        return -1;
    }
    apr_cpystrn(s->cursor, next, sizeof(s->cursor));
    return (int)json_array_size(events) + 1;
}

/* Reads pages until one brings nothing new. */
static int follow_feed(kmenctl_sync_run *s, apr_pool_t *page_pool, apr_pool_t *event_pool)
{
    for (int taken = 1; taken > 0; apr_pool_clear(page_pool)) {
        kmenctl_gateway_call call = kmenctl_changes_call(page_pool, s->n.agenda, s->cursor);
        kmenctl_gateway_run(s->gateway, page_pool, &call, 1);
        json_t *page = call.answer.status == 200
                           ? json_loadb(call.answer.body, call.answer.len, 0, NULL)
                           : NULL;
        if (!page)
            s->failure = apr_pstrdup(s->pool, kmenctl_gateway_failure(page_pool, &call));
        taken = page ? take_page(s, page, event_pool) : -1;
        json_decref(page);
        kmenctl_gateway_call_clear(&call);
        if (taken < 0)
            return -1;
    }
    return 0;
}

static const char *summary(kmenctl_sync_run *s)
{
    return apr_psprintf(s->pool, "subscribed %ld, not known %ld, applied %ld, skipped %ld",
                        s->subscribed, s->not_known, s->applied, s->skipped);
}

/* The run's audit row: ok, or gateway_failed with the counts so far. */
static void audit_run(kmenctl_sync_run *s, int rc)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, rc ? "gateway_failed" : "ok");
    kmenctl_param_text(&ps, summary(s));
    kmenctl_param_text(&ps, apr_pstrcat(s->pool, "kmenctl-sync ", s->n.run, NULL));
    PQclear(kmenctl_query(s->n.conn, "audit",
                          "INSERT INTO kmen.audit (event, outcome, detail, request_id) "
                          "VALUES ('sync', $1, $2, $3)",
                          &ps));
}

/* One run per agenda at a time (a timer and a hand-started run, or a run
 * that outlasts the timer's period): a second reader of the same cursor
 * could apply an event the first has already applied. The lock goes with
 * the session. */
static int lock_agenda(kmenctl_sync_run *s)
{
    kmenctl_params ps = {0};
    kmenctl_param_text(&ps, s->n.agenda);
    PGresult *res = kmenctl_query(
        s->n.conn, "lock", "SELECT pg_try_advisory_lock(hashtext('kmenctl sync ' || $1))", &ps);
    int locked = res && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (res && !locked)
        kmenctl_fail("sync: another kmenctl sync of agenda %s is running", s->n.agenda);
    PQclear(res);
    return locked ? 0 : -1;
}

static int sync_register(kmenctl_sync_run *s)
{
    apr_pool_t *page_pool, *event_pool;
    apr_pool_create(&page_pool, s->pool);
    apr_pool_create(&event_pool, s->pool);
    /* Without waiting for each commit's flush: a crash loses the last events
     * together with the cursor that counts them, and the next run applies
     * them again, once. */
    if (lock_agenda(s) ||
        kmenctl_exec(s->n.conn, "session settings", "SET synchronous_commit = off"))
        return -1;
    int rc = kmenctl_sync_subscribe(s);
    if (!rc)
        rc = load_cursor(s);
    if (!rc)
        rc = follow_feed(s, page_pool, event_pool);
    if (s->failure) {
        kmenctl_fail("sync: %s; every event before it is applied: run it again once the "
                     "gateway answers",
                     s->failure);
        audit_run(s, -1);
    } else if (!rc) {
        audit_run(s, 0);
    }
    return rc;
}

static int check_usage(const kmenctl_args *args, const char *agenda, int usage)
{
    if (usage)
        return usage;
    if (!args->key_file)
        return kmenctl_usage_error("sync", "--key-file is required");
    if (!kmenctl_agenda_valid(agenda))
        return kmenctl_usage_error("sync", "--agenda must look like A8566");
    if (!args->gateway)
        return kmenctl_usage_error("sync", "--gateway is required");
    return 0;
}

int kmenctl_sync(apr_pool_t *p, const kmenctl_args *args)
{
    kmen_id_keys keys;
    int usage;
    kmenctl_sync_run s = {.pool = p, .n = {.keys = &keys, .pool = p}};
    s.n.agenda = args->agenda ? args->agenda : KMENCTL_DEFAULT_AGENDA;
    s.gateway = kmenctl_gateway_open(p, "sync", args, &usage);
    int rc = check_usage(args, s.n.agenda, usage);
    if (rc || kmenctl_load_keys(args->key_file, &keys)) {
        kmenctl_gateway_close(s.gateway);
        return rc ? rc : KMENCTL_FAILURE;
    }
    s.n.run = kmen_random_token(p, 6);
    s.n.conn = s.n.run ? kmenctl_connect(args->positional[0]) : NULL;
    rc = s.n.conn ? sync_register(&s) : -1;
    PQfinish(s.n.conn);
    kmenctl_gateway_close(s.gateway);
    OPENSSL_cleanse(&keys, sizeof(keys));
    if (rc)
        return KMENCTL_FAILURE;
    printf("%s\n", summary(&s));
    /* A timer or cron must notice events passed over, not only a failed run. */
    return s.skipped ? KMENCTL_FAILURE : KMENCTL_OK;
}
