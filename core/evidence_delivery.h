/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The evidence service's callback (POST <endpoint>/evidence) and the
 * documents it delivers, stored sealed and handed only to a session of the
 * client they belong to. The server adapter reads the request and answers;
 * the core checks, decides and stores. */
#ifndef KMEN_EVIDENCE_DELIVERY_H
#define KMEN_EVIDENCE_DELIVERY_H

#include "context.h"
#include "store_pg.h"

/* Kmen-Evidence-Signature: t=<unix>, v1=<hex HMAC-SHA256(secret, "<t>." body)>. */
typedef struct {
    long long t;
    char mac_hex[65];
} kmen_evidence_signature;

/* HEADER (or NULL), checked before the body is read: a KmenEvidenceSecretFile
 * is set, and the header is well formed and at most five minutes from NOW
 * (seconds) either way. */
int kmen_evidence_signature_fresh(const kmen_server_conf *c, const char *header, long long now,
                                  kmen_evidence_signature *sig);
/* Checked once the BODY is read. */
int kmen_evidence_signature_matches(apr_pool_t *p, const kmen_server_conf *c,
                                    const kmen_evidence_signature *sig, const char *body,
                                    apr_size_t len);

/* What a callback comes to, as the HTTP status it is answered with. */
typedef enum {
    KMEN_EVIDENCE_DELIVERED = 204,
    KMEN_EVIDENCE_MALFORMED = 400,
    KMEN_EVIDENCE_UNAUTHENTICATED = 401,
    KMEN_EVIDENCE_UNKNOWN_REQUEST = 404,
    KMEN_EVIDENCE_ALREADY = 409,      /* the request was answered before */
    KMEN_EVIDENCE_TOO_LARGE = 413,    /* a body over KMEN_EVIDENCE_BODY_LIMIT */
    KMEN_EVIDENCE_TYPE_REFUSED = 415, /* a document of a type not allowed: nothing stored */
    KMEN_EVIDENCE_UNAVAILABLE = 503   /* the store failed */
} kmen_evidence_answer;

/* The largest callback body read. */
#define KMEN_EVIDENCE_BODY_LIMIT (10 * 1024 * 1024)

/* The callback's BODY accepted: parsed, its document type allowed, the
 * document sealed and stored. */
kmen_evidence_answer kmen_evidence_deliver(kmen_ctx *ctx, const char *body, apr_size_t len);

/* A request ID: 36 lower-case hex digits and dashes. */
int kmen_evidence_id_is_valid(const char *id);

/* The allowed document type TYPE names ("; charset=..." and case aside),
 * and the extension of the file the person downloads; NULL for any other. */
const char *kmen_evidence_document_type(apr_pool_t *p, const char *type, const char **extension);

/* The document ID of CLIENT_ID, opened: OK with it in *doc, *len and its
 * stored type in *type; NOT_FOUND (not received, another client's, does not
 * open) or DOWN. */
kmen_store_status kmen_evidence_document_open(kmen_ctx *ctx, const char *id, const char *client_id,
                                              const char **type, const char **doc, apr_size_t *len);

#endif
