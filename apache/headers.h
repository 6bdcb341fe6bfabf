/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the backend sees: spoofed headers removed, ours set. */
#ifndef KMEN_HEADERS_H
#define KMEN_HEADERS_H

#include "httpd.h"

#include "config.h"
#include "identity.h"

/* Removes every incoming header a backend could take for ours. Runs on every
 * request, protected or not. */
void kmen_headers_strip(request_rec *r);

/* The identity's headers (prefix from KmenHeaderPrefix) and KMEN_* env vars,
 * encoded once in P: an opened session keeps them while it is memoised. */
typedef struct kmen_header_set kmen_header_set;
kmen_header_set *kmen_headers_prepare(apr_pool_t *p, const kmen_server_conf *conf,
                                      const kmen_identity *identity);

/* Sets SET in the request, Kmen-Aifo when aifo is given (a KmenAgenda
 * location), Kmen-Evidence when evidence is, and Kmen-Signature when
 * KmenHeaderSecretFile is set. */
void kmen_headers_set(request_rec *r, const kmen_header_set *set, const char *aifo,
                      const char *evidence);

#endif
