/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The endpoints under kmen_endpoint_path, as httpd's mod_kmen answers them:
 * login, ACS, logout, SLO, the SP's metadata, the health check and the
 * evidence service's callback and documents. */
#include <string.h>

#include "apr_strings.h"

#include "endpoints.h"
#include "evidence.h"
#include "health.h"
#include "idp_metadata.h"
#include "logout_endpoints.h"
#include "login_endpoints.h"
#include "response.h"
#include "request.h"
#include "saml.h"

static ngx_int_t send_metadata(ngx_http_request_t *r, const kmen_server_conf *c)
{
    return kmen_ngx_send(r, NGX_HTTP_OK, "application/samlmetadata+xml", kmen_sp_metadata(c->sp));
}

static const struct {
    const char *name;
    ngx_uint_t methods;
    const char *allow; /* the methods, for a 405's Allow */
    int reads_body;    /* 0: the body is discarded before HANDLE */
    ngx_int_t (*handle)(ngx_http_request_t *r, const kmen_server_conf *c);
} endpoints[] = {
    {"login", NGX_HTTP_GET | NGX_HTTP_HEAD, "GET, HEAD", 0, kmen_ngx_login},
    {"acs", NGX_HTTP_POST, "POST", 1, kmen_ngx_acs},
    {"logout", NGX_HTTP_GET | NGX_HTTP_HEAD | NGX_HTTP_POST, "GET, HEAD, POST", 1, kmen_ngx_logout},
    {"slo", NGX_HTTP_GET | NGX_HTTP_HEAD | NGX_HTTP_POST, "GET, HEAD, POST", 1, kmen_ngx_slo},
    {"metadata", NGX_HTTP_GET | NGX_HTTP_HEAD, "GET, HEAD", 0, send_metadata},
    {"health", NGX_HTTP_GET | NGX_HTTP_HEAD, "GET, HEAD", 0, kmen_ngx_health},
    {"evidence", NGX_HTTP_POST, "POST", 1, kmen_ngx_evidence_callback},
    {"evidence/", NGX_HTTP_GET | NGX_HTTP_HEAD, "GET, HEAD", 0, kmen_ngx_evidence_document},
};

/* NAME is PATTERN, or for a PATTERN ending in '/' (a prefix: evidence/<id>)
 * one more segment below it, as httpd's endpoints match. */
static int endpoint_matches(const ngx_str_t *name, const char *pattern)
{
    size_t len = strlen(pattern);
    if (pattern[len - 1] != '/')
        return name->len == len && ngx_strncmp(name->data, pattern, len) == 0;
    return name->len > len && ngx_strncmp(name->data, pattern, len) == 0 &&
           !memchr(name->data + len, '/', name->len - len);
}

/* No endpoint of that name: httpd's page. */
static ngx_int_t not_found(ngx_http_request_t *r)
{
    ngx_int_t rc = ngx_http_discard_request_body(r);
    return rc == NGX_OK ? kmen_ngx_send_page(r, KMEN_PAGE_NOT_FOUND) : rc;
}

/* The endpoint NAME (the URI below kmen_endpoint_path/) names. */
static ngx_int_t serve(ngx_http_request_t *r, const kmen_server_conf *c, const ngx_str_t *name)
{
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (!endpoint_matches(name, endpoints[i].name))
            continue;
        if (!(r->method & endpoints[i].methods))
            return kmen_ngx_add_header(r, "Allow", endpoints[i].allow) == NGX_OK
                       ? NGX_HTTP_NOT_ALLOWED
                       : NGX_HTTP_INTERNAL_SERVER_ERROR;
        if (endpoints[i].reads_body)
            return endpoints[i].handle(r, c);
        ngx_int_t rc = ngx_http_discard_request_body(r);
        return rc == NGX_OK ? endpoints[i].handle(r, c) : rc;
    }
    return not_found(r);
}

static ngx_int_t endpoint_handler(ngx_http_request_t *r)
{
    const kmen_ngx_srv_conf *s = ngx_http_get_module_srv_conf(r, ngx_http_kmen_module);
    size_t len = strlen(s->core.endpoint_path);
    if (r->uri.len <= len + 1 || ngx_strncmp(r->uri.data, s->core.endpoint_path, len) != 0 ||
        r->uri.data[len] != '/')
        return not_found(r);
    ngx_str_t name = {r->uri.len - len - 1, r->uri.data + len + 1};
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    kmen_idp_refresh(ctx); /* the fetcher's new metadata, or yours */
    return serve(r, &s->core, &name);
}

/* Recorded in the server{}, checked once it is merged (kmen_endpoint_path
 * may come after the location). */
char *kmen_ngx_set_endpoints(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = ngx_http_conf_get_module_srv_conf(cf, ngx_http_kmen_module);
    ngx_http_core_loc_conf_t *clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    if (clcf->handler == endpoint_handler)
        return "is duplicate";
    clcf->handler = endpoint_handler;
    kmen_ngx_endpoints_at *at = apr_array_push(s->endpoints);
    at->name = apr_pstrndup(s->pool, (const char *)clcf->name.data, clcf->name.len);
    at->where = kmen_ngx_here(cf, s->pool);
    return NGX_CONF_OK;
}

const char *kmen_ngx_endpoints_check(const kmen_ngx_srv_conf *s)
{
    const char *path = s->core.endpoint_path;
    size_t len = strlen(path);
    for (int i = 0; i < s->endpoints->nelts; i++) {
        const kmen_ngx_endpoints_at *at = &APR_ARRAY_IDX(s->endpoints, i, kmen_ngx_endpoints_at);
        if (!s->core.sp)
            return apr_pstrcat(s->pool, "kmen_endpoints: the server has no kmen_sp_entity_id in ",
                               at->where, NULL);
        if (strncmp(at->name, path, len) != 0 || (at->name[len] != '/' && at->name[len] != '\0'))
            return apr_pstrcat(s->pool, "kmen_endpoints: location ", at->name,
                               " is not below kmen_endpoint_path ", path, " in ", at->where, NULL);
    }
    return NULL;
}
