/* SPDX-License-Identifier: GPL-2.0-or-later */
/* KmenIdPMetadataURL: one process fetches NIA's metadata and keeps the file
 * current; every child picks the new file up (saml_reload.c). */
#ifndef KMEN_METADATA_FETCH_H
#define KMEN_METADATA_FETCH_H

#include "httpd.h"

#include "config.h"
#include "health_report.h"

/* In httpd's parent process, at post_config of a real start (not the first
 * configuration pass): one thread per KmenIdPMetadataURL, fetching at once
 * and then every KmenIdPMetadataRefresh seconds, stopped when PCONF is
 * cleared (restart, stop). */
void kmen_metadata_fetchers_start(apr_pool_t *pconf, server_rec *s);

/* What the last fetch of C's metadata did, as the fetcher wrote it beside
 * the file: for /kmen/health and the status page. */
void kmen_metadata_fetch_state(apr_pool_t *p, const kmen_server_conf *c, kmen_fetch_state *out);

#endif
