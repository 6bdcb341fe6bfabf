/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A session and its record: every string of it in a fixed order, sealed
 * (AES-256-GCM) with the server's session key to its ID hash and the SP's
 * entity ID. The same sealed bytes live in the database and in the cache. */
#ifndef KMEN_SESSION_RECORD_H
#define KMEN_SESSION_RECORD_H

#include "apr_time.h"

#include "context.h"
#include "crypto.h"
#include "identity.h"
#include "saml.h"

/* A server adapter's encoding of a session's headers (httpd's: apache/headers.c). */
struct kmen_header_set;

typedef struct {
    kmen_identity identity;
    kmen_login_ref ref;
    const char *pending_id; /* the verification this foreigner awaits */
    int evidence;           /* has asked for evidence: Kmen-Evidence applies */
    apr_time_t expires;
    unsigned char id_hash[KMEN_HASH_LEN];
    /* its headers, encoded by the adapter when a process kept it; NULL:
     * encode them now */
    const struct kmen_header_set *headers;
} kmen_session;

/* S sealed under ctx->conf's session key, to S->id_hash and the SP's entity
 * ID; NULL when the cipher fails. */
unsigned char *kmen_session_seal(kmen_ctx *ctx, const kmen_session *s, apr_size_t *len);
/* 1 when SEALED opens under ctx->conf's session key, sealed to S->id_hash
 * and the SP's entity ID, and the session it holds (read into S) has not
 * expired; 0 for anything else: tampered, another key, another session's or
 * another SP's, unreadable, expired. */
int kmen_session_unseal(kmen_ctx *ctx, const unsigned char *sealed, apr_size_t len,
                        kmen_session *s);
/* A copy of S whose strings live in P too, its headers not yet encoded:
 * what a process keeps of a session beyond the request that opened it. */
kmen_session *kmen_session_copy(apr_pool_t *p, const kmen_session *s);

#endif
