/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login endpoints on nginx (login_endpoints.h). The sequence is the core's
 * (core/login_start.h, core/login.h); here only nginx's request, cookies and
 * answers. */
#include <string.h>

#include "apr_strings.h"

#include "access.h"
#include "body.h"
#include "cookie.h"
#include "cookies.h"
#include "idp_metadata.h"
#include "login.h"
#include "login_endpoints.h"
#include "login_start.h"
#include "pairs.h"
#include "redirect.h"
#include "request.h"
#include "response.h"

#define ACS_BODY_LIMIT (512 * 1024) /* as httpd's: NIA's Responses are ~20 KiB */

/* The login-state cookie of the login just started, the oldest of this
 * browser's others beyond KMEN_LOGIN_STATE_MAX - 1 removed. */
static ngx_int_t set_login_state(ngx_http_request_t *r, kmen_ctx *ctx,
                                 const kmen_login_started *started)
{
    const kmen_server_conf *c = ctx->conf;
    const char *header = kmen_ngx_cookie_header(r, ctx);
    apr_array_header_t *drop = kmen_login_state_cookies_to_drop(ctx->pool, c, header);
    for (int i = 0; i < drop->nelts; i++)
        if (kmen_ngx_cookie_set(r, ctx, APR_ARRAY_IDX(drop, i, char *), "", -1, 1) != NGX_OK)
            return NGX_ERROR;
    const char *state = kmen_session_login_state(ctx, started->state,
                                                 kmen_cookie_value(ctx, header, c->cookie_name));
    return kmen_ngx_cookie_set(r, ctx,
                               kmen_login_state_cookie_name(ctx->pool, c, started->request_id),
                               state, KMEN_LOGIN_STATE_TTL, 1);
}

/* kmen_login_start_limit: 1 when this client's start is refused, its
 * Retry-After set. */
static int login_start_refused(ngx_http_request_t *r, kmen_ctx *ctx)
{
    int retry_after = 0;
    const char *client = apr_pstrndup(ctx->pool, (const char *)r->connection->addr_text.data,
                                      r->connection->addr_text.len);
    if (!kmen_login_start_limited(ctx, kmen_ngx_session_cache(r), client, &retry_after))
        return 0;
    kmen_ngx_add_header(r, "Retry-After", apr_itoa(ctx->pool, retry_after));
    return 1;
}

ngx_int_t kmen_ngx_login_start(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_dir_conf *dir,
                               const char *return_to)
{
    kmen_login_started started;
    if (login_start_refused(r, ctx))
        return kmen_ngx_send_page(r, KMEN_PAGE_TOO_MANY_LOGINS);
    kmen_idp_refresh(ctx); /* a protected location's login is no endpoint's */
    switch (kmen_login_begin(ctx, dir, return_to, &started)) {
    case KMEN_LOGIN_START_ERROR:
        return kmen_ngx_send_page(r, KMEN_PAGE_INTERNAL_ERROR);
    case KMEN_LOGIN_START_UNAVAILABLE:
        return kmen_ngx_send_page(r, KMEN_PAGE_UNAVAILABLE);
    case KMEN_LOGIN_START_OK:
        break;
    }
    if (set_login_state(r, ctx, &started) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return kmen_ngx_redirect(r, started.url);
}

static ngx_int_t refuse_return_to(ngx_http_request_t *r, kmen_ctx *ctx)
{
    kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0623) "ReturnTo is not a local path, refused");
    return kmen_ngx_send_page(r, KMEN_PAGE_BAD_REQUEST);
}

/* httpd's /login finds ReturnTo's settings by a lookup subrequest; nginx has
 * no call that finds a URI's location, so the request is redirected
 * internally to ReturnTo, whose location starts the login at its own
 * settings (login_here_handler, nginx/access.c). What sends it there is a
 * mark in the module's request record, which an internal redirect keeps
 * and nothing from outside can set, as a request header could be. The URI
 * is ReturnTo's as nginx's X-Accel-Redirect takes one
 * (ngx_http_parse_unsafe_uri: decoded, its query split off, a ".." or a
 * NUL refused), so ReturnTo names the location a GET of it would reach. */
ngx_int_t kmen_ngx_login(ngx_http_request_t *r, const kmen_server_conf *c)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const char *args = apr_pstrndup(ctx->pool, (const char *)r->args.data, r->args.len);
    const char *return_to = kmen_query_value(ctx->pool, args, "ReturnTo");
    if (!return_to)
        return_to = "/";
    ngx_str_t uri = {strlen(return_to), (u_char *)return_to}, query = ngx_null_string;
    ngx_uint_t flags = 0;
    if (!kmen_return_to_is_local(return_to) ||
        ngx_http_parse_unsafe_uri(r, &uri, &query, &flags) != NGX_OK)
        return refuse_return_to(r, ctx);
    if (!kmen_ngx_request_login_at(r, return_to))
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return ngx_http_internal_redirect(r, &uri, &query);
}

/* kmen_login_state_taker: the cookie read, and removed from the browser. */
static const char *take_login_state(void *request, const char *name)
{
    ngx_http_request_t *r = request;
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    const char *cookie = kmen_ngx_cookie_get(r, ctx, name);
    if (cookie)
        kmen_ngx_cookie_set(r, ctx, name, "", -1, 1);
    return cookie;
}

/* The answer to the login's OUTCOME, as httpd's: the session's cookie and a
 * redirect to where the login started, or the outcome's page. */
static ngx_int_t login_answer(ngx_http_request_t *r, kmen_ctx *ctx, kmen_login_outcome outcome,
                              const kmen_login_result *login)
{
    switch (outcome) {
    case KMEN_LOGIN_OK:
        kmen_session_issue(ctx, kmen_ngx_session_cache(r), &login->session);
        if (kmen_ngx_cookie_set(r, ctx, ctx->conf->cookie_name, login->session.cookie, 0, 0) !=
            NGX_OK)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        kmen_log(ctx, KMEN_LOG_INFO, KMEN_LOGNO(0625) "login: %s", login->who);
        return kmen_ngx_redirect(r, login->return_to);
    case KMEN_LOGIN_LOA_TOO_LOW: /* a stronger login, back to where this one started */
        return kmen_ngx_send_page_login_again(r, KMEN_PAGE_LOA_TOO_LOW, login->return_to);
    case KMEN_LOGIN_INVALID:
        return kmen_ngx_send_page_login_again(r, KMEN_PAGE_LOGIN_INVALID, "/");
    case KMEN_LOGIN_FAILED:
        return kmen_ngx_send_page_login_again(r, KMEN_PAGE_LOGIN_FAILED, "/");
    default:
        return kmen_ngx_send_page(r, KMEN_PAGE_UNAVAILABLE);
    }
}

/* A form that carries no Response. */
static ngx_int_t acs_refuse(ngx_http_request_t *r, kmen_ctx *ctx, const char *why)
{
    kmen_login_refused(ctx, why, KMEN_LOGIN_INVALID);
    return login_answer(r, ctx, KMEN_LOGIN_INVALID, NULL);
}

static ngx_int_t acs_answer(ngx_http_request_t *r)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    kmen_login_result login;
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const char *body = kmen_ngx_body_text(r, ctx->pool, ACS_BODY_LIMIT);
    if (!body)
        return acs_refuse(r, ctx, "unreadable or oversized form body");
    const char *b64 = kmen_query_value(ctx->pool, body, "SAMLResponse");
    if (!b64)
        return acs_refuse(r, ctx, "no SAMLResponse");
    kmen_ctx *previous = kmen_log_serving(ctx);
    kmen_login_outcome outcome =
        kmen_login_response(ctx, kmen_ngx_session_cache(r), b64, take_login_state, r, &login);
    kmen_log_serving(previous);
    return login_answer(r, ctx, outcome, &login);
}

ngx_int_t kmen_ngx_acs(ngx_http_request_t *r, const kmen_server_conf *c)
{
    return kmen_ngx_body_then(r, ACS_BODY_LIMIT, acs_answer);
}
