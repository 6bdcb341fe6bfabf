/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Translation-gateway client on libcurl and jansson. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "context.h"
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

void kmen_translate_library_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct {
    apr_pool_t *pool;
    char *data;
    apr_size_t len;
} answer_buf;

static size_t collect(char *chunk, size_t size, size_t n, void *userdata)
{
    answer_buf *b = userdata;
    size_t add = size * n;
    if (b->len + add > ANSWER_LIMIT)
        return 0; /* makes curl fail the call: no gateway answers this much */
    char *grown = apr_palloc(b->pool, b->len + add + 1);
    if (b->len)
        memcpy(grown, b->data, b->len);
    memcpy(grown + b->len, chunk, add);
    b->len += add;
    grown[b->len] = '\0';
    b->data = grown;
    return add;
}

static void configure(CURL *curl, const kmen_server_conf *c, const char *url, const char *body,
                      struct curl_slist *headers, answer_buf *answer)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* 0 would mean no limit to curl: a hung gateway must not hold a worker. */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long)(c->translator_timeout > 0 ? c->translator_timeout : 1) * 1000L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    if (c->translator_cert_file)
        curl_easy_setopt(curl, CURLOPT_SSLCERT, c->translator_cert_file);
    if (c->translator_key_file)
        curl_easy_setopt(curl, CURLOPT_SSLKEY, c->translator_key_file);
    if (c->translator_ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->translator_ca_file);
}

static kmen_translate_status read_answer(kmen_ctx *ctx, long status, const answer_buf *answer,
                                         const char *path, const char **aifo)
{
    if (status == 404)
        return KMEN_TRANSLATE_NOT_FOUND;
    json_t *doc = status == 200 && answer->data ? json_loads(answer->data, 0, NULL) : NULL;
    const char *value = json_string_value(json_object_get(doc, "aifo"));
    if (value && *value)
        *aifo = apr_pstrdup(ctx->pool, value);
    json_decref(doc);
    if (*aifo)
        return KMEN_TRANSLATE_OK;
    kmen_log(ctx, KMEN_LOG_ERR,
             KMEN_LOGNO(0651) "translation gateway %s answered %ld without an AIFO", path, status);
    return KMEN_TRANSLATE_FAILED;
}

/* One POST of a JSON document; the answer's "aifo" on 200. */
static kmen_translate_status call(kmen_ctx *ctx, const char *path, json_t *request,
                                  const char **aifo)
{
    const kmen_server_conf *c = ctx->conf;
    char *body = json_dumps(request, JSON_COMPACT);
    json_decref(request);
    answer_buf answer = {ctx->pool, NULL, 0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *curl = curl_easy_init();
    long status = 0;
    apr_time_t started = apr_time_now();
    *aifo = NULL;
    configure(curl, c, apr_pstrcat(ctx->pool, c->translator_url, path, NULL), body, headers,
              &answer);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    record_call(started, rc != CURLE_OK || (status != 200 && status != 404));
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    free(body);
    if (rc != CURLE_OK) {
        kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0652) "translation gateway %s failed: %s", path,
                 curl_easy_strerror(rc));
        return KMEN_TRANSLATE_FAILED;
    }
    return read_answer(ctx, status, &answer, path, aifo);
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
