/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cache-Control private on authenticated answers (cache_private.h). */
#include "apr_strings.h"

#include "cache_private.h"
#include "headers_encode.h"
#include "location.h"
#include "request.h"

static ngx_http_output_header_filter_pt next_header_filter;

static int is_cache_control(const ngx_table_elt_t *h)
{
    static const char name[] = "Cache-Control";
    return h->hash && h->key.len == sizeof(name) - 1 &&
           ngx_strncasecmp(h->key.data, (u_char *)name, sizeof(name) - 1) == 0;
}

/* The response's Cache-Control headers as one, in the first of them
 * (*first; NULL: none), the others dropped: the same directives, as HTTP
 * reads several. NULL when there are none. */
static const char *cache_control_of(ngx_http_request_t *r, apr_pool_t *p, ngx_table_elt_t **first)
{
    const char *joined = NULL;
    *first = NULL;
    for (ngx_list_part_t *part = &r->headers_out.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (!is_cache_control(&h[i]))
                continue;
            const char *v = apr_pstrmemdup(p, (const char *)h[i].value.data, h[i].value.len);
            joined = joined ? apr_pstrcat(p, joined, ", ", v, NULL) : v;
            if (*first)
                h[i].hash = 0; /* nginx's header filter writes no header of hash 0 */
            else
                *first = &h[i];
        }
    }
    return joined;
}

static ngx_int_t keep_private(ngx_http_request_t *r, apr_pool_t *p)
{
    ngx_table_elt_t *h = NULL;
    const char *cc = cache_control_of(r, p, &h);
    const char *marked = kmen_cache_control_private(p, cc);
    const char *value = marked ? marked : cc;
    if (!h && !(h = ngx_list_push(&r->headers_out.headers)))
        return NGX_ERROR;
    if (!cc) {
        ngx_memzero(h, sizeof(*h));
        h->hash = 1;
        ngx_str_set(&h->key, "Cache-Control");
    }
    h->value.data = (u_char *)value;
    h->value.len = ngx_strlen(value);
    return NGX_OK;
}

static ngx_int_t private_header_filter(ngx_http_request_t *r)
{
    const kmen_ngx_loc_conf *l = ngx_http_get_module_loc_conf(r, ngx_http_kmen_module);
    kmen_ctx *ctx;
    /* a response of nginx's own before any location was found (a 400, say)
     * was let through for no session: the location is looked at after that */
    if (r != r->main || !kmen_ngx_request_is_authenticated(r) || !kmen_dir_cache_private(l->dir) ||
        !(ctx = kmen_ngx_request_ctx(r)))
        return next_header_filter(r);
    return keep_private(r, ctx->pool) == NGX_OK ? next_header_filter(r) : NGX_ERROR;
}

ngx_int_t kmen_ngx_cache_private_init(ngx_conf_t *cf)
{
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = private_header_filter;
    return NGX_OK;
}
