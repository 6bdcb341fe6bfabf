/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client register at login, over store_pg.c and translate.c: a Czech
 * citizen's BSI found, or on the first login translated through the gateway
 * to the AIFO that finds (or makes) the client, or (KmenTranslatorURL none)
 * a client made by the BSI alone and completed once a gateway is configured;
 * a foreigner found by the eIDAS pseudonym; and what backends ask of it
 * (docs/register.md). */
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "conf_check.h"
#include "context.h"
#include "identifiers.h"
#include "register.h"
#include "store_pg.h"
#include "translate.h"

static void take(kmen_identity *id, const kmen_resolved *res)
{
    id->client_id = res->client_id;
    id->client_status = res->status;
    id->systems = res->systems;
    id->merged_from = res->merged_from;
    id->has_evidence = res->has_evidence;
}

/* NIA's DateOfBirth is YYYY-MM-DD; anything else is not stored. */
static const char *date_or_null(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return NULL;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && !apr_isdigit(s[i]))
            return NULL;
    }
    return s;
}

static kmen_register_status gateway_failed(kmen_ctx *ctx, const char *why)
{
    kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0661) "first login not resolved: %s", why);
    kmen_store_audit(ctx, ctx->conf->store, "resolve", "gateway_failed", why);
    return KMEN_REGISTER_UNAVAILABLE;
}

/* What the gateway's answer means, for the log and the audit row. */
static const char *translation_failure(kmen_translate_status st)
{
    return st == KMEN_TRANSLATE_NOT_FOUND ? "the gateway does not know this person"
                                          : "the translation gateway failed";
}

/* The person's AIFO in the register's agenda: one call when the register
 * keeps AIFO in the login agenda (then it is only compared), two otherwise. */
static kmen_translate_status translate_to_register(kmen_ctx *ctx, const char *bsi,
                                                   const char **aifo)
{
    const kmen_server_conf *c = ctx->conf;
    const char *login_aifo = NULL;
    kmen_translate_status st = kmen_translate_bsi(ctx, bsi, c->login_agenda, &login_aifo);
    if (st == KMEN_TRANSLATE_OK && strcmp(c->login_agenda, c->register_agenda) != 0)
        st = kmen_translate_aifo(ctx, login_aifo, c->login_agenda, c->register_agenda, aifo);
    else
        *aifo = login_aifo;
    return st;
}

/* The blind index (into index) and the ciphertext of an AIFO in agenda;
 * NULL when it cannot be sealed. */
static unsigned char *protect_aifo(kmen_ctx *ctx, const char *agenda, const char *aifo,
                                   unsigned char index[KMEN_HASH_LEN], apr_size_t *len)
{
    const kmen_server_conf *c = ctx->conf;
    kmen_id_index(ctx->pool, &c->id_keys, KMEN_ID_AIFO, agenda, aifo, index);
    return kmen_id_seal(ctx->pool, &c->id_keys, KMEN_ID_AIFO, agenda, aifo, len);
}

/* A NIA login for the store: the BSI's index, the names, and (when aifo is
 * not NULL) the register agenda's AIFO; 0 when the AIFO cannot be sealed. */
static int nia_login(kmen_ctx *ctx, const kmen_identity *id, const unsigned char *bsi_index,
                     const char *aifo, unsigned char aifo_index[KMEN_HASH_LEN],
                     kmen_first_login *in)
{
    const char *agenda = ctx->conf->register_agenda;
    kmen_first_login login = {
        bsi_index, agenda,         aifo_index,      NULL,
        0,         id->given_name, id->family_name, date_or_null(id->birth_date)};
    *in = login;
    if (aifo)
        in->aifo_sealed = protect_aifo(ctx, agenda, aifo, aifo_index, &in->aifo_sealed_len);
    return !aifo || in->aifo_sealed;
}

static kmen_register_status resolve_first(kmen_ctx *ctx, kmen_identity *id,
                                          const unsigned char *bsi_index)
{
    const kmen_server_conf *c = ctx->conf;
    if (kmen_translator_mode_of(c) == KMEN_TRANSLATOR_UNSET)
        return gateway_failed(ctx, apr_pstrcat(ctx->pool, "no ",
                                               kmen_conf_spelling(c, KMEN_FIELD_translator_url),
                                               " configured", NULL));
    const char *aifo = NULL;
    kmen_translate_status st = translate_to_register(ctx, id->pseudonym, &aifo);
    if (st != KMEN_TRANSLATE_OK)
        return gateway_failed(ctx, translation_failure(st));
    unsigned char aifo_index[KMEN_HASH_LEN];
    kmen_first_login in;
    kmen_resolved res = {0};
    if (!nia_login(ctx, id, bsi_index, aifo, aifo_index, &in) ||
        kmen_store_resolve_first(ctx, c->store, &in, &res) != KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    take(id, &res);
    return KMEN_REGISTER_OK;
}

/* KmenTranslatorURL none: the first login makes a client known by the BSI
 * alone; no gateway is asked. */
static kmen_register_status resolve_bsi_only(kmen_ctx *ctx, kmen_identity *id,
                                             const unsigned char *bsi_index)
{
    kmen_first_login in;
    kmen_resolved res = {0};
    nia_login(ctx, id, bsi_index, NULL, NULL, &in);
    if (kmen_store_resolve_bsi_only(ctx, ctx->conf->store, &in, &res) != KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    take(id, &res);
    return KMEN_REGISTER_OK;
}

/* The login goes on as the client it found: an upgrade is tried again at the
 * client's next login. */
static void upgrade_failed(kmen_ctx *ctx, const kmen_identity *id, const char *why)
{
    kmen_log(ctx, KMEN_LOG_WARNING,
             KMEN_LOGNO(0664) "client %s, known by BSI alone, has no AIFO yet: %s; "
                              "its next login tries again",
             id->client_id, why);
    kmen_store_audit_client(ctx, ctx->conf->store, "upgrade", "gateway_failed", why, id->client_id);
}

/* A returning client known by BSI alone (made while KmenTranslatorURL was
 * none), now that a gateway is configured: the BSI is translated once and
 * the AIFO attached, or the client merged into the one holding it (an eSSL
 * import), which keeps its identifier and announces the merged one. Nothing
 * here fails the login. */
static void upgrade_bsi_only(kmen_ctx *ctx, kmen_identity *id, const unsigned char *bsi_index)
{
    const kmen_server_conf *c = ctx->conf;
    const char *aifo = NULL, *outcome = NULL;
    kmen_translate_status st = translate_to_register(ctx, id->pseudonym, &aifo);
    if (st != KMEN_TRANSLATE_OK) {
        upgrade_failed(ctx, id, translation_failure(st));
        return;
    }
    unsigned char aifo_index[KMEN_HASH_LEN];
    kmen_first_login in;
    kmen_resolved res = {0};
    if (!nia_login(ctx, id, bsi_index, aifo, aifo_index, &in) ||
        kmen_store_attach_aifo(ctx, c->store, &in, &res, &outcome) != KMEN_STORE_OK) {
        upgrade_failed(ctx, id, "the register could not store the AIFO");
        return;
    }
    kmen_log(ctx, KMEN_LOG_INFO,
             KMEN_LOGNO(0665) "client %s, known by BSI alone: %s (now client %s)", id->client_id,
             outcome, res.client_id);
    take(id, &res);
}

/* Foreigners, at their first login and after: known by their eIDAS pseudonym
 * alone. */
static kmen_register_status resolve_foreigner(kmen_ctx *ctx, kmen_identity *id, int eidas_accept,
                                              const char **pending_id)
{
    const kmen_server_conf *c = ctx->conf;
    unsigned char index[KMEN_HASH_LEN];
    kmen_id_index(ctx->pool, &c->id_keys, KMEN_ID_PSEUDONYM, NULL, id->pseudonym, index);
    kmen_resolved res = {0};
    kmen_store_status st = kmen_store_resolve_pseudonym(ctx, c->store, index, &res);
    kmen_foreigner in = {index, id->given_name, id->family_name, date_or_null(id->birth_date)};
    if (st == KMEN_STORE_NOT_FOUND && eidas_accept)
        st = kmen_store_foreigner_accept(ctx, c->store, &in, &res);
    else if (st == KMEN_STORE_NOT_FOUND) {
        st = kmen_store_pending_create(ctx, c->store, &in, c->pending_timeout, pending_id);
        res.client_id = res.systems = NULL;
        res.status = "pending";
    }
    if (st != KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    take(id, &res);
    return KMEN_REGISTER_OK;
}

kmen_register_status kmen_register_resolve(kmen_ctx *ctx, kmen_identity *id, int eidas_accept,
                                           const char **pending_id)
{
    const kmen_server_conf *c = ctx->conf;
    if (id->origin != KMEN_ORIGIN_NIA)
        return resolve_foreigner(ctx, id, eidas_accept, pending_id);
    unsigned char bsi_index[KMEN_HASH_LEN];
    kmen_id_index(ctx->pool, &c->id_keys, KMEN_ID_BSI, NULL, id->pseudonym, bsi_index);
    kmen_resolved res = {0};
    switch (kmen_store_resolve_bsi(ctx, c->store, bsi_index, &res)) {
    case KMEN_STORE_OK:
        take(id, &res);
        if (res.bsi_only && kmen_translator_mode_of(c) == KMEN_TRANSLATOR_GATEWAY)
            upgrade_bsi_only(ctx, id, bsi_index);
        return KMEN_REGISTER_OK;
    case KMEN_STORE_NOT_FOUND:
        if (kmen_translator_mode_of(c) == KMEN_TRANSLATOR_NONE)
            return resolve_bsi_only(ctx, id, bsi_index);
        return resolve_first(ctx, id, bsi_index);
    default:
        return KMEN_REGISTER_UNAVAILABLE;
    }
}

kmen_register_status kmen_register_complete(kmen_ctx *ctx, const char *pending_id, const char *link,
                                            kmen_identity *id, const char **outcome)
{
    kmen_resolved res = {0};
    if (kmen_store_pending_complete(ctx, ctx->conf->store, pending_id, link, outcome, &res) !=
        KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    if (res.client_id)
        take(id, &res);
    return KMEN_REGISTER_OK;
}

/* The stored AIFO of client_id in agenda, opened; NOT_FOUND if none. */
static kmen_store_status stored_aifo(kmen_ctx *ctx, const char *client_id, const char *agenda,
                                     const char **aifo)
{
    const kmen_server_conf *c = ctx->conf;
    const unsigned char *sealed = NULL;
    apr_size_t len = 0;
    kmen_store_status st = kmen_store_agenda_aifo(ctx, c->store, client_id, agenda, &sealed, &len);
    if (st != KMEN_STORE_OK)
        return st;
    *aifo = kmen_id_open(ctx->pool, &c->id_keys, KMEN_ID_AIFO, agenda, sealed, len);
    if (!*aifo) {
        kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0663) "a stored AIFO does not open: wrong %s?",
                 kmen_conf_spelling(c, KMEN_FIELD_register_key_file));
        return KMEN_STORE_DOWN;
    }
    return KMEN_STORE_OK;
}

kmen_register_status kmen_register_agenda_aifo(kmen_ctx *ctx, const char *client_id,
                                               const char *agenda, const char **aifo)
{
    const kmen_server_conf *c = ctx->conf;
    kmen_store_status st = stored_aifo(ctx, client_id, agenda, aifo);
    if (st != KMEN_STORE_NOT_FOUND)
        return st == KMEN_STORE_OK ? KMEN_REGISTER_OK : KMEN_REGISTER_UNAVAILABLE;
    const char *register_aifo = NULL;
    st = stored_aifo(ctx, client_id, c->register_agenda, &register_aifo);
    if (st == KMEN_STORE_NOT_FOUND)
        return gateway_failed(ctx, "the client is known by BSI alone: no AIFO to translate");
    if (st != KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    if (kmen_translator_mode_of(c) != KMEN_TRANSLATOR_GATEWAY ||
        kmen_translate_aifo(ctx, register_aifo, c->register_agenda, agenda, aifo) !=
            KMEN_TRANSLATE_OK)
        return gateway_failed(ctx, "no AIFO in the location's agenda");
    unsigned char index[KMEN_HASH_LEN];
    apr_size_t len = 0;
    unsigned char *sealed = protect_aifo(ctx, agenda, *aifo, index, &len);
    if (!sealed || kmen_store_agenda_aifo_store(ctx, c->store, client_id, agenda, index, sealed,
                                                len) != KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    return KMEN_REGISTER_OK;
}

kmen_register_status kmen_register_location_aifo(kmen_ctx *ctx, const kmen_identity *id,
                                                 const char *agenda, const char **aifo)
{
    *aifo = NULL;
    if (!agenda || !id->client_id || id->origin != KMEN_ORIGIN_NIA)
        return KMEN_REGISTER_OK;
    return kmen_register_agenda_aifo(ctx, id->client_id, agenda, aifo);
}

static int valid_system_name(const char *s)
{
    size_t len = strlen(s);
    return len >= 1 && len <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == len;
}

kmen_register_status kmen_register_link_system(kmen_ctx *ctx, const char *client_id,
                                               const char *system)
{
    if (!valid_system_name(system)) {
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0662) "Kmen-Link-System ignored: not a system name");
        return KMEN_REGISTER_REFUSED;
    }
    if (kmen_store_link_system(ctx, ctx->conf->store, client_id, system) != KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    return KMEN_REGISTER_OK;
}

/* e-mail: trimmed, lower case; phone: '+' and digits only; name: trimmed.
 * The blind index of the normalised value finds the same contact however it
 * was typed; the ciphertext keeps what was given. */
static const char *normalise_contact(apr_pool_t *p, int kind, const char *value)
{
    char *out = apr_pstrdup(p, value), *o = out;
    for (const char *c = value; *c; c++) {
        if (kind == KMEN_ID_EMAIL && !apr_isspace(*c))
            *o++ = (char)apr_tolower(*c);
        else if (kind == KMEN_ID_PHONE && (apr_isdigit(*c) || (*c == '+' && o == out)))
            *o++ = *c;
        else if (kind == KMEN_ID_NAME)
            *o++ = *c;
    }
    *o = '\0';
    if (kind == KMEN_ID_NAME)
        apr_collapse_spaces(out, out); /* returns the end, not the start */
    return out;
}

kmen_register_status kmen_register_potential(kmen_ctx *ctx, const char *const values[3],
                                             const char **client_id)
{
    static const kmen_id_kind kinds[3] = {KMEN_ID_EMAIL, KMEN_ID_PHONE, KMEN_ID_NAME};
    const kmen_server_conf *c = ctx->conf;
    kmen_contact contact = {{NULL, NULL, NULL}, {NULL, NULL, NULL}, {0, 0, 0}};
    for (int i = 0; i < 3; i++) {
        const char *normal = values[i] ? normalise_contact(ctx->pool, kinds[i], values[i]) : "";
        /* an empty normal form ("n/a" as a phone) would match every other one */
        if (!*normal || (kinds[i] == KMEN_ID_PHONE && !strpbrk(normal, "0123456789")))
            continue;
        unsigned char *index = apr_palloc(ctx->pool, KMEN_HASH_LEN);
        kmen_id_index(ctx->pool, &c->id_keys, kinds[i], NULL, normal, index);
        contact.index[i] = index;
        contact.sealed[i] =
            kmen_id_seal(ctx->pool, &c->id_keys, kinds[i], NULL, values[i], &contact.sealed_len[i]);
    }
    if (!contact.index[0] && !contact.index[1])
        return KMEN_REGISTER_REFUSED; /* a name alone identifies nobody */
    return kmen_store_potential_create(ctx, c->store, &contact, client_id) == KMEN_STORE_OK
               ? KMEN_REGISTER_OK
               : KMEN_REGISTER_UNAVAILABLE;
}

kmen_register_status kmen_register_link_potential(kmen_ctx *ctx, const char *current,
                                                  const char *potential, kmen_identity *id,
                                                  const char **outcome)
{
    kmen_resolved res = {0};
    if (kmen_store_link_potential(ctx, ctx->conf->store, current, potential, outcome, &res) !=
        KMEN_STORE_OK)
        return KMEN_REGISTER_UNAVAILABLE;
    if (res.client_id)
        take(id, &res);
    return KMEN_REGISTER_OK;
}
