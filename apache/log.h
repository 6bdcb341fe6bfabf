/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mod_kmen's error-log lines: the tag every line starts with, and the
 * suffix every line logged while serving a request ends with. */
#ifndef KMEN_LOG_H
#define KMEN_LOG_H

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"

/* KMEN_LOGNO(0601) -> "KMEN0601: ", mod_kmen's own namespace of tags. The
 * AH numbers of APLOGNO belong to httpd's own modules: httpd hands them out
 * to its next messages, which would then share a tag with mod_kmen's. The
 * number is only stringized, so 0690 need not be an octal constant. */
#define KMEN_LOGNO(n) "KMEN" #n ": "

/* ap_log_rerror for a line logged while serving R: the message, then
 * kmen_log_suffix(R, LEVEL), so that no caller writes the suffix itself.
 * Like ap_log_rerror, it formats nothing when LEVEL is not logged. */
#define kmen_log_request(level, r, ...)                                                            \
    ap_log_rerror(APLOG_MARK, level, 0, r, "%s%s", apr_psprintf((r)->pool, __VA_ARGS__),           \
                  kmen_log_suffix(r, level))

/* " [req ID]": the request ID R's error page shows (kmen_request_id), so
 * that the page a person quotes finds its lines. From warn up, with the
 * virtual host that answered before it: " [vhost NAME:PORT] [req ID]". */
const char *kmen_log_suffix(request_rec *r, int level);

/* lasso logs through a GLib callback that no request is handed to. Around
 * the calls that reach lasso while serving R: previous = kmen_log_serving(R),
 * then kmen_log_serving(previous); kmen_log_served() is R in between, in
 * that thread only, and NULL outside (at startup, for one). */
request_rec *kmen_log_serving(request_rec *r);
request_rec *kmen_log_served(void);

#endif
