/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cross-border evidence through the single digital gateway: httpd's
 * endpoints. A backend's Kmen-Evidence-Request and Kmen-Evidence are the
 * core's (evidence_request.h). */
#ifndef KMEN_EVIDENCE_H
#define KMEN_EVIDENCE_H

#include "httpd.h"

#include "session.h"

/* POST /kmen/evidence: the evidence service's signed callback. */
int kmen_evidence_callback(request_rec *r);

/* GET /kmen/evidence/<id>: the document, to its own client's session only. */
int kmen_evidence_document(request_rec *r, const kmen_session *s, const char *id);

#endif
