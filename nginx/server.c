/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A server{}'s kmen settings: created unset, merged over http{}'s, the
 * defaults applied (kmen_server_conf_defaults), checked (kmen_conf_check),
 * and its SP and register made with the core (kmen_sp_setup,
 * kmen_store_create) while nginx reads its configuration; each worker then
 * readies them for itself, as each httpd child does, and the first keeps
 * the metadata of kmen_idp_metadata_url current. */
#include "apr_general.h"

#include "crypto.h"
#include "cache_shm.h"
#include "endpoints.h"
#include "idp_fetch.h"
#include "http_client.h"
#include "saml.h"
#include "server.h"
#include "sp_setup.h"
#include "store_pg.h"

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

/* The register's key and the store (its connections opened in each
 * worker), as httpd makes them at startup. */
static const kmen_conf_culprit *make_register(kmen_ngx_srv_conf *s)
{
    kmen_server_conf *c = &s->core;
    const char *err = kmen_register_key_load(s->pool, c);
    if (err)
        return kmen_conf_culprit_make(s->pool, KMEN_FIELD_register_key_file, 0,
                                      c->register_key_file, err);
    c->store = kmen_store_create(s->pool, c->db_conninfo, c->db_pool_size);
    return NULL;
}

/* An HMAC key file of FIELD, at PATH when set, into *SECRET, *LEN:
 * kmen_header_secret_file's (Kmen-Signature), kmen_evidence_secret_file's
 * (the evidence callback's signature). */
static const kmen_conf_culprit *load_secret(kmen_ngx_srv_conf *s, kmen_conf_field field,
                                            const char *path, const unsigned char **secret,
                                            apr_size_t *len)
{
    const char *err = path ? kmen_secret_load(s->pool, path, secret, len) : NULL;
    return err ? kmen_conf_culprit_make(s->pool, field, 0, path, err) : NULL;
}

/* kmen_evidence_callback_ca_file's CAs, when set: the evidence service's
 * TLS client certificate (its pin kmen_conf_check requires). */
static const kmen_conf_culprit *load_evidence_ca(kmen_ngx_srv_conf *s)
{
    kmen_server_conf *c = &s->core;
    const char *err = NULL;
    if (c->evidence_ca_file &&
        !(c->evidence_ca_store = kmen_ca_store_load(s->pool, c->evidence_ca_file, &err)))
        return kmen_conf_culprit_make(s->pool, KMEN_FIELD_evidence_ca_file, 0, c->evidence_ca_file,
                                      err);
    return NULL;
}

/* The server{}'s SP and register, after the core's checks of their
 * settings: the register's once the server{} names a database or a key
 * (the other then required). Its metadata publishes the server{}'s own
 * kmen_sp_type, as httpd's publishes KmenSPType outside any <Location>. */
static const char *make_sp(kmen_ngx_srv_conf *s)
{
    kmen_server_conf *c = &s->core;
    const kmen_dir_conf server_wide = {.sp_type = s->sp_type};
    int register_too = c->db_conninfo || c->register_key_file;
    const kmen_conf_culprit *bad =
        kmen_conf_check(s->pool, c, KMEN_CONF_SP | (register_too ? KMEN_CONF_LOGIN : 0));
    if (!bad && register_too)
        bad = make_register(s);
    if (!bad)
        bad = load_secret(s, KMEN_FIELD_header_secret_file, c->header_secret_file,
                          &c->header_secret, &c->header_secret_len);
    if (!bad)
        bad = load_secret(s, KMEN_FIELD_evidence_secret_file, c->evidence_secret_file,
                          &c->evidence_secret, &c->evidence_secret_len);
    if (!bad)
        bad = load_evidence_ca(s);
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

/* The worker's own: the SPs' lasso servers, the database connections. */
static apr_pool_t *worker_pool;

static const kmen_server_conf *server_conf_of(const ngx_http_core_srv_conf_t *cscf)
{
    return &((kmen_ngx_srv_conf *)cscf->ctx->srv_conf[ngx_http_kmen_module.ctx_index])->core;
}

/* Each server{}'s SP and store in this worker; one that cannot be readied
 * is logged, and its requests fail, as in an httpd child. */
static void ready_server(ngx_cycle_t *cycle, const ngx_http_core_srv_conf_t *cscf)
{
    const kmen_server_conf *c = server_conf_of(cscf);
    if (!c->sp || kmen_sp_child_ready(c->sp))
        return;
    /* an nginx worker serves one request at a time: one lasso server */
    const char *err = kmen_sp_child_init(c->sp, worker_pool, 1);
    if (!err && c->store && kmen_store_child_init(c->store, worker_pool) != APR_SUCCESS)
        err = "cannot create the database connection pool";
    if (err)
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0, "kmen: %s (server %V)", err, &cscf->server_name);
}

ngx_int_t kmen_ngx_init_process(ngx_cycle_t *cycle)
{
    ngx_http_core_main_conf_t *cmcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module);
    if (!cmcf)
        return NGX_OK;
    if (apr_pool_create(&worker_pool, NULL) != APR_SUCCESS)
        return NGX_ERROR;
    kmen_ngx_session_memo_init(cycle, worker_pool);
    apr_hash_t *fetched = apr_hash_make(worker_pool);
    ngx_http_core_srv_conf_t **servers = cmcf->servers.elts;
    for (ngx_uint_t i = 0; i < cmcf->servers.nelts; i++) {
        ready_server(cycle, servers[i]);
        kmen_ngx_idp_fetcher_start(cycle, worker_pool, fetched, server_conf_of(servers[i]));
    }
    return NGX_OK;
}

void kmen_ngx_exit_process(ngx_cycle_t *cycle)
{
    if (worker_pool)
        apr_pool_destroy(worker_pool);
    worker_pool = NULL;
}
