/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The endpoints under KmenEndpointPath, and the authn/authz hooks. */
#ifndef KMEN_HANDLERS_H
#define KMEN_HANDLERS_H

#include "httpd.h"
#include "mod_auth.h"

#include "config.h"
#include "session_cookie.h"

/* quick_handler: serves /kmen/... before any access control runs, so the
 * endpoints work wherever the webmaster puts AuthType Kmen. */
int kmen_endpoint_handler(request_rec *r, int lookup);
/* Is this a request for one of those endpoints? */
int kmen_is_endpoint(const request_rec *r);

/* The URL that starts a login returning to RETURN_TO (a local path). */
const char *kmen_login_url(request_rec *r, const char *return_to);

/* Starts a login for return_to with the given location's settings: a signed
 * AuthnRequest, the outstanding request stored, the state cookie, a 303. */
int kmen_login_start(request_rec *r, const kmen_dir_conf *dir, const char *return_to);

/* auth.c */
int kmen_check_authn(request_rec *r);
int kmen_fixups(request_rec *r);
extern const authz_provider kmen_authz_loa_provider;
extern const authz_provider kmen_authz_origin_provider;
extern const authz_provider kmen_authz_status_provider;

#endif
