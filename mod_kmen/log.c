/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The suffix of every line mod_kmen logs while serving a request, and the
 * request a thread serves, for the lines of a library's log callback. */
#include "httpd.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "http_log.h"

#include "config.h"
#include "log.h"
#include "page.h"

const char *kmen_log_suffix(request_rec *r, int level)
{
    const char *id = kmen_request_id(r);
    if ((level & APLOG_LEVELMASK) > APLOG_WARNING)
        return apr_pstrcat(r->pool, " [req ", id, "]", NULL);
    /* Errors and warnings say which site they are about: several virtual
     * hosts, each with its own configuration, share one error log. The port
     * the request came in on stands in where the configuration names none,
     * never the client's Host header. */
    const char *vhost = kmen_vhost_name(r->pool, r->server, r->connection->local_addr->port);
    return apr_pstrcat(r->pool, " [vhost ", vhost, "] [req ", id, "]", NULL);
}

/* Per thread: a child serves one request per thread at a time. */
static apr_threadkey_t *serving_key;

void kmen_log_child_init(apr_pool_t *pchild)
{
    if (apr_threadkey_private_create(&serving_key, NULL, pchild) != APR_SUCCESS)
        serving_key = NULL;
}

request_rec *kmen_log_serving(request_rec *r)
{
    request_rec *previous = kmen_log_served();
    if (serving_key)
        apr_threadkey_private_set(r, serving_key);
    return previous;
}

request_rec *kmen_log_served(void)
{
    void *r = NULL;
    if (serving_key)
        apr_threadkey_private_get(&r, serving_key);
    return r;
}
