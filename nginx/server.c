/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A server{}'s kmen settings: created unset, merged over http{}'s, the
 * defaults applied (kmen_server_conf_defaults), checked (kmen_conf_check),
 * and its SP made with the core (kmen_sp_setup) while nginx reads its
 * configuration. */
#include "apr_general.h"

#include "endpoints.h"
#include "http_client.h"
#include "saml.h"
#include "server.h"
#include "sp_setup.h"

/* lasso's messages, while nginx reads its configuration or serves. */
static void lasso_log(const char *domain, int level, const char *msg)
{
    static const ngx_uint_t levels[] = {NGX_LOG_ERR, NGX_LOG_DEBUG, NGX_LOG_DEBUG};
    ngx_log_error(levels[level], ngx_cycle->log, 0, "kmen: %s: %s", domain, msg);
}

/* APR, lasso and libcurl once per process: nginx reads its configuration again on
 * every reload, and the module stays loaded (-z nodelete). */
static ngx_int_t libraries_once(void)
{
    static int done;
    if (!done) {
        if (apr_initialize() != APR_SUCCESS)
            return NGX_ERROR;
        kmen_saml_library_init(lasso_log);
        kmen_http_library_init();
        done = 1;
    }
    return NGX_OK;
}

static void destroy_pool(void *pool)
{
    apr_pool_destroy(pool);
}

/* Each server{}'s settings live in an APR pool of their own, destroyed with
 * nginx's configuration: a reload that fails leaves the running one alone. */
void *kmen_ngx_create_srv_conf(ngx_conf_t *cf)
{
    kmen_ngx_srv_conf *s = ngx_pcalloc(cf->pool, sizeof(*s));
    ngx_pool_cleanup_t *cleanup = ngx_pool_cleanup_add(cf->pool, 0);
    if (!s || !cleanup || libraries_once() != NGX_OK ||
        apr_pool_create(&s->pool, NULL) != APR_SUCCESS)
        return NULL;
    cleanup->handler = destroy_pool;
    cleanup->data = s->pool;
    s->core = *kmen_server_conf_new(s->pool);
    s->core.spelling = KMEN_SPELL_NGINX;
    s->endpoints = apr_array_make(s->pool, 1, sizeof(kmen_ngx_endpoints_at));
    return s;
}

/* The server{}'s own settings over http{}'s, by the core's rules, which are
 * httpd's for a <VirtualHost> (core/conf_fields.h). */
static void merge(kmen_ngx_srv_conf *s, kmen_ngx_srv_conf *parent)
{
    s->core = *kmen_server_conf_merge(s->pool, &parent->core, &s->core);
    s->sp_type = s->sp_type ? s->sp_type : parent->sp_type;
    kmen_server_conf_defaults(&s->core);
}

/* The server{}'s SP, after the core's checks of its settings (those of the
 * SP: nginx has no register yet). Its metadata publishes the server{}'s own
 * kmen_sp_type, as httpd's publishes KmenSPType outside any <Location>. */
static const char *make_sp(kmen_ngx_srv_conf *s)
{
    kmen_server_conf *c = &s->core;
    const kmen_dir_conf server_wide = {.sp_type = s->sp_type};
    const kmen_conf_culprit *bad = kmen_conf_check(s->pool, c, KMEN_CONF_SP);
    if (!bad)
        bad = kmen_sp_setup(s->pool, c, kmen_dir_sp_type(&server_wide), &c->sp);
    return bad ? kmen_ngx_culprit(s->pool, c, bad) : NULL;
}

char *kmen_ngx_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    kmen_ngx_srv_conf *s = child;
    merge(s, parent);
    const char *err = s->core.sp_entity_id ? make_sp(s) : NULL;
    if (!err)
        err = kmen_ngx_endpoints_check(s);
    if (!err)
        return NGX_CONF_OK;
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "%s", err);
    return NGX_CONF_ERROR;
}
