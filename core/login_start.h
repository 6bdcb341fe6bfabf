/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A login's start, on every server: the start limit, the signed
 * AuthnRequest, the outstanding request stored with the browser's login
 * state. The adapter sets the login-state cookie (core/cookie.h) and sends
 * the browser to NIA. */
#ifndef KMEN_LOGIN_START_H
#define KMEN_LOGIN_START_H

#include "cache.h"
#include "conf.h"
#include "context.h"

/* 1 when CLIENT (its address) has started more than kmen_login_start_limit
 * logins within the last minute: *retry_after, the seconds until it may
 * again (the adapter's Retry-After). Counted in the session cache rather
 * than in PostgreSQL: a refused start then costs no database round trip and
 * writes no WAL, which is the load the limit is there to keep off the
 * database. A cache that cannot count lets the start through: the limit
 * guards the database, it must not lock people out. One warning per client
 * and minute, at the first refusal, so a flood does not flood the log too;
 * the further refusals are logged at info, each with its request ID. */
int kmen_login_start_limited(kmen_ctx *ctx, const kmen_cache *cache, const char *client,
                             int *retry_after);

typedef enum {
    KMEN_LOGIN_START_OK = 0,
    KMEN_LOGIN_START_ERROR,      /* no AuthnRequest could be made (logged): a server error */
    KMEN_LOGIN_START_UNAVAILABLE /* the database did not keep the request */
} kmen_login_start_status;

typedef struct {
    const char *url;        /* NIA's SSO with the signed AuthnRequest (HTTP-Redirect) */
    const char *request_id; /* the AuthnRequest's ID: names the login-state cookie */
    const char *state;      /* the browser's login state, for kmen_session_login_state */
} kmen_login_started;

/* A login that returns to RETURN_TO (a local path the adapter has checked),
 * at what DIR (the settings of the location it returns to) asks for: LoA,
 * SPType, attributes, ForceAuthn, eIDAS. The outstanding request is found
 * again by the login state, 256 random bits of its own, not by the request
 * ID, which travels in the URL to NIA and back. */
kmen_login_start_status kmen_login_begin(kmen_ctx *ctx, const kmen_dir_conf *dir,
                                         const char *return_to, kmen_login_started *out);

#endif
