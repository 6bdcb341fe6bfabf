/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The body of a POST to an endpoint (body.h). */
#include "body.h"

/* nginx's body handler for every endpoint: the answer the request kept. */
static void body_read(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, kmen_ngx_request_answer(r)(r));
}

ngx_int_t kmen_ngx_body_then(ngx_http_request_t *r, size_t limit, kmen_ngx_answer *answer)
{
    if (r->method != NGX_HTTP_POST || r->headers_in.content_length_n > (off_t)limit) {
        ngx_int_t rc = ngx_http_discard_request_body(r);
        return rc == NGX_OK ? answer(r) : rc;
    }
    if (!kmen_ngx_request_keep_answer(r, answer))
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_int_t rc = ngx_http_read_client_request_body(r, body_read);
    return rc >= NGX_HTTP_SPECIAL_RESPONSE ? rc : NGX_DONE;
}

const char *kmen_ngx_body_text(ngx_http_request_t *r, apr_pool_t *p, size_t limit)
{
    size_t len = 0;
    if (!r->request_body || r->headers_in.content_length_n > (off_t)limit)
        return NULL;
    ngx_chain_t *bufs = r->request_body->bufs;
    for (ngx_chain_t *cl = bufs; cl; cl = cl->next)
        len += ngx_buf_size(cl->buf);
    if (len > limit)
        return NULL;
    char *text = apr_palloc(p, len + 1), *at = text;
    for (ngx_chain_t *cl = bufs; cl; cl = cl->next) {
        ngx_buf_t *b = cl->buf;
        size_t n = ngx_buf_size(b);
        if (ngx_buf_in_memory(b))
            ngx_memcpy(at, b->pos, n);
        else if (ngx_read_file(b->file, (u_char *)at, n, b->file_pos) != (ssize_t)n)
            return NULL;
        at += n;
    }
    *at = '\0';
    return text;
}
