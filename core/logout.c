/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logout (logout.h), and the logout-state cookie:
 * "<expiry>.<request ID>.<MAC>.<ReturnTo>".
 *
 * NIA's LogoutResponse is unsigned, so its InResponseTo is the only thing
 * that ties it to a logout: it counts only in the browser that started that
 * logout (the cookie), once (the replay cache, on every node), and within
 * KMEN_LOGOUT_STATE_TTL. The MAC (session key) keeps anyone who can plant a
 * cookie, a sibling subdomain say, from choosing the ID or the ReturnTo.
 * The cookie survives NIA's cross-site POST as the login state does. */
#include <string.h>

#include "apr_escape.h"
#include "apr_strings.h"

#include "crypto.h"
#include "logout.h"
#include "redirect.h"
#include "saml.h"

const char *kmen_logout_state_cookie_name(apr_pool_t *p, const kmen_server_conf *c)
{
    return apr_pstrcat(p, c->cookie_name, "_logout", NULL);
}

int kmen_logout_asked_by_person(kmen_ctx *ctx, const kmen_session *s, int is_post,
                                const char *token, const char *fetch_site)
{
    if (is_post)
        return token && strlen(token) == 2 * KMEN_HASH_LEN &&
               kmen_equal_const_time(token, kmen_session_logout_token(ctx, s), 2 * KMEN_HASH_LEN);
    /* Browsers that send Sec-Fetch-Site send it on every cross-site request;
     * one without it is an old browser or a script. */
    return !fetch_site || strcmp(fetch_site, "same-origin") == 0 || strcmp(fetch_site, "none") == 0;
}

/* 64 hex digits over everything before the MAC and the escaped ReturnTo. */
static const char *state_mac(kmen_ctx *ctx, const char *head, const char *escaped_return_to)
{
    const char *text = apr_pstrcat(ctx->pool, "logout-state:", head, ".", escaped_return_to, NULL);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(ctx->conf->session_key, KMEN_KEY_LEN, text, strlen(text), mac);
    return kmen_hex(ctx->pool, mac, KMEN_HASH_LEN);
}

/* The logout-state cookie's value for the LogoutRequest REQUEST_ID. */
static const char *state_value(kmen_ctx *ctx, const char *request_id, const char *return_to)
{
    apr_time_t expires = apr_time_sec(apr_time_now()) + KMEN_LOGOUT_STATE_TTL;
    const char *head = apr_psprintf(ctx->pool, "%" APR_TIME_T_FMT ".%s", expires, request_id);
    const char *escaped = apr_pescape_urlencoded(ctx->pool, return_to);
    return apr_pstrcat(ctx->pool, head, ".", state_mac(ctx, head, escaped), ".", escaped, NULL);
}

/* The parts of the logout-state COOKIE when its MAC is this server's and
 * it has not expired; else why not. */
static const char *open_state(kmen_ctx *ctx, const char *cookie, const char **request_id,
                              apr_time_t *expires, const char **return_to)
{
    char *head = apr_pstrdup(ctx->pool, cookie ? cookie : "");
    char *first = strchr(head, '.'), *second = first ? strchr(first + 1, '.') : NULL;
    char *third = second ? strchr(second + 1, '.') : NULL;
    if (!third || third - second - 1 != 2 * KMEN_HASH_LEN)
        return "no logout-state cookie (no logout started in this browser)";
    *second = '\0';
    if (!kmen_equal_const_time(second + 1, state_mac(ctx, head, third + 1), 2 * KMEN_HASH_LEN))
        return "the logout-state cookie is not this server's";
    *expires = apr_time_from_sec(apr_atoi64(head));
    if (*expires <= apr_time_now())
        return "the logout-state cookie has expired";
    *request_id = first + 1;
    /* the MAC covers it: only what state_value escaped comes back */
    *return_to = apr_punescape_url(ctx->pool, third + 1, NULL, NULL, 1);
    return NULL;
}

kmen_store_status kmen_logout_begin(kmen_ctx *ctx, const kmen_cache *cache, const kmen_session *s,
                                    const char *return_to, kmen_logout_started *out)
{
    const kmen_server_conf *c = ctx->conf;
    const char *request_id = NULL;
    if (kmen_session_destroy(ctx, cache, s) != KMEN_STORE_OK)
        return KMEN_STORE_DOWN;
    kmen_store_audit(ctx, c->store, "logout", "ok", "sp-initiated");
    const char *err = kmen_saml_logout_request(c->sp, ctx->pool, &s->ref, &out->url, &request_id);
    out->state = err ? NULL : state_value(ctx, request_id, return_to);
    if (err) {
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0626) "session ended here; no LogoutRequest to the IdP: %s", err);
        out->url = return_to;
    }
    return KMEN_STORE_OK;
}

kmen_store_status kmen_logout_local(kmen_ctx *ctx, const kmen_cache *cache, const kmen_session *s)
{
    if (kmen_session_destroy(ctx, cache, s) != KMEN_STORE_OK)
        return KMEN_STORE_DOWN;
    kmen_store_audit(ctx, ctx->conf->store, "logout", "ok", "local");
    kmen_log(ctx, KMEN_LOG_INFO,
             KMEN_LOGNO(0639) "GET /slo without a SAML message: the session here has ended");
    return KMEN_STORE_OK;
}

/* The logout a LogoutResponse with IN_RESPONSE_TO answers, taken once: OK
 * and *return_to when this browser started it, unexpired and not taken
 * before (on any node); NOT_FOUND and *why otherwise; DOWN. */
static kmen_store_status take_state(kmen_ctx *ctx, const char *state, const char *in_response_to,
                                    const char **return_to, const char **why, int *clear_state)
{
    const char *request_id = NULL;
    apr_time_t expires = 0;
    *why = open_state(ctx, state, &request_id, &expires, return_to);
    *clear_state = *why || strcmp(request_id, in_response_to) == 0;
    if (!*why && !*clear_state)
        *why = "InResponseTo names no logout this browser started";
    if (*why)
        return KMEN_STORE_NOT_FOUND;
    kmen_store_status st = kmen_store_message_first_seen(ctx, ctx->conf->store, "logout-response",
                                                         request_id, expires);
    if (st == KMEN_STORE_NOT_FOUND)
        *why = "the logout was answered before (a replay)";
    return st;
}

void kmen_logout_response_refused(kmen_ctx *ctx, const char *why)
{
    kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0627) "LogoutResponse refused: %s", why);
}

static kmen_logout_outcome response_refused(kmen_ctx *ctx, const char *why, const char **to)
{
    kmen_logout_response_refused(ctx, why);
    *to = "/";
    return KMEN_LOGOUT_REFUSED;
}

kmen_logout_outcome kmen_logout_response(kmen_ctx *ctx, const char *query, const char *post_b64,
                                         const char *state, const char **to, int *clear_state)
{
    kmen_logout_answer answer;
    const char *return_to = NULL;
    *clear_state = 0;
    const char *why =
        kmen_saml_logout_response_read(ctx->conf->sp, ctx->pool, query, post_b64, &answer);
    if (why)
        return response_refused(ctx, why, to);
    kmen_store_status st =
        take_state(ctx, state, answer.in_response_to, &return_to, &why, clear_state);
    if (st == KMEN_STORE_DOWN)
        return KMEN_LOGOUT_UNAVAILABLE;
    if (st != KMEN_STORE_OK)
        return response_refused(ctx, why, to);
    if (!answer.success) {
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0637) "logout not confirmed by the IdP: status %s; the "
                                  "session here has ended",
                 kmen_log_item(ctx->pool, answer.status));
        return KMEN_LOGOUT_INCOMPLETE;
    }
    kmen_log(ctx, KMEN_LOG_INFO, KMEN_LOGNO(0638) "logout completed at the IdP");
    *to = kmen_return_to_is_local(return_to) ? return_to : "/";
    return KMEN_LOGOUT_DONE;
}

kmen_store_status kmen_logout_idp_request(kmen_ctx *ctx, const kmen_cache *cache, const char *query,
                                          const char **url)
{
    const kmen_server_conf *c = ctx->conf;
    kmen_login_ref ref;
    kmen_message_ref msg = {NULL, 0};
    kmen_response_expect expect = {apr_time_now(), apr_time_from_sec(c->clock_skew), NULL};
    const char *err =
        kmen_saml_logout_request_consume(c->sp, ctx->pool, query, &expect, &ref, &msg, url);
    kmen_store_status seen =
        err ? KMEN_STORE_OK
            : kmen_store_message_first_seen(ctx, c->store, "logout", msg.id, msg.replayable_until);
    if (seen == KMEN_STORE_DOWN)
        return KMEN_STORE_DOWN;
    if (seen == KMEN_STORE_NOT_FOUND)
        err = "the LogoutRequest was carried out before (a replay)";
    if (err) {
        kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0628) "LogoutRequest refused: %s", err);
        return KMEN_STORE_NOT_FOUND;
    }
    if (kmen_session_destroy_login(ctx, cache, &ref) != KMEN_STORE_OK)
        return KMEN_STORE_DOWN;
    kmen_store_audit(ctx, c->store, "logout", "ok", "idp-initiated");
    return KMEN_STORE_OK;
}
