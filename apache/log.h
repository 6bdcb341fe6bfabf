/* SPDX-License-Identifier: GPL-2.0-or-later */
/* httpd's side of the core's log (core/context.h): the sinks that write a
 * request's lines to httpd's error log, each ending with the suffix every
 * line logged while serving a request ends with, and a server's. */
#ifndef KMEN_LOG_H
#define KMEN_LOG_H

#include "httpd.h"

#include "context.h"

/* The sink of a request's context; BATON is the request_rec. Its lines end
 * with " [req ID]", the request ID R's error page shows (kmen_request_id),
 * so that the page a person quotes finds its lines; from warn up, with the
 * virtual host that answered before it: " [vhost NAME:PORT] [req ID]". */
void kmen_log_to_request(void *baton, const char *file, int line, kmen_log_level level,
                         const char *message);

/* The sink of a context outside any request (the metadata fetcher's);
 * BATON is the server_rec the lines are about. */
void kmen_log_to_server(void *baton, const char *file, int line, kmen_log_level level,
                        const char *message);

/* The most verbose level httpd logs for R now (LogLevel, per module and per
 * <Location>), as the core's level. */
kmen_log_level kmen_log_request_level(const request_rec *r);

/* httpd's level of the core's LEVEL. */
int kmen_log_httpd_level(kmen_log_level level);

#endif
