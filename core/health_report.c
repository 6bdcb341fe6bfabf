/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /kmen/health's report (health_report.h). NIA rotates its signing
 * certificate about once a year, and a node still holding the old metadata
 * after that refuses every login. */
#include <string.h>

#include "apr_date.h"
#include "apr_escape.h"
#include "apr_strings.h"

#include "conf_check.h"
#include "health_report.h"
#include "http_client.h"
#include "saml.h"

#define DAY apr_time_from_sec(86400)

/* Whole days from NOW to T, rounded down (negative once T has passed). */
static long days_until(apr_time_t now, apr_time_t t)
{
    apr_time_t d = t - now;
    return (long)(d >= 0 ? d / DAY : -((-d + DAY - 1) / DAY));
}

/* The metadata's age: since the last fetch that verified, else since the
 * file last changed. */
static apr_time_t metadata_since(const kmen_idp_health *h)
{
    return h->fetch.succeeded ? h->fetch.succeeded : h->file_mtime;
}

void kmen_idp_health_assess(apr_pool_t *p, const kmen_server_conf *c, apr_time_t now,
                            const kmen_fetch_state *fetch, kmen_idp_health *out)
{
    kmen_idp_file file;
    kmen_sp_idp_dates(c->sp, &out->valid_until, &out->signing_expires);
    kmen_idp_file_stat(c->idp_metadata_file, &file);
    out->file_mtime = file.mtime;
    out->fetch = *fetch;
    out->days_left = days_until(now, out->signing_expires);
    out->age = metadata_since(out) ? apr_time_sec(now - metadata_since(out)) : -1;
    out->usable = 0;
    if (out->valid_until && out->valid_until <= now)
        out->problem = "the IdP metadata has passed its validUntil";
    else if (out->signing_expires <= now)
        out->problem = "every signing certificate of the IdP metadata has expired";
    else {
        out->usable = 1;
        out->problem =
            out->days_left < KMEN_CERT_WARN_DAYS
                ? "the IdP's signing certificate expires within 30 days"
            : out->fetch.result && strcmp(out->fetch.result, "ok") != 0
                ? apr_pstrcat(p, "the last fetch of ",
                              kmen_conf_spelling(c, KMEN_FIELD_idp_metadata_url), " failed", NULL)
                : NULL;
    }
}

static const char *json_date(apr_pool_t *p, apr_time_t t)
{
    char date[APR_RFC822_DATE_LEN];
    if (!t)
        return "null";
    apr_rfc822_date(date, t);
    return apr_pstrcat(p, "\"", date, "\"", NULL);
}

static const char *fetch_json(apr_pool_t *p, const kmen_server_conf *c, const kmen_idp_health *h)
{
    if (!c->idp_metadata_url)
        return "null";
    return apr_psprintf(
        p, "{\"url\":\"%s\",\"last_attempt\":%s,\"last_success\":%s,\"result\":%s}",
        apr_pescape_echo(p, kmen_http_url_for_log(p, c->idp_metadata_url), 1),
        json_date(p, h->fetch.attempted), json_date(p, h->fetch.succeeded),
        h->fetch.result ? apr_pstrcat(p, "\"", apr_pescape_echo(p, h->fetch.result, 1), "\"", NULL)
                        : "null");
}

const char *kmen_idp_health_json(apr_pool_t *p, const kmen_server_conf *c, const kmen_idp_health *h)
{
    return apr_psprintf(
        p,
        "{\"valid\":%s,\"valid_until\":%s,\"signing_certificate_expires\":%s,"
        "\"signing_certificate_days_left\":%ld,\"age_seconds\":%" APR_INT64_T_FMT ",\"fetch\":%s}",
        h->usable ? "true" : "false", json_date(p, h->valid_until),
        json_date(p, h->signing_expires), h->days_left, (apr_int64_t)h->age, fetch_json(p, c, h));
}

/* Why this node is not fully well, or NULL. A node whose KmenTranslatorURL
 * is unset still logs in everyone the register knows (degraded, 200: the load
 * balancer keeps it), but fails every first login; "none" is a mode that
 * resolves them (by BSI alone), so it is well. */
static const char *health_problem(apr_pool_t *p, const kmen_server_conf *c, int db_ok,
                                  const kmen_idp_health *idp)
{
    return !db_ok         ? "the database does not answer"
           : idp->problem ? idp->problem
           : kmen_translator_mode_of(c) == KMEN_TRANSLATOR_UNSET
               ? apr_pstrcat(p, "no ", kmen_conf_spelling(c, KMEN_FIELD_translator_url),
                             ": first logins cannot be resolved", NULL)
               : NULL;
}

static const char *health_translator(const kmen_server_conf *c)
{
    static const char *const said[] = {
        [KMEN_TRANSLATOR_UNSET] = "not configured",
        [KMEN_TRANSLATOR_NONE] = "none",
        [KMEN_TRANSLATOR_GATEWAY] = "configured",
    };
    return said[kmen_translator_mode_of(c)];
}

const char *kmen_health_json(apr_pool_t *p, const kmen_server_conf *c, int db_ok,
                             const kmen_idp_health *idp, int *up)
{
    const char *problem = health_problem(p, c, db_ok, idp);
    *up = db_ok && idp->usable;
    return apr_psprintf(p,
                        "{\"status\":\"%s\",%s%s%s\"database\":\"%s\",\"translator\":\"%s\","
                        "\"idp_metadata\":%s}\n",
                        !*up      ? "unavailable"
                        : problem ? "degraded"
                                  : "ok",
                        problem ? "\"reason\":\"" : "", problem ? problem : "",
                        problem ? "\"," : "", db_ok ? "ok" : "down", health_translator(c),
                        kmen_idp_health_json(p, c, idp));
}
