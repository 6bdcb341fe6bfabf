/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The request headers an upstream is sent, as httpd's mod_kmen leaves them
 * for its backends (apache/headers.c): nginx's upstream modules forward
 * r->headers_in.headers as it stands once the access phase is done. */
#include <string.h>

#include "header_set.h"
#include "headers.h"
#include "headers_encode.h"

/* kmen_header_is_spoofable reads no more of the name than PREFIX is long:
 * a shorter one, which it cannot be, is not handed to it (nginx's header
 * names need not end in a NUL). */
static int spoofable(const ngx_table_elt_t *h, const char *prefix, size_t prefix_len)
{
    return h->key.len >= prefix_len && kmen_header_is_spoofable((const char *)h->key.data, prefix);
}

/* Calls FN on every header of LIST until it answers nonzero: that answer. */
static int any_header(ngx_list_t *list, int (*fn)(ngx_table_elt_t *h, void *baton), void *baton)
{
    for (ngx_list_part_t *part = &list->part; part; part = part->next) {
        ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            int rc = fn(&h[i], baton);
            if (rc)
                return rc;
        }
    }
    return 0;
}

typedef struct {
    const char *prefix;
    size_t prefix_len;
    ngx_list_t *kept; /* NULL: only asking whether there is one */
} strip_pass;

/* Asking: 1 at a spoofable header. Copying: the others copied, -1 when
 * memory ran out. */
static int keep_or_find(ngx_table_elt_t *h, void *baton)
{
    strip_pass *pass = baton;
    int spoof = spoofable(h, pass->prefix, pass->prefix_len);
    if (!pass->kept || spoof)
        return pass->kept ? 0 : spoof;
    ngx_table_elt_t *copy = ngx_list_push(pass->kept);
    if (!copy)
        return -1;
    *copy = *h;
    return 0;
}

/* An ngx_list has no removal, and the fields of r->headers_in point at its
 * elements: the list is copied without the spoofed ones (the copies keep
 * their names and values, the fields the elements they point at). Only a
 * request that brings one pays for it. */
ngx_int_t kmen_ngx_headers_strip(ngx_http_request_t *r, const char *prefix)
{
    strip_pass pass = {prefix, strlen(prefix), NULL};
    ngx_list_t kept;
    if (!any_header(&r->headers_in.headers, keep_or_find, &pass))
        return NGX_OK;
    if (ngx_list_init(&kept, r->pool, 20, sizeof(ngx_table_elt_t)) != NGX_OK)
        return NGX_ERROR;
    pass.kept = &kept;
    if (any_header(&r->headers_in.headers, keep_or_find, &pass))
        return NGX_ERROR;
    r->headers_in.headers = kept;
    /* a list of one part points at that part: here, in the request */
    if (kept.last == &kept.part)
        r->headers_in.headers.last = &r->headers_in.headers.part;
    return NGX_OK;
}

ngx_int_t kmen_ngx_headers_add(ngx_http_request_t *r, const apr_array_header_t *headers)
{
    for (int i = 0; i < headers->nelts; i++) {
        const kmen_header *k = &APR_ARRAY_IDX(headers, i, kmen_header);
        ngx_table_elt_t *h = ngx_list_push(&r->headers_in.headers);
        if (!h)
            return NGX_ERROR;
        ngx_memzero(h, sizeof(*h));
        h->key.len = k->name_len;
        h->key.data = (u_char *)k->name;
        h->value.len = k->value_len;
        h->value.data = (u_char *)k->value;
        /* what proxy_set_header's table and fastcgi's HTTP_ names are looked up by;
         * nothing writes to it, though nginx's type says it may. The hash is
         * ngx_hash_key's, made once with the set (test_nginx checks it through
         * proxy_set_header) */
        h->lowcase_key = (u_char *)k->name_lower;
        h->hash = k->name_hash;
    }
    return NGX_OK;
}
