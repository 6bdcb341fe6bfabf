/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logout, on httpd and on nginx alike: the session ended here and at NIA
 * (SP-initiated), NIA's LogoutResponse matched to the logout this browser
 * started, and NIA's own LogoutRequest carried out (IdP-initiated). The
 * adapter reads the request (method, query, form, cookies) and answers as
 * the core says: redirects, the cookies to set or clear, or a page. */
#ifndef KMEN_LOGOUT_H
#define KMEN_LOGOUT_H

#include "cache.h"
#include "context.h"
#include "session.h"
#include "store_pg.h"

#define KMEN_LOGOUT_STATE_TTL 600 /* seconds NIA may take to answer a LogoutRequest */

/* The logout-state cookie's name: the session cookie's, with "_logout". */
const char *kmen_logout_state_cookie_name(apr_pool_t *p, const kmen_server_conf *c);

/* 1 when the person asked for the logout of S: a POST (IS_POST) from the
 * confirmation page with the session's TOKEN, or a GET whose Sec-Fetch-Site
 * (FETCH_SITE, NULL without one) says it came from this site or from none. */
int kmen_logout_asked_by_person(kmen_ctx *ctx, const kmen_session *s, int is_post,
                                const char *token, const char *fetch_site);

/* A logout started (kmen_logout_begin). */
typedef struct {
    const char *url;   /* where the browser goes: NIA with the LogoutRequest, or ReturnTo */
    const char *state; /* the logout-state cookie's value to set, or NULL (no LogoutRequest) */
} kmen_logout_started;

/* SP-initiated logout of S, which ends on RETURN_TO (a local path): the
 * session removed from the cache and the database, the audit row, the
 * LogoutRequest. OK and *out, or DOWN (the session may live on). The
 * adapter clears the session cookie whatever this returns. */
kmen_store_status kmen_logout_begin(kmen_ctx *ctx, const kmen_cache *cache, const kmen_session *s,
                                    const char *return_to, kmen_logout_started *out);

/* GET /slo without a SAML message, that the person asked for: S ended here
 * only (NIA is not told), audited and logged. */
kmen_store_status kmen_logout_local(kmen_ctx *ctx, const kmen_cache *cache, const kmen_session *s);

typedef enum {
    KMEN_LOGOUT_DONE,        /* NIA confirmed: to the logout's ReturnTo */
    KMEN_LOGOUT_REFUSED,     /* no logout of this browser, or not NIA's: home ("/") */
    KMEN_LOGOUT_INCOMPLETE,  /* NIA did not confirm (the session here has ended): 502 */
    KMEN_LOGOUT_UNAVAILABLE, /* the database: 503 */
} kmen_logout_outcome;

/* NIA's LogoutResponse, by HTTP-Redirect (QUERY, the raw query string) or
 * HTTP-POST (POST_B64), signed or not (NIA's come unsigned), in a browser
 * whose logout-state cookie is STATE (or NULL): it counts only for the
 * logout that browser started, once (on every node), within
 * KMEN_LOGOUT_STATE_TTL. *to: where the browser goes (DONE, REFUSED);
 * *clear_state: 1 when the adapter removes the logout-state cookie (kept
 * when a message posted by another site names another logout: it must not
 * spoil NIA's own). */
kmen_logout_outcome kmen_logout_response(kmen_ctx *ctx, const char *query, const char *post_b64,
                                         const char *state, const char **to, int *clear_state);

/* A LogoutResponse refused before it was read (WHY: an unreadable form),
 * logged as kmen_logout_response refuses one; the person goes home ("/"). */
void kmen_logout_response_refused(kmen_ctx *ctx, const char *why);

/* NIA's LogoutRequest (QUERY, by HTTP-Redirect): OK, every session of the
 * login it names ended, audited, and *url the signed LogoutResponse to send
 * the browser back with (the adapter clears the session cookie);
 * NOT_FOUND: refused (400, logged); DOWN. */
kmen_store_status kmen_logout_idp_request(kmen_ctx *ctx, const kmen_cache *cache, const char *query,
                                          const char **url);

#endif
