/* SPDX-License-Identifier: GPL-2.0-or-later */
/* KmenIdPMetadataURL: one process fetches NIA's metadata and keeps the file
 * current; every child picks the new file up (saml_reload.c). */
#ifndef KMEN_METADATA_FETCH_H
#define KMEN_METADATA_FETCH_H

#include "httpd.h"

#include "config.h"
#include "idp_metadata.h"

/* In httpd's parent process, at post_config of a real start (not the first
 * configuration pass): one thread per KmenIdPMetadataURL, fetching at once
 * and then every KmenIdPMetadataRefresh seconds, stopped when PCONF is
 * cleared (restart, stop). */
void kmen_metadata_fetchers_start(apr_pool_t *pconf, server_rec *s);

#endif
