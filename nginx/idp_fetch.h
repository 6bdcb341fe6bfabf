/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_idp_metadata_url on nginx: the first worker fetches NIA's metadata
 * (the core's kmen_metadata_fetch) at its start and then every
 * kmen_idp_metadata_refresh seconds; every worker picks a new file up
 * before it next uses the metadata (kmen_idp_refresh). */
#ifndef KMEN_NGX_IDP_FETCH_H
#define KMEN_NGX_IDP_FETCH_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "apr_hash.h"
#include "apr_pools.h"

#include "conf.h"

/* In the worker's start (init_process): C's fetcher, when C has an SP and a
 * metadata URL and this is the first worker; one per metadata file, however
 * many server{}s share it (FILES, in P, holds those started). A fetch blocks
 * the worker while it lasts (at most 30 s), as a database call does. */
void kmen_ngx_idp_fetcher_start(ngx_cycle_t *cycle, apr_pool_t *p, apr_hash_t *files,
                                const kmen_server_conf *c);

#endif
