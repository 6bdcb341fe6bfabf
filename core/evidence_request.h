/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cross-border evidence asked for by a backend (Kmen-Evidence-Request), and
 * the states of a client's requests (Kmen-Evidence). */
#ifndef KMEN_EVIDENCE_REQUEST_H
#define KMEN_EVIDENCE_REQUEST_H

#include "context.h"
#include "session.h"

/* "type=<t>; country=<CC>": 0 unless both are well formed (a type of 1 to
 * 64 letters, digits and ._:-, a country of two capitals). */
int kmen_evidence_request_parse(apr_pool_t *p, const char *value, const char **type,
                                const char **country);

/* Records the request VALUE of session S (or NULL) and returns where to
 * send the person (KmenEvidenceURL with request, type, country and the
 * page to return to: REQUEST_URI, the path and query asked for, under the
 * SP's base URL), or NULL when it is ignored (logged) or the store failed. */
const char *kmen_evidence_request(kmen_ctx *ctx, const kmen_session *s, const char *value,
                                  const char *request_uri);

/* Kmen-Evidence for a session that asked for evidence: "<id>=<state>, …" in
 * *states, NULL for any other; DOWN when the store failed. */
kmen_store_status kmen_evidence_states(kmen_ctx *ctx, const kmen_session *s, const char **states);

#endif
