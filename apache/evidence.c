/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cross-border evidence, httpd's side: the evidence service's callback
 * (POST /kmen/evidence, HMAC-signed or with a TLS client certificate) read
 * and answered, and the document handed out as a download. What is checked,
 * stored and opened is the core's (evidence_delivery.h). */
#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_protocol.h"
#include "http_ssl.h"

#include "body_buffer.h"
#include "config.h"
#include "crypto.h"
#include "evidence.h"
#include "evidence_delivery.h"
#include "page.h"
#include "request.h"

#define CHUNKED_FIRST_BUFFER (64 * 1024)

/* A declared length over the limit is refused before anything is read (and
 * before 100 Continue is sent); a chunked body as soon as it passes it. The
 * body is read only into a buffer of its declared length, or for a chunked
 * body one that doubles up to the limit. */
static int read_body(request_rec *r, kmen_body_buffer *b)
{
    int status = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (status != OK) /* 413 over LimitRequestBody, 400 for a malformed length */
        return status;
    if (r->remaining > KMEN_EVIDENCE_BODY_LIMIT)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    if (!ap_should_client_block(r))
        return HTTP_BAD_REQUEST;
    apr_size_t declared = (apr_size_t)r->remaining, room;
    if (r->read_chunked)
        kmen_body_buffer_init(b, r->pool, CHUNKED_FIRST_BUFFER, KMEN_EVIDENCE_BODY_LIMIT);
    else
        kmen_body_buffer_init(b, r->pool, declared + 1, declared);
    for (;;) {
        if (!r->read_chunked && b->len == declared)
            return OK;
        if (b->len > KMEN_EVIDENCE_BODY_LIMIT)
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        char *at = kmen_body_buffer_room(b, &room);
        long n = ap_get_client_block(r, at, room);
        if (n <= 0)
            return n == 0 ? OK : HTTP_BAD_REQUEST;
        kmen_body_buffer_filled(b, (apr_size_t)n);
    }
}

/* KmenEvidenceCallbackCAFile: the TLS client certificate mod_ssl received
 * (SSLVerifyClient optional_no_ca in the virtual host: the endpoint is served
 * before per-location access checks) chains to one of these CAs, is for
 * clientAuth and has a key KmenEvidenceCallbackCertificate pins. */
static const char *ssl_var(request_rec *r, const char *name)
{
    return ap_ssl_var_lookup(r->pool, r->server, r->connection, r, name);
}

static int client_certificate_valid(request_rec *r, const kmen_server_conf *c)
{
    if (!c->evidence_ca_store || !ap_ssl_conn_is_ssl(r->connection))
        return 0;
    const char *pem = ssl_var(r, "SSL_CLIENT_CERT");
    if (!pem || !*pem)
        return 0;
    const char *refusal =
        kmen_client_certificate_refusal(c->evidence_ca_store, pem, c->evidence_pins);
    if (refusal)
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0685) "evidence callback: client certificate \"%s\" refused: "
                                  "%s",
                 ap_escape_logitem(r->pool, ssl_var(r, "SSL_CLIENT_S_DN")), refusal);
    return !refusal;
}

static int answer_callback(request_rec *r, int status)
{
    kmen_log(kmen_request_ctx(r), status == HTTP_NO_CONTENT ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0682) "evidence callback answered %d", status);
    if (status == HTTP_NO_CONTENT) {
        r->status = status;
        return DONE;
    }
    return kmen_page_send_body(r, status, "text/plain; charset=utf-8",
                               apr_psprintf(r->pool, "%d\n", status));
}

/* Whatever can be authenticated is, before the body is read: the client
 * certificate, or the signature header's form and age. The HMAC itself
 * needs the body. */
int kmen_evidence_callback(request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *header = apr_table_get(r->headers_in, "Kmen-Evidence-Signature");
    kmen_evidence_signature sig;
    kmen_body_buffer body;
    int by_certificate = client_certificate_valid(r, c);
    int status;
    if (!by_certificate &&
        !kmen_evidence_signature_fresh(c, header, (long long)apr_time_sec(apr_time_now()), &sig)) {
        status = HTTP_UNAUTHORIZED;
        /* httpd would otherwise read the unwanted body to keep the connection */
        r->connection->keepalive = AP_CONN_CLOSE;
    } else if ((status = read_body(r, &body)) == OK) {
        status =
            by_certificate || kmen_evidence_signature_matches(r->pool, c, &sig, body.data, body.len)
                ? (int)kmen_evidence_deliver(kmen_request_ctx(r), body.data, body.len)
                : HTTP_UNAUTHORIZED;
    }
    return answer_callback(r, status);
}

/* Always a download, in a sandbox, never sniffed: even a document a browser
 * could render does not run on the portal's origin. A row stored before the
 * type allowlist, of another type, goes out as application/octet-stream. */
static int send_document(request_rec *r, const char *id, const char *type, const char *doc,
                         apr_size_t len)
{
    const char *extension = "bin";
    type = kmen_evidence_document_type(r->pool, type, &extension);
    r->status = HTTP_OK;
    ap_set_content_type(r, type ? type : "application/octet-stream");
    apr_table_setn(r->headers_out, "Content-Disposition",
                   apr_psprintf(r->pool, "attachment; filename=\"evidence-%s.%s\"", id, extension));
    apr_table_setn(r->headers_out, "Content-Security-Policy", "sandbox");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only)
        ap_rwrite(doc, (int)len, r);
    return DONE;
}

int kmen_evidence_document(request_rec *r, const kmen_session *s, const char *id)
{
    const char *type = NULL, *doc = NULL;
    apr_size_t len = 0;
    if (!s || !s->identity.client_id || !kmen_evidence_id_is_valid(id))
        return kmen_page_send(r, KMEN_PAGE_NOT_FOUND, NULL);
    switch (kmen_evidence_document_open(kmen_request_ctx(r), id, s->identity.client_id, &type, &doc,
                                        &len)) {
    case KMEN_STORE_OK:
        return send_document(r, id, type, doc, len);
    case KMEN_STORE_DOWN:
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    default:
        return kmen_page_send(r, KMEN_PAGE_NOT_FOUND, NULL);
    }
}
