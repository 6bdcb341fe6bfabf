/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the endpoints answer: a body, a short page, a redirect, each never
 * cached, and the headers beside them (cookies). */
#ifndef KMEN_NGX_RESPONSE_H
#define KMEN_NGX_RESPONSE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "page_kinds.h"

/* Every 503 says when to come back, to browsers and load balancers alike
 * (seconds, as httpd's). */
#define KMEN_NGX_RETRY_AFTER "30"

/* NAME: VALUE among R's response headers; both live as long as R. */
ngx_int_t kmen_ngx_add_header(ngx_http_request_t *r, const char *name, const char *value);

/* STATUS with BODY of TYPE, never cached, a 503 with Retry-After (as
 * apache/page.c's kmen_page_send_body): what a content handler returns. */
ngx_int_t kmen_ngx_send(ngx_http_request_t *r, ngx_uint_t status, const char *type,
                        const char *body);
/* The same with LEN bytes of BODY, which may hold any byte (a document). */
ngx_int_t kmen_ngx_send_bytes(ngx_http_request_t *r, ngx_uint_t status, const char *type,
                              const char *body, size_t len);

/* R's response headers for STATUS with a body of LEN bytes of TYPE, never
 * cached, a 503 with Retry-After: what kmen_ngx_send sends, and a filter
 * that replaces a backend's answer (nginx/backend_commands.c). */
ngx_int_t kmen_ngx_set_answer_headers(ngx_http_request_t *r, ngx_uint_t status, const char *type,
                                      size_t len);
/* BODY (LEN bytes, 0: none; it lives as long as R) as the whole of R's
 * body, for the body filters; NULL when memory ran out. */
ngx_chain_t *kmen_ngx_body(ngx_http_request_t *r, const char *body, size_t len);

/* The page kmen_ngx_send_page_with sends, httpd's (kmen_page_render): PAGE's
 * Czech words, HTML, its English words and the request ID; NULL when memory
 * ran out. */
const char *kmen_ngx_page_html(ngx_http_request_t *r, kmen_page page, const char *html);

/* Location: URL in R's response, where nginx's header filter makes a local
 * path absolute as it does its own. */
ngx_int_t kmen_ngx_set_location(ngx_http_request_t *r, const char *url);

/* PAGE's HTML page, with its status: httpd's page (kmen_ngx_page_html), in
 * Czech and English, ending with the request ID a person can quote; or, with kmen_error_document
 * and an error's status, that document (an internal redirect, which keeps
 * the status and the headers set so far), $kmen_error PAGE's name. */
ngx_int_t kmen_ngx_send_page(ngx_http_request_t *r, kmen_page page);

/* The same page with HTML (a form, say) between its title and the ID. */
ngx_int_t kmen_ngx_send_page_with(ngx_http_request_t *r, kmen_page page, const char *html);

/* The same page with the link to log in again (kmen_page_retry_link) at
 * <kmen_endpoint_path>/login?ReturnTo=RETURN_TO, where httpd's has it. */
ngx_int_t kmen_ngx_send_page_login_again(ngx_http_request_t *r, kmen_page page,
                                         const char *return_to);

/* 303 to URL (a local path or NIA's), never cached, as httpd's redirects. */
ngx_int_t kmen_ngx_redirect(ngx_http_request_t *r, const char *url);

#endif
