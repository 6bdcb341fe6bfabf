/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login sequence after every cryptographic check (login.h). */
#include <string.h>

#include "apr_strings.h"

#include "address.h"
#include "cookie.h"
#include "crypto.h"
#include "identity.h"
#include "login.h"
#include "register.h"
#include "store_pg.h"

static void audit(kmen_ctx *ctx, const char *outcome, const char *detail)
{
    kmen_store_audit(ctx, ctx->conf->store, "login", outcome, detail);
}

void kmen_login_refused(kmen_ctx *ctx, const char *why, kmen_login_outcome outcome)
{
    kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0624) "SAML response refused: %s", why);
    audit(ctx, outcome == KMEN_LOGIN_FAILED ? "failed" : "refused", why);
}

/* Refused after the request was consumed: the refusal is kept with the
 * consumption, and the same Response cannot be tried again. */
static kmen_login_outcome refused(kmen_ctx *ctx, const char *why, kmen_login_outcome outcome)
{
    kmen_login_refused(ctx, why, outcome);
    return outcome;
}

/* The person logged in at NIA, but weaker than the location asked: the
 * adapter offers a login again, at the level asked for. */
static kmen_login_outcome loa_too_low(kmen_ctx *ctx, kmen_loa loa,
                                      const kmen_login_consumed *consumed, kmen_login_result *out)
{
    kmen_log(ctx, KMEN_LOG_WARNING,
             KMEN_LOGNO(0633) "login at LoA %s, below the %s its location asks for",
             kmen_loa_name(loa), kmen_loa_name((kmen_loa)consumed->min_loa));
    audit(ctx, "loa_too_low", kmen_loa_name(loa));
    out->return_to = consumed->return_to;
    return KMEN_LOGIN_LOA_TOO_LOW;
}

/* The person the assertion names: OK, or the refusal. */
static kmen_login_outcome assertion_identity(kmen_ctx *ctx, const kmen_assertion *a,
                                             kmen_identity *id)
{
    int failed = 0;
    const char *why =
        kmen_identity_from_attributes(ctx->pool, a->attrs, ctx->conf->home_country, id, &failed);
    if (failed)
        return refused(ctx, "NIA reports AuthnFailed inside the assertion", KMEN_LOGIN_FAILED);
    if (why)
        return refused(ctx, why, KMEN_LOGIN_INVALID);
    kmen_identity_add_address(ctx->pool, id);
    id->loa = a->loa;
    id->auth_instant = a->authn_instant;
    return KMEN_LOGIN_OK;
}

/* The login's database work, in the transaction: the outstanding request
 * consumed and the assertion ID remembered, the LoA compared with what the
 * location asked for, the client resolved (a first login asks the gateway
 * only after the consumption, whose rows no other login touches, and before
 * the register's rows are locked), the session stored, the audit row. */
static kmen_login_outcome login_sequence(kmen_ctx *ctx, const kmen_cache *cache,
                                         const char *request_id, const char *previous,
                                         const kmen_assertion *a, kmen_login_result *out)
{
    kmen_login_consumed consumed;
    kmen_identity id = {0};
    const char *pending_id = NULL;
    if (kmen_store_login_consume(ctx, ctx->conf->store, request_id, a->assertion_id,
                                 a->not_on_or_after + apr_time_from_sec(ctx->conf->clock_skew),
                                 &consumed) != KMEN_STORE_OK)
        return KMEN_LOGIN_UNAVAILABLE;
    if (strcmp(consumed.outcome, "ok") != 0)
        return refused(ctx, consumed.outcome, KMEN_LOGIN_INVALID);
    kmen_login_outcome outcome = assertion_identity(ctx, a, &id);
    if (outcome != KMEN_LOGIN_OK)
        return outcome;
    if ((int)id.loa < consumed.min_loa)
        return loa_too_low(ctx, id.loa, &consumed, out);
    if (kmen_register_resolve(ctx, &id, consumed.eidas_accept, &pending_id) != KMEN_REGISTER_OK ||
        kmen_session_create(ctx, cache, &id, &a->ref, pending_id, previous, &out->session) !=
            KMEN_STORE_OK)
        return KMEN_LOGIN_UNAVAILABLE;
    out->who = apr_psprintf(ctx->pool, "origin %s, LoA %s", kmen_origin_name(id.origin),
                            kmen_loa_name(id.loa));
    out->return_to = consumed.return_to;
    audit(ctx, "ok",
          apr_pstrcat(ctx->pool, kmen_origin_name(id.origin), " ", kmen_loa_name(id.loa), NULL));
    return KMEN_LOGIN_OK;
}

/* The transaction ends before the adapter answers, so that no cookie or page
 * tells of a login the database did not keep. A refused login is committed
 * too (the request stays consumed); a database failure rolls it all back. */
kmen_login_outcome kmen_login_complete(kmen_ctx *ctx, const kmen_cache *cache,
                                       const char *request_id, const char *previous,
                                       const kmen_assertion *a, kmen_login_result *out)
{
    memset(out, 0, sizeof(*out));
    if (kmen_store_begin(ctx, ctx->conf->store) != KMEN_STORE_OK)
        return KMEN_LOGIN_UNAVAILABLE;
    kmen_login_outcome outcome = login_sequence(ctx, cache, request_id, previous, a, out);
    if (kmen_store_commit(ctx, ctx->conf->store) != KMEN_STORE_OK)
        return KMEN_LOGIN_UNAVAILABLE;
    return outcome;
}

/* The request this browser's login state belongs to: OK and *request_id,
 * INVALID (refused) or UNAVAILABLE. */
static kmen_login_outcome outstanding_request(kmen_ctx *ctx, const char *state,
                                              const char **request_id)
{
    unsigned char state_hash[KMEN_HASH_LEN];
    kmen_sha256(state, strlen(state), state_hash);
    kmen_store_status st =
        kmen_store_request_by_state(ctx, ctx->conf->store, state_hash, request_id);
    if (st == KMEN_STORE_DOWN)
        return KMEN_LOGIN_UNAVAILABLE;
    if (st == KMEN_STORE_NOT_FOUND)
        return refused(ctx,
                       "no outstanding login for this browser (expired, already used, or "
                       "started in another browser)",
                       KMEN_LOGIN_INVALID);
    return KMEN_LOGIN_OK;
}

/* The login state of the login the Response B64 answers, from the
 * browser's cookie for its InResponseTo: OK and *state, or refused. */
static kmen_login_outcome login_state_of_response(kmen_ctx *ctx, const char *b64,
                                                  kmen_login_state_taker *take, void *baton,
                                                  const char **state, const char **previous)
{
    const char *in_response_to = NULL;
    const char *why = kmen_saml_response_in_response_to(ctx->pool, b64, &in_response_to);
    if (why)
        return refused(ctx, why, KMEN_LOGIN_INVALID);
    if (!in_response_to)
        return refused(ctx, "unsolicited Response (no InResponseTo)", KMEN_LOGIN_INVALID);
    const char *cookie =
        take(baton, kmen_login_state_cookie_name(ctx->pool, ctx->conf, in_response_to));
    *state = kmen_session_login_state_of(ctx, cookie, previous);
    if (!*state)
        return refused(ctx,
                       "no pre-login state cookie for the request the Response answers "
                       "(unsolicited, or another browser)",
                       KMEN_LOGIN_INVALID);
    return KMEN_LOGIN_OK;
}

/* Every cryptographic check of B64, which must answer REQUEST_ID. */
static kmen_login_outcome verified_assertion(kmen_ctx *ctx, const char *b64, const char *request_id,
                                             kmen_assertion *a)
{
    const kmen_server_conf *c = ctx->conf;
    kmen_response_expect expect = {apr_time_now(), apr_time_from_sec(c->clock_skew), request_id};
    const kmen_sp_key_pair *keys = kmen_sp_pairs(c->sp);
    const char *reason = NULL;
    switch (kmen_saml_verify_response(c->sp, ctx->pool, b64, &expect, a, &reason)) {
    case KMEN_RESPONSE_OK:
        /* during a key rollover, which certificate NIA encrypts to tells
         * when the old key can go */
        kmen_log(ctx, KMEN_LOG_INFO, KMEN_LOGNO(0630) "assertion decrypted with %s key %s",
                 kmen_sp_pair_is_second(keys, a->decryption_key) ? "the second" : "the first",
                 keys[a->decryption_key].key_file);
        return KMEN_LOGIN_OK;
    case KMEN_RESPONSE_FAILED:
        return refused(ctx, reason, KMEN_LOGIN_FAILED);
    default:
        return refused(ctx, reason, KMEN_LOGIN_INVALID);
    }
}

kmen_login_outcome kmen_login_response(kmen_ctx *ctx, const kmen_cache *cache,
                                       const char *saml_response, kmen_login_state_taker *take,
                                       void *baton, kmen_login_result *out)
{
    const char *state = NULL, *previous = NULL, *request_id = NULL;
    kmen_assertion a;
    memset(out, 0, sizeof(*out));
    kmen_login_outcome outcome =
        login_state_of_response(ctx, saml_response, take, baton, &state, &previous);
    if (outcome == KMEN_LOGIN_OK)
        outcome = outstanding_request(ctx, state, &request_id);
    if (outcome == KMEN_LOGIN_OK)
        outcome = verified_assertion(ctx, saml_response, request_id, &a);
    if (outcome != KMEN_LOGIN_OK)
        return outcome;
    return kmen_login_complete(ctx, cache, request_id, previous, &a, out);
}
