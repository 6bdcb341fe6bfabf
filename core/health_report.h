/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What /kmen/health reports, on httpd and on nginx alike: the IdP metadata's
 * state and the JSON body with its status. The server gives what only it
 * knows: whether its database answers, and the last metadata fetch. */
#ifndef KMEN_HEALTH_REPORT_H
#define KMEN_HEALTH_REPORT_H

#include "apr_pools.h"
#include "apr_time.h"

#include "conf.h"

/* Below this many days before NIA's last signing certificate expires the
 * node is degraded: time to fetch NIA's new metadata. */
#define KMEN_CERT_WARN_DAYS 30

/* What the last fetch of KmenIdPMetadataURL did, as httpd's fetcher wrote
 * it beside the file; zeros where there is no fetcher. */
typedef struct {
    apr_time_t attempted; /* 0: no fetch yet */
    apr_time_t succeeded; /* the last fetch that verified; 0: none */
    const char *result;   /* "ok", or why the last one failed */
} kmen_fetch_state;

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

/* C's IdP metadata at NOW, its last fetch FETCH; the problem's text in P,
 * naming settings as C's server spells them. */
void kmen_idp_health_assess(apr_pool_t *p, const kmen_server_conf *c, apr_time_t now,
                            const kmen_fetch_state *fetch, kmen_idp_health *out);

/* The "idp_metadata" JSON object of /kmen/health and the status page. */
const char *kmen_idp_health_json(apr_pool_t *p, const kmen_server_conf *c,
                                 const kmen_idp_health *h);

/* The body of /kmen/health (JSON) for a node whose database answers
 * (DB_OK) or not; *UP 0 when the node cannot log anyone in (503), else 1
 * (200, "ok" or "degraded"). */
const char *kmen_health_json(apr_pool_t *p, const kmen_server_conf *c, int db_ok,
                             const kmen_idp_health *idp, int *up);

#endif
