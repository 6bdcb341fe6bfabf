/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Response headers a backend sends to mod_kmen: read once the response
 * headers are known (an output filter sees them before the header filter
 * sends them), acted upon for the authenticated client, always removed. */
#include <stddef.h> /* before APR: its brigade macros use offsetof */
#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_protocol.h"
#include "http_request.h"

#include "backend.h"
#include "backend_filter.h"
#include "config.h"
#include "headers_encode.h"
#include "page.h"
#include "request.h"
#include "socache.h"

/* Most responses (static files, pages that tell mod_kmen nothing) carry no
 * header with the prefix: one pass over the names spares them the lookups
 * and removals below. */
static int names_a_kmen_header(request_rec *r, const char *prefix)
{
    return kmen_header_table_has_prefix(r->headers_out, prefix) ||
           kmen_header_table_has_prefix(r->err_headers_out, prefix);
}

static int copy_value(void *data, const char *key, const char *value)
{
    apr_table_add(data, key, value);
    return 1;
}

/* The commands' headers of both response tables, which are then rid of
 * them: whatever the core makes of them, none reaches the browser. */
static apr_table_t *take_commands(request_rec *r, const char *prefix)
{
    const char *const *names = kmen_backend_header_names(r->pool, prefix);
    apr_table_t *taken = apr_table_make(r->pool, KMEN_BACKEND_COMMANDS);
    for (int i = 0; i < KMEN_BACKEND_COMMANDS; i++) {
        apr_table_do(copy_value, taken, r->headers_out, names[i], NULL);
        apr_table_do(copy_value, taken, r->err_headers_out, names[i], NULL);
        apr_table_unset(r->headers_out, names[i]);
        apr_table_unset(r->err_headers_out, names[i]);
    }
    return taken;
}

/* Replaces whatever the backend sent: mod_kmen's PAGE, or with page NULL a
 * 303 to LOCATION. */
static apr_status_t answer_instead(ap_filter_t *f, apr_bucket_brigade *bb, const kmen_page *page,
                                   const char *location)
{
    request_rec *r = f->r;
    const char *html = page ? kmen_page_html(r, *page, NULL) : "";
    apr_brigade_cleanup(bb);
    r->status = page ? kmen_page_status(*page) : HTTP_SEE_OTHER;
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "Content-Encoding");
    if (location)
        apr_table_setn(r->headers_out, "Location", location);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(html, strlen(html), bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    f->ctx = (void *)1; /* from now on the backend's body is dropped */
    return ap_pass_brigade(f->next, bb);
}

/* The core decides. */
static kmen_backend_outcome apply_commands(request_rec *r, const char *prefix,
                                           kmen_backend_response *resp)
{
    kmen_ctx *ctx = kmen_request_ctx(r);
    kmen_backend_commands cmds;
    kmen_backend_parse(r->pool, prefix, take_commands(r, prefix), &cmds);
    resp->dir = kmen_dir_conf_get(r);
    resp->uri = r->uri;
    resp->request_uri = r->unparsed_uri;
    resp->session = kmen_request_session(r);
    kmen_backend_outcome outcome = kmen_backend_apply(ctx, kmen_session_cache(), &cmds, resp);
    if (resp->session != kmen_request_session(r))
        kmen_request_set_session(r, resp->session);
    return outcome;
}

/* A response to an authenticated request is one person's page
 * (kmen_cache_control_private), unless the location says
 * KmenCacheControlPrivate Off. */
static void keep_private(request_rec *r)
{
    if (!kmen_request_session(r) || !kmen_dir_cache_private(kmen_dir_conf_get(r)))
        return;
    const char *cc =
        kmen_cache_control_private(r->pool, apr_table_get(r->headers_out, "Cache-Control"));
    if (cc)
        apr_table_setn(r->headers_out, "Cache-Control", cc);
}

static apr_status_t kmen_backend_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    kmen_backend_response resp;
    if (f->ctx) {
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    const char *prefix = kmen_server_conf_get(r->server)->header_prefix;
    keep_private(r);
    if (!names_a_kmen_header(r, prefix)) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    static const kmen_page refused = KMEN_PAGE_VERIFY_REFUSED, unavailable = KMEN_PAGE_UNAVAILABLE;
    switch (apply_commands(r, prefix, &resp)) {
    case KMEN_BACKEND_REFUSED:
        return answer_instead(f, bb, &refused, NULL);
    case KMEN_BACKEND_UNAVAILABLE:
        return answer_instead(f, bb, &unavailable, NULL);
    case KMEN_BACKEND_REDIRECT:
        return answer_instead(f, bb, NULL, resp.location);
    default:
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
}

#define KMEN_BACKEND_FILTER "KMEN_BACKEND"

/* The filter's record, kept at registration: adding it by name would look
 * the name up again on every response. */
static ap_filter_rec_t *backend_filter;

static void kmen_backend_insert_filter(request_rec *r)
{
    if (kmen_server_conf_get(r->server)->sp)
        ap_add_output_filter_handle(backend_filter, NULL, r, r->connection);
}

void kmen_backend_filter_register(void)
{
    backend_filter = ap_register_output_filter(KMEN_BACKEND_FILTER, kmen_backend_filter, NULL,
                                               AP_FTYPE_CONTENT_SET);
    ap_hook_insert_filter(kmen_backend_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
}
