/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Session operations: the cache in front, the database behind. */
#include <string.h>

#include "apr_escape.h"
#include "apr_strings.h"

#include "identifiers.h"
#include "session.h"

#define SESSION_ID_BYTES 32

int kmen_session_cookie_is_well_formed(const char *cookie)
{
    return cookie && kmen_base64url_span(cookie) == KMEN_SESSION_COOKIE_LEN &&
           cookie[KMEN_SESSION_COOKIE_LEN] == '\0';
}

/* ---- the cache: a record's deadline, then the sealed record, so that
 * whoever reads it learns how long it may be trusted (a process keeps what
 * it opened no longer than that) */

static void cache_put(kmen_ctx *ctx, const kmen_cache *cache, const unsigned char *id_hash,
                      const unsigned char *sealed, apr_size_t len, apr_time_t until)
{
    unsigned char *value = apr_palloc(ctx->pool, sizeof(until) + len);
    memcpy(value, &until, sizeof(until));
    memcpy(value + sizeof(until), sealed, len);
    cache->store(cache->handle, ctx, id_hash, value, sizeof(until) + len, until);
}

/* The sealed record and, in *until, its deadline; NULL when not cached. */
static const unsigned char *cache_get(kmen_ctx *ctx, const kmen_cache *cache,
                                      const unsigned char *id_hash, apr_size_t *len,
                                      apr_time_t *until)
{
    unsigned char *value = NULL;
    apr_size_t n = 0;
    if (!cache->fetch(cache->handle, ctx, id_hash, &value, &n) || n < sizeof(*until))
        return NULL;
    memcpy(until, value, sizeof(*until));
    *len = n - sizeof(*until);
    return value + sizeof(*until);
}

static apr_time_t cache_until(const kmen_server_conf *c, apr_time_t expires)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(c->session_cache_ttl);
    return until < expires ? until : expires;
}

/* ---- opening */

/* The session S->id_hash names, opened from the cache or the database into
 * S; in *until, how long it may be trusted without asking again. */
static kmen_store_status session_read(kmen_ctx *ctx, const kmen_cache *cache, kmen_session *s,
                                      apr_time_t *until)
{
    const kmen_server_conf *c = ctx->conf;
    apr_size_t len = 0;
    const unsigned char *sealed = cache_get(ctx, cache, s->id_hash, &len, until);
    if (sealed && kmen_session_unseal(ctx, sealed, len, s))
        return KMEN_STORE_OK;
    int remaining = 0;
    kmen_store_status st = kmen_store_session_fetch(ctx, c->store, s->id_hash, c->session_idle,
                                                    &sealed, &len, &remaining);
    if (st != KMEN_STORE_OK)
        return st;
    if (!kmen_session_unseal(ctx, sealed, len, s))
        return KMEN_STORE_NOT_FOUND;
    *until = cache_until(c, s->expires);
    cache_put(ctx, cache, s->id_hash, sealed, len, *until);
    return KMEN_STORE_OK;
}

kmen_store_status kmen_session_open(kmen_ctx *ctx, const kmen_cache *cache, const char *cookie,
                                    kmen_session **out, apr_time_t *until)
{
    if (!kmen_session_cookie_is_well_formed(cookie))
        return KMEN_STORE_NOT_FOUND;
    kmen_session *s = apr_pcalloc(ctx->pool, sizeof(*s));
    kmen_sha256(cookie, KMEN_SESSION_COOKIE_LEN, s->id_hash);
    kmen_store_status st = session_read(ctx, cache, s, until);
    if (st == KMEN_STORE_OK)
        *out = s;
    return st;
}

/* ---- ending */

/* Gone from the cache and the database: the cookie opens nothing any more. */
static kmen_store_status forget(kmen_ctx *ctx, const kmen_cache *cache,
                                const unsigned char *id_hash)
{
    cache->remove(cache->handle, ctx, id_hash);
    return kmen_store_session_delete(ctx, ctx->conf->store, id_hash);
}

kmen_store_status kmen_session_destroy(kmen_ctx *ctx, const kmen_cache *cache,
                                       const kmen_session *session)
{
    return forget(ctx, cache, session->id_hash);
}

kmen_store_status kmen_session_destroy_login(kmen_ctx *ctx, const kmen_cache *cache,
                                             const kmen_login_ref *ref)
{
    const kmen_server_conf *c = ctx->conf;
    unsigned char subject[KMEN_HASH_LEN];
    apr_array_header_t *hashes = NULL;
    kmen_id_index(ctx->pool, &c->id_keys, KMEN_ID_NAMEID, NULL, ref->name_id, subject);
    kmen_store_status st =
        kmen_store_session_delete_subject(ctx, c->store, subject, ref->session_index, &hashes);
    for (int i = 0; st == KMEN_STORE_OK && i < hashes->nelts; i++)
        cache->remove(cache->handle, ctx, APR_ARRAY_IDX(hashes, i, const unsigned char *));
    return st;
}

/* The session this browser held when the login started ends with it: after
 * a step-up to a higher LoA the weaker one would stay valid for whoever
 * copied its cookie, after another person's login on a shared computer the
 * first person's would. (NIA's POST to the ACS is cross-site: the Lax
 * session cookie is not sent with it, so the login state names it.) */
static kmen_store_status end_previous(kmen_ctx *ctx, const kmen_cache *cache,
                                      const char *previous_hex)
{
    unsigned char id_hash[KMEN_HASH_LEN];
    apr_size_t len = 0;
    if (!previous_hex ||
        apr_unescape_hex(id_hash, previous_hex, 2 * KMEN_HASH_LEN, 0, &len) != APR_SUCCESS ||
        len != KMEN_HASH_LEN)
        return KMEN_STORE_OK;
    kmen_store_status st = forget(ctx, cache, id_hash);
    return st == KMEN_STORE_DOWN ? st : KMEN_STORE_OK;
}

/* ---- making and changing */

kmen_store_status kmen_session_create(kmen_ctx *ctx, const kmen_cache *cache,
                                      const kmen_identity *identity, const kmen_login_ref *ref,
                                      const char *pending_id, const char *previous,
                                      kmen_new_session *out)
{
    const kmen_server_conf *c = ctx->conf;
    kmen_session s = {*identity,
                      *ref,
                      pending_id,
                      identity->has_evidence,
                      apr_time_now() + apr_time_from_sec(c->session_lifetime),
                      {0},
                      NULL};
    unsigned char subject[KMEN_HASH_LEN];
    out->cookie = kmen_random_token(ctx->pool, SESSION_ID_BYTES);
    if (!out->cookie)
        return KMEN_STORE_DOWN;
    kmen_sha256(out->cookie, KMEN_SESSION_COOKIE_LEN, s.id_hash);
    memcpy(out->id_hash, s.id_hash, KMEN_HASH_LEN);
    kmen_id_index(ctx->pool, &c->id_keys, KMEN_ID_NAMEID, NULL, ref->name_id, subject);
    out->sealed = kmen_session_seal(ctx, &s, &out->len);
    if (!out->sealed)
        return KMEN_STORE_DOWN;
    out->cache_until = cache_until(c, s.expires);
    kmen_store_status st =
        kmen_store_session_create(ctx, c->store, s.id_hash, subject, ref->session_index,
                                  out->sealed, out->len, c->session_lifetime);
    return st == KMEN_STORE_OK ? end_previous(ctx, cache, previous) : st;
}

void kmen_session_issue(kmen_ctx *ctx, const kmen_cache *cache, const kmen_new_session *session)
{
    cache_put(ctx, cache, session->id_hash, session->sealed, session->len, session->cache_until);
}

/* The old record leaves the cache first, written or not: its removal is
 * what tells whoever keeps copies of what the cache held (httpd's children
 * their memo) to drop them, and a record the database no longer holds must
 * not be served from the cache. */
kmen_store_status kmen_session_update(kmen_ctx *ctx, const kmen_cache *cache,
                                      const kmen_session *session)
{
    apr_size_t len = 0;
    unsigned char *sealed = kmen_session_seal(ctx, session, &len);
    if (!sealed)
        return KMEN_STORE_DOWN;
    kmen_store_status st =
        kmen_store_session_update(ctx, ctx->conf->store, session->id_hash, sealed, len);
    cache->remove(cache->handle, ctx, session->id_hash);
    if (st == KMEN_STORE_OK)
        cache_put(ctx, cache, session->id_hash, sealed, len,
                  cache_until(ctx->conf, session->expires));
    return st;
}

/* ---- tokens bound to a session */

/* Bound to the session and to its purpose; nobody without the session's
 * cookie (hashed in) and this server's session key can make one. */
const char *kmen_session_logout_token(kmen_ctx *ctx, const kmen_session *session)
{
    unsigned char text[KMEN_HASH_LEN + 7], mac[KMEN_HASH_LEN];
    memcpy(text, "logout:", 7);
    memcpy(text + 7, session->id_hash, KMEN_HASH_LEN);
    kmen_hmac_sha256(ctx->conf->session_key, KMEN_KEY_LEN, text, sizeof(text), mac);
    return kmen_hex(ctx->pool, mac, KMEN_HASH_LEN);
}

const char *kmen_session_login_state(kmen_ctx *ctx, const char *state, const char *session_cookie)
{
    unsigned char id_hash[KMEN_HASH_LEN];
    if (!kmen_session_cookie_is_well_formed(session_cookie))
        return state;
    kmen_sha256(session_cookie, KMEN_SESSION_COOKIE_LEN, id_hash);
    return apr_pstrcat(ctx->pool, state, ".", kmen_hex(ctx->pool, id_hash, KMEN_HASH_LEN), NULL);
}

const char *kmen_session_login_state_of(kmen_ctx *ctx, const char *cookie, const char **previous)
{
    const char *dot = cookie ? strchr(cookie, '.') : NULL;
    *previous = dot && strlen(dot + 1) == 2 * KMEN_HASH_LEN ? dot + 1 : NULL;
    return dot ? apr_pstrndup(ctx->pool, cookie, (apr_size_t)(dot - cookie)) : cookie;
}
