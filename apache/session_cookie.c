/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session behind its cookie on httpd: the cookie read and written here,
 * the session opened, made and ended by the core (core/session.c) over the
 * session cache (socache.c), and an opened one kept a moment in the child. */
#include "httpd.h"
#include "apr_strings.h"

#include "config.h"
#include "cookie.h"
#include "memo.h"
#include "request.h"
#include "session_cookie.h"
#include "socache.h"

/* How long a child reuses a session it opened without looking at the
 * cache again: a logout on this node ends it at once (the cache's removal
 * invalidates the memo), one on another node sharing the cache (memcache,
 * redis) within this. */
#define MEMO_SECONDS 1

const char *kmen_cookie_get(request_rec *r, const char *name)
{
    return kmen_cookie_value(kmen_request_ctx(r), apr_table_get(r->headers_in, "Cookie"), name);
}

void kmen_cookie_set(request_rec *r, const char *name, const char *value, int max_age,
                     int cross_site)
{
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  kmen_cookie_header(r->pool, kmen_server_conf_get(r->server), name, value, max_age,
                                     cross_site));
}

const char *kmen_session_cookie(request_rec *r)
{
    return kmen_cookie_get(r, kmen_server_conf_get(r->server)->cookie_name);
}

typedef struct {
    const kmen_server_conf *conf;
    const kmen_session *session;
} memo_source;

/* What a child keeps of an opened session: a copy in the memo entry's pool,
 * with its headers encoded once. */
static const void *session_keep(apr_pool_t *p, const void *source)
{
    const memo_source *src = source;
    kmen_session *copy = kmen_session_copy(p, src->session);
    copy->headers = kmen_headers_prepare(p, src->conf, &copy->identity);
    return copy;
}

/* Opened in this child within the last MEMO_SECONDS (and no longer than the
 * cache may be trusted): no cache lookup, no decryption, no hashing. */
kmen_store_status kmen_session_load(request_rec *r, const kmen_session **out)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *cookie = kmen_session_cookie(r);
    if (!kmen_session_cookie_is_well_formed(cookie))
        return KMEN_STORE_NOT_FOUND;
    if ((*out = kmen_memo_get(r, c, cookie, KMEN_SESSION_COOKIE_LEN)))
        return KMEN_STORE_OK;
    apr_uint32_t generation = kmen_memo_generation();
    kmen_session *s = NULL;
    apr_time_t until = 0, memo_until = apr_time_now() + apr_time_from_sec(MEMO_SECONDS);
    kmen_store_status st =
        kmen_session_open(kmen_request_ctx(r), kmen_session_cache(), cookie, &s, &until);
    if (st != KMEN_STORE_OK)
        return st;
    *out =
        kmen_memo_put(r, c, cookie, KMEN_SESSION_COOKIE_LEN, generation,
                      until < memo_until ? until : memo_until, session_keep, &(memo_source){c, s});
    if (!*out)
        *out = s;
    return KMEN_STORE_OK;
}

void kmen_session_hand_out(request_rec *r, const kmen_new_session *session)
{
    kmen_session_issue(kmen_request_ctx(r), kmen_session_cache(), session);
    kmen_cookie_set(r, kmen_server_conf_get(r->server)->cookie_name, session->cookie, 0, 0);
}

void kmen_session_cookie_clear(request_rec *r)
{
    kmen_cookie_set(r, kmen_server_conf_get(r->server)->cookie_name, "", -1, 0);
}
