/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login-state cookies: "<KmenCookieName>_state_<tag>", one per
 * outstanding login, where the tag is 8 hex digits of the SHA-256 of the
 * AuthnRequest's ID. One cookie for every login would let a second login
 * (another tab) overwrite the first one's state, which then fails at the ACS.
 *
 * The tag only finds the cookie again from the Response's InResponseTo; it
 * proves nothing. The value is the secret (see handlers.c): the database
 * finds the outstanding request by its hash, and the Response must answer
 * exactly that request. A browser keeps at most KMEN_LOGIN_STATE_MAX of
 * them, about 140 bytes each in its Cookie header. */
#include <string.h>

#include "apr_strings.h"

#include "config.h"
#include "crypto.h"
#include "login_state.h"
#include "request.h"
#include "session_cookie.h"

#define TAG_HEX 8

static const char *name_prefix(request_rec *r)
{
    return apr_pstrcat(r->pool, kmen_server_conf_get(r->server)->cookie_name, "_state_", NULL);
}

static const char *cookie_name_for(request_rec *r, const char *request_id)
{
    unsigned char hash[KMEN_HASH_LEN];
    kmen_sha256(request_id, strlen(request_id), hash);
    return apr_pstrcat(r->pool, name_prefix(r), kmen_hex(r->pool, hash, TAG_HEX / 2), NULL);
}

/* The names of this browser's login-state cookies in the order its Cookie
 * header lists them: oldest first, as browsers send them (RFC 6265 5.4). */
static apr_array_header_t *held_names(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, KMEN_LOGIN_STATE_MAX, sizeof(char *));
    const char *header = apr_table_get(r->headers_in, "Cookie");
    const char *prefix = name_prefix(r);
    size_t prefix_len = strlen(prefix);
    char *last = NULL;
    char *list = apr_pstrdup(r->pool, header ? header : "");
    for (char *item = apr_strtok(list, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        item += strspn(item, " ");
        if (strncmp(item, prefix, prefix_len) == 0 &&
            strspn(item + prefix_len, "0123456789abcdef") == TAG_HEX &&
            item[prefix_len + TAG_HEX] == '=')
            APR_ARRAY_PUSH(names, char *) = apr_pstrndup(r->pool, item, prefix_len + TAG_HEX);
    }
    return names;
}

void kmen_login_state_set(request_rec *r, const char *request_id, const char *state)
{
    apr_array_header_t *held = held_names(r);
    for (int i = 0; i <= held->nelts - KMEN_LOGIN_STATE_MAX; i++)
        kmen_cookie_set(r, APR_ARRAY_IDX(held, i, char *), "", -1, 1);
    kmen_cookie_set(r, cookie_name_for(r, request_id),
                    kmen_session_login_state(kmen_request_ctx(r), state, kmen_session_cookie(r)),
                    KMEN_LOGIN_STATE_TTL, 1);
}

const char *kmen_login_state_take(request_rec *r, const char *in_response_to, const char **previous)
{
    const char *name = cookie_name_for(r, in_response_to);
    const char *cookie = kmen_cookie_get(r, name);
    if (cookie)
        kmen_cookie_set(r, name, "", -1, 1);
    return kmen_session_login_state_of(kmen_request_ctx(r), cookie, previous);
}
