/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sessions: a 256-bit random cookie; the record (identity and the login's
 * NameID/SessionIndex, AES-256-GCM sealed) in PostgreSQL so every node shares
 * it, with an httpd socache in front so a valid cookie costs no database
 * round trip. */
#ifndef KMEN_SESSION_H
#define KMEN_SESSION_H

#include "httpd.h"

#include "crypto.h"
#include "headers.h"
#include "identity.h"
#include "saml.h"
#include "store_pg.h"

typedef struct {
    kmen_identity identity;
    kmen_login_ref ref;
    const char *pending_id; /* the verification this foreigner awaits */
    int evidence;           /* has asked for evidence: Kmen-Evidence applies */
    apr_time_t expires;
    unsigned char id_hash[KMEN_HASH_LEN];
    /* its headers, encoded when a child kept it; NULL: encode them now */
    const kmen_header_set *headers;
} kmen_session;

void kmen_session_pre_config(apr_pool_t *pconf);
/* NULL, or why KmenSessionCache's provider[:args] names no loaded provider. */
const char *kmen_session_cache_check(apr_pool_t *p, const char *spec);
/* NULL, or what is wrong with KmenSessionCache SPEC (the caller names it). */
const char *kmen_session_cache_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                    const char *spec);
void kmen_session_child_init(apr_pool_t *pchild, server_rec *s);

/* The session the request's cookie names: OK, NOT_FOUND (no cookie, unknown,
 * expired, idle) or DOWN. */
kmen_store_status kmen_session_load(request_rec *r, const kmen_session **out);
/* A session stored in the database and not yet handed out. */
typedef struct {
    const char *cookie;
    unsigned char id_hash[KMEN_HASH_LEN];
    const unsigned char *sealed;
    apr_size_t len;
    apr_time_t cache_until;
} kmen_new_session;

/* Stores a new session (*out); a cookie the browser brought is never
 * promoted (no session fixation). PREVIOUS (from the login state, or NULL):
 * the session this login replaces, ended here. */
kmen_store_status kmen_session_create(request_rec *r, const kmen_identity *identity,
                                      const kmen_login_ref *ref, const char *pending_id,
                                      const char *previous, kmen_new_session *out);
/* The stored session in the session cache and its cookie set: only once the
 * login's transaction has committed, or a cookie would name a session the
 * database never kept. */
void kmen_session_issue(request_rec *r, const kmen_new_session *session);
/* The value of the login-state cookie of a login that starts with STATE:
 * "<state>", with ".<hash>" of the session this browser holds, if any. */
const char *kmen_session_login_state(request_rec *r, const char *state);
/* The state in such a COOKIE; *previous: the hash of the session the login
 * replaces, or NULL. */
const char *kmen_session_login_state_of(request_rec *r, const char *cookie, const char **previous);
/* Writes a changed session (a completed verification) everywhere. */
kmen_store_status kmen_session_update(request_rec *r, const kmen_session *session);
/* Removes it everywhere and clears the cookie. */
kmen_store_status kmen_session_destroy(request_rec *r, const kmen_session *session);
/* What the logout confirmation page posts back: 64 hex digits. */
const char *kmen_session_logout_token(request_rec *r, const kmen_session *session);
/* IdP-initiated logout: every session of the login *ref names. */
kmen_store_status kmen_session_destroy_login(request_rec *r, const kmen_login_ref *ref);

/* One more event under KEY (KMEN_HASH_LEN bytes, distinct from any session's)
 * in the current window of WINDOW_SEC seconds, counted in KmenSessionCache so
 * that every child of this node (every node, with a shared provider) sees
 * it: the count with this one, and in *resets_in the seconds until the
 * window ends. 0 when the cache cannot be used. */
int kmen_cache_count(request_rec *r, const unsigned char *key, int window_sec, int *resets_in);

/* Cookies: the session cookie and the pre-login state cookie share these. */
const char *kmen_cookie_get(request_rec *r, const char *name);
/* max_age < 0 clears it. cross_site: survives the IdP's cross-site POST. */
void kmen_cookie_set(request_rec *r, const char *name, const char *value, int max_age,
                     int cross_site);

#endif
