/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every outbound HTTP call of mod_kmen and kmenctl: NIA's metadata
 * (apache/metadata_fetch.c), the translation gateway at login (translate.c)
 * and kmenctl's bulk gateway calls (kmenctl/gateway.c). One request at a
 * time on its own connection (kmen_http_call), or many over connections a
 * client keeps between runs (kmen_http_client_run). TLS peers are always
 * verified. */
#ifndef KMEN_HTTP_CLIENT_H
#define KMEN_HTTP_CLIENT_H

#include "apr_pools.h"

/* Once per process, before threads start; -1 when libcurl cannot start. */
int kmen_http_library_init(void);

typedef struct {
    const char *url;
    const char *body;         /* a POST of this; NULL: a GET */
    const char *content_type; /* the POST's Content-Type */
    long timeout_ms;          /* the whole call; must be > 0 */
    apr_size_t max_bytes;     /* a longer answer fails the call */
    int allow_http;           /* 0: https:// only */
    int max_redirects;        /* 0: a 3xx is the answer, not followed */
    const char *ca_file;      /* NULL: the system's CAs */
    const char *cert_file;    /* client certificate (mutual TLS), or NULL */
    const char *key_file;     /* its key, NULL: in cert_file */
} kmen_http_request;

typedef enum {
    KMEN_HTTP_OK = 0,    /* a 2xx answer */
    KMEN_HTTP_STATUS,    /* an answer of another status */
    KMEN_HTTP_CONNECT,   /* no connection: name, refused, unreachable */
    KMEN_HTTP_TLS,       /* the TLS handshake or the peer's certificate */
    KMEN_HTTP_TIMEOUT,   /* no complete answer within timeout_ms */
    KMEN_HTTP_TOO_LARGE, /* more than max_bytes */
    KMEN_HTTP_FAILED     /* anything else (a bad URL, a refused protocol...) */
} kmen_http_outcome;

typedef struct {
    kmen_http_outcome outcome;
    long status;      /* the answer's status; 0: no complete answer */
    const char *body; /* NUL-terminated, from the call's pool; "" without one */
    apr_size_t len;
    /* Unless OK: what failed, in a few stable words ("Couldn't connect to
     * server", "Timeout was reached", "HTTP status 503", ...); and the URL
     * without its credentials and query, then what failed as libcurl tells
     * it in full (which address, which certificate problem). The body is
     * never in them. */
    const char *reason;
    const char *error;
} kmen_http_response;

/* One request on a connection of its own; the answer in P. */
void kmen_http_call(apr_pool_t *p, const kmen_http_request *req, kmen_http_response *resp);

/* Many requests, up to PARALLEL at a time, keeping connections (keep-alive,
 * TLS sessions) from one run to the next; freed with POOL. */
typedef struct kmen_http_client kmen_http_client;
kmen_http_client *kmen_http_client_create(apr_pool_t *pool, int parallel);
/* The N requests; resps[i] answers reqs[i], from P. */
void kmen_http_client_run(kmen_http_client *client, apr_pool_t *p, const kmen_http_request *reqs,
                          kmen_http_response *resps, int n);

/* URL without user:password@, query and fragment: fit for a log. */
const char *kmen_http_url_for_log(apr_pool_t *p, const char *url);

#endif
