/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strip spoofed headers; set ours and their env twins (core/header_set.h). */
#include "config.h"
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

/* Where to put them: apr_table_setn compares every name with each earlier
 * one that starts alike, and all of ours do. A table with no name of ours
 * yet (the main request: the spoofed ones are gone) takes them added. */
static void put(apr_table_t *t, int fresh, const char *key, const char *value)
{
    if (fresh)
        apr_table_addn(t, key, value);
    else
        apr_table_setn(t, key, value);
}

void kmen_headers_set(request_rec *r, const kmen_header_set *set, const char *aifo,
                      const char *evidence)
{
    const kmen_server_conf *conf = kmen_server_conf_get(r->server);
    int headers_fresh = !kmen_header_table_has_prefix(r->headers_in, conf->header_prefix);
    int env_fresh = !kmen_header_table_has_prefix(r->subprocess_env, "KMEN_");
    const apr_array_header_t *all =
        kmen_headers_of_request(r->pool, conf, set, aifo, evidence, r->request_time);
    for (int i = 0; i < all->nelts; i++) {
        const kmen_header *h = &APR_ARRAY_IDX(all, i, kmen_header);
        put(r->headers_in, headers_fresh, h->name, h->value);
        put(r->subprocess_env, env_fresh, h->env, h->env_value);
    }
}
