/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The logout-state cookie: "<expiry>.<request ID>.<MAC>.<ReturnTo>".
 *
 * NIA's LogoutResponse is unsigned, so its InResponseTo is the only thing
 * that ties it to a logout: it counts only in the browser that started that
 * logout (the cookie), once (the replay cache, on every node), and within
 * LOGOUT_STATE_TTL. The MAC (session key) keeps anyone who can plant a
 * cookie, a sibling subdomain say, from choosing the ID or the ReturnTo.
 * The cookie survives NIA's cross-site POST as the login state does. */
#include <string.h>

#include "apr_escape.h"
#include "apr_strings.h"

#include "config.h"
#include "crypto.h"
#include "logout_state.h"
#include "request.h"
#include "session_cookie.h"

#define LOGOUT_STATE_TTL 600 /* seconds NIA may take to answer a LogoutRequest */

static const char *cookie_name(request_rec *r)
{
    return apr_pstrcat(r->pool, kmen_server_conf_get(r->server)->cookie_name, "_logout", NULL);
}

/* 64 hex digits over everything before the MAC and the escaped ReturnTo. */
static const char *state_mac(request_rec *r, const char *head, const char *escaped_return_to)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *text = apr_pstrcat(r->pool, "logout-state:", head, ".", escaped_return_to, NULL);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(c->session_key, KMEN_KEY_LEN, text, strlen(text), mac);
    return kmen_hex(r->pool, mac, KMEN_HASH_LEN);
}

void kmen_logout_state_set(request_rec *r, const char *request_id, const char *return_to)
{
    apr_time_t expires = apr_time_sec(apr_time_now()) + LOGOUT_STATE_TTL;
    const char *head = apr_psprintf(r->pool, "%" APR_TIME_T_FMT ".%s", expires, request_id);
    const char *escaped = apr_pescape_urlencoded(r->pool, return_to);
    kmen_cookie_set(
        r, cookie_name(r),
        apr_pstrcat(r->pool, head, ".", state_mac(r, head, escaped), ".", escaped, NULL),
        LOGOUT_STATE_TTL, 1);
}

/* The cookie's parts when its MAC is this server's and it has not expired. */
static const char *open_state(request_rec *r, const char *cookie, const char **request_id,
                              apr_time_t *expires, const char **return_to)
{
    char *head = apr_pstrdup(r->pool, cookie ? cookie : "");
    char *first = strchr(head, '.'), *second = first ? strchr(first + 1, '.') : NULL;
    char *third = second ? strchr(second + 1, '.') : NULL;
    if (!third || third - second - 1 != 2 * KMEN_HASH_LEN)
        return "no logout-state cookie (no logout started in this browser)";
    *second = '\0';
    if (!kmen_equal_const_time(second + 1, state_mac(r, head, third + 1), 2 * KMEN_HASH_LEN))
        return "the logout-state cookie is not this server's";
    *expires = apr_time_from_sec(apr_atoi64(head));
    if (*expires <= apr_time_now())
        return "the logout-state cookie has expired";
    *request_id = first + 1;
    *return_to = apr_pstrdup(r->pool, third + 1);
    ap_unescape_urlencoded((char *)*return_to);
    return NULL;
}

kmen_store_status kmen_logout_state_take(request_rec *r, const char *in_response_to,
                                         const char **return_to, const char **why)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *request_id = NULL;
    apr_time_t expires = 0;
    *why = open_state(r, kmen_cookie_get(r, cookie_name(r)), &request_id, &expires, return_to);
    if (!*why && strcmp(request_id, in_response_to) != 0) {
        /* Kept: a message posted by another site must not spoil NIA's own. */
        *why = "InResponseTo names no logout this browser started";
        return KMEN_STORE_NOT_FOUND;
    }
    kmen_cookie_set(r, cookie_name(r), "", -1, 1);
    if (*why)
        return KMEN_STORE_NOT_FOUND;
    kmen_store_status st = kmen_store_message_first_seen(kmen_request_ctx(r), c->store,
                                                         "logout-response", request_id, expires);
    if (st == KMEN_STORE_NOT_FOUND)
        *why = "the logout was answered before (a replay)";
    return st;
}
