/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_idp_metadata_url on nginx (idp_fetch.h): a timer of the first worker.
 * httpd fetches in its parent, as root; nginx's master runs no module code
 * after the start, so the directory of kmen_idp_metadata_file must be
 * writable by the workers' user (docs/nginx.md). */
#include <ngx_event.h>

#include "apr_strings.h"

#include "idp_fetch.h"
#include "idp_metadata.h"
#include "request.h"

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
    kmen_metadata_fetch(c, kmen_ngx_log_to_cycle, ev->log);
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
