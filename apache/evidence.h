/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Evidence requested across borders through the single digital gateway:
 * httpd's side. What the callback checks, stores and opens is the core's
 * (evidence_delivery.h). */
#ifndef KMEN_EVIDENCE_H
#define KMEN_EVIDENCE_H

#include "httpd.h"

#include "session.h"

/* A backend's Kmen-Evidence-Request "type=<t>; country=<CC>": records it and
 * returns where to send the person (KmenEvidenceURL with request, type,
 * country and return), or NULL when it is ignored. */
const char *kmen_evidence_request(request_rec *r, const kmen_session *s, const char *value);

/* Kmen-Evidence for a session that asked for evidence: "<id>=<state>, …". */
int kmen_evidence_states(request_rec *r, const kmen_session *s, const char **states);

/* POST /kmen/evidence: the evidence service's signed callback. */
int kmen_evidence_callback(request_rec *r);

/* GET /kmen/evidence/<id>: the document, to its own client's session only. */
int kmen_evidence_document(request_rec *r, const kmen_session *s, const char *id);

#endif
