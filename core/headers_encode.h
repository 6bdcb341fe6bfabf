/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Header names and values: pure functions, shared by both servers and the tests. */
#ifndef KMEN_HEADERS_ENCODE_H
#define KMEN_HEADERS_ENCODE_H

#include "apr_pools.h"
#include "apr_tables.h"

/* How a value travels in a header (KmenHeaderEncoding): percent encodes every
 * byte outside printable ASCII and '%' itself (UTF-8, decodable by any URL
 * decoder); base64url encodes the whole value; raw keeps the bytes, minus
 * control characters, which could split a header. */
const char *kmen_header_encode(apr_pool_t *p, const char *value, int encoding);

/* Would a backend take this incoming header name for one of ours? Compared
 * after folding case and '_' to '-', as CGI and many frameworks do. */
int kmen_header_is_spoofable(const char *name, const char *prefix);

/* Has T a name starting with PREFIX (case folded)? One pass, so that the
 * many requests with none skip the per-name lookups. */
int kmen_header_table_has_prefix(const apr_table_t *t, const char *prefix);

/* The Cache-Control of a response to an authenticated request, one
 * person's page, which a shared cache (mod_cache, nginx's proxy_cache, a
 * proxy in front) must not hand to anyone else: NULL when CC (NULL: the
 * response has none) says private or no-store itself and stays, else
 * "private" followed by CC's directives but public and s-maxage. */
const char *kmen_cache_control_private(apr_pool_t *p, const char *cc);

#endif
