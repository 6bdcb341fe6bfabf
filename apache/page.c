/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error pages and the small responses every endpoint sends. */
#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "config.h"
#include "crypto.h"
#include "page.h"

#define RETRY_AFTER "30"

const char *kmen_request_id(request_rec *r)
{
    /* One ID for what the person asked: the subrequests and internal
     * redirects (ErrorDocument, KmenErrorDocument) of a request log its ID. */
    while (r->main || r->prev)
        r = r->main ? r->main : r->prev;
    const char *id = apr_table_get(r->notes, "kmen-request-id");
    if (!id) {
        id = r->log_id ? r->log_id : apr_table_get(r->subprocess_env, "UNIQUE_ID");
        id = id ? id : kmen_random_token(r->pool, 9);
        apr_table_setn(r->notes, "kmen-request-id", id);
    }
    return id;
}

/* Every 503 of mod_kmen (database or translator down, /kmen/health) says when
 * to come back, to browsers and load balancers alike. */
static void retry_later(request_rec *r, int status)
{
    if (status == HTTP_SERVICE_UNAVAILABLE)
        apr_table_setn(r->err_headers_out, "Retry-After", RETRY_AFTER);
}

int kmen_page_send_body(request_rec *r, int status, const char *type, const char *body)
{
    retry_later(r, status);
    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    if (!r->header_only)
        ap_rputs(body, r);
    return DONE;
}

int kmen_page_status(kmen_page page)
{
    return kmen_page_of(page)->status;
}

const char *kmen_page_html(request_rec *r, kmen_page page, const char *retry_url)
{
    return kmen_page_render(r->pool, page, kmen_page_retry_link(r->pool, retry_url),
                            kmen_request_id(r));
}

int kmen_page_send_logout_confirm(request_rec *r, const char *url, const char *token,
                                  const char *return_to)
{
    return kmen_page_send_body(
        r, HTTP_OK, "text/html; charset=utf-8",
        kmen_page_render(r->pool, KMEN_PAGE_LOGOUT_CONFIRM,
                         kmen_page_logout_form(r->pool, url, token, return_to),
                         kmen_request_id(r)));
}

/* KmenErrorDocument: httpd's own ErrorDocument machinery serves the portal's
 * page with the original status; it learns why from KMEN_ERROR. */
static int send_error_document(request_rec *r, const char *document, kmen_page page)
{
    apr_table_setn(r->subprocess_env, "KMEN_ERROR", kmen_page_of(page)->name);
    apr_table_setn(r->subprocess_env, "KMEN_REQUEST_ID", kmen_request_id(r));
    retry_later(r, kmen_page_of(page)->status);
    ap_custom_response(r, kmen_page_of(page)->status, document);
    return kmen_page_of(page)->status;
}

int kmen_page_send(request_rec *r, kmen_page page, const char *retry_url)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    if (c->error_document)
        return send_error_document(r, c->error_document, page);
    return kmen_page_send_body(r, kmen_page_of(page)->status, "text/html; charset=utf-8",
                               kmen_page_html(r, page, retry_url));
}

int kmen_page_redirect(request_rec *r, const char *url)
{
    apr_table_setn(r->err_headers_out, "Location", url);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    r->status = HTTP_SEE_OTHER;
    ap_set_content_length(r, 0);
    return DONE;
}
