/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A server{}'s kmen settings: created unset, merged over http{}'s, the
 * defaults applied (kmen_server_conf_defaults), checked, and its SP made
 * with the core (kmen_sp_setup) while nginx reads its configuration. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "endpoints.h"
#include "http_client.h"
#include "saml.h"
#include "server.h"
#include "sp_setup.h"

#define SLOT(field) offsetof(kmen_server_conf, field)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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

static const char *value_at(const kmen_server_conf *c, size_t slot)
{
    return *(const char *const *)((const char *)c + slot);
}

/* What an SP needs beside its entity ID (a certificate: see check_pairs). */
static const char *check_required(apr_pool_t *p, const kmen_server_conf *c)
{
    static const struct {
        size_t slot;
        const char *httpd_name;
    } needed[] = {{SLOT(sp_key_file), "KmenSPPrivateKeyFile"},
                  {SLOT(idp_metadata_file), "KmenIdPMetadataFile"}};
    for (size_t i = 0; i < COUNT(needed); i++) {
        if (!value_at(c, needed[i].slot))
            return kmen_ngx_problem(
                p, c, "KmenSPEntityID", 0, c->sp_entity_id,
                apr_pstrcat(p, "needs ", kmen_ngx_name(needed[i].httpd_name), NULL));
    }
    return NULL;
}

/* A key without its certificate, or the reverse: the SP would publish a
 * certificate whose key it does not hold, or hold a key NIA is never told of. */
static const char *check_pairs(apr_pool_t *p, const kmen_server_conf *c)
{
    static const struct {
        size_t key, cert;
        const char *key_name, *cert_name;
        int second;
    } pairs[] = {
        {SLOT(sp_key_file), SLOT(sp_cert_file), "KmenSPPrivateKeyFile", "KmenSPCertificateFile", 0},
        {SLOT(sp_next_key_file), SLOT(sp_next_cert_file), "KmenSPPrivateKeyFile",
         "KmenSPCertificateFile", 1},
        {SLOT(sp_enc_key_file), SLOT(sp_enc_cert_file), "KmenSPEncryptionKeyFile",
         "KmenSPEncryptionCertificateFile", 0},
        {SLOT(sp_next_enc_key_file), SLOT(sp_next_enc_cert_file), "KmenSPEncryptionKeyFile",
         "KmenSPEncryptionCertificateFile", 1}};
    for (size_t i = 0; i < COUNT(pairs); i++) {
        const char *key = value_at(c, pairs[i].key), *cert = value_at(c, pairs[i].cert);
        if (!key == !cert)
            continue;
        return kmen_ngx_problem(
            p, c, key ? pairs[i].key_name : pairs[i].cert_name, pairs[i].second, key ? key : cert,
            apr_pstrcat(p, "needs ", pairs[i].second ? "a second " : "",
                        kmen_ngx_name(key ? pairs[i].cert_name : pairs[i].key_name), NULL));
    }
    return NULL;
}

/* NIA posts to https only. */
static const char *check_https(apr_pool_t *p, const kmen_server_conf *c)
{
    const char *const urls[][2] = {{c->sp_entity_id, "KmenSPEntityID"},
                                   {c->acs_base_url, "KmenACSBaseURL"}};
    for (size_t i = 0; i < COUNT(urls); i++) {
        if (urls[i][0] && strncasecmp(urls[i][0], "http:", 5) == 0 && c->allow_http != 1)
            return kmen_ngx_problem(p, c, urls[i][1], 0, urls[i][0],
                                    apr_pstrcat(p, "NIA logins need https (",
                                                kmen_ngx_name("KmenAllowHTTP"),
                                                " on only for a demo)", NULL));
    }
    return NULL;
}

/* The server{}'s SP. Its metadata publishes the server{}'s own kmen_sp_type,
 * as httpd's publishes KmenSPType outside any <Location>. */
static const char *make_sp(kmen_ngx_srv_conf *s)
{
    kmen_server_conf *c = &s->core;
    const kmen_dir_conf server_wide = {.sp_type = s->sp_type};
    kmen_sp_culprit culprit;
    const char *err;
    if ((err = check_required(s->pool, c)) || (err = check_pairs(s->pool, c)) ||
        (err = check_https(s->pool, c)))
        return err;
    err = kmen_sp_setup(s->pool, c, kmen_dir_sp_type(&server_wide), &c->sp, &culprit);
    return err ? kmen_ngx_problem(s->pool, c, culprit.directive, culprit.second, culprit.file, err)
               : NULL;
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
