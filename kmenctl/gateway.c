/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The translation gateway's transport for kmenctl: the core's HTTP client,
 * one for the whole run, so that its connections are kept (keep-alive, TLS
 * sessions reused), with mutual TLS as core/translate.c has it. Bodies are
 * never printed: they hold names and AIFO. */
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "gateway.h"

struct kmenctl_gateway {
    apr_pool_t *pool; /* the client's: gone at kmenctl_gateway_close */
    const char *url, *cert, *key, *ca;
    kmen_http_client *client;
};

static int option_usage(const char *command, const kmenctl_args *args, int *usage)
{
    *usage = 0;
    if (!args->gateway && (args->gateway_cert || args->gateway_key || args->gateway_ca))
        *usage = kmenctl_usage_error(command, "--gateway-cert, -key and -ca need --gateway URL");
    else if (args->gateway && strncmp(args->gateway, "https://", 8) != 0)
        *usage = kmenctl_usage_error(command, "--gateway must be an https:// URL");
    else if (args->gateway && !args->gateway_cert)
        *usage = kmenctl_usage_error(command, "--gateway needs --gateway-cert (mutual TLS)");
    return *usage;
}

kmenctl_gateway *kmenctl_gateway_open(apr_pool_t *p, const char *command, const kmenctl_args *args,
                                      int *usage)
{
    apr_pool_t *pool;
    if (option_usage(command, args, usage) || !args->gateway)
        return NULL;
    apr_pool_create(&pool, p);
    kmen_http_client *client =
        kmen_http_library_init() ? NULL : kmen_http_client_create(pool, KMENCTL_GATEWAY_PARALLEL);
    if (!client) {
        kmenctl_fail("cannot initialise libcurl");
        apr_pool_destroy(pool);
        return NULL;
    }
    kmenctl_gateway *gw = apr_pcalloc(pool, sizeof(*gw));
    gw->pool = pool;
    gw->url = args->gateway;
    gw->cert = args->gateway_cert;
    gw->key = args->gateway_key;
    gw->ca = args->gateway_ca;
    gw->client = client;
    return gw;
}

void kmenctl_gateway_close(kmenctl_gateway *gw)
{
    if (gw)
        apr_pool_destroy(gw->pool);
}

void kmenctl_gateway_run(kmenctl_gateway *gw, apr_pool_t *p, kmenctl_gateway_call *calls, int n)
{
    kmen_http_request *reqs = apr_pcalloc(p, sizeof(*reqs) * (size_t)n);
    kmen_http_response *answers = apr_palloc(p, sizeof(*answers) * (size_t)n);
    for (int i = 0; i < n; i++) {
        reqs[i].url = apr_pstrcat(p, gw->url, calls[i].path, NULL);
        reqs[i].body = calls[i].body;
        reqs[i].content_type = calls[i].body ? "application/json" : NULL;
        reqs[i].timeout_ms = KMENCTL_GATEWAY_TIMEOUT * 1000L;
        reqs[i].max_bytes = KMENCTL_GATEWAY_ANSWER_MAX;
        reqs[i].ca_file = gw->ca;
        reqs[i].cert_file = gw->cert;
        reqs[i].key_file = gw->key;
    }
    kmen_http_client_run(gw->client, p, reqs, answers, n);
    for (int i = 0; i < n; i++)
        calls[i].answer = answers[i];
}

void kmenctl_gateway_call_clear(kmenctl_gateway_call *call)
{
    free(call->body);
    call->body = NULL;
}

const char *kmenctl_gateway_failure(apr_pool_t *p, const kmenctl_gateway_call *call)
{
    const char *path = apr_pstrndup(p, call->path, strcspn(call->path, "?"));
    if (call->answer.status)
        return apr_psprintf(p, "gateway %s answered %ld", path, call->answer.status);
    return apr_psprintf(p, "gateway %s failed: %s", path, call->answer.error);
}
