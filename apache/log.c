/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's log lines, written to httpd's error log: a request's with the
 * suffix every line mod_kmen logs while serving a request ends with. */
#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"

#include "config.h"
#include "log.h"
#include "page.h"

APLOG_USE_MODULE(kmen);

/* The core numbers its levels as httpd does, so that they pass through
 * unchanged: a build where they differ fails here (an array of size -1). */
#define SAME_LEVELS                                                                                \
    (KMEN_LOG_EMERG == APLOG_EMERG && KMEN_LOG_ERR == APLOG_ERR &&                                 \
     KMEN_LOG_WARNING == APLOG_WARNING && KMEN_LOG_NOTICE == APLOG_NOTICE &&                       \
     KMEN_LOG_INFO == APLOG_INFO && KMEN_LOG_DEBUG == APLOG_DEBUG &&                               \
     KMEN_LOG_TRACE1 == APLOG_TRACE1)
typedef char kmen_log_levels_are_httpds[SAME_LEVELS ? 1 : -1];

int kmen_log_httpd_level(kmen_log_level level)
{
    return (int)level;
}

static const char *log_suffix(request_rec *r, kmen_log_level level)
{
    const char *id = kmen_request_id(r);
    if (level > KMEN_LOG_WARNING)
        return apr_pstrcat(r->pool, " [req ", id, "]", NULL);
    /* Errors and warnings say which site they are about: several virtual
     * hosts, each with its own configuration, share one error log. The port
     * the request came in on stands in where the configuration names none,
     * never the client's Host header. */
    const char *vhost = kmen_vhost_name(r->pool, r->server, r->connection->local_addr->port);
    return apr_pstrcat(r->pool, " [vhost ", vhost, "] [req ", id, "]", NULL);
}

void kmen_log_to_request(void *baton, const char *file, int line, kmen_log_level level,
                         const char *message)
{
    request_rec *r = baton;
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, kmen_log_httpd_level(level), 0, r, "%s%s",
                   message, log_suffix(r, level));
}

void kmen_log_to_server(void *baton, const char *file, int line, kmen_log_level level,
                        const char *message)
{
    ap_log_error_(file, line, APLOG_MODULE_INDEX, kmen_log_httpd_level(level), 0, baton, "%s",
                  message);
}

kmen_log_level kmen_log_request_level(const request_rec *r)
{
    int level = ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX);
    /* ap_log_rerror hands every line from notice up to httpd, which decides
     * itself whether to write it: so does the core. */
    if (level < APLOG_NOTICE)
        return KMEN_LOG_NOTICE;
    return level > APLOG_TRACE1 ? KMEN_LOG_TRACE1 : (kmen_log_level)level;
}
