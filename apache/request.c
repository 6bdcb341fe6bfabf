/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mod_kmen's record of one request, in the request's request_config: made
 * on first use, so that a request mod_kmen has nothing to do with costs
 * nothing. */
#include "httpd.h"
#include "http_config.h"

#include "config.h"
#include "log.h"
#include "page.h"
#include "request.h"

extern module AP_MODULE_DECLARE_DATA kmen_module;

/* Setting the session is all an authenticated request does with it: the
 * context is made only for a request that logs or calls the core. */
typedef struct {
    const kmen_session *session;
    kmen_ctx *ctx;
} request_record;

static const char *request_id_of(void *baton)
{
    return kmen_request_id(baton);
}

static request_record *record_of(request_rec *r)
{
    request_record *rec = ap_get_module_config(r->request_config, &kmen_module);
    if (rec)
        return rec;
    rec = apr_palloc(r->pool, sizeof(*rec));
    rec->session = NULL;
    rec->ctx = NULL;
    ap_set_module_config(r->request_config, &kmen_module, rec);
    return rec;
}

static kmen_ctx *ctx_new(request_rec *r)
{
    kmen_ctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->pool = r->pool;
    ctx->conf = kmen_server_conf_get(r->server);
    ctx->sink = kmen_log_to_request;
    ctx->make_request_id = request_id_of;
    ctx->baton = r;
    return ctx;
}

kmen_ctx *kmen_request_ctx(request_rec *r)
{
    request_record *rec = record_of(r);
    if (!rec->ctx)
        rec->ctx = ctx_new(r);
    /* A <Location>'s LogLevel applies once httpd has walked the locations,
     * after a context may have been made: the level that applies now, as
     * ap_log_rerror reads it at every line. */
    rec->ctx->max_level = kmen_log_request_level(r);
    return rec->ctx;
}

const kmen_session *kmen_request_session(const request_rec *r)
{
    for (; r; r = r->main ? r->main : r->prev) {
        const request_record *rec = ap_get_module_config(r->request_config, &kmen_module);
        if (rec && rec->session)
            return rec->session;
    }
    return NULL;
}

void kmen_request_set_session(request_rec *r, const kmen_session *s)
{
    record_of(r)->session = s;
}
