/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: applies base-register change notifications to the register.
 *
 * The file is CSV (UTF-8, RFC 4180 quoting, LF or CRLF) with the header
 * `event,aifo,value` and one event per line; every AIFO is in the register
 * agenda (--agenda, default A8566):
 *
 *   change,<old AIFO>,<new AIFO>    the client's AIFO changed: its blind
 *                                   index and ciphertext are replaced
 *   merge,<surviving AIFO>,<merged AIFO>
 *                                   two AIFO were one person: the merged
 *                                   (cancelled) AIFO is dropped and the
 *                                   merged client merges into the surviving
 *                                   one with kmen.merge_clients (its links
 *                                   move, its names and dates fill the
 *                                   survivor's gaps, its client identifier
 *                                   becomes an alias that still resolves);
 *                                   when both clients have an AIFO in one
 *                                   agenda the function refuses and the
 *                                   line is skipped
 *   death,<AIFO>,<YYYY-MM-DD>       sets kmen.client.deceased
 *
 * Each line is one transaction with an audit row (event notify, outcome
 * applied, detail the event, the client's id; a merge adds one with outcome
 * merged for the merged client, and kmen.merge_clients its own with event
 * merge; all carry request_id "kmenctl-notify RUN:LINE"). A line that is malformed, names an
 * unknown AIFO or conflicts is reported on stderr as `line N: reason` and skipped; the others still
 * apply. Reports never contain an AIFO. */
#include <string.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "csv.h"
#include "notify.h"
#include "validate.h"

enum { NOTIFY_EVENT, NOTIFY_AIFO, NOTIFY_VALUE, NOTIFY_FIELDS };

typedef struct {
    long applied;
    long skipped;
} notify_counts;

static int is_header(const kmen_csv_record *r)
{
    return r->count == NOTIFY_FIELDS && strcmp(r->field[NOTIFY_EVENT], "event") == 0 &&
           strcmp(r->field[NOTIFY_AIFO], "aifo") == 0 &&
           strcmp(r->field[NOTIFY_VALUE], "value") == 0;
}

/* NULL when the record is a well-formed event, else why not. */
static const char *event_problem(apr_pool_t *p, const kmen_csv_record *r)
{
    const char *why;
    if (r->count != NOTIFY_FIELDS)
        return apr_psprintf(p, "%d fields, expected 3 (event,aifo,value)", r->count);
    const char *event = r->field[NOTIFY_EVENT];
    int death = strcmp(event, "death") == 0;
    if (!death && strcmp(event, "change") != 0 && strcmp(event, "merge") != 0)
        return "unknown event (change, merge or death)";
    if ((why = kmenctl_aifo_problem(r->field[NOTIFY_AIFO], r->len[NOTIFY_AIFO])))
        return apr_pstrcat(p, "aifo ", why, NULL);
    if (death)
        return kmenctl_date_valid(r->field[NOTIFY_VALUE], r->len[NOTIFY_VALUE])
                   ? NULL
                   : "value is not a real YYYY-MM-DD date";
    if ((why = kmenctl_aifo_problem(r->field[NOTIFY_VALUE], r->len[NOTIFY_VALUE])))
        return apr_pstrcat(p, "value ", why, NULL);
    if (strcmp(r->field[NOTIFY_AIFO], r->field[NOTIFY_VALUE]) == 0)
        return "aifo and value are the same AIFO";
    return NULL;
}

static kmenctl_notify_outcome apply_event(kmenctl_notify_ctx *n, const kmen_csv_record *r,
                                          const char **why)
{
    const char *event = r->field[NOTIFY_EVENT], *aifo = r->field[NOTIFY_AIFO],
               *value = r->field[NOTIFY_VALUE];
    if (strcmp(event, "change") == 0)
        return kmenctl_notify_change(n, aifo, value, why);
    if (strcmp(event, "merge") == 0)
        return kmenctl_notify_merge(n, aifo, value, why);
    return kmenctl_notify_death(n, aifo, value, why);
}

/* 0 to go on, -1 when the run must stop. */
static int take_line(kmenctl_notify_ctx *n, const kmen_csv_record *r, notify_counts *counts)
{
    const char *why = event_problem(n->pool, r);
    kmenctl_notify_outcome outcome = KMENCTL_NOTIFY_SKIPPED;
    if (!why)
        outcome = apply_event(n, r, &why);
    if (outcome == KMENCTL_NOTIFY_FATAL) {
        kmenctl_fail("line %ld: %s", n->line, why);
        return -1;
    }
    if (outcome == KMENCTL_NOTIFY_APPLIED) {
        counts->applied++;
    } else {
        fprintf(stderr, "line %ld: %s\n", n->line, why);
        counts->skipped++;
    }
    return 0;
}

static int notify_file(kmenctl_notify_ctx *n, const char *data, apr_size_t len,
                       notify_counts *counts)
{
    kmen_csv_record rec = {.out = apr_palloc(n->pool, len + 1), .out_cap = len + 1};
    apr_pool_t *line_pool;
    size_t pos = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0, used;
    const char *why;
    int header = 0, rc = 0;
    kmen_csv_status st;
    apr_pool_create(&line_pool, n->pool);
    n->line = 1;
    while (!rc &&
           (st = kmen_csv_next(data + pos, len - pos, 1, &rec, &used, &why)) != KMEN_CSV_END) {
        n->pool = line_pool;
        if (st == KMEN_CSV_RECORD && rec.count == 0) {
            /* an empty line */
        } else if (!header && (st != KMEN_CSV_RECORD || !is_header(&rec))) {
            kmenctl_fail("line %ld: the header must be event,aifo,value", n->line);
            kmenctl_hint_header(data + pos, used);
            rc = -1;
        } else if (!header) {
            header = 1;
        } else if (st == KMEN_CSV_BAD) {
            fprintf(stderr, "line %ld: %s\n", n->line, why);
            counts->skipped++;
        } else {
            rc = take_line(n, &rec, counts);
        }
        apr_pool_clear(line_pool);
        n->line += rec.newlines;
        pos += used;
    }
    if (!rc && !header)
        kmenctl_fail("empty file, no header row");
    return header ? rc : -1;
}

int kmenctl_notify(apr_pool_t *p, const kmenctl_args *args)
{
    kmen_id_keys keys;
    apr_size_t len;
    notify_counts counts = {0, 0};
    kmenctl_notify_ctx n = {.keys = &keys, .pool = p};
    n.agenda = args->agenda ? args->agenda : KMENCTL_DEFAULT_AGENDA;
    if (!args->key_file)
        return kmenctl_usage_error("notify", "--key-file is required");
    if (!kmenctl_agenda_valid(n.agenda))
        return kmenctl_usage_error("notify", "--agenda must look like A8566");
    const char *data = kmenctl_read_file(p, args->positional[1], &len);
    if (!data || kmenctl_load_keys(args->key_file, &keys))
        return KMENCTL_FAILURE;
    n.run = kmen_random_token(p, 6);
    n.conn = kmenctl_connect(args->positional[0]);
    int rc = n.conn && n.run ? notify_file(&n, data, len, &counts) : -1;
    PQfinish(n.conn);
    OPENSSL_cleanse(&keys, sizeof(keys));
    if (rc)
        return KMENCTL_FAILURE;
    printf("applied %ld, skipped %ld\n", counts.applied, counts.skipped);
    /* A script (cron, a pipeline) must notice events left out, not only a failed run. */
    return counts.skipped ? KMENCTL_FAILURE : KMENCTL_OK;
}
