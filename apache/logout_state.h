/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The logout this browser started: which LogoutRequest went to NIA, and
 * where the person goes when NIA answers it. */
#ifndef KMEN_LOGOUT_STATE_H
#define KMEN_LOGOUT_STATE_H

#include "httpd.h"

#include "store_pg.h"

/* Sets the browser's logout-state cookie for the LogoutRequest REQUEST_ID,
 * to end on RETURN_TO (a local path). */
void kmen_logout_state_set(request_rec *r, const char *request_id, const char *return_to);

/* The logout that a LogoutResponse with IN_RESPONSE_TO answers, taken once:
 * OK and *return_to when this browser started it, unexpired and not taken
 * before (on any node); NOT_FOUND and *why otherwise; DOWN. The cookie is
 * cleared unless it names another request than IN_RESPONSE_TO. */
kmen_store_status kmen_logout_state_take(request_rec *r, const char *in_response_to,
                                         const char **return_to, const char **why);

#endif
