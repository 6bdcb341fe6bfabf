/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the module keeps about one request (its request ctx): the core's
 * context for it, and the session cache its core calls go through. */
#ifndef KMEN_NGX_REQUEST_H
#define KMEN_NGX_REQUEST_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cache.h"
#include "context.h"
#include "session.h"

/* The core's context for R: made on first use and kept in the module's
 * request ctx; ctx->pool an APR pool destroyed with R's pool (an ngx pool
 * cleanup), ctx->conf the server{}'s kmen_server_conf, a log sink writing
 * to R's connection log with " [req ID]" as httpd's lines end, the request
 * ID made on first use (nginx's $request_id, as httpd's mod_kmen takes
 * httpd's own ID), max_level from the log's level. One context for a
 * request, its subrequests and its internal redirects (which share its
 * pool): one request ID for what the person asked. NULL only when memory
 * ran out. */
kmen_ctx *kmen_ngx_request_ctx(ngx_http_request_t *r);

/* The sink of a context outside any request (the metadata fetcher's):
 * BATON is the ngx_log_t the lines go to, the cycle's. */
void kmen_ngx_log_to_cycle(void *baton, const char *file, int line, kmen_log_level level,
                           const char *message);

/* What answers a request once its body is read (nginx/body.c): a body
 * handler is called with the request alone, so the request keeps it. */
typedef ngx_int_t kmen_ngx_answer(ngx_http_request_t *r);
/* Keeps ANSWER for R; 0 when memory ran out. */
int kmen_ngx_request_keep_answer(ngx_http_request_t *r, kmen_ngx_answer *answer);
/* What kmen_ngx_request_keep_answer kept for R. */
kmen_ngx_answer *kmen_ngx_request_answer(ngx_http_request_t *r);

/* Marks R (and the requests it is redirected to) as let through for the
 * session S by the access phase: its answer is one person's
 * (nginx/cache_private.h), the one the backend's commands are for
 * (nginx/backend_commands.h). 0 when memory ran out. */
int kmen_ngx_request_authenticated(ngx_http_request_t *r, const kmen_session *s);
/* Was R, or a request it was redirected from, let through for a session? */
int kmen_ngx_request_is_authenticated(ngx_http_request_t *r);
/* That session, or NULL. */
const kmen_session *kmen_ngx_request_session(ngx_http_request_t *r);

/* Marks R's answer as replaced by the module's (nginx/backend_commands.h):
 * what the backend sends of its body is dropped. R has a context. */
void kmen_ngx_request_replaced(ngx_http_request_t *r);
int kmen_ngx_request_is_replaced(ngx_http_request_t *r);

/* The session cache (the kmen_session_zone's cache, or one that answers
 * nothing when no zone is configured: the store falls through to the
 * database). Never NULL. */
const kmen_cache *kmen_ngx_session_cache(ngx_http_request_t *r);

/* The name of the page R was answered with by kmen_error_document (the
 * internal redirect keeps the record), for $kmen_error; 0 when memory ran
 * out. */
int kmen_ngx_request_keep_error(ngx_http_request_t *r, const char *name);

/* Marks R to start, at the location its internal redirect to RETURN_TO
 * lands in, the login that returns to RETURN_TO (kmen_ngx_login); 0 when
 * memory ran out. */
int kmen_ngx_request_login_at(ngx_http_request_t *r, const char *return_to);
/* That mark's RETURN_TO, the mark removed (a further internal redirect, to
 * kmen_error_document, starts nothing); NULL when R has none. */
const char *kmen_ngx_request_take_login(ngx_http_request_t *r);

/* preconfiguration: the variable $kmen_error, that name ("" elsewhere). */
ngx_int_t kmen_ngx_request_variables(ngx_conf_t *cf);

/* The value of R's request header NAME (the first), in CTX's pool; NULL
 * when R has none. */
const char *kmen_ngx_header_in(ngx_http_request_t *r, kmen_ctx *ctx, const char *name);

#endif
