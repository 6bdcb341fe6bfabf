/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strip spoofed headers; set ours, their env twins and the optional signature. */
#include <stdlib.h>
#include <string.h>

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

typedef struct {
    request_rec *r;
    const kmen_server_conf *conf;
    apr_array_header_t *signed_lines; /* "lower-case-name:value"; NULL: nothing signs */
} set_ctx;

static void set_one(set_ctx *ctx, const char *suffix, const char *env, const char *value)
{
    request_rec *r = ctx->r;
    const char *name = apr_pstrcat(r->pool, ctx->conf->header_prefix, suffix, NULL);
    const char *encoded = kmen_header_encode(r->pool, value, ctx->conf->header_encoding);
    apr_table_setn(r->headers_in, name, encoded);
    apr_table_setn(r->subprocess_env, env, kmen_header_encode(r->pool, value, KMEN_ENCODING_RAW));
    if (!ctx->signed_lines)
        return;
    char *line = apr_pstrcat(r->pool, name, ":", encoded, NULL);
    for (char *c = line; *c != ':'; c++)
        *c = (char)apr_tolower(*c);
    APR_ARRAY_PUSH(ctx->signed_lines, const char *) = line;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Kmen-Signature: t=<unix time>, v1=<hex HMAC-SHA256> over "t=<time>\n"
 * followed by every header set here as "lower-case-name:value\n", sorted. */
static void set_signature(set_ctx *ctx)
{
    request_rec *r = ctx->r;
    const char *t = apr_psprintf(r->pool, "%" APR_TIME_T_FMT, apr_time_sec(r->request_time));
    qsort(ctx->signed_lines->elts, (size_t)ctx->signed_lines->nelts, sizeof(const char *),
          compare_strings);
    const char *text = apr_pstrcat(r->pool, "t=", t, "\n",
                                   apr_array_pstrcat(r->pool, ctx->signed_lines, '\n'), "\n", NULL);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(ctx->conf->header_secret, ctx->conf->header_secret_len, text, strlen(text),
                     mac);
    const char *value =
        apr_pstrcat(r->pool, "t=", t, ", v1=", kmen_hex(r->pool, mac, KMEN_HASH_LEN), NULL);
    apr_table_setn(r->headers_in, apr_pstrcat(r->pool, ctx->conf->header_prefix, "Signature", NULL),
                   value);
    apr_table_setn(r->subprocess_env, "KMEN_SIGNATURE", value);
}

/* Kmen-Attr-<name> and KMEN_ATTR_<NAME>: the attributes nothing above maps. */
static void set_released(set_ctx *ctx, const kmen_identity *identity)
{
    apr_array_header_t *released = kmen_released(ctx->r->pool, identity);
    for (int i = 0; i < released->nelts; i++) {
        const kmen_attr *a = &APR_ARRAY_IDX(released, i, kmen_attr);
        char *env = apr_pstrcat(ctx->r->pool, "KMEN_ATTR_", a->name, NULL);
        for (char *c = env; *c; c++)
            *c = *c == '-' ? '_' : (char)apr_toupper(*c);
        set_one(ctx, apr_pstrcat(ctx->r->pool, "Attr-", a->name, NULL), env, a->value);
    }
}

void kmen_headers_set(request_rec *r, const kmen_identity *identity, const char *aifo,
                      const char *evidence)
{
    const kmen_server_conf *conf = kmen_server_conf_get(r->server);
    set_ctx ctx = {r, conf,
                   conf->header_secret ? apr_array_make(r->pool, 16, sizeof(char *)) : NULL};
    for (const kmen_identity_field *f = kmen_identity_fields; f->key; f++) {
        const char *v = kmen_identity_field_value(identity, f);
        if (v && *v)
            set_one(&ctx, f->header, f->env, v);
    }
    set_released(&ctx, identity);
    set_one(&ctx, "Origin", "KMEN_ORIGIN", kmen_origin_name(identity->origin));
    set_one(&ctx, "LoA", "KMEN_LOA", kmen_loa_name(identity->loa));
    if (aifo)
        set_one(&ctx, "Aifo", "KMEN_AIFO", aifo);
    if (evidence)
        set_one(&ctx, "Evidence", "KMEN_EVIDENCE", evidence);
    if (ctx.signed_lines)
        set_signature(&ctx);
}
