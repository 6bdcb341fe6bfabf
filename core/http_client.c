/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's HTTP client (http_client.h) on libcurl: a call and a run of
 * calls set up their transfers and read their outcomes alike. */
#include <string.h>

#include <curl/curl.h>

#include "apr_strings.h"

#include "body_buffer.h"
#include "http_client.h"

struct kmen_http_client {
    CURLM *multi;
    int parallel;
};

/* One request under way: where its answer goes. */
typedef struct {
    apr_pool_t *pool;
    const kmen_http_request *req;
    kmen_http_response *resp;
    kmen_body_buffer body; /* so far */
    int too_large;
    struct curl_slist *headers;
    char error[CURL_ERROR_SIZE]; /* libcurl's detailed message */
} transfer;

int kmen_http_library_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t collect(char *chunk, size_t size, size_t n, void *userdata)
{
    transfer *t = userdata;
    if (kmen_body_buffer_append(&t->body, chunk, size * n) != 0) {
        t->too_large = 1;
        return 0; /* fails the transfer */
    }
    return size * n;
}

static void set_tls(CURL *curl, const kmen_http_request *req)
{
    /* libcurl's defaults, spelt out: no request can turn verification off. */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file);
    if (req->cert_file)
        curl_easy_setopt(curl, CURLOPT_SSLCERT, req->cert_file);
    if (req->key_file)
        curl_easy_setopt(curl, CURLOPT_SSLKEY, req->key_file);
}

static void set_post(CURL *curl, transfer *t)
{
    if (t->req->content_type) {
        t->headers = curl_slist_append(
            NULL, apr_pstrcat(t->pool, "Content-Type: ", t->req->content_type, NULL));
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, t->headers);
    }
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, t->req->body);
}

static CURL *easy_for(transfer *t)
{
    const kmen_http_request *req = t->req;
    const char *protocols = req->allow_http ? "https,http" : "https";
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, req->max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long)req->max_redirects);
    /* httpd's and kmenctl's threads: no SIGALRM for the resolver's timeout */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    /* refused at the headers when Content-Length says it already */
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_bytes);
    set_tls(curl, req);
    if (req->body)
        set_post(curl, t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, t);
    return curl;
}

static kmen_http_outcome outcome_of(const transfer *t, CURLcode rc, long status)
{
    switch (rc) {
    case CURLE_OK:
        return status >= 200 && status < 300 ? KMEN_HTTP_OK : KMEN_HTTP_STATUS;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return KMEN_HTTP_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CLIENTCERT:
        return KMEN_HTTP_TLS;
    case CURLE_OPERATION_TIMEDOUT:
        return KMEN_HTTP_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        return KMEN_HTTP_TOO_LARGE;
    default:
        return rc == CURLE_WRITE_ERROR && t->too_large ? KMEN_HTTP_TOO_LARGE : KMEN_HTTP_FAILED;
    }
}

static const char *reason_of(const transfer *t, CURLcode rc)
{
    switch (t->resp->outcome) {
    case KMEN_HTTP_OK:
        return NULL;
    case KMEN_HTTP_STATUS:
        return apr_psprintf(t->pool, "HTTP status %ld", t->resp->status);
    case KMEN_HTTP_TOO_LARGE:
        return apr_psprintf(t->pool, "the answer exceeds %" APR_SIZE_T_FMT " bytes",
                            t->req->max_bytes);
    default:
        return curl_easy_strerror(rc);
    }
}

/* The response from the transfer's end: RC, and STATUS when it answered. */
static void settle(transfer *t, CURLcode rc, long status)
{
    kmen_http_response *resp = t->resp;
    resp->status = rc == CURLE_OK ? status : 0;
    resp->outcome = outcome_of(t, rc, resp->status);
    resp->body = rc == CURLE_OK ? t->body.data : "";
    resp->len = rc == CURLE_OK ? t->body.len : 0;
    resp->reason = reason_of(t, rc);
    /* libcurl's own message says more (which certificate problem, which
     * address); a too large answer is ours to explain. */
    int own = rc == CURLE_OK || resp->outcome == KMEN_HTTP_TOO_LARGE || !t->error[0];
    const char *detail = own ? resp->reason : t->error;
    resp->error = resp->reason ? apr_pstrcat(t->pool, kmen_http_url_for_log(t->pool, t->req->url),
                                             ": ", detail, NULL)
                               : NULL;
    curl_slist_free_all(t->headers);
    t->headers = NULL;
}

static transfer *transfer_make(apr_pool_t *p, const kmen_http_request *req,
                               kmen_http_response *resp)
{
    transfer *t = apr_pcalloc(p, sizeof(*t));
    t->pool = p;
    t->req = req;
    t->resp = resp;
    kmen_body_buffer_init(&t->body, p, 4096, req->max_bytes);
    return t;
}

void kmen_http_call(apr_pool_t *p, const kmen_http_request *req, kmen_http_response *resp)
{
    transfer *t = transfer_make(p, req, resp);
    CURL *curl = easy_for(t);
    long status = 0;
    CURLcode rc = curl ? curl_easy_perform(curl) : CURLE_FAILED_INIT;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    settle(t, rc, status);
    curl_easy_cleanup(curl);
}

static apr_status_t client_cleanup(void *data)
{
    kmen_http_client *client = data;
    curl_multi_cleanup(client->multi);
    return APR_SUCCESS;
}

kmen_http_client *kmen_http_client_create(apr_pool_t *pool, int parallel)
{
    CURLM *multi = curl_multi_init();
    if (!multi)
        return NULL;
    kmen_http_client *client = apr_pcalloc(pool, sizeof(*client));
    client->multi = multi;
    client->parallel = parallel;
    /* the connections it keeps: one per transfer that can run at once */
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
    apr_pool_cleanup_register(pool, client, client_cleanup, apr_pool_cleanup_null);
    return client;
}

/* Adds the request's transfer; one libcurl cannot even begin is settled at
 * once (FAILED, status 0). */
static void start(kmen_http_client *client, transfer *t)
{
    CURL *curl = easy_for(t);
    if (!curl || curl_multi_add_handle(client->multi, curl) != CURLM_OK) {
        settle(t, CURLE_FAILED_INIT, 0);
        curl_easy_cleanup(curl);
    }
}

/* Settles the finished transfers; their connections stay with the client. */
static void reap(kmen_http_client *client)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(client->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv; /* the transfer */
        long status = 0;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (rc == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        settle((transfer *)priv, rc, status);
        curl_multi_remove_handle(client->multi, msg->easy_handle);
        curl_easy_cleanup(msg->easy_handle);
    }
}

void kmen_http_client_run(kmen_http_client *client, apr_pool_t *p, const kmen_http_request *reqs,
                          kmen_http_response *resps, int n)
{
    int next = 0, running = 0, active = 0;
    while (next < n || active > 0) {
        for (; next < n && active < client->parallel; next++, active++)
            start(client, transfer_make(p, &reqs[next], &resps[next]));
        curl_multi_perform(client->multi, &running);
        reap(client);
        active = running; /* every transfer added is running or was just reaped */
        if (running > 0)
            curl_multi_poll(client->multi, NULL, 0, 1000, NULL);
    }
}

const char *kmen_http_url_for_log(apr_pool_t *p, const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *authority = scheme_end ? scheme_end + 3 : url;
    apr_size_t authority_len = strcspn(authority, "/?#");
    const char *host = authority; /* after the last @ of the authority */
    for (apr_size_t i = 0; i < authority_len; i++)
        if (authority[i] == '@')
            host = authority + i + 1;
    const char *path = authority + authority_len;
    return apr_pstrcat(p, apr_pstrmemdup(p, url, (apr_size_t)(authority - url)),
                       apr_pstrmemdup(p, host, (apr_size_t)(path - host + strcspn(path, "?#"))),
                       NULL);
}
