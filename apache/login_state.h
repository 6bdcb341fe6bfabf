/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The logins this browser started and NIA has not answered yet: one
 * login-state cookie each, so that logins started in parallel tabs all
 * complete. */
#ifndef KMEN_LOGIN_STATE_H
#define KMEN_LOGIN_STATE_H

#include "httpd.h"

#include "cookie.h"

/* Sets the login-state cookie of the AuthnRequest REQUEST_ID, holding STATE
 * (see kmen_session_login_state), and clears the oldest of this browser's
 * others beyond KMEN_LOGIN_STATE_MAX - 1. */
void kmen_login_state_set(request_rec *r, const char *request_id, const char *state);

/* The login-state cookie NAME of REQUEST (a request_rec), cleared: it is
 * used once (the core's kmen_login_state_taker). */
const char *kmen_login_state_take(void *request, const char *name);

#endif
