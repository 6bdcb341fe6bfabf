/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /kmen/health, and what it and the status page say of the IdP metadata. */
#ifndef KMEN_HEALTH_H
#define KMEN_HEALTH_H

#include "httpd.h"

#include "config.h"
#include "metadata_fetch.h"
#include "saml.h"

/* Below this many days before NIA's last signing certificate expires the
 * node is degraded: time to fetch NIA's new metadata. */
#define KMEN_CERT_WARN_DAYS 30

typedef struct {
    apr_time_t valid_until;     /* the metadata's validUntil, 0 if none */
    apr_time_t signing_expires; /* the latest notAfter of the IdP's signing certificates */
    long days_left;             /* whole days until then; negative once passed */
    apr_int64_t age;            /* seconds since the metadata was last new or verified */
    apr_time_t file_mtime;      /* when KmenIdPMetadataFile last changed */
    kmen_fetch_state fetch;     /* KmenIdPMetadataURL's last fetch; zeros without one */
    const char *problem;        /* why the metadata is unusable or soon will be, or NULL */
    int usable;                 /* 0: no login can succeed with it (503) */
} kmen_idp_health;

void kmen_idp_health_get(apr_pool_t *p, const kmen_server_conf *c, apr_time_t now,
                         kmen_idp_health *out);
/* The "idp_metadata" JSON object of /kmen/health and the status page. */
const char *kmen_idp_health_json(apr_pool_t *p, const kmen_server_conf *c,
                                 const kmen_idp_health *h);
/* The same as rows of an HTML table. */
const char *kmen_idp_health_html(apr_pool_t *p, const kmen_server_conf *c,
                                 const kmen_idp_health *h);

/* GET /kmen/health: JSON; 503 when the node cannot log anyone in. */
int kmen_health_handler(request_rec *r);

#endif
