/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strip spoofed headers; set ours, their env twins and the optional signature. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "config.h"
#include "crypto.h"
#include "headers.h"
#include "headers_encode.h"

typedef struct {
    const char *prefix;
    apr_array_header_t *names;
} strip_ctx;

static int collect_spoofable(void *data, const char *key, const char *value)
{
    strip_ctx *ctx = data;
    (void)value;
    if (kmen_header_is_spoofable(key, ctx->prefix))
        APR_ARRAY_PUSH(ctx->names, const char *) = key;
    return 1;
}

void kmen_headers_strip(request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    strip_ctx ctx = {c->header_prefix, apr_array_make(r->pool, 4, sizeof(const char *))};
    apr_table_do(collect_spoofable, &ctx, r->headers_in, NULL);
    for (int i = 0; i < ctx.names->nelts; i++)
        apr_table_unset(r->headers_in, APR_ARRAY_IDX(ctx.names, i, const char *));
}

/* One header and its environment twin, encoded, with the line it adds to
 * Kmen-Signature (NULL when nothing signs). */
typedef struct {
    const char *name, *value, *env, *env_value, *signed_line;
} prepared_header;

struct kmen_header_set {
    apr_array_header_t *headers; /* prepared_header */
};

static void prepare_one(apr_pool_t *p, const kmen_server_conf *conf, kmen_header_set *set,
                        const char *suffix, const char *env, const char *value)
{
    prepared_header *h = apr_array_push(set->headers);
    h->name = apr_pstrcat(p, conf->header_prefix, suffix, NULL);
    h->value = kmen_header_encode(p, value, conf->header_encoding);
    h->env = env;
    h->env_value = kmen_header_encode(p, value, KMEN_ENCODING_RAW);
    h->signed_line = NULL;
    if (!conf->header_secret)
        return;
    char *line = apr_pstrcat(p, h->name, ":", h->value, NULL);
    for (char *c = line; *c != ':'; c++)
        *c = (char)apr_tolower(*c);
    h->signed_line = line;
}

/* Kmen-Attr-<name> and KMEN_ATTR_<NAME>: the attributes nothing above maps. */
static void prepare_released(apr_pool_t *p, const kmen_server_conf *conf, kmen_header_set *set,
                             const kmen_identity *identity)
{
    apr_array_header_t *released = kmen_released(p, identity);
    for (int i = 0; i < released->nelts; i++) {
        const kmen_attr *a = &APR_ARRAY_IDX(released, i, kmen_attr);
        char *env = apr_pstrcat(p, "KMEN_ATTR_", a->name, NULL);
        for (char *c = env; *c; c++)
            *c = *c == '-' ? '_' : (char)apr_toupper(*c);
        prepare_one(p, conf, set, apr_pstrcat(p, "Attr-", a->name, NULL), env, a->value);
    }
}

kmen_header_set *kmen_headers_prepare(apr_pool_t *p, const kmen_server_conf *conf,
                                      const kmen_identity *identity)
{
    kmen_header_set *set = apr_palloc(p, sizeof(*set));
    set->headers = apr_array_make(p, 24, sizeof(prepared_header));
    for (const kmen_identity_field *f = kmen_identity_fields; f->key; f++) {
        const char *v = kmen_identity_field_value(identity, f);
        if (v && *v)
            prepare_one(p, conf, set, f->header, f->env, v);
    }
    prepare_released(p, conf, set, identity);
    prepare_one(p, conf, set, "Origin", "KMEN_ORIGIN", kmen_origin_name(identity->origin));
    prepare_one(p, conf, set, "LoA", "KMEN_LOA", kmen_loa_name(identity->loa));
    return set;
}

/* Where to put them: apr_table_setn compares every name with each earlier
 * one that starts alike, and all of ours do. A table with no name of ours
 * yet (the main request: the spoofed ones are gone) takes them added. */
typedef struct {
    request_rec *r;
    int headers_fresh, env_fresh;
    apr_array_header_t *signed_lines; /* NULL: nothing signs */
} set_ctx;

static void put(apr_table_t *t, int fresh, const char *key, const char *value)
{
    if (fresh)
        apr_table_addn(t, key, value);
    else
        apr_table_setn(t, key, value);
}

static void apply(set_ctx *ctx, const prepared_header *h)
{
    put(ctx->r->headers_in, ctx->headers_fresh, h->name, h->value);
    put(ctx->r->subprocess_env, ctx->env_fresh, h->env, h->env_value);
    if (ctx->signed_lines)
        APR_ARRAY_PUSH(ctx->signed_lines, const char *) = h->signed_line;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Kmen-Signature: t=<unix time>, v1=<hex HMAC-SHA256> over "t=<time>\n"
 * followed by every header set here as "lower-case-name:value\n", sorted. */
static void set_signature(set_ctx *ctx, const kmen_server_conf *conf)
{
    request_rec *r = ctx->r;
    const char *t = apr_psprintf(r->pool, "%" APR_TIME_T_FMT, apr_time_sec(r->request_time));
    qsort(ctx->signed_lines->elts, (size_t)ctx->signed_lines->nelts, sizeof(const char *),
          compare_strings);
    const char *text = apr_pstrcat(r->pool, "t=", t, "\n",
                                   apr_array_pstrcat(r->pool, ctx->signed_lines, '\n'), "\n", NULL);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(conf->header_secret, conf->header_secret_len, text, strlen(text), mac);
    const char *value =
        apr_pstrcat(r->pool, "t=", t, ", v1=", kmen_hex(r->pool, mac, KMEN_HASH_LEN), NULL);
    put(r->headers_in, ctx->headers_fresh,
        apr_pstrcat(r->pool, conf->header_prefix, "Signature", NULL), value);
    put(r->subprocess_env, ctx->env_fresh, "KMEN_SIGNATURE", value);
}

void kmen_headers_set(request_rec *r, const kmen_header_set *set, const char *aifo,
                      const char *evidence)
{
    const kmen_server_conf *conf = kmen_server_conf_get(r->server);
    set_ctx ctx = {r, !kmen_header_table_has_prefix(r->headers_in, conf->header_prefix),
                   !kmen_header_table_has_prefix(r->subprocess_env, "KMEN_"),
                   conf->header_secret ? apr_array_make(r->pool, 24, sizeof(char *)) : NULL};
    kmen_header_set *extra =
        &(kmen_header_set){apr_array_make(r->pool, 2, sizeof(prepared_header))};
    if (aifo)
        prepare_one(r->pool, conf, extra, "Aifo", "KMEN_AIFO", aifo);
    if (evidence)
        prepare_one(r->pool, conf, extra, "Evidence", "KMEN_EVIDENCE", evidence);
    for (int i = 0; i < set->headers->nelts; i++)
        apply(&ctx, &APR_ARRAY_IDX(set->headers, i, prepared_header));
    for (int i = 0; i < extra->headers->nelts; i++)
        apply(&ctx, &APR_ARRAY_IDX(extra->headers, i, prepared_header));
    if (ctx.signed_lines)
        set_signature(&ctx, conf);
}
