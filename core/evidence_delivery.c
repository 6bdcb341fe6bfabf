/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The evidence service calls back, HMAC-signed (or with a TLS client
 * certificate the adapter checks); the document is stored sealed to its
 * request and opened only for its own client. */
#include <string.h>

#include <jansson.h>

#include "apr_base64.h"
#include "apr_strings.h"

#include "crypto.h"
#include "evidence_delivery.h"
#include "pairs.h"

#define SIGNATURE_MAX_AGE 300

int kmen_evidence_signature_fresh(const kmen_server_conf *c, const char *header, long long now,
                                  kmen_evidence_signature *sig)
{
    sig->t = 0;
    sig->mac_hex[0] = '\0';
    if (!c->evidence_secret || !header ||
        sscanf(header, "t=%lld, v1=%64[0-9a-f]", &sig->t, sig->mac_hex) != 2 ||
        strlen(sig->mac_hex) != 64)
        return 0;
    return sig->t >= now - SIGNATURE_MAX_AGE && sig->t <= now + SIGNATURE_MAX_AGE;
}

int kmen_evidence_signature_matches(apr_pool_t *p, const kmen_server_conf *c,
                                    const kmen_evidence_signature *sig, const char *body,
                                    apr_size_t len)
{
    /* APR's formatter knows no %lld */
    const char *prefix = apr_psprintf(p, "%" APR_INT64_T_FMT ".", (apr_int64_t)sig->t);
    apr_size_t prefix_len = strlen(prefix);
    char *signed_text = apr_palloc(p, prefix_len + len);
    memcpy(signed_text, prefix, prefix_len);
    memcpy(signed_text + prefix_len, body, len);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(c->evidence_secret, c->evidence_secret_len, signed_text, prefix_len + len,
                     mac);
    return kmen_equal_const_time(kmen_hex(p, mac, KMEN_HASH_LEN), sig->mac_hex, 64);
}

int kmen_evidence_id_is_valid(const char *id)
{
    return id && strlen(id) == 36 && strspn(id, "0123456789abcdef-") == 36;
}

/* The document is sealed to its request: a ciphertext moved to another
 * request's row does not open. */
static void seal_aad(const char *id, char aad[64])
{
    apr_snprintf(aad, 64, "evidence %s", id);
}

typedef struct {
    const char *id, *state, *content_type;
    unsigned char *document;
    apr_size_t len;
} delivery;

static int parse_delivery(apr_pool_t *p, const char *body, apr_size_t len, delivery *d)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "request"));
    const char *state = json_string_value(json_object_get(doc, "state"));
    const char *type = json_string_value(json_object_get(doc, "content_type"));
    const char *b64 = json_string_value(json_object_get(doc, "document"));
    int received = state && strcmp(state, "received") == 0;
    int ok = kmen_evidence_id_is_valid(id) && state &&
             (received || strcmp(state, "refused") == 0) &&
             (!received || (type && b64 && *b64 && kmen_base64_is_valid(b64)));
    if (ok) {
        d->id = apr_pstrdup(p, id);
        d->state = apr_pstrdup(p, state);
        d->content_type = received ? apr_pstrdup(p, type) : NULL;
        d->document = received ? apr_palloc(p, apr_base64_decode_len(b64)) : NULL;
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

const char *kmen_evidence_document_type(apr_pool_t *p, const char *type, const char **extension)
{
    char *bare = apr_pstrdup(p, type ? type : "");
    bare[strcspn(bare, ";")] = '\0';
    bare = kmen_lower(kmen_trim(bare));
    for (size_t i = 0; i < sizeof(document_types) / sizeof(document_types[0]); i++) {
        if (strcmp(bare, document_types[i].type) == 0) {
            *extension = document_types[i].extension;
            return document_types[i].type;
        }
    }
    return NULL;
}

/* A received document of another type is refused whole: nothing is stored,
 * so a text/html page cannot reach the portal's origin later. */
static int document_type_allowed(kmen_ctx *ctx, delivery *d)
{
    const char *extension;
    if (!d->content_type)
        return 1;
    const char *type = kmen_evidence_document_type(ctx->pool, d->content_type, &extension);
    if (!type) {
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0684) "evidence callback refused: document type \"%s\" is not "
                                  "allowed",
                 kmen_log_item(ctx->pool, d->content_type));
        return 0;
    }
    d->content_type = type;
    return 1;
}

static kmen_evidence_answer store_delivery(kmen_ctx *ctx, const delivery *d)
{
    const kmen_server_conf *c = ctx->conf;
    const unsigned char *sealed = NULL;
    apr_size_t sealed_len = 0;
    if (d->document) {
        char aad[64];
        seal_aad(d->id, aad);
        sealed = kmen_seal(ctx->pool, c->id_keys.seal, aad, strlen(aad), d->document, d->len,
                           &sealed_len);
    }
    const char *outcome = NULL;
    if (kmen_store_evidence_deliver(ctx, c->store, d->id, d->state, d->content_type, sealed,
                                    sealed_len, &outcome) != KMEN_STORE_OK)
        return KMEN_EVIDENCE_UNAVAILABLE;
    if (strcmp(outcome, "unknown") == 0)
        return KMEN_EVIDENCE_UNKNOWN_REQUEST;
    return strcmp(outcome, "already") == 0 ? KMEN_EVIDENCE_ALREADY : KMEN_EVIDENCE_DELIVERED;
}

kmen_evidence_answer kmen_evidence_deliver(kmen_ctx *ctx, const char *body, apr_size_t len)
{
    delivery d;
    if (!parse_delivery(ctx->pool, body, len, &d))
        return KMEN_EVIDENCE_MALFORMED;
    if (!document_type_allowed(ctx, &d))
        return KMEN_EVIDENCE_TYPE_REFUSED;
    return store_delivery(ctx, &d);
}

kmen_store_status kmen_evidence_document_open(kmen_ctx *ctx, const char *id, const char *client_id,
                                              const char **type, const char **doc, apr_size_t *len)
{
    const unsigned char *sealed = NULL;
    apr_size_t sealed_len = 0;
    kmen_store_status st = kmen_store_evidence_document(ctx, ctx->conf->store, id, client_id, type,
                                                        &sealed, &sealed_len);
    if (st != KMEN_STORE_OK)
        return st;
    char aad[64];
    seal_aad(id, aad);
    *doc = kmen_open(ctx->pool, ctx->conf->id_keys.seal, aad, strlen(aad), sealed, sealed_len, len);
    return *doc ? KMEN_STORE_OK : KMEN_STORE_NOT_FOUND;
}
