/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The body of a POST to an endpoint (a form NIA or a page of the portal
 * posts), read without blocking the worker, and at most a limit of it. */
#ifndef KMEN_NGX_BODY_H
#define KMEN_NGX_BODY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "apr_pools.h"

#include "request.h"

/* What an endpoint's handler returns: ANSWER(R) once R's body is read
 * (the request finalized with it, when the body arrives later), or at once
 * with the body discarded, not read, when R is not a POST or announces more
 * than LIMIT bytes (on a kept-alive connection it would be taken for the
 * next request). */
ngx_int_t kmen_ngx_body_then(ngx_http_request_t *r, size_t limit, kmen_ngx_answer *answer);

/* R's body in P, from memory or nginx's temporary file (a body above
 * client_body_buffer_size is written there); NULL when it is larger than
 * LIMIT, was discarded unread (kmen_ngx_body_then's oversized body: nginx
 * zeroes its Content-Length once it has thrown the bytes away) or cannot be
 * read, "" when there is none. */
const char *kmen_ngx_body_text(ngx_http_request_t *r, apr_pool_t *p, size_t limit);

#endif
