/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cross-border evidence. A backend asks (Kmen-Evidence-Request), the
 * person is sent to the evidence service (KmenEvidenceURL), which calls back
 * (POST /kmen/evidence, HMAC-signed or with a TLS client certificate); the
 * document is stored sealed and handed
 * only to a session of the client it belongs to. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpd.h"
#include "apr_base64.h"
#include "apr_escape.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_protocol.h"
#include "http_ssl.h"

#include "config.h"
#include "crypto.h"
#include "evidence.h"
#include "page.h"
#include "pairs.h"
#include "request.h"
#include "store_pg.h"

#define CALLBACK_BODY_LIMIT (10 * 1024 * 1024)
#define CHUNKED_FIRST_BUFFER (64 * 1024)
#define SIGNATURE_MAX_AGE 300

/* "type=<t>; country=<CC>": false unless both are well formed. */
static int parse_request(request_rec *r, const char *value, const char **type, const char **country)
{
    char *copy = apr_pstrdup(r->pool, value), *last = NULL;
    *type = *country = NULL;
    for (char *item = apr_strtok(copy, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        item = kmen_trim(item);
        if (strncmp(item, "type=", 5) == 0)
            *type = item + 5;
        else if (strncmp(item, "country=", 8) == 0)
            *country = item + 8;
    }
    size_t type_len = *type ? strlen(*type) : 0;
    return type_len >= 1 && type_len <= 64 &&
           strspn(*type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
               type_len &&
           *country && strlen(*country) == 2 && apr_isupper((*country)[0]) &&
           apr_isupper((*country)[1]);
}

static const char *absolute_url_of(request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    return apr_pstrcat(r->pool, kmen_sp_base_url(r->pool, c), r->unparsed_uri, NULL);
}

const char *kmen_evidence_request(request_rec *r, const kmen_session *s, const char *value)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *type, *country, *id = NULL;
    if (!c->evidence_url || !s || !s->identity.client_id ||
        !parse_request(r, value, &type, &country)) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0681) "Kmen-Evidence-Request ignored: %s",
                 !c->evidence_url               ? "no KmenEvidenceURL"
                 : !s || !s->identity.client_id ? "no registered client"
                                                : "expected type=<type>; country=<CC>");
        return NULL;
    }
    if (kmen_store_evidence_request(kmen_request_ctx(r), c->store, s->identity.client_id, type,
                                    country, &id) != KMEN_STORE_OK)
        return NULL;
    return apr_pstrcat(r->pool, c->evidence_url, strchr(c->evidence_url, '?') ? "&" : "?",
                       "request=", id, "&type=", apr_pescape_urlencoded(r->pool, type),
                       "&country=", country,
                       "&return=", apr_pescape_urlencoded(r->pool, absolute_url_of(r)), NULL);
}

int kmen_evidence_states(request_rec *r, const kmen_session *s, const char **states)
{
    *states = NULL;
    if (!s->evidence || !s->identity.client_id)
        return OK;
    kmen_store_status st = kmen_store_evidence_states(
        kmen_request_ctx(r), kmen_server_conf_get(r->server)->store, s->identity.client_id, states);
    return st == KMEN_STORE_DOWN ? HTTP_SERVICE_UNAVAILABLE : OK;
}

/* The document is sealed to its request: a ciphertext moved to another
 * request's row does not open. */
static void seal_aad(const char *id, char aad[64])
{
    apr_snprintf(aad, 64, "evidence %s", id);
}

/* The body is read only into a buffer of its declared length, or for a
 * chunked body one that doubles up to CALLBACK_BODY_LIMIT + 1 bytes: the pool
 * holds that buffer alone, so growing gives the smaller copy back. */
typedef struct {
    apr_pool_t *pool;
    char *data;
    apr_size_t len, cap;
} body_buffer;

static void body_buffer_init(request_rec *r, body_buffer *b, apr_size_t cap)
{
    apr_pool_create(&b->pool, r->pool);
    b->data = apr_palloc(b->pool, cap);
    b->len = 0;
    b->cap = cap;
}

static void body_buffer_grow(request_rec *r, body_buffer *b)
{
    body_buffer grown;
    body_buffer_init(r, &grown,
                     b->cap * 2 < CALLBACK_BODY_LIMIT + 1 ? b->cap * 2 : CALLBACK_BODY_LIMIT + 1);
    memcpy(grown.data, b->data, b->len);
    grown.len = b->len;
    apr_pool_destroy(b->pool);
    *b = grown;
}

/* A declared length over the limit is refused before anything is read (and
 * before 100 Continue is sent); a chunked body as soon as it passes it. */
static int read_body(request_rec *r, body_buffer *b)
{
    int status = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (status != OK) /* 413 over LimitRequestBody, 400 for a malformed length */
        return status;
    if (r->remaining > CALLBACK_BODY_LIMIT)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    if (!ap_should_client_block(r))
        return HTTP_BAD_REQUEST;
    body_buffer_init(r, b, r->read_chunked ? CHUNKED_FIRST_BUFFER : (apr_size_t)r->remaining);
    for (;;) {
        if (b->len == b->cap && !r->read_chunked)
            return OK;
        if (b->len > CALLBACK_BODY_LIMIT)
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        if (b->len == b->cap)
            body_buffer_grow(r, b);
        long n = ap_get_client_block(r, b->data + b->len, b->cap - b->len);
        if (n <= 0)
            return n == 0 ? OK : HTTP_BAD_REQUEST;
        b->len += (apr_size_t)n;
    }
}

/* Kmen-Evidence-Signature: t=<unix>, v1=<hex HMAC-SHA256(secret, "<t>." body)>. */
typedef struct {
    long long t;
    char mac_hex[65];
} signature;

/* Checked before the body is read: present, well formed, and at most
 * SIGNATURE_MAX_AGE seconds from now either way. */
static int signature_header_fresh(request_rec *r, const kmen_server_conf *c, signature *sig)
{
    const char *header = apr_table_get(r->headers_in, "Kmen-Evidence-Signature");
    sig->t = 0;
    sig->mac_hex[0] = '\0';
    if (!c->evidence_secret || !header ||
        sscanf(header, "t=%lld, v1=%64[0-9a-f]", &sig->t, sig->mac_hex) != 2 ||
        strlen(sig->mac_hex) != 64)
        return 0;
    long long now = (long long)apr_time_sec(apr_time_now());
    return sig->t >= now - SIGNATURE_MAX_AGE && sig->t <= now + SIGNATURE_MAX_AGE;
}

/* Checked once the body is read. */
static int signature_matches(request_rec *r, const kmen_server_conf *c, const signature *sig,
                             const body_buffer *body)
{
    /* APR's formatter knows no %lld */
    const char *prefix = apr_psprintf(r->pool, "%" APR_INT64_T_FMT ".", (apr_int64_t)sig->t);
    apr_size_t prefix_len = strlen(prefix);
    char *signed_text = apr_palloc(r->pool, prefix_len + body->len);
    memcpy(signed_text, prefix, prefix_len);
    memcpy(signed_text + prefix_len, body->data, body->len);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(c->evidence_secret, c->evidence_secret_len, signed_text,
                     prefix_len + body->len, mac);
    return kmen_equal_const_time(kmen_hex(r->pool, mac, KMEN_HASH_LEN), sig->mac_hex, 64);
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

static int is_uuid(const char *s)
{
    return s && strlen(s) == 36 && strspn(s, "0123456789abcdef-") == 36;
}

typedef struct {
    const char *id, *state, *content_type;
    unsigned char *document;
    apr_size_t len;
} delivery;

static int parse_delivery(request_rec *r, const char *body, apr_size_t len, delivery *d)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "request"));
    const char *state = json_string_value(json_object_get(doc, "state"));
    const char *type = json_string_value(json_object_get(doc, "content_type"));
    const char *b64 = json_string_value(json_object_get(doc, "document"));
    int received = state && strcmp(state, "received") == 0;
    int ok = is_uuid(id) && state && (received || strcmp(state, "refused") == 0) &&
             (!received || (type && b64 && *b64 && kmen_base64_is_valid(b64)));
    if (ok) {
        d->id = apr_pstrdup(r->pool, id);
        d->state = apr_pstrdup(r->pool, state);
        d->content_type = received ? apr_pstrdup(r->pool, type) : NULL;
        d->document = received ? apr_palloc(r->pool, apr_base64_decode_len(b64)) : NULL;
        d->len = received ? (apr_size_t)apr_base64_decode((char *)d->document, b64) : 0;
    }
    json_decref(doc);
    return ok;
}

/* The document types a callback may deliver, with the extension of the file
 * the person downloads: none of them is a page a browser runs script in. */
static const struct {
    const char *type, *extension;
} document_types[] = {{"application/pdf", "pdf"}, {"image/png", "png"},  {"image/jpeg", "jpg"},
                      {"image/gif", "gif"},       {"image/tiff", "tif"}, {"application/xml", "xml"},
                      {"text/xml", "xml"}};

/* The index in document_types of TYPE, its parameters ("; charset=...")
 * dropped and its case folded; -1 when it is none of them. */
static int document_type_index(apr_pool_t *p, const char *type)
{
    char *bare = apr_pstrdup(p, type ? type : "");
    bare[strcspn(bare, ";")] = '\0';
    bare = kmen_trim(bare);
    ap_str_tolower(bare);
    for (size_t i = 0; i < sizeof(document_types) / sizeof(document_types[0]); i++) {
        if (strcmp(bare, document_types[i].type) == 0)
            return (int)i;
    }
    return -1;
}

/* A received document of another type is refused whole: nothing is stored,
 * so a text/html page cannot reach the portal's origin later. */
static int document_type_allowed(request_rec *r, delivery *d)
{
    if (!d->content_type)
        return 1;
    int i = document_type_index(r->pool, d->content_type);
    if (i < 0) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0684) "evidence callback refused: document type \"%s\" is not "
                                  "allowed",
                 ap_escape_logitem(r->pool, d->content_type));
        return 0;
    }
    d->content_type = document_types[i].type;
    return 1;
}

static int deliver(request_rec *r, const kmen_server_conf *c, const delivery *d)
{
    const unsigned char *sealed = NULL;
    apr_size_t sealed_len = 0;
    if (d->document) {
        char aad[64];
        seal_aad(d->id, aad);
        sealed =
            kmen_seal(r->pool, c->id_keys.seal, aad, strlen(aad), d->document, d->len, &sealed_len);
    }
    const char *outcome = NULL;
    if (kmen_store_evidence_deliver(kmen_request_ctx(r), c->store, d->id, d->state, d->content_type,
                                    sealed, sealed_len, &outcome) != KMEN_STORE_OK)
        return HTTP_SERVICE_UNAVAILABLE;
    if (strcmp(outcome, "unknown") == 0)
        return HTTP_NOT_FOUND;
    return strcmp(outcome, "already") == 0 ? HTTP_CONFLICT : HTTP_NO_CONTENT;
}

static int accept_delivery(request_rec *r, const kmen_server_conf *c, const body_buffer *body)
{
    delivery d;
    if (!parse_delivery(r, body->data, body->len, &d))
        return HTTP_BAD_REQUEST;
    if (!document_type_allowed(r, &d))
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    return deliver(r, c, &d);
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
    signature sig;
    body_buffer body;
    int by_certificate = client_certificate_valid(r, c);
    int status;
    if (!by_certificate && !signature_header_fresh(r, c, &sig)) {
        status = HTTP_UNAUTHORIZED;
        /* httpd would otherwise read the unwanted body to keep the connection */
        r->connection->keepalive = AP_CONN_CLOSE;
    } else if ((status = read_body(r, &body)) == OK) {
        status = by_certificate || signature_matches(r, c, &sig, &body)
                     ? accept_delivery(r, c, &body)
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
    int i = document_type_index(r->pool, type);
    r->status = HTTP_OK;
    ap_set_content_type(r, i < 0 ? "application/octet-stream" : document_types[i].type);
    apr_table_setn(r->headers_out, "Content-Disposition",
                   apr_psprintf(r->pool, "attachment; filename=\"evidence-%s.%s\"", id,
                                i < 0 ? "bin" : document_types[i].extension));
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
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *type = NULL;
    const unsigned char *sealed = NULL;
    apr_size_t len = 0;
    if (!s || !s->identity.client_id || !is_uuid(id))
        return kmen_page_send(r, KMEN_PAGE_NOT_FOUND, NULL);
    kmen_store_status st = kmen_store_evidence_document(
        kmen_request_ctx(r), c->store, id, s->identity.client_id, &type, &sealed, &len);
    if (st == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    char aad[64];
    seal_aad(id, aad);
    apr_size_t doc_len = 0;
    char *doc = st == KMEN_STORE_OK
                    ? kmen_open(r->pool, c->id_keys.seal, aad, strlen(aad), sealed, len, &doc_len)
                    : NULL;
    if (!doc)
        return kmen_page_send(r, KMEN_PAGE_NOT_FOUND, NULL);
    return send_document(r, id, type, doc, doc_len);
}
