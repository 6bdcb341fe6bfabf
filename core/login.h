/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login sequence once NIA's Response has passed every cryptographic
 * check: the outstanding request consumed, the person named, the LoA
 * compared, the client resolved, the session stored and the audit row, in
 * one transaction. The adapter answers the outcome (httpd: a page, or the
 * cookie and a redirect) only after it, so that no answer tells of a login
 * the database did not keep. */
#ifndef KMEN_LOGIN_H
#define KMEN_LOGIN_H

#include "cache.h"
#include "context.h"
#include "saml.h"
#include "session.h"

typedef enum {
    KMEN_LOGIN_OK = 0,
    /* refused: forged, replayed, unknown request, unusable attributes */
    KMEN_LOGIN_INVALID,
    /* NIA says the login failed or was cancelled */
    KMEN_LOGIN_FAILED,
    /* the person logged in, but weaker than the location asked for */
    KMEN_LOGIN_LOA_TOO_LOW,
    /* the database or the gateway failed: nothing kept */
    KMEN_LOGIN_UNAVAILABLE
} kmen_login_outcome;

typedef struct {
    /* OK: where the login started, to go back to; LOA_TOO_LOW: where a
     * login again, at that location's level, returns to */
    const char *return_to;
    const char *who;          /* OK: the session's origin and LoA, for the log */
    kmen_new_session session; /* OK: stored and committed, to hand out */
} kmen_login_result;

/* Runs the sequence in the store's transaction for the Response to
 * REQUEST_ID that carried A; PREVIOUS (from the login state, or NULL): the
 * session this login replaces. A refusal is logged, audited and committed
 * with the consumption, so the same Response cannot be tried again. */
kmen_login_outcome kmen_login_complete(kmen_ctx *ctx, const kmen_cache *cache,
                                       const char *request_id, const char *previous,
                                       const kmen_assertion *a, kmen_login_result *out);

/* The login-state cookie NAME of this browser: its value, or NULL; the
 * adapter also removes the cookie (a login state is used once). */
typedef const char *kmen_login_state_taker(void *baton, const char *name);

/* NIA's Response SAML_RESPONSE (base64, from the ACS's form) from start to
 * end, as every server runs it: the login state of the request it answers
 * (TAKE), looked up in the database before the Response costs any
 * cryptography; every check of the Response; then kmen_login_complete. A
 * refusal is logged and audited; UNAVAILABLE writes nothing. */
kmen_login_outcome kmen_login_response(kmen_ctx *ctx, const kmen_cache *cache,
                                       const char *saml_response, kmen_login_state_taker *take,
                                       void *baton, kmen_login_result *out);

/* A refused Response (OUTCOME INVALID or FAILED), logged and audited: by
 * the core, and by the adapter for a body it cannot read. */
void kmen_login_refused(kmen_ctx *ctx, const char *why, kmen_login_outcome outcome);

#endif
