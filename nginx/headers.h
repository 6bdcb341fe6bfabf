/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What an upstream sees of a request (proxy_pass, fastcgi_pass, ...): the
 * incoming headers that could spoof ours removed, ours set. */
#ifndef KMEN_NGX_HEADERS_H
#define KMEN_NGX_HEADERS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "apr_tables.h"

/* Removes from R's headers every one a backend could take for one of ours
 * (kmen_header_is_spoofable with PREFIX): the upstream modules forward the
 * list, so they are dropped from it. NGX_OK or NGX_ERROR (no memory). */
ngx_int_t kmen_ngx_headers_strip(ngx_http_request_t *r, const char *prefix);

/* HEADERS (kmen_header, core/header_set.h) added to R's headers: they live
 * at least as long as R's pool. NGX_OK or NGX_ERROR. */
ngx_int_t kmen_ngx_headers_add(ngx_http_request_t *r, const apr_array_header_t *headers);

#endif
