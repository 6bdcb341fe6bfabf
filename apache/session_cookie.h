/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sessions on httpd: the core's session store (core/session.h) behind the
 * session cookie, with each child's memo of the sessions it opened. */
#ifndef KMEN_SESSION_COOKIE_H
#define KMEN_SESSION_COOKIE_H

#include "httpd.h"

#include "headers.h"
#include "session.h"

/* The session the request's cookie names: OK, NOT_FOUND (no cookie, unknown,
 * expired, idle) or DOWN. */
kmen_store_status kmen_session_load(request_rec *r, const kmen_session **out);
/* The stored session into the cache and its cookie set: only once the
 * login's transaction has committed. */
void kmen_session_hand_out(request_rec *r, const kmen_new_session *session);
/* The session cookie cleared: a logout, the session ended (core/logout.h). */
void kmen_session_cookie_clear(request_rec *r);
/* This browser's session cookie's value, or NULL. */
const char *kmen_session_cookie(request_rec *r);

/* Cookies: the session cookie and the pre-login state cookie share these. */
const char *kmen_cookie_get(request_rec *r, const char *name);
/* max_age < 0 clears it. cross_site: survives the IdP's cross-site POST. */
void kmen_cookie_set(request_rec *r, const char *name, const char *value, int max_age,
                     int cross_site);

#endif
