/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The translation gateway's transport for kmenctl: libcurl's multi interface,
 * one connection cache for the whole run (keep-alive, TLS sessions reused),
 * mutual TLS as apache/translate.c does it. Bodies are never printed: they
 * hold names and AIFO. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "apr_strings.h"

#include "gateway.h"

struct kmenctl_gateway {
    const char *url, *cert, *key, *ca;
    CURLM *multi;
    struct curl_slist *headers;
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
    if (option_usage(command, args, usage) || !args->gateway)
        return NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        kmenctl_fail("cannot initialise libcurl");
        return NULL;
    }
    kmenctl_gateway *gw = apr_pcalloc(p, sizeof(*gw));
    gw->url = args->gateway;
    gw->cert = args->gateway_cert;
    gw->key = args->gateway_key;
    gw->ca = args->gateway_ca;
    gw->multi = curl_multi_init();
    gw->headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_multi_setopt(gw->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)KMENCTL_GATEWAY_PARALLEL);
    return gw;
}

void kmenctl_gateway_close(kmenctl_gateway *gw)
{
    if (!gw)
        return;
    curl_multi_cleanup(gw->multi);
    curl_slist_free_all(gw->headers);
    curl_global_cleanup();
}

static size_t collect(char *data, size_t size, size_t count, void *userdata)
{
    kmenctl_gateway_call *call = userdata;
    size_t n = size * count;
    if (call->answer_len + n > KMENCTL_GATEWAY_ANSWER_MAX)
        return 0; /* fails the call: CURLE_WRITE_ERROR */
    char *grown = realloc(call->answer, call->answer_len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + call->answer_len, data, n);
    call->answer = grown;
    call->answer_len += n;
    grown[call->answer_len] = '\0';
    return n;
}

static CURL *easy_for(kmenctl_gateway *gw, kmenctl_gateway_call *call, char *url)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, KMENCTL_GATEWAY_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_SSLCERT, gw->cert);
    if (gw->key)
        curl_easy_setopt(curl, CURLOPT_SSLKEY, gw->key);
    if (gw->ca)
        curl_easy_setopt(curl, CURLOPT_CAINFO, gw->ca);
    if (call->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, gw->headers);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, call->error);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, call);
    return curl;
}

/* Adds the call's transfer; when libcurl cannot even begin it, the call has
 * failed (status 0, error set) and is not added. */
static void start(kmenctl_gateway *gw, apr_pool_t *p, kmenctl_gateway_call *call)
{
    call->status = 0;
    call->error[0] = '\0';
    CURL *curl = easy_for(gw, call, apr_pstrcat(p, gw->url, call->path, NULL));
    if (!curl || curl_multi_add_handle(gw->multi, curl) != CURLM_OK) {
        apr_cpystrn(call->error, "cannot start a transfer", sizeof(call->error));
        curl_easy_cleanup(curl);
    }
}

/* Collects the finished transfers. */
static void reap(kmenctl_gateway *gw)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(gw->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        kmenctl_gateway_call *call;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        if (msg->data.result == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &call->status);
        else if (!call->error[0])
            apr_cpystrn(call->error, curl_easy_strerror(msg->data.result), sizeof(call->error));
        curl_multi_remove_handle(gw->multi, msg->easy_handle);
        curl_easy_cleanup(msg->easy_handle);
    }
}

void kmenctl_gateway_run(kmenctl_gateway *gw, kmenctl_gateway_call *calls, int n)
{
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    int next = 0, running = 0, active = 0;
    while (next < n || active > 0) {
        while (next < n && active < KMENCTL_GATEWAY_PARALLEL) {
            start(gw, p, &calls[next++]);
            active++;
        }
        curl_multi_perform(gw->multi, &running);
        reap(gw);
        active = running; /* every transfer added is running or was just reaped */
        if (running > 0)
            curl_multi_poll(gw->multi, NULL, 0, 1000, NULL);
    }
    apr_pool_destroy(p);
}

void kmenctl_gateway_call_clear(kmenctl_gateway_call *call)
{
    free(call->body);
    free(call->answer);
    call->body = call->answer = NULL;
    call->answer_len = 0;
}

const char *kmenctl_gateway_failure(apr_pool_t *p, const kmenctl_gateway_call *call)
{
    const char *path = apr_pstrndup(p, call->path, strcspn(call->path, "?"));
    if (call->status)
        return apr_psprintf(p, "gateway %s answered %ld", path, call->status);
    return apr_psprintf(p, "gateway %s failed: %s", path, call->error);
}
