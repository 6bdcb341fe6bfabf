/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sessions: a 256-bit random cookie; the sealed record (session_record.h) in
 * PostgreSQL so every node shares it, with a cache (cache.h) in front so a
 * valid cookie costs no database round trip. Cookies are HTTP: the adapter
 * reads the cookie's value and hands it in, and sets the cookie a new
 * session's value names. */
#ifndef KMEN_SESSION_H
#define KMEN_SESSION_H

#include "cache.h"
#include "context.h"
#include "memo.h"
#include "session_record.h"
#include "store_pg.h"

/* A session cookie's value: unpadded base64url of 32 random bytes. */
#define KMEN_SESSION_COOKIE_LEN 43

/* 1 when COOKIE (or NULL) could name a session: only such a value is hashed,
 * looked up or kept as a key. */
int kmen_session_cookie_is_well_formed(const char *cookie);

/* The session COOKIE names, from the cache or the database (which refills
 * the cache): OK with it in *out, and in *until how long it may be trusted
 * without asking the cache again; NOT_FOUND (malformed, unknown, expired,
 * idle, not sealed by this server for this SP) or DOWN. */
kmen_store_status kmen_session_open(kmen_ctx *ctx, const kmen_cache *cache, const char *cookie,
                                    kmen_session **out, apr_time_t *until);

/* As kmen_session_open, through this process's MEMO of the sessions it
 * opened (core/session_kept.c): one opened here within the last second, and
 * no longer than the cache may be trusted (kmen_session_cache_ttl), costs no
 * cache lookup, no decryption, no hashing. *out, with its identity headers
 * encoded for ctx->conf, stays valid until ctx->pool is destroyed. */
kmen_store_status kmen_session_open_kept(kmen_ctx *ctx, const kmen_cache *cache, kmen_memo *memo,
                                         const char *cookie, const kmen_session **out);

/* A session stored in the database and not yet handed out. */
typedef struct {
    const char *cookie; /* the value of the cookie to set */
    unsigned char id_hash[KMEN_HASH_LEN];
    const unsigned char *sealed;
    apr_size_t len;
    apr_time_t cache_until;
} kmen_new_session;

/* Stores a new session (*out) with a cookie value of its own: one the
 * browser brought is never promoted (no session fixation). PREVIOUS (from
 * the login state, or NULL): the session this login replaces, ended here. */
kmen_store_status kmen_session_create(kmen_ctx *ctx, const kmen_cache *cache,
                                      const kmen_identity *identity, const kmen_login_ref *ref,
                                      const char *pending_id, const char *previous,
                                      kmen_new_session *out);
/* The stored session into the cache; the adapter then sets its cookie. Only
 * once the login's transaction has committed, or a cookie would name a
 * session the database never kept. */
void kmen_session_issue(kmen_ctx *ctx, const kmen_cache *cache, const kmen_new_session *session);
/* Writes a changed session (a completed verification) everywhere. */
kmen_store_status kmen_session_update(kmen_ctx *ctx, const kmen_cache *cache,
                                      const kmen_session *session);
/* Removes it everywhere: its cookie opens nothing any more. */
kmen_store_status kmen_session_destroy(kmen_ctx *ctx, const kmen_cache *cache,
                                       const kmen_session *session);
/* IdP-initiated logout: every session of the login *ref names. */
kmen_store_status kmen_session_destroy_login(kmen_ctx *ctx, const kmen_cache *cache,
                                             const kmen_login_ref *ref);
/* What the logout confirmation page posts back: 64 hex digits. */
const char *kmen_session_logout_token(kmen_ctx *ctx, const kmen_session *session);

/* The value of the login-state cookie of a login that starts with STATE:
 * "<state>", with ".<hash>" of the session SESSION_COOKIE (the browser's
 * session cookie's value, or NULL) names, if it could name one. */
const char *kmen_session_login_state(kmen_ctx *ctx, const char *state, const char *session_cookie);
/* The state in such a COOKIE; *previous: the hash of the session the login
 * replaces, or NULL. */
const char *kmen_session_login_state_of(kmen_ctx *ctx, const char *cookie, const char **previous);

#endif
