/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /kmen/health for load balancers and monitoring on httpd, and the IdP
 * metadata's state, which the status page shows too: the report is the
 * core's (health_report.c); here httpd's metadata fetcher and its answer. */
#include "apr_date.h"
#include "apr_escape.h"
#include "apr_strings.h"

#include "config.h"
#include "health.h"
#include "http_client.h"
#include "metadata_fetch.h"
#include "page.h"
#include "request.h"
#include "store_pg.h"

void kmen_idp_health_get(apr_pool_t *p, const kmen_server_conf *c, apr_time_t now,
                         kmen_idp_health *out)
{
    kmen_fetch_state fetch;
    kmen_metadata_fetch_state(p, c, &fetch);
    kmen_idp_health_assess(p, c, now, &fetch, out);
}

const char *kmen_idp_health_html(apr_pool_t *p, const kmen_server_conf *c, const kmen_idp_health *h)
{
    char until[APR_RFC822_DATE_LEN] = "none", expires[APR_RFC822_DATE_LEN] = "unreadable";
    if (h->valid_until)
        apr_rfc822_date(until, h->valid_until);
    if (h->signing_expires)
        apr_rfc822_date(expires, h->signing_expires);
    const char *fetch =
        c->idp_metadata_url
            ? apr_psprintf(p, "<tr><th>last fetch of %s</th><td>%s</td></tr>\n",
                           apr_pescape_entity(p, kmen_http_url_for_log(p, c->idp_metadata_url), 0),
                           apr_pescape_entity(p, h->fetch.result ? h->fetch.result : "none yet", 0))
            : "";
    return apr_psprintf(p,
                        "<tr><th>IdP metadata</th><td>%s</td></tr>\n"
                        "<tr><th>age</th><td>%" APR_INT64_T_FMT " s</td></tr>\n%s"
                        "<tr><th>validUntil</th><td>%s</td></tr>\n"
                        "<tr><th>IdP signing certificate expires</th><td>%s (%ld days)</td></tr>\n",
                        h->problem ? h->problem : "ok", (apr_int64_t)h->age, fetch, until, expires,
                        h->days_left);
}

int kmen_health_handler(request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    int db_ok = kmen_store_ping(kmen_request_ctx(r), c->store) == KMEN_STORE_OK, up;
    kmen_idp_health idp;
    kmen_idp_health_get(r->pool, c, apr_time_now(), &idp);
    const char *body = kmen_health_json(r->pool, c, db_ok, &idp, &up);
    return kmen_page_send_body(r, up ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE, "application/json",
                               body);
}
