/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend's commands on nginx (backend_commands.h). */
#include <string.h>

#include "apr_strings.h"

#include "backend.h"
#include "backend_commands.h"
#include "location.h"
#include "request.h"
#include "response.h"

static ngx_http_output_header_filter_pt next_header_filter;
static ngx_http_output_body_filter_pt next_body_filter;

static int name_starts_with(const ngx_table_elt_t *h, const char *prefix, size_t len)
{
    return h->hash && h->key.len >= len && ngx_strncasecmp(h->key.data, (u_char *)prefix, len) == 0;
}

/* Most answers (static files, pages that tell the module nothing) carry no
 * header with the prefix: one pass over the names, with nothing made,
 * spares them the rest. */
static int names_a_kmen_header(ngx_http_request_t *r, const char *prefix)
{
    size_t len = strlen(prefix);
    for (ngx_list_part_t *part = &r->headers_out.headers.part; part; part = part->next) {
        const ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (name_starts_with(&h[i], prefix, len))
                return 1;
        }
    }
    return 0;
}

static int is_command(const ngx_table_elt_t *h, const char *const *names)
{
    for (int i = 0; i < KMEN_BACKEND_COMMANDS; i++) {
        if (h->key.len == strlen(names[i]) && name_starts_with(h, names[i], h->key.len))
            return 1;
    }
    return 0;
}

/* The commands among R's response headers, which are then rid of them
 * (nginx's header filter writes no header of hash 0): whatever the core
 * makes of them, none reaches the browser. A name under the prefix that is
 * no command is the backend's to send. */
static apr_table_t *take_commands(ngx_http_request_t *r, apr_pool_t *p, const char *prefix)
{
    const char *const *names = kmen_backend_header_names(p, prefix);
    apr_table_t *taken = apr_table_make(p, KMEN_BACKEND_COMMANDS);
    for (ngx_list_part_t *part = &r->headers_out.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (!is_command(&h[i], names))
                continue;
            apr_table_addn(taken, apr_pstrmemdup(p, (const char *)h[i].key.data, h[i].key.len),
                           apr_pstrmemdup(p, (const char *)h[i].value.data, h[i].value.len));
            h[i].hash = 0;
        }
    }
    return taken;
}

/* The core decides, for the session the access phase let the request
 * through for (none on a location without kmen_auth: Kmen-Potential-
 * Contact needs none). */
static kmen_backend_outcome apply_commands(ngx_http_request_t *r, kmen_ctx *ctx,
                                           const apr_table_t *taken, kmen_backend_response *resp)
{
    const kmen_ngx_loc_conf *l = ngx_http_get_module_loc_conf(r, ngx_http_kmen_module);
    kmen_backend_commands cmds;
    kmen_backend_parse(ctx->pool, ctx->conf->header_prefix, taken, &cmds);
    memset(resp, 0, sizeof(*resp));
    resp->dir = l->dir;
    resp->uri = apr_pstrmemdup(ctx->pool, (const char *)r->uri.data, r->uri.len);
    resp->request_uri =
        apr_pstrmemdup(ctx->pool, (const char *)r->unparsed_uri.data, r->unparsed_uri.len);
    resp->session = kmen_ngx_request_session(r);
    return kmen_backend_apply(ctx, kmen_ngx_session_cache(r), &cmds, resp);
}

static void hide(ngx_table_elt_t **h)
{
    if (*h)
        (*h)->hash = 0;
    *h = NULL;
}

/* What the backend's headers said of its body, and where it sent the
 * browser, is not said of the module's answer. */
static void drop_the_backends_body_headers(ngx_http_request_t *r)
{
    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);
    ngx_http_clear_location(r);
    hide(&r->headers_out.content_encoding);
    hide(&r->headers_out.content_range);
    hide(&r->headers_out.expires);
    ngx_table_elt_t **cc = r->headers_out.cache_control.elts;
    for (ngx_uint_t i = 0; i < r->headers_out.cache_control.nelts; i++)
        cc[i]->hash = 0;
    r->headers_out.cache_control.nelts = 0;
}

/* STATUS with BODY (a page), or with LOCATION a 303 there, instead of the
 * backend's answer, whose body the body filter drops. Never
 * kmen_error_document's: an internal redirect cannot be made from a header
 * filter. */
static ngx_int_t answer_instead(ngx_http_request_t *r, ngx_uint_t status, const char *body,
                                const char *location)
{
    const char *type = location ? "text/plain" : "text/html; charset=utf-8";
    drop_the_backends_body_headers(r);
    if (!body || (location && kmen_ngx_set_location(r, location) != NGX_OK) ||
        kmen_ngx_set_answer_headers(r, status, type, strlen(body)) != NGX_OK)
        return NGX_ERROR;
    kmen_ngx_request_replaced(r);
    ngx_int_t rc = next_header_filter(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only)
        return rc;
    ngx_chain_t *out = kmen_ngx_body(r, body, strlen(body));
    return !out || next_body_filter(r, out) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}

static ngx_int_t page_instead(ngx_http_request_t *r, kmen_page page)
{
    return answer_instead(r, (ngx_uint_t)kmen_page_of(page)->status,
                          kmen_ngx_page_html(r, page, ""), NULL);
}

/* Only an upstream's answer of a main request is a backend's: nginx's own
 * answers and a subrequest's (which the browser does not get) are not. */
static ngx_int_t commands_header_filter(ngx_http_request_t *r)
{
    const kmen_ngx_srv_conf *s = ngx_http_get_module_srv_conf(r, ngx_http_kmen_module);
    if (r != r->main || !s->core.sp || !names_a_kmen_header(r, s->core.header_prefix))
        return next_header_filter(r);
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    kmen_backend_response resp;
    if (!ctx)
        return NGX_ERROR;
    apr_table_t *taken = take_commands(r, ctx->pool, ctx->conf->header_prefix);
    if (!r->upstream || apr_is_empty_table(taken))
        return next_header_filter(r);
    switch (apply_commands(r, ctx, taken, &resp)) {
    case KMEN_BACKEND_REFUSED:
        return page_instead(r, KMEN_PAGE_VERIFY_REFUSED);
    case KMEN_BACKEND_UNAVAILABLE:
        return page_instead(r, KMEN_PAGE_UNAVAILABLE);
    case KMEN_BACKEND_REDIRECT:
        return answer_instead(r, NGX_HTTP_SEE_OTHER, "", resp.location);
    default:
        return next_header_filter(r);
    }
}

/* A replaced answer's body, as the upstream sends it: taken (its buffers
 * marked sent, for the upstream to reuse them) and dropped; what the
 * module's own answer has left to write is written. */
static ngx_int_t commands_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    if (!in || !kmen_ngx_request_is_replaced(r))
        return next_body_filter(r, in);
    for (ngx_chain_t *cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }
    return next_body_filter(r, NULL);
}

ngx_int_t kmen_ngx_backend_commands_init(ngx_conf_t *cf)
{
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = commands_header_filter;
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = commands_body_filter;
    return NGX_OK;
}
