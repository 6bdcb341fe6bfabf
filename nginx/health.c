/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /kmen/health on nginx (health.h): the database pinged in the worker's
 * pool, the report the core's, the same bytes as httpd's for the same
 * state, the last fetch of kmen_idp_metadata_url as the fetching worker
 * recorded it beside the file. */
#include "apr_time.h"

#include "health.h"
#include "health_report.h"
#include "idp_metadata.h"
#include "request.h"
#include "response.h"
#include "store_pg.h"

ngx_int_t kmen_ngx_health(ngx_http_request_t *r, const kmen_server_conf *c)
{
    kmen_fetch_state fetch;
    kmen_ctx *ctx = kmen_ngx_request_ctx(r);
    kmen_idp_health idp;
    int up;
    if (!ctx)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    /* a server{} without kmen_database cannot log anyone in either */
    int db_ok = c->store && kmen_store_ping(ctx, c->store) == KMEN_STORE_OK;
    kmen_metadata_fetch_state(ctx->pool, c, &fetch);
    kmen_idp_health_assess(ctx->pool, c, apr_time_now(), &fetch, &idp);
    const char *body = kmen_health_json(ctx->pool, c, db_ok, &idp, &up);
    return kmen_ngx_send(r, up ? NGX_HTTP_OK : NGX_HTTP_SERVICE_UNAVAILABLE, "application/json",
                         body);
}
