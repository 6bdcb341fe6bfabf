/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cross-border evidence on nginx, as httpd's mod_kmen answers it: the
 * evidence service's callback and the document handed out as a download.
 * What is checked, stored and opened is the core's (evidence_delivery.h). */
#ifndef KMEN_NGX_EVIDENCE_H
#define KMEN_NGX_EVIDENCE_H

#include "directives.h"

/* POST <kmen_endpoint_path>/evidence: the callback, signed with
 * Kmen-Evidence-Signature under kmen_evidence_secret_file. A signature that
 * is missing, malformed or stale is refused (401) before the body is read;
 * the body is read without blocking the worker, at most
 * KMEN_EVIDENCE_BODY_LIMIT (413 beyond), then its HMAC checked and the
 * document stored: 204, or the status of kmen_evidence_answer. */
ngx_int_t kmen_ngx_evidence_callback(ngx_http_request_t *r, const kmen_server_conf *c);

/* GET <kmen_endpoint_path>/evidence/<id>: the document, to a session of its
 * client only (404 to anyone else), as a sandboxed download. */
ngx_int_t kmen_ngx_evidence_document(ngx_http_request_t *r, const kmen_server_conf *c);

#endif
