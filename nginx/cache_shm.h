/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session cache on nginx: the core's cache interface (cache.h) over a
 * shared-memory zone every worker maps, named and sized by
 * kmen_session_zone NAME SIZE; in http{}. */
#ifndef KMEN_NGX_CACHE_SHM_H
#define KMEN_NGX_CACHE_SHM_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cache.h"
#include "memo.h"

/* The module's http{} settings: the zone, and the cache over it. */
typedef struct {
    ngx_shm_zone_t *zone; /* NULL: no kmen_session_zone */
    kmen_cache cache;
} kmen_ngx_main_conf;

void *kmen_ngx_create_main_conf(ngx_conf_t *cf);
/* kmen_session_zone NAME SIZE: SIZE as nginx reads one (10m), at least the
 * eight memory pages nginx's slab allocator needs. */
char *kmen_ngx_set_session_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* In init_process: this worker's memo of the sessions it opened, in P, over
 * the zone's generation, which every removal from the zone bumps: a logout
 * on any worker drops every worker's entries at once. Without a zone the
 * worker keeps nothing. */
void kmen_ngx_session_memo_init(ngx_cycle_t *cycle, apr_pool_t *p);
/* The memo kmen_ngx_session_memo_init made (NULL: keeps nothing). */
kmen_memo *kmen_ngx_session_memo(void);

#endif
