/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client register's use cases over the store and the translation gateway. */
#ifndef KMEN_REGISTER_H
#define KMEN_REGISTER_H

#include "httpd.h"

#include "identity.h"

/* Finds or creates the client of a verified NIA login and fills
 * id->client_id, client_status and systems:
 *   UC3 - BSI known: one database call, no translation (status returning);
 *   UC1/UC2 - BSI -> AIFO in KmenLoginAgenda (role CR102729), AIFO -> AIFO
 *   only when KmenRegisterAgenda differs, then one transaction that links the
 *   BSI to the client holding that AIFO (linked) or creates one (new).
 * Returns OK, or HTTP_SERVICE_UNAVAILABLE when the database or gateway
 * failed; then nothing was written. */
int kmen_register_resolve(request_rec *r, kmen_identity *id);

/* UC1 step 7: the client's AIFO in agenda, translated from the register's
 * agenda once and stored; OK or HTTP_SERVICE_UNAVAILABLE. */
int kmen_register_agenda_aifo(request_rec *r, const char *client_id, const char *agenda,
                              const char **aifo);

/* A backend's Kmen-Link-System: the system now holds data about the client. */
int kmen_register_link_system(request_rec *r, const char *client_id, const char *system);

#endif
