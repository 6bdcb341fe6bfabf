/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration's values with their defaults applied, and the URLs
 * derived from them: what every server adapter shares. */
#include <string.h>
#include <strings.h>

#include "apr_strings.h"
#include "apr_uri.h"

#include "conf.h"
#include "files.h"

/* Defaults are applied once, after merging, so that an unset value in a
 * virtual host still inherits the main server's explicit one. */
void kmen_server_conf_defaults(kmen_server_conf *c)
{
#define DEFAULT_PTR(f, v) c->f = c->f ? c->f : v
#define DEFAULT_INT(f, v) c->f = c->f != KMEN_UNSET ? c->f : v
    DEFAULT_PTR(endpoint_path, "/kmen");
    DEFAULT_INT(db_pool_size, 4);
    DEFAULT_PTR(register_agenda, "A8566");
    DEFAULT_PTR(login_agenda, "A8566");
    DEFAULT_INT(translator_timeout, 5);
    DEFAULT_INT(session_lifetime, 28800);
    DEFAULT_INT(session_idle, 1800);
    DEFAULT_INT(session_cache_ttl, 10);
    DEFAULT_PTR(session_cache, "shmcb");
    DEFAULT_INT(cookie_secure, 1);
    /* __Host-: browsers take such a cookie only from this very host, so a
     * sibling subdomain can plant neither a session nor a login state. */
    DEFAULT_PTR(cookie_name, c->cookie_secure ? "__Host-kmen_session" : "kmen_session");
    DEFAULT_INT(allow_http, 0);
    /* NIA writes NotBefore = IssueInstant: a NIA clock a little ahead of
     * ours refuses every login. 180 s as Shibboleth's default. */
    DEFAULT_INT(clock_skew, 180);
    DEFAULT_PTR(home_country, "CZ");
    DEFAULT_PTR(header_prefix, "Kmen-");
    DEFAULT_INT(header_encoding, KMEN_ENCODING_PERCENT);
    DEFAULT_INT(nameid_policy, KMEN_NAMEID_PERSISTENT);
    DEFAULT_INT(pending_timeout, 3600);
    DEFAULT_INT(idp_metadata_refresh, 3600);
    DEFAULT_INT(login_start_limit, 60);
#undef DEFAULT_PTR
#undef DEFAULT_INT
}

int kmen_dir_min_loa(const kmen_dir_conf *d)
{
    return d->min_loa != KMEN_UNSET ? d->min_loa : KMEN_LOA_SUBSTANTIAL;
}

int kmen_dir_eidas_accept(const kmen_dir_conf *d)
{
    return d->eidas_accept == 1;
}

int kmen_dir_force_authn(const kmen_dir_conf *d)
{
    return d->force_authn == 1;
}

const char *kmen_dir_sp_type(const kmen_dir_conf *d)
{
    return d->sp_type ? d->sp_type : "public";
}

/* The eIDAS minimal data set, all of it required. */
const apr_array_header_t *kmen_dir_requested(const kmen_dir_conf *d)
{
    static const kmen_requested_attr minimal[] = {{KMEN_EIDAS_NP "PersonIdentifier", NULL, 1},
                                                  {KMEN_EIDAS_NP "CurrentGivenName", NULL, 1},
                                                  {KMEN_EIDAS_NP "CurrentFamilyName", NULL, 1},
                                                  {KMEN_EIDAS_NP "DateOfBirth", NULL, 1}};
    static apr_array_header_t minimal_set = {NULL, sizeof(kmen_requested_attr), 4, 4,
                                             (char *)minimal};
    return d->requested ? d->requested : &minimal_set;
}

int kmen_agenda_is_valid(const char *agenda)
{
    size_t len = strlen(agenda);
    return agenda[0] == 'A' && len >= 2 && len <= 7 && strspn(agenda + 1, "0123456789") == len - 1;
}

const char *kmen_read_text_file(apr_pool_t *p, const char *path, const char **text)
{
    char *data = NULL;
    apr_size_t len;
    const char *err = kmen_file_read(p, path, &data, &len);
    *text = data;
    return err;
}

const char *kmen_sp_base_url(apr_pool_t *p, const kmen_server_conf *c)
{
    apr_uri_t uri;
    if (c->acs_base_url) {
        size_t len = strlen(c->acs_base_url);
        while (len && c->acs_base_url[len - 1] == '/')
            len--;
        return apr_pstrndup(p, c->acs_base_url, len);
    }
    apr_uri_parse(p, c->sp_entity_id, &uri);
    return apr_uri_unparse(p, &uri, APR_URI_UNP_OMITPATHINFO | APR_URI_UNP_OMITUSERINFO);
}

const char *kmen_endpoint_url(apr_pool_t *p, const kmen_server_conf *c, const char *name)
{
    return apr_pstrcat(p, kmen_sp_base_url(p, c), c->endpoint_path, "/", name, NULL);
}

kmen_translator_mode kmen_translator_mode_of(const kmen_server_conf *c)
{
    if (!c->translator_url)
        return KMEN_TRANSLATOR_UNSET;
    return strcasecmp(c->translator_url, "none") == 0 ? KMEN_TRANSLATOR_NONE
                                                      : KMEN_TRANSLATOR_GATEWAY;
}
