/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The logins this browser started and NIA has not answered yet: one
 * login-state cookie each, so that logins started in parallel tabs all
 * complete. */
#ifndef KMEN_LOGIN_STATE_H
#define KMEN_LOGIN_STATE_H

#include "httpd.h"

#define KMEN_LOGIN_STATE_TTL 600 /* seconds a started login may take at the IdP */
#define KMEN_LOGIN_STATE_MAX 4   /* outstanding logins a browser keeps; the oldest go */

/* Sets the login-state cookie of the AuthnRequest REQUEST_ID, holding STATE
 * (see kmen_session_login_state), and clears the oldest of this browser's
 * others beyond KMEN_LOGIN_STATE_MAX - 1. */
void kmen_login_state_set(request_rec *r, const char *request_id, const char *state);

/* The state of the login a Response with IN_RESPONSE_TO answers, from this
 * browser's cookie for that request (cleared: it is used once), or NULL;
 * *previous as kmen_session_login_state_of gives it. */
const char *kmen_login_state_take(request_rec *r, const char *in_response_to,
                                  const char **previous);

#endif
