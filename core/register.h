/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client register at login and at a backend's request, over the store
 * and the translation gateway (docs/register.md). */
#ifndef KMEN_REGISTER_H
#define KMEN_REGISTER_H

#include "context.h"
#include "identity.h"

/* What a register call came to, in the core's terms: the server adapter
 * answers it (httpd: the request goes on, or the 503 page). */
typedef enum {
    KMEN_REGISTER_OK = 0,
    /* the backend's values are unusable (no e-mail or phone, not a system
     * name): nothing written */
    KMEN_REGISTER_REFUSED,
    KMEN_REGISTER_UNAVAILABLE /* the database or the gateway failed: nothing written */
} kmen_register_status;

/* Finds or creates the client of a verified login and fills
 * id->client_id, client_status and systems:
 *   a returning citizen - BSI known: one database call, no translation
 *   (status returning); but a client known by BSI alone, once a gateway is
 *   configured, is translated once: the AIFO attached (returning), or the
 *   client merged into the one holding it (linked, merged_from); a failure
 *   there is logged and the login goes on;
 *   a citizen's first login - BSI -> AIFO in KmenLoginAgenda (role
 *   CR102729), AIFO -> AIFO only when KmenRegisterAgenda differs, then one
 *   transaction that links the BSI to the client holding that AIFO (linked:
 *   known from eSSL, say) or creates one (new); with KmenTranslatorURL none,
 *   no translation: a new client known by the BSI alone (new);
 *   a returning foreigner - eIDAS pseudonym known (returning);
 *   a foreigner's first login - unknown pseudonym: a new client when
 *   eidas_accept, else a pending verification (status pending, *pending_id
 *   set, no client yet).
 * Returns KMEN_REGISTER_OK, or UNAVAILABLE when the database or gateway
 * failed; then nothing was written. */
kmen_register_status kmen_register_resolve(kmen_ctx *ctx, kmen_identity *id, int eidas_accept,
                                           const char **pending_id);

/* Kmen-Complete for a pending verification: link NULL makes a new client,
 * else links the pseudonym to that existing client. On success fills
 * id->client_id/status/systems; *outcome says what happened (new, linked,
 * returning, expired, unknown_client, already_linked). KMEN_REGISTER_OK, or
 * UNAVAILABLE. */
kmen_register_status kmen_register_complete(kmen_ctx *ctx, const char *pending_id, const char *link,
                                            kmen_identity *id, const char **outcome);

/* Kmen-Potential-Contact: a potential client from an unofficial contact
 * (values: e-mail, phone, name as given; e-mail or phone required), or the one
 * already known by them. KMEN_REGISTER_OK, REFUSED or UNAVAILABLE. */
kmen_register_status kmen_register_potential(kmen_ctx *ctx, const char *const values[3],
                                             const char **client_id);

/* Kmen-Complete: link=<potential> for a verified login: the login's client
 * merges into the potential one, which keeps its identifier. *outcome:
 * linked, unknown_client, not_potential, conflict. */
kmen_register_status kmen_register_link_potential(kmen_ctx *ctx, const char *current,
                                                  const char *potential, kmen_identity *id,
                                                  const char **outcome);

/* KmenAgenda, when the client first uses a service of that agenda: the
 * client's AIFO in agenda, translated from the register's agenda once and
 * stored; KMEN_REGISTER_OK or UNAVAILABLE. */
kmen_register_status kmen_register_agenda_aifo(kmen_ctx *ctx, const char *client_id,
                                               const char *agenda, const char **aifo);

/* Kmen-Aifo of a location whose agenda is AGENDA (KmenAgenda; NULL: none)
 * for the login ID: *aifo the client's AIFO in it (kmen_register_agenda_aifo),
 * or NULL without an agenda, or for a login that has no AIFO in any agenda (a
 * foreigner, or one the register does not hold). Never logged, in either
 * server. KMEN_REGISTER_OK or UNAVAILABLE (the 503 of both servers). */
kmen_register_status kmen_register_location_aifo(kmen_ctx *ctx, const kmen_identity *id,
                                                 const char *agenda, const char **aifo);

/* A backend's Kmen-Link-System: the system now holds data about the client. */
kmen_register_status kmen_register_link_system(kmen_ctx *ctx, const char *client_id,
                                               const char *system);

#endif
