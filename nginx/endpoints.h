/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The endpoints under kmen_endpoint_path, served in the location that says
 * kmen_endpoints (location /kmen/ { kmen_endpoints; }). */
#ifndef KMEN_NGX_ENDPOINTS_H
#define KMEN_NGX_ENDPOINTS_H

#include "directives.h"

/* kmen_endpoints: this location's content handler answers the endpoints. */
char *kmen_ngx_set_endpoints(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* NULL, or the refusal of a kmen_endpoints in server{} S that cannot serve
 * them: S has no SP, or the location is not below kmen_endpoint_path (the
 * metadata would send NIA elsewhere). S merged, defaults applied. */
const char *kmen_ngx_endpoints_check(const kmen_ngx_srv_conf *s);

#endif
