/* SPDX-License-Identifier: GPL-2.0-or-later */
/* <kmen_endpoint_path>/health on nginx, as httpd's /kmen/health answers. */
#ifndef KMEN_NGX_HEALTH_H
#define KMEN_NGX_HEALTH_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "conf.h"

/* The core's report (health_report.h) as JSON: 200 while the node can log
 * people in ("ok" or "degraded"), 503 ("unavailable") when its database
 * does not answer or NIA's metadata cannot be used. */
ngx_int_t kmen_ngx_health(ngx_http_request_t *r, const kmen_server_conf *c);

#endif
