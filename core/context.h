/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The context every core call made while serving a request takes, in place
 * of a server's request: the pool the answers live in, the server
 * configuration, the request ID and where log lines go. A server adapter
 * (apache/log.c for httpd) makes one per request and plugs in its log. */
#ifndef KMEN_CONTEXT_H
#define KMEN_CONTEXT_H

#include "apr_pools.h"

#include "conf.h"

/* KMEN_LOGNO(0601) -> "KMEN0601: ", mod_kmen's own namespace of tags. The
 * AH numbers of httpd's APLOGNO belong to httpd's own modules: httpd hands
 * them out to its next messages, which would then share a tag with
 * mod_kmen's. The number is only stringized, so 0690 need not be an octal
 * constant. */
#define KMEN_LOGNO(n) "KMEN" #n ": "

/* Numbered as syslog's severities, httpd's levels too, so that httpd's
 * adapter passes them through unchanged; a smaller number is more severe. */
typedef enum {
    KMEN_LOG_EMERG = 0,
    KMEN_LOG_ALERT,
    KMEN_LOG_CRIT,
    KMEN_LOG_ERR,
    KMEN_LOG_WARNING,
    KMEN_LOG_NOTICE,
    KMEN_LOG_INFO,
    KMEN_LOG_DEBUG,
    KMEN_LOG_TRACE1
} kmen_log_level;

/* Writes one formatted line (no newline) of LEVEL, logged at FILE:LINE, to
 * the server's log; it adds what the server's lines about a request end
 * with (httpd: the request ID). */
typedef void kmen_log_sink(void *baton, const char *file, int line, kmen_log_level level,
                           const char *message);

/* The request's ID, made by the adapter on first use: most requests (an
 * authenticated one, for one) never log or audit anything. */
typedef const char *kmen_request_id_maker(void *baton);

typedef struct {
    apr_pool_t *pool; /* the request's: what a call answers lives as long */
    const kmen_server_conf *conf;
    kmen_log_sink *sink;
    kmen_request_id_maker *make_request_id;
    void *baton;              /* the adapter's request, for the two above */
    kmen_log_level max_level; /* the most verbose level the sink writes */
    const char *request_id;   /* NULL until kmen_ctx_request_id */
} kmen_ctx;

/* The ID a person can quote and the operator finds in the log: audit rows
 * carry it too. */
const char *kmen_ctx_request_id(kmen_ctx *ctx);

#if defined(__GNUC__)
#define KMEN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define KMEN_PRINTF(fmt, args)
#endif

/* Formats in ctx->pool and hands the line to the sink; through kmen_log. */
void kmen_log_write(const kmen_ctx *ctx, const char *file, int line, kmen_log_level level,
                    const char *fmt, ...) KMEN_PRINTF(5, 6);

/* TEXT (not NULL) fit for a log line, escaped as httpd's ap_escape_logitem
 * does: a quote and a backslash after a backslash, \b \n \r \t \v by name,
 * any other control character or byte beyond ASCII as \xhh. For what a
 * message from outside says (a status, a content type). */
const char *kmen_log_item(apr_pool_t *p, const char *text);

/* Like httpd's ap_log_rerror, a macro that evaluates and formats nothing
 * but CTX and LEVEL when LEVEL is not logged: a line at debug level costs a
 * request served at info one comparison. */
#define kmen_log(ctx, level, ...)                                                                  \
    do {                                                                                           \
        const kmen_ctx *kmen_log_ctx_ = (ctx);                                                     \
        kmen_log_level kmen_log_level_ = (level);                                                  \
        if (kmen_log_level_ <= kmen_log_ctx_->max_level)                                           \
            kmen_log_write(kmen_log_ctx_, __FILE__, __LINE__, kmen_log_level_, __VA_ARGS__);       \
    } while (0)

/* lasso logs through a GLib callback that no request is handed to. Around
 * the calls that reach lasso while serving a request: previous =
 * kmen_log_serving(CTX), then kmen_log_serving(previous);
 * kmen_log_served() is CTX in between, in that thread only, and NULL
 * outside (at startup, for one). */
kmen_ctx *kmen_log_serving(kmen_ctx *ctx);
kmen_ctx *kmen_log_served(void);

#endif
