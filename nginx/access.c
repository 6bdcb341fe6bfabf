/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A protected location on nginx, as httpd's AuthType Kmen (apache/auth.c):
 * the session cookie opened against the session zone and the database (and
 * kept a moment in the worker, as in an httpd child: core/session_kept.c); a
 * valid session's identity set in the request headers for the upstream; no
 * session, a GET starts the login at the location's settings and anything
 * else 401; the database down, 503. The work runs in the worker: a
 * database call blocks it (docs/nginx.md). */
#include <string.h>

#include "apr_strings.h"

#include "access.h"
#include "cache_shm.h"
#include "cookies.h"
#include "evidence_request.h"
#include "header_set.h"
#include "headers.h"
#include "login_endpoints.h"
#include "redirect.h"
#include "request.h"
#include "response.h"
#include "session.h"

static kmen_ngx_srv_conf *server_of(ngx_http_request_t *r)
{
    return ngx_http_get_module_srv_conf(r, ngx_http_kmen_module);
}

/* No usable session: a GET (or HEAD) starts the login itself, at what this
 * location asks for (its kmen_loa, its server{}'s kmen_sp_type), as httpd's
 * check_authn does, rather than sending the browser to the login endpoint,
 * which cannot look the location up; anything else cannot survive the round
 * trip through NIA. */
static ngx_int_t unauthenticated(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_dir_conf *dir)
{
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        kmen_log(ctx, KMEN_LOG_INFO,
                 KMEN_LOGNO(0634) "login needed: a %s without a session cannot go through NIA",
                 apr_pstrmemdup(ctx->pool, (const char *)r->method_name.data, r->method_name.len));
        return NGX_HTTP_UNAUTHORIZED;
    }
    /* as the endpoint's: a body left unread would be taken for the next
     * request on a kept-alive connection */
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK)
        return rc;
    const char *uri =
        apr_pstrmemdup(ctx->pool, (const char *)r->unparsed_uri.data, r->unparsed_uri.len);
    /* the response is sent: finalized here, since the access phase would
     * take the NGX_OK of a sent response for access granted */
    ngx_http_finalize_request(
        r, kmen_ngx_login_start(r, ctx, dir, kmen_return_to_is_local(uri) ? uri : "/"));
    return NGX_DONE;
}

static ngx_int_t unavailable(ngx_http_request_t *r)
{
    return kmen_ngx_add_header(r, "Retry-After", KMEN_NGX_RETRY_AFTER) == NGX_OK
               ? NGX_HTTP_SERVICE_UNAVAILABLE
               : NGX_HTTP_INTERNAL_SERVER_ERROR;
}

/* The identity's headers, as httpd's fixups set them, Kmen-Evidence among
 * them for a session that asked for evidence (no KmenAgenda on nginx yet: no
 * Kmen-Aifo). */
static ngx_int_t set_identity(ngx_http_request_t *r, kmen_ctx *ctx, const kmen_session *s)
{
    const char *evidence = NULL;
    if (kmen_evidence_states(ctx, s, &evidence) != KMEN_STORE_OK)
        return unavailable(r);
    const kmen_header_set *set =
        s->headers ? s->headers : kmen_headers_prepare(ctx->pool, ctx->conf, &s->identity);
    const apr_array_header_t *all = kmen_headers_of_request(
        ctx->pool, ctx->conf, set, NULL, evidence, apr_time_from_sec(r->start_sec));
    return kmen_ngx_headers_add(r, all) == NGX_OK ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
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
    /* a foreigner not verified yet: nginx has no kmen_verify_path to send
     * them to, and the minimal data set is not enough here */
    if (s->pending_id && !kmen_dir_eidas_accept(l->dir)) {
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0632) "a pending foreigner at %s, which has no KmenVerifyPath",
                 apr_pstrmemdup(ctx->pool, (const char *)r->uri.data, r->uri.len));
        return NGX_HTTP_FORBIDDEN;
    }
    return set_identity(r, ctx, s);
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
    ngx_http_handler_pt *access = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (!strip || !access)
        return NGX_ERROR;
    *strip = strip_handler;
    *access = access_handler;
    return NGX_OK;
}

/* ---- the location's settings */

/* Their APR pool: the server{}'s, destroyed with the configuration. */
static apr_pool_t *conf_pool(ngx_conf_t *cf)
{
    return ((kmen_ngx_srv_conf *)ngx_http_conf_get_module_srv_conf(cf, ngx_http_kmen_module))->pool;
}

void *kmen_ngx_create_loc_conf(ngx_conf_t *cf)
{
    kmen_ngx_loc_conf *l = ngx_pcalloc(cf->pool, sizeof(*l));
    if (l)
        l->auth = NGX_CONF_UNSET;
    return l;
}

/* D, or a location's settings all unset: made when a directive or the merge
 * needs them, since nginx creates the http{} level's before its cf->ctx
 * finds the server{} settings that hold the pool. */
static kmen_dir_conf *dir_of(apr_pool_t *p, kmen_dir_conf *d)
{
    return d ? d : kmen_dir_conf_new(p);
}

char *kmen_ngx_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    const kmen_ngx_loc_conf *prev = parent;
    kmen_ngx_loc_conf *l = child;
    const kmen_ngx_srv_conf *s = ngx_http_conf_get_module_srv_conf(cf, ngx_http_kmen_module);
    ngx_conf_merge_value(l->auth, prev->auth, 0);
    if (!l->auth_where)
        l->auth_where = prev->auth_where;
    l->dir = kmen_dir_conf_merge(s->pool, dir_of(s->pool, prev->dir), dir_of(s->pool, l->dir));
    /* kmen_sp_type is a server{}'s on nginx: the SPType its locations'
     * logins ask for */
    l->dir->sp_type = s->sp_type;
    if (!l->auth || s->core.store)
        return NGX_CONF_OK;
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "kmen_auth: the server has no kmen_sp_entity_id with kmen_database in %s",
                  l->auth_where);
    return NGX_CONF_ERROR;
}

char *kmen_ngx_set_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_loc_conf *l = conf;
    char *rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv == NGX_CONF_OK)
        l->auth_where = kmen_ngx_here(cf, conf_pool(cf));
    return rv;
}

char *kmen_ngx_set_loa(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_loc_conf *l = conf;
    ngx_str_t *value = cf->args->elts;
    l->dir = dir_of(conf_pool(cf), l->dir);
    if (l->dir->min_loa != KMEN_UNSET)
        return "is duplicate";
    l->dir->min_loa = kmen_loa_from_name(
        apr_pstrmemdup(conf_pool(cf), (const char *)value[1].data, value[1].len));
    if (l->dir->min_loa == KMEN_LOA_NONE) {
        l->dir->min_loa = KMEN_UNSET;
        return "expects low, substantial or high";
    }
    return NGX_CONF_OK;
}
