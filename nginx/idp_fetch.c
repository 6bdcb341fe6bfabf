/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_idp_metadata_url on nginx (idp_fetch.h): a timer of the first worker.
 * httpd fetches in its parent, as root; nginx's master runs no module code
 * after the start, so the directory of kmen_idp_metadata_file must be
 * writable by the workers' user (docs/nginx.md). */
#include <ngx_event.h>

#include "apr_strings.h"

#include "http_client.h"
#include "idp_fetch.h"
#include "idp_metadata.h"

typedef struct {
    ngx_event_t timer; /* first: the timer's event is its fetcher */
    const kmen_server_conf *c;
} fetcher;

/* A timer's data, which nginx's debug log reads as a connection (as its
 * cache manager's timers have). */
static ngx_connection_t no_connection = {.fd = (ngx_socket_t)-1};

static void fetch_and_log(ngx_event_t *ev)
{
    const kmen_server_conf *c = ((fetcher *)ev)->c;
    apr_pool_t *p;
    int changed = 0;
    if (apr_pool_create(&p, NULL) == APR_SUCCESS) {
        const char *err = kmen_metadata_fetch(p, c, &changed);
        const char *url = kmen_http_url_for_log(p, c->idp_metadata_url);
        ngx_uint_t level = err ? NGX_LOG_ERR : changed ? NGX_LOG_NOTICE : NGX_LOG_INFO;
        if (err) {
            ngx_log_error(level, ev->log, 0,
                          KMEN_LOGNO(0647) "kmen_idp_metadata_url %s: %s; the last good copy in "
                                           "%s stays in use",
                          url, err, c->idp_metadata_file);
        } else {
            ngx_log_error(level, ev->log, 0,
                          KMEN_LOGNO(0648) "kmen_idp_metadata_url %s: verified, %s", url,
                          changed ? "new metadata written" : "unchanged");
        }
        apr_pool_destroy(p);
    }
    ngx_add_timer(ev, (ngx_msec_t)c->idp_metadata_refresh * 1000);
}

void kmen_ngx_idp_fetcher_start(ngx_cycle_t *cycle, apr_pool_t *p, apr_hash_t *files,
                                const kmen_server_conf *c)
{
    if (ngx_worker != 0 || !c->sp || !c->idp_metadata_url ||
        apr_hash_get(files, c->idp_metadata_file, APR_HASH_KEY_STRING))
        return;
    apr_hash_set(files, c->idp_metadata_file, APR_HASH_KEY_STRING, c);
    fetcher *f = apr_pcalloc(p, sizeof(*f));
    f->c = c;
    f->timer.handler = fetch_and_log;
    f->timer.data = &no_connection;
    f->timer.log = cycle->log;
    f->timer.cancelable = 1; /* a worker that shuts down does not wait for the next fetch */
    ngx_add_timer(&f->timer, 1);
}
