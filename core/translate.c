/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Translation-gateway client: JSON (jansson) over the core's HTTP client. */
#include <stdlib.h>

#include <jansson.h>

#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "context.h"
#include "http_client.h"
#include "translate.h"

#define ROLE "CR102729"
#define ANSWER_LIMIT 65536

static kmen_translate_stats stats; /* per process, updated atomically */

void kmen_translate_stats_get(kmen_translate_stats *out)
{
    out->calls = apr_atomic_read32(&stats.calls);
    out->failures = apr_atomic_read32(&stats.failures);
    out->total_ms = apr_atomic_read32(&stats.total_ms);
    out->max_ms = apr_atomic_read32(&stats.max_ms);
}

static void record_call(apr_time_t started, int failed)
{
    apr_uint32_t ms = (apr_uint32_t)apr_time_as_msec(apr_time_now() - started);
    apr_atomic_inc32(&stats.calls);
    apr_atomic_add32(&stats.total_ms, ms);
    if (failed)
        apr_atomic_inc32(&stats.failures);
    for (apr_uint32_t max = apr_atomic_read32(&stats.max_ms); ms > max;
         max = apr_atomic_read32(&stats.max_ms)) {
        if (apr_atomic_cas32(&stats.max_ms, ms, max) == max)
            break;
    }
}

static kmen_translate_status read_answer(kmen_ctx *ctx, const kmen_http_response *answer,
                                         const char *path, const char **aifo)
{
    if (answer->status == 404)
        return KMEN_TRANSLATE_NOT_FOUND;
    json_t *doc = answer->status == 200 ? json_loads(answer->body, 0, NULL) : NULL;
    const char *value = json_string_value(json_object_get(doc, "aifo"));
    if (value && *value)
        *aifo = apr_pstrdup(ctx->pool, value);
    json_decref(doc);
    if (*aifo)
        return KMEN_TRANSLATE_OK;
    kmen_log(ctx, KMEN_LOG_ERR,
             KMEN_LOGNO(0651) "translation gateway %s answered %ld without an AIFO", path,
             answer->status);
    return KMEN_TRANSLATE_FAILED;
}

/* One POST of a JSON document, on a connection of its own (a worker's
 * calls are minutes apart); the answer's "aifo" on 200. */
static kmen_translate_status call(kmen_ctx *ctx, const char *path, json_t *request,
                                  const char **aifo)
{
    const kmen_server_conf *c = ctx->conf;
    char *body = json_dumps(request, JSON_COMPACT);
    json_decref(request);
    kmen_http_request req = {
        .url = apr_pstrcat(ctx->pool, c->translator_url, path, NULL),
        .body = body,
        .content_type = "application/json",
        /* never 0: a hung gateway must not hold a worker */
        .timeout_ms = (long)(c->translator_timeout > 0 ? c->translator_timeout : 1) * 1000L,
        .max_bytes = ANSWER_LIMIT, /* no gateway answers this much */
        .ca_file = c->translator_ca_file,
        .cert_file = c->translator_cert_file,
        .key_file = c->translator_key_file};
    kmen_http_response answer;
    apr_time_t started = apr_time_now();
    *aifo = NULL;
    kmen_http_call(ctx->pool, &req, &answer);
    free(body);
    record_call(started, answer.status != 200 && answer.status != 404);
    if (!answer.status) {
        kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0652) "translation gateway %s failed: %s", path,
                 answer.reason);
        return KMEN_TRANSLATE_FAILED;
    }
    return read_answer(ctx, &answer, path, aifo);
}

kmen_translate_status kmen_translate_bsi(kmen_ctx *ctx, const char *bsi, const char *agenda,
                                         const char **aifo)
{
    return call(ctx, "/bsi-to-aifo",
                json_pack("{s:s, s:s, s:s}", "bsi", bsi, "agenda", agenda, "role", ROLE), aifo);
}

kmen_translate_status kmen_translate_aifo(kmen_ctx *ctx, const char *aifo, const char *from,
                                          const char *to, const char **out)
{
    return call(ctx, "/aifo-to-aifo",
                json_pack("{s:s, s:s, s:s}", "aifo", aifo, "from", from, "to", to), out);
}
