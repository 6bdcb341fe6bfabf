/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA's metadata kept current (KmenIdPMetadataURL): one process of a server
 * fetches it every KmenIdPMetadataRefresh seconds and, once it verifies,
 * writes it over KmenIdPMetadataFile; every process picks the new file up
 * before it next uses the metadata. Which process fetches, and when, is the
 * server's (httpd's parent, one nginx worker). */
#ifndef KMEN_IDP_METADATA_H
#define KMEN_IDP_METADATA_H

#include "apr_pools.h"

#include "context.h"
#include "health_report.h"

/* One fetch of C's metadata URL: downloaded, checked as every process will
 * check it (against the certificates pinned at startup), written over the
 * file (a reader sees the old file or the new one, never a part) when it is
 * new, the outcome recorded beside the file (FILE.fetch) for
 * kmen_metadata_fetch_state and logged through SINK (BATON: the fetching
 * process's log, no request's): KMEN0647 when it failed (the last good copy
 * stays), else KMEN0648 (notice when the copy is new, info when unchanged). */
void kmen_metadata_fetch(const kmen_server_conf *c, kmen_log_sink *sink, void *baton);

/* What the last fetch of C's metadata did, as kmen_metadata_fetch recorded
 * it: for /kmen/health and the status page; zeros without a URL. */
void kmen_metadata_fetch_state(apr_pool_t *p, const kmen_server_conf *c, kmen_fetch_state *out);

/* Before a request uses the IdP metadata: a changed metadata file is picked
 * up (kmen_sp_idp_refresh), once per process, and said so in CTX's log. */
void kmen_idp_refresh(kmen_ctx *ctx);

#endif
