/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login endpoints on nginx, as httpd's mod_kmen answers them: the
 * login start and the ACS, over the core's login sequence. */
#ifndef KMEN_NGX_LOGIN_ENDPOINTS_H
#define KMEN_NGX_LOGIN_ENDPOINTS_H

#include "directives.h"

/* GET <kmen_endpoint_path>/login?ReturnTo=/local/path: the AuthnRequest,
 * the login-state cookie, 302 to NIA. */
ngx_int_t kmen_ngx_login(ngx_http_request_t *r, const kmen_server_conf *c);

/* POST <kmen_endpoint_path>/acs: NIA's Response, the body read without
 * blocking the worker; the session cookie and 302 to where the login
 * started, or a short page. */
ngx_int_t kmen_ngx_acs(ngx_http_request_t *r, const kmen_server_conf *c);

#endif
