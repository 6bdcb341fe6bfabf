/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The translation gateway as kmenctl reaches it (docs/gateway.md): the
 * transport, with mutual TLS, keep-alive and up to KMENCTL_GATEWAY_PARALLEL
 * calls at a time (gateway.c), and the three calls kmenctl makes:
 * /identify, /subscribe and /changes (gateway_calls.c). */
#ifndef KMENCTL_GATEWAY_H
#define KMENCTL_GATEWAY_H

#include <jansson.h>

#include "http_client.h"
#include "kmenctl.h"

#define KMENCTL_GATEWAY_PARALLEL 8
#define KMENCTL_GATEWAY_TIMEOUT 30L          /* seconds per call */
#define KMENCTL_GATEWAY_ANSWER_MAX (4 << 20) /* bytes of one answer */

typedef struct kmenctl_gateway kmenctl_gateway;

/* One call: path (with its query for a GET), the JSON body of a POST (NULL:
 * a GET); after kmenctl_gateway_run, the answer: its status (0: none, its
 * error says why) and body. */
typedef struct {
    const char *path;
    char *body; /* freed by kmenctl_gateway_call_clear */
    kmen_http_response answer;
} kmenctl_gateway_call;

/* The options --gateway, --gateway-cert, --gateway-key, --gateway-ca: NULL
 * when --gateway is not given; on a usage error *usage is KMENCTL_USAGE. */
kmenctl_gateway *kmenctl_gateway_open(apr_pool_t *p, const char *command, const kmenctl_args *args,
                                      int *usage);
/* Runs the n calls, at most KMENCTL_GATEWAY_PARALLEL at a time, reusing
 * connections; their answers from p. Each call's own outcome is in its answer. */
void kmenctl_gateway_run(kmenctl_gateway *gw, apr_pool_t *p, kmenctl_gateway_call *calls, int n);
void kmenctl_gateway_call_clear(kmenctl_gateway_call *call);
/* "gateway /path answered 503" or "gateway /path failed: URL: reason", for an error
 * message. */
const char *kmenctl_gateway_failure(apr_pool_t *p, const kmenctl_gateway_call *call);
void kmenctl_gateway_close(kmenctl_gateway *gw);

/* gateway_calls.c. A POST of body (consumed) to path. */
kmenctl_gateway_call kmenctl_gateway_post(const char *path, json_t *body);

typedef enum {
    KMENCTL_IDENTIFIED, /* *aifo is the person's AIFO */
    KMENCTL_NOT_FOUND,  /* 404: nobody matches */
    KMENCTL_AMBIGUOUS,  /* 409: several people match */
    KMENCTL_OUTAGE      /* anything else: the gateway failed */
} kmenctl_identity;

typedef struct {
    const char *family_name, *given_name, *birth_date, *address; /* address may be NULL */
} kmenctl_person;

kmenctl_gateway_call kmenctl_identify_call(const char *agenda, const kmenctl_person *person);
/* The outcome of an identify call; *aifo (allocated from p) when identified. */
kmenctl_identity kmenctl_identified(apr_pool_t *p, const kmenctl_gateway_call *call,
                                    const char **aifo);
kmenctl_gateway_call kmenctl_subscribe_call(const char *agenda, const char *aifo);
/* A GET of the changes after cursor; path allocated from p. */
kmenctl_gateway_call kmenctl_changes_call(apr_pool_t *p, const char *agenda, const char *cursor);

#endif
