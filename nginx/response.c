/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the endpoints answer (response.h). The module sends its pages
 * itself rather than returning a status for nginx's error pages, which
 * would drop the cookies set beside them. */
#include <string.h>

#include "apr_strings.h"

#include "headers.h"
#include "request.h"
#include "response.h"

static ngx_table_elt_t *push_header(ngx_http_request_t *r, const char *name, const char *value)
{
    ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
    if (!h)
        return NULL;
    ngx_memzero(h, sizeof(*h));
    h->hash = 1;
    h->key.len = strlen(name);
    h->key.data = (u_char *)name;
    h->value.len = strlen(value);
    h->value.data = (u_char *)value;
    return h;
}

ngx_int_t kmen_ngx_add_header(ngx_http_request_t *r, const char *name, const char *value)
{
    return push_header(r, name, value) ? NGX_OK : NGX_ERROR;
}

ngx_int_t kmen_ngx_set_answer_headers(ngx_http_request_t *r, ngx_uint_t status, const char *type,
                                      size_t len)
{
    if (kmen_ngx_add_header(r, "Cache-Control", "no-store") != NGX_OK ||
        (status == NGX_HTTP_SERVICE_UNAVAILABLE &&
         kmen_ngx_add_header(r, "Retry-After", KMEN_NGX_RETRY_AFTER) != NGX_OK))
        return NGX_ERROR;
    r->headers_out.status = status;
    ngx_str_null(&r->headers_out.status_line); /* an upstream's ("200 OK") would win */
    r->headers_out.content_type.len = r->headers_out.content_type_len = strlen(type);
    r->headers_out.content_type.data = (u_char *)type;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;
    r->headers_out.content_length_n = (off_t)len;
    return NGX_OK;
}

ngx_chain_t *kmen_ngx_body(ngx_http_request_t *r, const char *body, size_t len)
{
    ngx_buf_t *b = ngx_calloc_buf(r->pool);
    ngx_chain_t *out = ngx_alloc_chain_link(r->pool);
    if (!b || !out)
        return NULL;
    /* an empty one is nginx's "special" buffer (ngx_http_send_special's):
     * its writer refuses an empty buffer in memory */
    b->pos = (u_char *)body;
    b->last = b->pos + len;
    b->memory = len > 0;
    b->last_buf = r == r->main;
    b->sync = len == 0 && r != r->main;
    b->last_in_chain = 1;
    out->buf = b;
    out->next = NULL;
    return out;
}

ngx_int_t kmen_ngx_send(ngx_http_request_t *r, ngx_uint_t status, const char *type,
                        const char *body)
{
    return kmen_ngx_send_bytes(r, status, type, body, strlen(body));
}

ngx_int_t kmen_ngx_send_bytes(ngx_http_request_t *r, ngx_uint_t status, const char *type,
                              const char *body, size_t len)
{
    if (kmen_ngx_set_answer_headers(r, status, type, len) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only)
        return rc;
    ngx_chain_t *out = kmen_ngx_body(r, body, len);
    return out ? ngx_http_output_filter(r, out) : NGX_ERROR;
}

const char *kmen_ngx_page_html(ngx_http_request_t *r, kmen_page page, const char *html)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    return ctx ? kmen_page_render(ctx->pool, page, html, kmen_ctx_request_id(ctx)) : NULL;
}

/* kmen_error_document instead of PAGE: nginx's internal redirect, as its
 * error_page does, the status kept (err_status) and $kmen_error set. The
 * request's Kmen-* headers go first, as httpd strips a redirected request
 * again: an endpoint's, which keep the client's, would otherwise reach the
 * document's upstream (a redirected request does not pass the post-read
 * phase, where the strip is, again; a kmen_auth location sets the
 * identity's anew). */
static ngx_int_t send_error_document(ngx_http_request_t *r, const kmen_server_conf *c,
                                     const kmen_page_text *page)
{
    ngx_str_t uri = {strlen(c->error_document), (u_char *)c->error_document};
    ngx_str_t args = ngx_null_string;
    if (kmen_ngx_headers_strip(r, c->header_prefix) != NGX_OK ||
        !kmen_ngx_request_keep_error(r, page->name) ||
        (page->status == NGX_HTTP_SERVICE_UNAVAILABLE &&
         kmen_ngx_add_header(r, "Retry-After", KMEN_NGX_RETRY_AFTER) != NGX_OK))
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    r->err_status = (ngx_uint_t)page->status;
    if (r->method != NGX_HTTP_HEAD) {
        r->method = NGX_HTTP_GET;
        r->method_name = ngx_http_core_get_method;
    }
    return ngx_http_internal_redirect(r, &uri, &args);
}

ngx_int_t kmen_ngx_send_page_with(ngx_http_request_t *r, kmen_page page, const char *html)
{
    const kmen_page_text *text = kmen_page_of(page);
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (ctx->conf->error_document && text->status >= NGX_HTTP_BAD_REQUEST)
        return send_error_document(r, ctx->conf, text);
    const char *body = kmen_ngx_page_html(r, page, html);
    return body ? kmen_ngx_send(r, (ngx_uint_t)text->status, "text/html; charset=utf-8", body)
                : NGX_HTTP_INTERNAL_SERVER_ERROR;
}

ngx_int_t kmen_ngx_send_page(ngx_http_request_t *r, kmen_page page)
{
    return kmen_ngx_send_page_with(r, page, "");
}

ngx_int_t kmen_ngx_send_page_login_again(ngx_http_request_t *r, kmen_page page,
                                         const char *return_to)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const char *url = kmen_login_path(ctx->pool, ctx->conf, return_to);
    return kmen_ngx_send_page_with(r, page, kmen_page_retry_link(ctx->pool, url));
}

ngx_int_t kmen_ngx_set_location(ngx_http_request_t *r, const char *url)
{
    r->headers_out.location = push_header(r, "Location", url);
    return r->headers_out.location ? NGX_OK : NGX_ERROR;
}

ngx_int_t kmen_ngx_redirect(ngx_http_request_t *r, const char *url)
{
    if (kmen_ngx_set_location(r, url) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return kmen_ngx_send(r, NGX_HTTP_SEE_OTHER, "text/plain", "");
}
