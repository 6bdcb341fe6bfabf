/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Status page: outcomes from the audit log (every node, last 24 hours), and
 * this process's database pool and translation-gateway figures. HTML, or JSON
 * with ?json. */
#include <string.h>

#include "httpd.h"
#include "apr_escape.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include "config.h"
#include "health.h"
#include "page.h"
#include "request.h"
#include "status.h"
#include "store_pg.h"
#include "translate.h"

#define SUMMARY_HOURS 24

typedef struct {
    apr_array_header_t *audit; /* of kmen_audit_count */
    int pool_in_use, pool_size;
    kmen_translate_stats gateway;
    kmen_idp_health idp;
} status_figures;

static const char *json_page(request_rec *r, const status_figures *f)
{
    const char *rows = "";
    for (int i = 0; i < f->audit->nelts; i++) {
        const kmen_audit_count *a = &APR_ARRAY_IDX(f->audit, i, kmen_audit_count);
        rows = apr_psprintf(
            r->pool, "%s%s{\"event\":\"%s\",\"outcome\":\"%s\",\"count\":%" APR_INT64_T_FMT "}",
            rows, i ? "," : "", apr_pescape_echo(r->pool, a->event, 1),
            apr_pescape_echo(r->pool, a->outcome, 1), a->count);
    }
    return apr_psprintf(
        r->pool,
        "{\"hours\":%d,\"audit\":[%s],\"idp_metadata\":%s,\"process\":{\"pid\":%d,"
        "\"database_pool\":{\"in_use\":%d,\"size\":%d},"
        "\"gateway\":{\"calls\":%u,\"failures\":%u,\"average_ms\":%u,"
        "\"max_ms\":%u}}}\n",
        SUMMARY_HOURS, rows,
        kmen_idp_health_json(r->pool, kmen_server_conf_get(r->server), &f->idp), (int)getpid(),
        f->pool_in_use, f->pool_size, f->gateway.calls, f->gateway.failures,
        f->gateway.calls ? f->gateway.total_ms / f->gateway.calls : 0, f->gateway.max_ms);
}

static const char *html_page(request_rec *r, const status_figures *f)
{
    const char *rows = "";
    for (int i = 0; i < f->audit->nelts; i++) {
        const kmen_audit_count *a = &APR_ARRAY_IDX(f->audit, i, kmen_audit_count);
        rows = apr_psprintf(r->pool,
                            "%s<tr><td>%s</td><td>%s</td><td>%" APR_INT64_T_FMT "</td></tr>\n",
                            rows, apr_pescape_entity(r->pool, a->event, 0),
                            apr_pescape_entity(r->pool, a->outcome, 0), a->count);
    }
    return apr_psprintf(
        r->pool,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
        "<title>mod_kmen status</title></head>\n<body>\n<h1>mod_kmen status</h1>\n"
        "<h2>Audit log, last %d hours, every node</h2>\n<table id=\"audit\">\n"
        "<tr><th>event</th><th>outcome</th><th>count</th></tr>\n%s</table>\n"
        "<h2>NIA</h2>\n<table id=\"idp\">\n%s</table>\n"
        "<h2>This process (pid %d)</h2>\n<table id=\"process\">\n"
        "<tr><th>database connections in use</th><td>%d of %d</td></tr>\n"
        "<tr><th>gateway calls</th><td>%u</td></tr>\n"
        "<tr><th>gateway failures</th><td>%u</td></tr>\n"
        "<tr><th>gateway latency, average / max</th><td>%u ms / %u ms</td></tr>\n"
        "</table>\n</body>\n</html>\n",
        SUMMARY_HOURS, rows,
        kmen_idp_health_html(r->pool, kmen_server_conf_get(r->server), &f->idp), (int)getpid(),
        f->pool_in_use, f->pool_size, f->gateway.calls, f->gateway.failures,
        f->gateway.calls ? f->gateway.total_ms / f->gateway.calls : 0, f->gateway.max_ms);
}

int kmen_status_handler(request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    status_figures f;
    if (!r->handler || strcmp(r->handler, KMEN_STATUS_HANDLER) != 0)
        return DECLINED;
    if (!c->store)
        return HTTP_NOT_FOUND;
    if (kmen_store_audit_summary(kmen_request_ctx(r), c->store, SUMMARY_HOURS, &f.audit) !=
        KMEN_STORE_OK)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    kmen_store_pool_use(c->store, &f.pool_in_use, &f.pool_size);
    kmen_translate_stats_get(&f.gateway);
    kmen_idp_health_get(r->pool, c, apr_time_now(), &f.idp);
    int json = r->args && strcmp(r->args, "json") == 0;
    return kmen_page_send_body(r, HTTP_OK, json ? "application/json" : "text/html; charset=utf-8",
                               json ? json_page(r, &f) : html_page(r, &f));
}
