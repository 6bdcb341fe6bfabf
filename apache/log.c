/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The suffix of every line mod_kmen logs while serving a request, and the
 * request a thread serves, for the lines of a library's log callback. */
#include "httpd.h"
#include "apr_strings.h"
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

/* Per thread, as saml.c keeps lasso's error mark: a thread serves one
 * request at a time. */
static __thread request_rec *serving;

request_rec *kmen_log_serving(request_rec *r)
{
    request_rec *previous = serving;
    serving = r;
    return previous;
}

request_rec *kmen_log_served(void)
{
    return serving;
}
