/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The logout endpoints on nginx (logout_endpoints.h). The sequence is the
 * core's (core/logout.h); here only nginx's request, cookies and answers. */
#include "apr_strings.h"

#include "body.h"
#include "cookies.h"
#include "logout.h"
#include "logout_endpoints.h"
#include "pairs.h"
#include "redirect.h"
#include "request.h"
#include "response.h"

#define LOGOUT_FORM_LIMIT 8192     /* the confirmation page's form: token and ReturnTo */
#define SLO_BODY_LIMIT (64 * 1024) /* NIA's LogoutResponses are under 4 KiB */

/* A request to an endpoint in none of the forms it takes. */
static ngx_int_t bad_request(ngx_http_request_t *r, kmen_ctx *ctx, const char *why)
{
    kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0636) "%s %s refused: %s",
             apr_pstrmemdup(ctx->pool, (const char *)r->method_name.data, r->method_name.len),
             apr_pstrmemdup(ctx->pool, (const char *)r->uri.data, r->uri.len), why);
    return kmen_ngx_send_page(r, KMEN_PAGE_BAD_REQUEST);
}

static ngx_int_t unavailable(ngx_http_request_t *r)
{
    return kmen_ngx_send_page(r, KMEN_PAGE_UNAVAILABLE);
}

static const char *query_of(ngx_http_request_t *r, kmen_ctx *ctx)
{
    return apr_pstrmemdup(ctx->pool, (const char *)r->args.data, r->args.len);
}

static int asked_by_person(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_session *s,
                           const char *token)
{
    return kmen_logout_asked_by_person(ctx, s, r->method == NGX_HTTP_POST, token,
                                       kmen_ngx_header_in(r, ctx, "Sec-Fetch-Site"));
}

static ngx_int_t clear_session_cookie(ngx_http_request_t *r, kmen_ctx *ctx)
{
    return kmen_ngx_cookie_set(r, ctx, ctx->conf->cookie_name, "", -1, 0);
}

/* Ends the session here, then at NIA. */
static ngx_int_t log_out(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_session *s,
                         const char *return_to)
{
    kmen_logout_started started;
    if (clear_session_cookie(r, ctx) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (kmen_logout_begin(ctx, kmen_ngx_session_cache(r), s, return_to, &started) != KMEN_STORE_OK)
        return unavailable(r);
    if (started.state &&
        kmen_ngx_cookie_set(r, ctx, kmen_logout_state_cookie_name(ctx->pool, ctx->conf),
                            started.state, KMEN_LOGOUT_STATE_TTL, 1) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return kmen_ngx_redirect(r, started.url);
}

/* The page that asks the person to confirm a logout another site started:
 * its form posts the session's token back. */
static ngx_int_t confirm_logout(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_session *s,
                                const char *return_to)
{
    apr_pool_t *p = ctx->pool;
    kmen_log(ctx, KMEN_LOG_INFO, KMEN_LOGNO(0691) "logout from another site: asked to confirm");
    const char *url = apr_pstrcat(p, ctx->conf->endpoint_path, "/logout", NULL);
    const char *form = kmen_page_logout_form(p, url, kmen_session_logout_token(ctx, s), return_to);
    return kmen_ngx_send_page_with(r, KMEN_PAGE_LOGOUT_CONFIRM, form);
}

/* REPLY to R, lasso's log lines meanwhile (it reads and makes the messages)
 * naming the request. */
static ngx_int_t served(ngx_http_request_t *r,
                        ngx_int_t (*reply)(ngx_http_request_t *r, kmen_ctx *ctx))
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    kmen_ctx *previous = kmen_log_serving(ctx);
    ngx_int_t rc = reply(r, ctx);
    kmen_log_serving(previous);
    return rc;
}

/* The logout's ReturnTo (from the form of a POST, else the query) and
 * token, once the body is read. */
static ngx_int_t logout_reply(ngx_http_request_t *r, kmen_ctx *ctx)
{
    kmen_session *s = NULL;
    int is_post = r->method == NGX_HTTP_POST;
    const char *form = is_post ? kmen_ngx_body_text(r, ctx->pool, LOGOUT_FORM_LIMIT) : NULL;
    if (is_post && !form)
        return bad_request(r, ctx, "the form does not parse");
    const char *return_to =
        kmen_query_value(ctx->pool, is_post ? form : query_of(r, ctx), "ReturnTo");
    if (!return_to)
        return_to = "/";
    if (!kmen_return_to_is_local(return_to)) {
        kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0623) "ReturnTo is not a local path, refused");
        return kmen_ngx_send_page(r, KMEN_PAGE_BAD_REQUEST);
    }
    kmen_store_status st = kmen_ngx_session_of(r, ctx, &s);
    if (st != KMEN_STORE_OK)
        return st == KMEN_STORE_DOWN ? unavailable(r) : kmen_ngx_redirect(r, return_to);
    if (asked_by_person(r, ctx, s, is_post ? kmen_query_value(ctx->pool, form, "token") : NULL))
        return log_out(r, ctx, s, return_to);
    return confirm_logout(r, ctx, s, return_to);
}

static ngx_int_t logout_answer(ngx_http_request_t *r)
{
    return served(r, logout_reply);
}

ngx_int_t kmen_ngx_logout(ngx_http_request_t *r, const kmen_server_conf *c)
{
    return kmen_ngx_body_then(r, LOGOUT_FORM_LIMIT, logout_answer);
}

/* NIA's answer to the logout this browser started: by HTTP-Redirect (QUERY)
 * or HTTP-POST (POST_B64). */
static ngx_int_t slo_response(ngx_http_request_t *r, kmen_ctx *ctx, const char *query,
                              const char *post_b64)
{
    const char *state_cookie = kmen_logout_state_cookie_name(ctx->pool, ctx->conf), *to = NULL;
    int clear_state = 0;
    kmen_logout_outcome outcome = kmen_logout_response(
        ctx, query, post_b64, kmen_ngx_cookie_get(r, ctx, state_cookie), &to, &clear_state);
    if (clear_state && kmen_ngx_cookie_set(r, ctx, state_cookie, "", -1, 1) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    switch (outcome) {
    case KMEN_LOGOUT_DONE:
    case KMEN_LOGOUT_REFUSED:
        return kmen_ngx_redirect(r, to);
    case KMEN_LOGOUT_INCOMPLETE:
        return kmen_ngx_send_page(r, KMEN_PAGE_LOGOUT_INCOMPLETE);
    default:
        return unavailable(r);
    }
}

/* NIA's LogoutRequest: every session of that login ended. */
static ngx_int_t slo_request(ngx_http_request_t *r, kmen_ctx *ctx, const char *query)
{
    const char *url = NULL;
    switch (kmen_logout_idp_request(ctx, kmen_ngx_session_cache(r), query, &url)) {
    case KMEN_STORE_OK:
        if (clear_session_cookie(r, ctx) != NGX_OK)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        return kmen_ngx_redirect(r, url);
    case KMEN_STORE_NOT_FOUND:
        return kmen_ngx_send_page(r, KMEN_PAGE_BAD_REQUEST);
    default:
        return unavailable(r);
    }
}

/* GET /slo with no SAML message: the session here ends, if this site or
 * the person asked (another site cannot log anyone out); then home. */
static ngx_int_t slo_bare(ngx_http_request_t *r, kmen_ctx *ctx)
{
    kmen_session *s = NULL;
    kmen_store_status st = kmen_ngx_session_of(r, ctx, &s);
    if (st == KMEN_STORE_DOWN)
        return unavailable(r);
    if (st == KMEN_STORE_OK && asked_by_person(r, ctx, s, NULL)) {
        if (clear_session_cookie(r, ctx) != NGX_OK)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        if (kmen_logout_local(ctx, kmen_ngx_session_cache(r), s) != KMEN_STORE_OK)
            return unavailable(r);
    }
    return kmen_ngx_redirect(r, "/");
}

/* POST /slo: NIA's LogoutResponse by HTTP-POST. */
static ngx_int_t slo_post(ngx_http_request_t *r, kmen_ctx *ctx)
{
    const char *body = kmen_ngx_body_text(r, ctx->pool, SLO_BODY_LIMIT);
    if (!body) {
        kmen_logout_response_refused(ctx, "unreadable or oversized form body");
        return kmen_ngx_redirect(r, "/");
    }
    const char *b64 = kmen_query_value(ctx->pool, body, "SAMLResponse");
    if (!b64)
        return bad_request(r, ctx, "no SAMLResponse (LogoutRequests come by HTTP-Redirect)");
    return slo_response(r, ctx, NULL, b64);
}

static ngx_int_t slo_reply(ngx_http_request_t *r, kmen_ctx *ctx)
{
    const char *query = query_of(r, ctx);
    if (r->method == NGX_HTTP_POST)
        return slo_post(r, ctx);
    if (kmen_query_value(ctx->pool, query, "SAMLRequest"))
        return slo_request(r, ctx, query);
    if (kmen_query_value(ctx->pool, query, "SAMLResponse"))
        return slo_response(r, ctx, query, NULL);
    return slo_bare(r, ctx);
}

static ngx_int_t slo_answer(ngx_http_request_t *r)
{
    return served(r, slo_reply);
}

ngx_int_t kmen_ngx_slo(ngx_http_request_t *r, const kmen_server_conf *c)
{
    return kmen_ngx_body_then(r, SLO_BODY_LIMIT, slo_answer);
}
