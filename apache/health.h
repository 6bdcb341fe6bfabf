/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /kmen/health on httpd, and what it and the status page say of the IdP
 * metadata (the report is the core's: health_report.h). */
#ifndef KMEN_HEALTH_H
#define KMEN_HEALTH_H

#include "httpd.h"

#include "config.h"
#include "health_report.h"

/* C's IdP metadata at NOW, with its KmenIdPMetadataURL's last fetch. */
void kmen_idp_health_get(apr_pool_t *p, const kmen_server_conf *c, apr_time_t now,
                         kmen_idp_health *out);
/* The IdP metadata's state as rows of an HTML table (the status page). */
const char *kmen_idp_health_html(apr_pool_t *p, const kmen_server_conf *c,
                                 const kmen_idp_health *h);

/* GET /kmen/health: JSON; 503 when the node cannot log anyone in. */
int kmen_health_handler(request_rec *r);

#endif
