/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a backend is told of a session, on every server: the identity's
 * headers (named with KmenHeaderPrefix, encoded by KmenHeaderEncoding) and
 * their environment twins, a location's Kmen-Aifo and Kmen-Evidence, and
 * Kmen-Signature when KmenHeaderSecretFile is set. Each server puts them
 * into its request (apache/headers.c, nginx/access.c). */
#ifndef KMEN_HEADER_SET_H
#define KMEN_HEADER_SET_H

#include "apr_tables.h"
#include "apr_time.h"

#include "conf.h"
#include "identity.h"

typedef struct {
    const char *name, *value;    /* the header, its value encoded */
    const char *env, *env_value; /* its environment twin (KMEN_*), the value raw */
    /* measured once with the set, for a server whose header tables take lengths and the
     * lower-case name (nginx): not per request */
    apr_size_t name_len, value_len;
    const char *name_lower;
    /* the lower-case name's hash as nginx indexes a request's headers by it
     * (ngx_hash_key: h = h * 31 + c over the bytes) */
    unsigned long name_hash;
} kmen_header;

/* The identity's headers encoded once in P: an opened session keeps them
 * while a process memoises it (kmen_session's headers). */
typedef struct kmen_header_set kmen_header_set;
kmen_header_set *kmen_headers_prepare(apr_pool_t *p, const kmen_server_conf *conf,
                                      const kmen_identity *identity);

/* The headers (kmen_header) of one request: SET's, then Aifo when AIFO is
 * given (a KmenAgenda location), Evidence when EVIDENCE is, and last the
 * Signature over all of them at TIME (the request's) when CONF has a header
 * secret. */
apr_array_header_t *kmen_headers_of_request(apr_pool_t *p, const kmen_server_conf *conf,
                                            const kmen_header_set *set, const char *aifo,
                                            const char *evidence, apr_time_t time);

#endif
