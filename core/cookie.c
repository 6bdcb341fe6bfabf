/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cookies mod_kmen sets (cookie.h). */
#include <string.h>

#include "apr_strings.h"

#include "cookie.h"
#include "crypto.h"
#include "pairs.h"

#define TAG_HEX 8

const char *kmen_cookie_header(apr_pool_t *p, const kmen_server_conf *c, const char *name,
                               const char *value, int max_age, int cross_site)
{
    const char *same_site =
        cross_site ? (c->cookie_secure ? "; SameSite=None" : "") : "; SameSite=Lax";
    const char *age = max_age < 0   ? "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
                      : max_age > 0 ? apr_psprintf(p, "; Max-Age=%d", max_age)
                                    : "";
    return apr_pstrcat(p, name, "=", max_age < 0 ? "" : value, "; Path=/; HttpOnly",
                       c->cookie_secure ? "; Secure" : "", same_site, age, NULL);
}

const char *kmen_cookie_value(kmen_ctx *ctx, const char *cookie_header, const char *name)
{
    int conflict = 0;
    const char *value = kmen_pair_single_value(ctx->pool, cookie_header, ';', name, &conflict);
    if (conflict)
        kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0683) "two different %s cookies: both ignored",
                 name);
    return value;
}

static const char *name_prefix(apr_pool_t *p, const kmen_server_conf *c)
{
    return apr_pstrcat(p, c->cookie_name, "_state_", NULL);
}

const char *kmen_login_state_cookie_name(apr_pool_t *p, const kmen_server_conf *c,
                                         const char *request_id)
{
    unsigned char hash[KMEN_HASH_LEN];
    kmen_sha256(request_id, strlen(request_id), hash);
    return apr_pstrcat(p, name_prefix(p, c), kmen_hex(p, hash, TAG_HEX / 2), NULL);
}

/* The names of the login-state cookies in COOKIE_HEADER, in its order. */
static apr_array_header_t *held_names(apr_pool_t *p, const kmen_server_conf *c,
                                      const char *cookie_header)
{
    apr_array_header_t *names = apr_array_make(p, KMEN_LOGIN_STATE_MAX, sizeof(char *));
    const char *prefix = name_prefix(p, c);
    size_t prefix_len = strlen(prefix);
    char *last = NULL;
    char *list = apr_pstrdup(p, cookie_header ? cookie_header : "");
    for (char *item = apr_strtok(list, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        item += strspn(item, " ");
        if (strncmp(item, prefix, prefix_len) == 0 &&
            strspn(item + prefix_len, "0123456789abcdef") == TAG_HEX &&
            item[prefix_len + TAG_HEX] == '=')
            APR_ARRAY_PUSH(names, char *) = apr_pstrndup(p, item, prefix_len + TAG_HEX);
    }
    return names;
}

apr_array_header_t *kmen_login_state_cookies_to_drop(apr_pool_t *p, const kmen_server_conf *c,
                                                     const char *cookie_header)
{
    apr_array_header_t *held = held_names(p, c, cookie_header);
    int keep = KMEN_LOGIN_STATE_MAX - 1;
    held->nelts = held->nelts > keep ? held->nelts - keep : 0;
    return held;
}
