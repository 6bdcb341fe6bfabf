/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The endpoints under kmen_endpoint_path, as httpd's mod_kmen answers them:
 * so far the SP's metadata. */
#include <string.h>

#include "apr_strings.h"

#include "endpoints.h"
#include "saml.h"

static ngx_int_t add_header(ngx_http_request_t *r, const char *name, const char *value)
{
    ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
    if (!h)
        return NGX_ERROR;
    ngx_memzero(h, sizeof(*h));
    h->hash = 1;
    h->key.len = strlen(name);
    h->key.data = (u_char *)name;
    h->value.len = strlen(value);
    h->value.data = (u_char *)value;
    return NGX_OK;
}

/* 200 with BODY of TYPE, never cached (as apache/page.c's kmen_page_send_body). */
static ngx_int_t send_body(ngx_http_request_t *r, const char *type, const char *body)
{
    size_t len = strlen(body);
    ngx_buf_t *b = ngx_calloc_buf(r->pool);
    if (!b || add_header(r, "Cache-Control", "no-store") != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type.len = r->headers_out.content_type_len = strlen(type);
    r->headers_out.content_type.data = (u_char *)type;
    r->headers_out.content_length_n = (off_t)len;
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only)
        return rc;
    b->pos = (u_char *)body;
    b->last = b->pos + len;
    b->memory = 1;
    b->last_buf = r == r->main;
    b->last_in_chain = 1;
    ngx_chain_t out = {b, NULL};
    return ngx_http_output_filter(r, &out);
}

static ngx_int_t send_metadata(ngx_http_request_t *r, const kmen_server_conf *c)
{
    return send_body(r, "application/samlmetadata+xml", kmen_sp_metadata(c->sp));
}

static const struct {
    const char *name;
    ngx_uint_t methods;
    const char *allow; /* the methods, for a 405's Allow */
    ngx_int_t (*handle)(ngx_http_request_t *r, const kmen_server_conf *c);
} endpoints[] = {
    {"metadata", NGX_HTTP_GET | NGX_HTTP_HEAD, "GET, HEAD", send_metadata},
};

/* The endpoint NAME (the URI below kmen_endpoint_path/) names. */
static ngx_int_t serve(ngx_http_request_t *r, const kmen_server_conf *c, const ngx_str_t *name)
{
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (name->len != strlen(endpoints[i].name) ||
            ngx_strncmp(name->data, endpoints[i].name, name->len) != 0)
            continue;
        if (!(r->method & endpoints[i].methods))
            return add_header(r, "Allow", endpoints[i].allow) == NGX_OK
                       ? NGX_HTTP_NOT_ALLOWED
                       : NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_int_t rc = ngx_http_discard_request_body(r);
        return rc == NGX_OK ? endpoints[i].handle(r, c) : rc;
    }
    return NGX_HTTP_NOT_FOUND;
}

static ngx_int_t endpoint_handler(ngx_http_request_t *r)
{
    const kmen_ngx_srv_conf *s = ngx_http_get_module_srv_conf(r, ngx_http_kmen_module);
    size_t len = strlen(s->core.endpoint_path);
    if (r->uri.len <= len + 1 || ngx_strncmp(r->uri.data, s->core.endpoint_path, len) != 0 ||
        r->uri.data[len] != '/')
        return NGX_HTTP_NOT_FOUND;
    ngx_str_t name = {r->uri.len - len - 1, r->uri.data + len + 1};
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
