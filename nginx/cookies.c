/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The browser's cookies on nginx (cookies.h). */
#include "apr_strings.h"

#include "cookies.h"
#include "cookie.h"
#include "request.h"
#include "response.h"

/* nginx 1.22 keeps each Cookie header apart (headers_in.cookies); a
 * browser sends one, HTTP/2 one per cookie. */
const char *kmen_ngx_cookie_header(ngx_http_request_t *r, kmen_ctx *ctx)
{
    ngx_table_elt_t **h = r->headers_in.cookies.elts;
    const char *list = "";
    for (ngx_uint_t i = 0; i < r->headers_in.cookies.nelts; i++)
        list = apr_pstrcat(ctx->pool, list, i ? "; " : "",
                           apr_pstrndup(ctx->pool, (const char *)h[i]->value.data, h[i]->value.len),
                           NULL);
    return list;
}

const char *kmen_ngx_cookie_get(ngx_http_request_t *r, kmen_ctx *ctx, const char *name)
{
    return kmen_cookie_value(ctx, kmen_ngx_cookie_header(r, ctx), name);
}

ngx_int_t kmen_ngx_cookie_set(ngx_http_request_t *r, kmen_ctx *ctx, const char *name,
                              const char *value, int max_age, int cross_site)
{
    return kmen_ngx_add_header(
        r, "Set-Cookie",
        kmen_cookie_header(ctx->pool, ctx->conf, name, value, max_age, cross_site));
}

kmen_store_status kmen_ngx_session_of(ngx_http_request_t *r, kmen_ctx *ctx, kmen_session **s)
{
    apr_time_t until = 0;
    return kmen_session_open(ctx, kmen_ngx_session_cache(r),
                             kmen_ngx_cookie_get(r, ctx, ctx->conf->cookie_name), s, &until);
}
