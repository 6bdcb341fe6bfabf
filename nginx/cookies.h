/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The browser's cookies on nginx, read and set with the core's names and
 * attributes (core/cookie.h), as httpd's mod_kmen reads and sets them. */
#ifndef KMEN_NGX_COOKIES_H
#define KMEN_NGX_COOKIES_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "context.h"
#include "session.h"

/* R's Cookie headers as one "a=1; b=2" list in CTX's pool ("" for none). */
const char *kmen_ngx_cookie_header(ngx_http_request_t *r, kmen_ctx *ctx);

/* The value of cookie NAME (kmen_cookie_value), or NULL. */
const char *kmen_ngx_cookie_get(ngx_http_request_t *r, kmen_ctx *ctx, const char *name);

/* Sets it in R's response (kmen_cookie_header's MAX_AGE and CROSS_SITE). */
ngx_int_t kmen_ngx_cookie_set(ngx_http_request_t *r, kmen_ctx *ctx, const char *name,
                              const char *value, int max_age, int cross_site);

/* The session R's session cookie names (kmen_session_open), through the
 * session zone. */
kmen_store_status kmen_ngx_session_of(ngx_http_request_t *r, kmen_ctx *ctx, kmen_session **s);

#endif
