/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cookies mod_kmen sets, worded once for every server: the session
 * cookie and the login-state cookies "<cookie_name>_state_<tag>", one per
 * outstanding login, where the tag is 8 hex digits of the SHA-256 of the
 * AuthnRequest's ID. One cookie for every login would let a second login
 * (another tab) overwrite the first one's state, which then fails at the ACS.
 * The tag only finds the cookie again from the Response's InResponseTo; it
 * proves nothing: the value is the secret (core/login_start.h). The same
 * names and attributes on every server let a login started on one node
 * (httpd or nginx) finish on another. */
#ifndef KMEN_COOKIE_H
#define KMEN_COOKIE_H

#include "apr_tables.h"

#include "conf.h"
#include "context.h"

#define KMEN_LOGIN_STATE_TTL 600 /* seconds a started login may take at the IdP */
#define KMEN_LOGIN_STATE_MAX 4   /* outstanding logins a browser keeps; the oldest go */

/* The Set-Cookie value for NAME=VALUE: host-only, Path=/, HttpOnly, Secure
 * by c->cookie_secure; MAX_AGE > 0 seconds, 0 for the browser's session, < 0
 * removes the cookie. CROSS_SITE: sent on NIA's cross-site POST to the ACS
 * (SameSite=None, which browsers take only with Secure), else SameSite=Lax. */
const char *kmen_cookie_header(apr_pool_t *p, const kmen_server_conf *c, const char *name,
                               const char *value, int max_age, int cross_site);

/* The value of cookie NAME in COOKIE_HEADER (the browser's Cookie header,
 * or NULL): NULL when NAME is absent, or present twice with different
 * values (logged). mod_kmen sets each of its cookies host-only with Path=/,
 * so a browser holds one; a second was planted beside it (a sibling
 * subdomain's Domain cookie, or a longer Path, which browsers send first).
 * Taking the first would let whoever planted it pick the session or login
 * state of the request, their own included; with neither, the person only
 * logs in again. */
const char *kmen_cookie_value(kmen_ctx *ctx, const char *cookie_header, const char *name);

/* The name of the login-state cookie of the login whose AuthnRequest has
 * the ID REQUEST_ID. */
const char *kmen_login_state_cookie_name(apr_pool_t *p, const kmen_server_conf *c,
                                         const char *request_id);

/* The names (char *) of the login-state cookies to remove before one more
 * is set: the oldest beyond KMEN_LOGIN_STATE_MAX - 1 in COOKIE_HEADER (the
 * browser's Cookie header, or NULL), which lists them oldest first as
 * browsers send them (RFC 6265 5.4). About 140 bytes each in that header. */
apr_array_header_t *kmen_login_state_cookies_to_drop(apr_pool_t *p, const kmen_server_conf *c,
                                                     const char *cookie_header);

#endif
