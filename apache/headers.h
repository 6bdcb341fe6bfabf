/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the backend sees: spoofed headers removed, ours set. */
#ifndef KMEN_HEADERS_H
#define KMEN_HEADERS_H

#include "httpd.h"

#include "config.h"
#include "header_set.h"

/* Removes every incoming header a backend could take for ours. Runs on every
 * request, protected or not. */
void kmen_headers_strip(request_rec *r);

/* Sets SET in the request's headers and environment, Kmen-Aifo when aifo
 * is given (a KmenAgenda location), Kmen-Evidence when evidence is, and
 * Kmen-Signature when KmenHeaderSecretFile is set (kmen_headers_of_request). */
void kmen_headers_set(request_rec *r, const kmen_header_set *set, const char *aifo,
                      const char *evidence);

#endif
