/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The logout endpoints on nginx, as httpd's mod_kmen answers them, over the
 * core's logout (core/logout.h). */
#ifndef KMEN_NGX_LOGOUT_ENDPOINTS_H
#define KMEN_NGX_LOGOUT_ENDPOINTS_H

#include "directives.h"

/* GET <kmen_endpoint_path>/logout?ReturnTo=/local/path, or POST (token,
 * ReturnTo) from the page that confirms a logout another site started: the
 * session ended here, then 303 to NIA with the LogoutRequest. */
ngx_int_t kmen_ngx_logout(ngx_http_request_t *r, const kmen_server_conf *c);

/* <kmen_endpoint_path>/slo: NIA's LogoutResponse (GET by HTTP-Redirect,
 * POST by HTTP-POST), NIA's LogoutRequest (GET), or nothing (GET: the
 * session here ends, if the person asked). */
ngx_int_t kmen_ngx_slo(ngx_http_request_t *r, const kmen_server_conf *c);

#endif
