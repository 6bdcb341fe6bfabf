/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An opened session kept a moment in the process that opened it (memo.h),
 * on every server: a copy of what the session cache held, dropped in every
 * process of the node when the cache removes it (each adapter's cache
 * removal invalidates the memo). */
#include "header_set.h"
#include "session.h"

/* How long a process reuses a session it opened without looking at the
 * cache again: a logout on this node ends it at once (the cache's removal
 * invalidates the memo), one on another node sharing the cache (memcache,
 * redis) within this. */
#define MEMO_SECONDS 1

typedef struct {
    const kmen_server_conf *conf;
    const kmen_session *session;
} memo_source;

/* What a process keeps of an opened session: a copy in the memo entry's
 * pool, with its headers encoded once. */
static const void *session_keep(apr_pool_t *p, const void *source)
{
    const memo_source *src = source;
    kmen_session *copy = kmen_session_copy(p, src->session);
    copy->headers = kmen_headers_prepare(p, src->conf, &copy->identity);
    return copy;
}

kmen_store_status kmen_session_open_kept(kmen_ctx *ctx, const kmen_cache *cache, kmen_memo *memo,
                                         const char *cookie, const kmen_session **out)
{
    const kmen_server_conf *c = ctx->conf;
    if (!kmen_session_cookie_is_well_formed(cookie))
        return KMEN_STORE_NOT_FOUND;
    if ((*out = kmen_memo_get(memo, ctx->pool, c, cookie, KMEN_SESSION_COOKIE_LEN)))
        return KMEN_STORE_OK;
    apr_uint32_t generation = kmen_memo_generation(memo);
    kmen_session *s = NULL;
    apr_time_t until = 0, memo_until = apr_time_now() + apr_time_from_sec(MEMO_SECONDS);
    kmen_store_status st = kmen_session_open(ctx, cache, cookie, &s, &until);
    if (st != KMEN_STORE_OK)
        return st;
    *out =
        kmen_memo_put(memo, ctx->pool, c, cookie, KMEN_SESSION_COOKIE_LEN, generation,
                      until < memo_until ? until : memo_until, session_keep, &(memo_source){c, s});
    if (!*out)
        *out = s;
    return KMEN_STORE_OK;
}
