/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client register at login and at a backend's request, over the store
 * and the translation gateway (docs/register.md). */
#ifndef KMEN_REGISTER_H
#define KMEN_REGISTER_H

#include "httpd.h"

#include "identity.h"

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
 * Returns OK, or HTTP_SERVICE_UNAVAILABLE when the database or gateway
 * failed; then nothing was written. */
int kmen_register_resolve(request_rec *r, kmen_identity *id, int eidas_accept,
                          const char **pending_id);

/* Kmen-Complete for a pending verification: link NULL makes a new client,
 * else links the pseudonym to that existing client. On success fills
 * id->client_id/status/systems; *outcome says what happened (new, linked,
 * returning, expired, unknown_client, already_linked). OK, or
 * HTTP_SERVICE_UNAVAILABLE. */
int kmen_register_complete(request_rec *r, const char *pending_id, const char *link,
                           kmen_identity *id, const char **outcome);

/* Kmen-Potential-Contact: a potential client from an unofficial contact
 * (values: e-mail, phone, name as given; e-mail or phone required), or the one
 * already known by them. OK, HTTP_BAD_REQUEST or HTTP_SERVICE_UNAVAILABLE. */
int kmen_register_potential(request_rec *r, const char *const values[3], const char **client_id);

/* Kmen-Complete: link=<potential> for a verified login: the login's client
 * merges into the potential one, which keeps its identifier. *outcome:
 * linked, unknown_client, not_potential, conflict. */
int kmen_register_link_potential(request_rec *r, const char *current, const char *potential,
                                 kmen_identity *id, const char **outcome);

/* KmenAgenda, when the client first uses a service of that agenda: the
 * client's AIFO in agenda, translated from the register's agenda once and
 * stored; OK or HTTP_SERVICE_UNAVAILABLE. */
int kmen_register_agenda_aifo(request_rec *r, const char *client_id, const char *agenda,
                              const char **aifo);

/* A backend's Kmen-Link-System: the system now holds data about the client. */
int kmen_register_link_system(request_rec *r, const char *client_id, const char *system);

#endif
