/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login endpoints on nginx, as httpd's mod_kmen answers them: the
 * login start and the ACS, over the core's login sequence. */
#ifndef KMEN_NGX_LOGIN_ENDPOINTS_H
#define KMEN_NGX_LOGIN_ENDPOINTS_H

#include "context.h"
#include "directives.h"

/* A login that returns to RETURN_TO (a local path), at what DIR asks for
 * (kmen_login_begin): the login-start limit (429), the outstanding request
 * stored, the login-state cookie and a 303 to NIA with the AuthnRequest, or
 * the page of a failure. Sends the response itself, as a content handler
 * does: what it returns is for ngx_http_finalize_request. The login
 * endpoint's and a protected location's access phase's. */
ngx_int_t kmen_ngx_login_start(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_dir_conf *dir,
                               const char *return_to);

/* GET <kmen_endpoint_path>/login?ReturnTo=/local/path, for links: a login
 * at the settings of the location ReturnTo names (its kmen_loa,
 * kmen_force_authn, ...; the server{}'s where it sets none), as httpd's,
 * started there after an internal redirect (nginx/access.c). */
ngx_int_t kmen_ngx_login(ngx_http_request_t *r, const kmen_server_conf *c);

/* POST <kmen_endpoint_path>/acs: NIA's Response, the body read without
 * blocking the worker; the session cookie and 302 to where the login
 * started, or a short page. */
ngx_int_t kmen_ngx_acs(ngx_http_request_t *r, const kmen_server_conf *c);

#endif
