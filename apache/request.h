/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What mod_kmen keeps about one request (its request_config): the core's
 * context for it, and the session authenticated for it. */
#ifndef KMEN_REQUEST_H
#define KMEN_REQUEST_H

#include "httpd.h"

#include "context.h"
#include "session.h"

/* R's context, made at the first call: R's pool, its server's
 * configuration, its ID, its lines to httpd's error log. Every core call
 * about R takes it. */
kmen_ctx *kmen_request_ctx(request_rec *r);

/* The session authenticated for this request, its main request (subrequests)
 * or the request it was internally redirected from. */
const kmen_session *kmen_request_session(const request_rec *r);
void kmen_request_set_session(request_rec *r, const kmen_session *s);

#endif
