/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_cache_control_private (KmenCacheControlPrivate, on by default): the
 * response to a request the access phase let through for a session is one
 * person's page, marked Cache-Control private as httpd's output filter
 * marks it (core/headers_encode.h), so that no shared cache (proxy_cache, a
 * proxy in front) hands it to anyone else. */
#ifndef KMEN_NGX_CACHE_PRIVATE_H
#define KMEN_NGX_CACHE_PRIVATE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

/* postconfiguration: the header filter. */
ngx_int_t kmen_ngx_cache_private_init(ngx_conf_t *cf);

#endif
