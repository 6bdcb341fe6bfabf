/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Response headers a backend sends to mod_kmen: read once the response
 * headers are known (an output filter sees them before the header filter
 * sends them), acted upon for the authenticated client, always removed. */
#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_request.h"

#include "backend.h"
#include "config.h"
#include "handlers.h"
#include "register.h"

APLOG_USE_MODULE(kmen);

typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *values;
} collected;

static int collect(void *data, const char *key, const char *value)
{
    collected *c = data;
    (void)key;
    APR_ARRAY_PUSH(c->values, const char *) = apr_pstrdup(c->pool, value);
    return 1;
}

/* Every value of NAME in both response tables, which are then rid of it. */
static apr_array_header_t *take_header(request_rec *r, const char *name)
{
    collected c = {r->pool, apr_array_make(r->pool, 2, sizeof(const char *))};
    apr_table_do(collect, &c, r->headers_out, name, NULL);
    apr_table_do(collect, &c, r->err_headers_out, name, NULL);
    apr_table_unset(r->headers_out, name);
    apr_table_unset(r->err_headers_out, name);
    return c.values;
}

/* Kmen-Link-System: one or more system names, comma-separated. */
static void link_systems(request_rec *r, const char *client_id, apr_array_header_t *values)
{
    for (int i = 0; i < values->nelts; i++) {
        char *list = apr_pstrdup(r->pool, APR_ARRAY_IDX(values, i, const char *)), *last = NULL;
        for (char *s = apr_strtok(list, ", ", &last); s; s = apr_strtok(NULL, ", ", &last))
            kmen_register_link_system(r, client_id, s);
    }
}

apr_status_t kmen_backend_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    apr_array_header_t *links =
        take_header(r, apr_pstrcat(r->pool, c->header_prefix, "Link-System", NULL));
    const kmen_session *s = kmen_request_session(r);
    if (links->nelts && s && s->identity.client_id)
        link_systems(r, s->identity.client_id, links);
    else if (links->nelts)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      APLOGNO(10671) "Kmen-Link-System without a registered client, ignored");
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void kmen_backend_insert_filter(request_rec *r)
{
    if (kmen_server_conf_get(r->server)->sp)
        ap_add_output_filter(KMEN_BACKEND_FILTER, NULL, r, r->connection);
}
