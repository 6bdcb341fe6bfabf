/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The commands a backend sends in its response headers (docs/headers.md,
 * "Response headers": Kmen-Complete, Kmen-Link-System,
 * Kmen-Potential-Contact, Kmen-Evidence-Request), on nginx as httpd's
 * output filter (apache/backend_filter.c) takes them: a header filter reads
 * them out of an upstream's answer (proxy_pass, fastcgi_pass, ...), the
 * core decides and applies them (core/backend.h), and the answer is the
 * core's outcome: the backend's, or instead a 409 or 503 page or a 303 to
 * the evidence service, the backend's body then dropped by the body
 * filter. Whatever the outcome, and on every answer of a server{} with an
 * SP, no command reaches the browser. */
#ifndef KMEN_NGX_BACKEND_COMMANDS_H
#define KMEN_NGX_BACKEND_COMMANDS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

/* postconfiguration: the header and body filters. */
ngx_int_t kmen_ngx_backend_commands_init(ngx_conf_t *cf);

#endif
