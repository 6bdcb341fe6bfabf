/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cross-border evidence on nginx (evidence.h), as apache/evidence.c answers
 * it, over the same core. */
#include <string.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "body.h"
#include "cookies.h"
#include "crypto.h"
#include "evidence.h"
#include "evidence_delivery.h"
#include "request.h"
#include "response.h"

static ngx_int_t answer_callback(ngx_http_request_t *r, kmen_ctx *ctx, ngx_uint_t status)
{
    kmen_log(ctx, status == NGX_HTTP_NO_CONTENT ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0682) "evidence callback answered %d", (int)status);
    return kmen_ngx_send(
        r, status, "text/plain; charset=utf-8",
        status == NGX_HTTP_NO_CONTENT ? "" : apr_psprintf(ctx->pool, "%d\n", (int)status));
}

/* The body read: its HMAC checked unless its sender's CERTIFIED, then the
 * core's delivery. */
static ngx_int_t body_answer(ngx_http_request_t *r, int certified)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    kmen_evidence_signature sig;
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const char *body = kmen_ngx_body_text(r, ctx->pool, KMEN_EVIDENCE_BODY_LIMIT);
    if (!body)
        return answer_callback(r, ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
    apr_size_t len = strlen(body);
    /* checked fresh before the body was read; read again, at the same time */
    if (!certified && (!kmen_evidence_signature_fresh(
                           ctx->conf, kmen_ngx_header_in(r, ctx, "Kmen-Evidence-Signature"),
                           (long long)r->start_sec, &sig) ||
                       !kmen_evidence_signature_matches(ctx->pool, ctx->conf, &sig, body, len)))
        return answer_callback(r, ctx, NGX_HTTP_UNAUTHORIZED);
    return answer_callback(r, ctx, (ngx_uint_t)kmen_evidence_deliver(ctx, body, len));
}

static ngx_int_t certified_answer(ngx_http_request_t *r)
{
    return body_answer(r, 1);
}

static ngx_int_t signed_answer(ngx_http_request_t *r)
{
    return body_answer(r, 0);
}

/* kmen_evidence_callback_ca_file: the TLS client certificate nginx received
 * (ssl_verify_client optional_no_ca in the server{}: the module checks it)
 * chains to one of these CAs, is for clientAuth and has a key
 * kmen_evidence_callback_certificate pins. */
static int client_certificate_valid(ngx_http_request_t *r, kmen_ctx *ctx)
{
    const kmen_server_conf *c = ctx->conf;
    ngx_str_t pem = ngx_null_string, dn = ngx_null_string;
    if (!c->evidence_ca_store || !r->connection->ssl ||
        ngx_ssl_get_raw_certificate(r->connection, r->pool, &pem) != NGX_OK || !pem.len)
        return 0;
    const char *refusal = kmen_client_certificate_refusal(
        c->evidence_ca_store, apr_pstrmemdup(ctx->pool, (const char *)pem.data, pem.len),
        c->evidence_pins);
    if (refusal && ngx_ssl_get_subject_dn(r->connection, r->pool, &dn) == NGX_OK)
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0685) "evidence callback: client certificate \"%s\" refused: %s",
                 apr_pstrmemdup(ctx->pool, (const char *)dn.data, dn.len), refusal);
    return !refusal;
}

/* A certificate that authenticates the service, or else a signature that
 * can be right, before the body is read; neither: refused, and the
 * connection closed rather than the body read to keep it. Not discarded
 * either: nginx's discarding first answers a client's Expect: 100-continue,
 * asking it for the very body refused. */
ngx_int_t kmen_ngx_evidence_callback(ngx_http_request_t *r, const kmen_server_conf *c)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    kmen_evidence_signature sig;
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (client_certificate_valid(r, ctx))
        return kmen_ngx_body_then(r, KMEN_EVIDENCE_BODY_LIMIT, certified_answer);
    if (!kmen_evidence_signature_fresh(c, kmen_ngx_header_in(r, ctx, "Kmen-Evidence-Signature"),
                                       (long long)r->start_sec, &sig)) {
        r->keepalive = 0;
        return answer_callback(r, ctx, NGX_HTTP_UNAUTHORIZED);
    }
    return kmen_ngx_body_then(r, KMEN_EVIDENCE_BODY_LIMIT, signed_answer);
}

/* Always a download, in a sandbox, never sniffed, as httpd's: even a
 * document a browser could render does not run on the portal's origin. */
static ngx_int_t send_document(ngx_http_request_t *r, kmen_ctx *ctx, const char *id,
                               const char *type, const char *doc, apr_size_t len)
{
    const char *extension = "bin";
    type = kmen_evidence_document_type(ctx->pool, type, &extension);
    const char *disposition =
        apr_psprintf(ctx->pool, "attachment; filename=\"evidence-%s.%s\"", id, extension);
    if (kmen_ngx_add_header(r, "Content-Disposition", disposition) != NGX_OK ||
        kmen_ngx_add_header(r, "Content-Security-Policy", "sandbox") != NGX_OK ||
        kmen_ngx_add_header(r, "X-Content-Type-Options", "nosniff") != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return kmen_ngx_send_bytes(r, NGX_HTTP_OK, type ? type : "application/octet-stream", doc, len);
}

ngx_int_t kmen_ngx_evidence_document(ngx_http_request_t *r, const kmen_server_conf *c)
{
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    kmen_session *s = NULL;
    const char *type = NULL, *doc = NULL;
    apr_size_t len = 0;
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const char *uri = apr_pstrmemdup(ctx->pool, (const char *)r->uri.data, r->uri.len);
    const char *id = strrchr(uri, '/') + 1;
    kmen_store_status st = kmen_ngx_session_of(r, ctx, &s);
    if (st == KMEN_STORE_OK && s->identity.client_id && kmen_evidence_id_is_valid(id))
        st = kmen_evidence_document_open(ctx, id, s->identity.client_id, &type, &doc, &len);
    else if (st == KMEN_STORE_OK)
        st = KMEN_STORE_NOT_FOUND;
    switch (st) {
    case KMEN_STORE_OK:
        return send_document(r, ctx, id, type, doc, len);
    case KMEN_STORE_DOWN:
        return kmen_ngx_send_page(r, KMEN_PAGE_UNAVAILABLE);
    default:
        return kmen_ngx_send_page(r, KMEN_PAGE_NOT_FOUND);
    }
}
