/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The request context's log line and request ID, and the context a thread
 * serves, for the lines of a library's log callback. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "context.h"

const char *kmen_ctx_request_id(kmen_ctx *ctx)
{
    if (!ctx->request_id)
        ctx->request_id = ctx->make_request_id(ctx->baton);
    return ctx->request_id;
}

void kmen_log_write(const kmen_ctx *ctx, const char *file, int line, kmen_log_level level,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *message = apr_pvsprintf(ctx->pool, fmt, ap);
    va_end(ap);
    ctx->sink(ctx->baton, file, line, level, message);
}

/* Per thread, as saml.c keeps lasso's error mark: a thread serves one
 * request at a time. */
static __thread kmen_ctx *serving;

kmen_ctx *kmen_log_serving(kmen_ctx *ctx)
{
    kmen_ctx *previous = serving;
    serving = ctx;
    return previous;
}

kmen_ctx *kmen_log_served(void)
{
    return serving;
}

const char *kmen_log_item(apr_pool_t *p, const char *text)
{
    /* pairs: the character, then the letter after its backslash */
    static const char named[] = "\bb\nn\rr\tt\vv\"\"\\\\";
    char *out = apr_palloc(p, 4 * strlen(text) + 1), *o = out;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        const char *name = strchr(named, *c);
        if (name && (name - named) % 2 == 0)
            o += sprintf(o, "\\%c", name[1]);
        else if (!apr_isprint(*c))
            o += sprintf(o, "\\x%02x", *c);
        else
            *o++ = (char)*c;
    }
    *o = '\0';
    return out;
}
