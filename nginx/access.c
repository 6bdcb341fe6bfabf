/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A protected location on nginx, as httpd's AuthType Kmen (apache/auth.c):
 * the session cookie opened against the session zone and the database (and
 * kept a moment in the worker, as in an httpd child: core/session_kept.c); a
 * valid session's identity set in the request headers for the upstream; no
 * session, a GET starts the login at the location's settings and anything
 * else 401; a foreigner not verified yet sent to kmen_verify_path; a
 * session kmen_require does not grant, 403; the database down, 503. The
 * work runs in the worker: a database call blocks it (docs/nginx.md). */
#include <string.h>

#include "apr_strings.h"

#include "access.h"
#include "authz.h"
#include "cache_shm.h"
#include "cookies.h"
#include "evidence_request.h"
#include "header_set.h"
#include "headers.h"
#include "login_endpoints.h"
#include "redirect.h"
#include "register.h"
#include "request.h"
#include "response.h"
#include "session.h"

static kmen_ngx_srv_conf *server_of(ngx_http_request_t *r)
{
    return ngx_http_get_module_srv_conf(r, ngx_http_kmen_module);
}

/* The access phase answers itself with SEND's response (RC): a body left
 * unread would be taken for the next request on a kept-alive connection;
 * the response is finalized here, since the access phase would take the
 * NGX_OK of a sent response for access granted. */
static ngx_int_t answer_here(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}

static const char *return_to_of(ngx_http_request_t *r, kmen_ctx *ctx)
{
    const char *uri =
        apr_pstrmemdup(ctx->pool, (const char *)r->unparsed_uri.data, r->unparsed_uri.len);
    return kmen_return_to_is_local(uri) ? uri : "/";
}

static const char *method_of(ngx_http_request_t *r, kmen_ctx *ctx)
{
    return apr_pstrmemdup(ctx->pool, (const char *)r->method_name.data, r->method_name.len);
}

/* No usable session: a GET (or HEAD) starts the login itself, at what this
 * location asks for (its kmen_loa, kmen_requested_attributes,
 * kmen_force_authn, kmen_sp_type, kmen_eidas_policy), as httpd's
 * check_authn does, rather than sending the browser to the login endpoint;
 * anything else cannot survive the round trip through NIA, and its page
 * (httpd's) offers a login that returns to the same URL. */
static ngx_int_t unauthenticated(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_dir_conf *dir)
{
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK)
        return rc;
    if (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))
        return answer_here(r, kmen_ngx_login_start(r, ctx, dir, return_to_of(r, ctx)));
    kmen_log(ctx, KMEN_LOG_INFO,
             KMEN_LOGNO(0634) "login needed: a %s without a session cannot go through NIA",
             method_of(r, ctx));
    return answer_here(
        r, kmen_ngx_send_page_login_again(r, KMEN_PAGE_LOGIN_NEEDED, return_to_of(r, ctx)));
}

/* kmen_eidas_policy verify: a foreigner not verified yet goes to the
 * location's kmen_verify_path and nowhere else (kmen_pending_route, as
 * httpd's); NGX_OK at that path. */
static ngx_int_t pending(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_dir_conf *dir)
{
    const char *location = NULL;
    const char *uri = apr_pstrmemdup(ctx->pool, (const char *)r->uri.data, r->uri.len);
    int get = (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) && r == r->main;
    kmen_pending_outcome outcome =
        kmen_pending_route(ctx, dir, uri, method_of(r, ctx), get, return_to_of(r, ctx), &location);
    if (outcome == KMEN_PENDING_PASS)
        return NGX_OK;
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK)
        return rc;
    return answer_here(r, outcome == KMEN_PENDING_REDIRECT
                              ? kmen_ngx_redirect(r, location)
                              : kmen_ngx_send_page(r, KMEN_PAGE_NOT_VERIFIED));
}

/* kmen_require: one of the location's lines met (httpd's several Require
 * lines grant as one of them does); none, any session. */
static int required(kmen_ctx *ctx, const kmen_ngx_loc_conf *l, const kmen_session *s)
{
    if (!l->require)
        return 1;
    for (int i = 0; i < l->require->nelts; i++) {
        const kmen_ngx_requirement *q = &APR_ARRAY_IDX(l->require, i, kmen_ngx_requirement);
        if (kmen_require_met(ctx->pool, q->kind, q->words, &s->identity))
            return 1;
    }
    return 0;
}

/* The database or the gateway down: httpd's page, 503 with Retry-After. */
static ngx_int_t unavailable(ngx_http_request_t *r)
{
    ngx_int_t rc = ngx_http_discard_request_body(r);
    return rc == NGX_OK ? answer_here(r, kmen_ngx_send_page(r, KMEN_PAGE_UNAVAILABLE)) : rc;
}

/* The identity's headers, as httpd's fixups set them: Kmen-Aifo on a
 * kmen_agenda location, Kmen-Evidence for a session that asked for
 * evidence; the register or the gateway down, 503. */
static ngx_int_t set_identity(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_session *s,
                              const kmen_dir_conf *dir)
{
    const char *aifo = NULL, *evidence = NULL;
    if (kmen_register_location_aifo(ctx, &s->identity, kmen_dir_agenda(dir), &aifo) !=
            KMEN_REGISTER_OK ||
        kmen_evidence_states(ctx, s, &evidence) != KMEN_STORE_OK)
        return unavailable(r);
    const kmen_header_set *set =
        s->headers ? s->headers : kmen_headers_prepare(ctx->pool, ctx->conf, &s->identity);
    const apr_array_header_t *all = kmen_headers_of_request(
        ctx->pool, ctx->conf, set, aifo, evidence, apr_time_from_sec(r->start_sec));
    if (kmen_ngx_headers_add(r, all) != NGX_OK || !kmen_ngx_request_authenticated(r, s))
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return NGX_OK;
}

/* Runs again after an internal redirect, which keeps the headers: the strip
 * also drops the ones an earlier pass set. */
static ngx_int_t access_handler(ngx_http_request_t *r)
{
    const kmen_ngx_loc_conf *l = ngx_http_get_module_loc_conf(r, ngx_http_kmen_module);
    if (!l->auth)
        return NGX_DECLINED;
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    if (!ctx || kmen_ngx_headers_strip(r, ctx->conf->header_prefix) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const kmen_session *s = NULL;
    kmen_store_status st =
        kmen_session_open_kept(ctx, kmen_ngx_session_cache(r), kmen_ngx_session_memo(),
                               kmen_ngx_cookie_get(r, ctx, ctx->conf->cookie_name), &s);
    if (st == KMEN_STORE_DOWN)
        return unavailable(r);
    /* none, or one weaker than this location wants: log in again, stronger */
    if (st != KMEN_STORE_OK || (int)s->identity.loa < kmen_dir_min_loa(l->dir))
        return unauthenticated(r, ctx, l->dir);
    ngx_int_t rc =
        s->pending_id && !kmen_dir_eidas_accept(l->dir) ? pending(r, ctx, l->dir) : NGX_OK;
    if (rc != NGX_OK)
        return rc;
    /* as httpd's mod_authz_core with AuthzSendForbiddenOnFailure On */
    if (!required(ctx, l, s))
        return NGX_HTTP_FORBIDDEN;
    return set_identity(r, ctx, s, l->dir);
}

/* The login kmen_ngx_login redirected this request to start (its mark, the
 * login's ReturnTo): at this location's settings, kmen_auth on or not, as
 * httpd's /login takes those of ReturnTo's <Location> whatever its AuthType;
 * where none are set, the server{}'s. A session the person has does not
 * matter, as on httpd: the link asks for a login. The rewrite phase, the
 * first after nginx finds the location, and this module's handler there
 * runs before the rewrite module's: a location's return or rewrite does not
 * take the login's request, which serves nothing of the location. */
static ngx_int_t login_here_handler(ngx_http_request_t *r)
{
    const char *return_to = kmen_ngx_request_take_login(r);
    if (!return_to)
        return NGX_DECLINED;
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    const kmen_ngx_loc_conf *l = ngx_http_get_module_loc_conf(r, ngx_http_kmen_module);
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return answer_here(r, kmen_ngx_login_start(r, ctx, l->dir, return_to));
}

/* Every request of a server{} with an SP, before any module reads its
 * headers; not the endpoints', whose callers' headers are theirs. */
static ngx_int_t strip_handler(ngx_http_request_t *r)
{
    const kmen_server_conf *c = &server_of(r)->core;
    size_t len = c->sp ? strlen(c->endpoint_path) : 0;
    if (!c->sp || (r->uri.len >= len && ngx_strncmp(r->uri.data, c->endpoint_path, len) == 0 &&
                   (r->uri.len == len || r->uri.data[len] == '/')))
        return NGX_DECLINED;
    return kmen_ngx_headers_strip(r, c->header_prefix) == NGX_OK ? NGX_DECLINED
                                                                 : NGX_HTTP_INTERNAL_SERVER_ERROR;
}

ngx_int_t kmen_ngx_access_init(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *strip = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    ngx_http_handler_pt *login = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    ngx_http_handler_pt *access = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (!strip || !login || !access)
        return NGX_ERROR;
    *strip = strip_handler;
    *login = login_here_handler;
    *access = access_handler;
    return NGX_OK;
}
