/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mod_kmen: NIA (SAML 2.0, eIDAS profile) login and the authority's client
 * register for Apache httpd 2.4. Module record, hooks, directive table. */
#include "ap_mpm.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "backend_filter.h"
#include "config.h"
#include "configcheck.h"
#include "handlers.h"
#include "headers.h"
#include "http_client.h"
#include "log.h"
#include "metadata_fetch.h"
#include "saml.h"
#include "socache.h"
#include "sp_setup.h"
#include "status.h"
#include "store_pg.h"

module AP_MODULE_DECLARE_DATA kmen_module;
APLOG_USE_MODULE(kmen);

static server_rec *main_server;

/* While a request is served, lasso's lines carry its ID like every other. */
static void lasso_log(const char *domain, int level, const char *msg)
{
    static const kmen_log_level levels[] = {KMEN_LOG_ERR, KMEN_LOG_DEBUG, KMEN_LOG_TRACE1};
    kmen_ctx *ctx = kmen_log_served();
    if (ctx)
        kmen_log(ctx, levels[level], KMEN_LOGNO(0641) "%s: %s", domain, msg);
    else
        ap_log_error(APLOG_MARK, kmen_log_httpd_level(levels[level]), 0, main_server,
                     KMEN_LOGNO(0641) "%s: %s", domain, msg);
}

/* lasso_init() must run once per process, and httpd loads this module
 * again on every restart: the flag lives in the process pool. */
static void saml_library_once(server_rec *s)
{
    static const char key[] = "kmen-lasso-initialised";
    void *done = NULL;
    apr_pool_userdata_get(&done, key, s->process->pool);
    if (!done) {
        kmen_saml_library_init(lasso_log);
        kmen_http_library_init();
        apr_pool_userdata_set((void *)1, key, apr_pool_cleanup_null, s->process->pool);
    }
}

/* Virtual hosts that inherit the same settings share one SP and one pool.
 * SP_TYPE: the server's own KmenSPType (outside any <Location>), which the
 * metadata publishes. */
static const char *setup_server(apr_pool_t *pconf, apr_hash_t *shared, const server_rec *vs,
                                kmen_server_conf *c, const char *sp_type)
{
    const char *err;
    if ((err = kmen_server_conf_load(pconf, vs, c)) || (err = kmen_server_conf_check(pconf, vs, c)))
        return err;
    const char *key = apr_pstrcat(
        pconf, c->sp_entity_id, "|", kmen_sp_base_url(pconf, c), "|", c->sp_key_file, "|",
        c->sp_next_key_file ? c->sp_next_key_file : "", "|",
        c->sp_enc_key_file ? c->sp_enc_key_file : "", "|",
        c->sp_next_enc_key_file ? c->sp_next_enc_key_file : "", "|", c->idp_metadata_file, "|",
        c->idp_metadata_cert_file ? c->idp_metadata_cert_file : "", "|", c->db_conninfo, "|",
        c->endpoint_path, "|", sp_type, NULL);
    kmen_server_conf *twin = apr_hash_get(shared, key, APR_HASH_KEY_STRING);
    if (twin) {
        c->sp = twin->sp;
        c->store = twin->store;
        return NULL;
    }
    const kmen_conf_culprit *bad = kmen_sp_setup(pconf, c, sp_type, &c->sp);
    if (bad)
        return kmen_config_culprit(pconf, vs, c, bad);
    c->store = kmen_store_create(pconf, c->db_conninfo, c->db_pool_size);
    apr_hash_set(shared, key, APR_HASH_KEY_STRING, c);
    return NULL;
}

static int kmen_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    kmen_session_cache_pre_config(pconf);
    return OK;
}

/* check_config runs in `apachectl configtest` too: every mistake a
 * webmaster can make in the configuration (a missing directive, an unreadable
 * or mismatched key, unusable or expired IdP metadata) stops httpd here with
 * one line saying what to fix. A database that is down is not one of them. */
static int kmen_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *shared = apr_hash_make(ptemp);
    main_server = s;
    saml_library_once(s);
    for (server_rec *vs = s; vs; vs = vs->next) {
        kmen_server_conf *c = kmen_server_conf_get(vs);
        kmen_server_conf_defaults(c);
        if (!c->sp_entity_id && !c->db_conninfo)
            continue;
        const char *err =
            setup_server(pconf, shared, vs, c,
                         kmen_dir_sp_type(ap_get_module_config(vs->lookup_defaults, &kmen_module)));
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, vs, KMEN_LOGNO(0642) "mod_kmen: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static int kmen_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int configured = 0;
    for (server_rec *vs = s; vs; vs = vs->next)
        configured = configured || kmen_server_conf_get(vs)->sp;
    if (!configured)
        return OK;
    const kmen_server_conf *c = kmen_server_conf_get(s);
    const char *err = kmen_session_cache_init(pconf, ptemp, s, c->session_cache);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, KMEN_LOGNO(0643) "mod_kmen: %s",
                     kmen_config_problem(ptemp, s, c, "KmenSessionCache", c->session_cache, err));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    kmen_metadata_fetchers_start(pconf, s);
    return OK;
}

static void kmen_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 1;
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    threads = threads > 0 ? threads : 1;
    kmen_session_cache_child_init(pchild, s);
    for (server_rec *vs = s; vs; vs = vs->next) {
        kmen_server_conf *c = kmen_server_conf_get(vs);
        if (!c->sp || kmen_sp_child_ready(c->sp))
            continue;
        const char *err = kmen_sp_child_init(c->sp, pchild, threads);
        if (!err && kmen_store_child_init(c->store, pchild) != APR_SUCCESS)
            err = "cannot create the database connection pool";
        if (err)
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, vs, KMEN_LOGNO(0644) "mod_kmen: %s (server %s)",
                         err, kmen_vhost_name(pchild, vs, 0));
    }
}

/* Every request, protected or not, before anything can read its headers. */
static int kmen_post_read_request(request_rec *r)
{
    /* mod_kmen's own endpoints are answered by mod_kmen alone (the quick
     * handler serves every path below KmenEndpointPath), and the evidence
     * callback's signature header must reach it. */
    if (!kmen_is_endpoint(r))
        kmen_headers_strip(r);
    return DECLINED;
}

/* cmd->info: the field of the lists (core/conf_fields.h) that the directive
 * sets; t/integration/test_docs.py checks each against the list's directive. */
#define SERVER_SLOT(field) (void *)APR_OFFSETOF(kmen_server_conf, field)
#define DIR_SLOT(field) (void *)APR_OFFSETOF(kmen_dir_conf, field)

static const command_rec kmen_cmds[] = {
    AP_INIT_TAKE1("KmenSPEntityID", kmen_set_server_string, SERVER_SLOT(sp_entity_id), RSRC_CONF,
                  "the SeP's URL registered at NIA: the AuthnRequest Issuer"),
    AP_INIT_TAKE1("KmenACSBaseURL", kmen_set_server_string, SERVER_SLOT(acs_base_url), RSRC_CONF,
                  "https://host[:port][/prefix] where browsers reach this server, when it is not "
                  "KmenSPEntityID's host: the ACS, SLO and metadata URLs (default: the entity "
                  "ID's scheme://host[:port])"),
    AP_INIT_FLAG("KmenAllowHTTP", kmen_set_server_flag, SERVER_SLOT(allow_http), RSRC_CONF,
                 "demos only: accept an http:// KmenSPEntityID (default Off: https required)"),
    AP_INIT_TAKE1("KmenSPPrivateKeyFile", kmen_set_sp_file, SERVER_SLOT(sp_key_file), RSRC_CONF,
                  "PEM private key: signs requests, decrypts assertions (unless "
                  "KmenSPEncryptionKeyFile is set); a second one (the next key) does not sign"),
    AP_INIT_TAKE1("KmenSPCertificateFile", kmen_set_sp_file, SERVER_SLOT(sp_cert_file), RSRC_CONF,
                  "PEM certificate of that key, published in the SP metadata; a second one: of "
                  "the second key"),
    AP_INIT_TAKE1("KmenSPEncryptionKeyFile", kmen_set_sp_file, SERVER_SLOT(sp_enc_key_file),
                  RSRC_CONF,
                  "optional PEM private key that alone decrypts assertions (the "
                  "KmenSPPrivateKeyFile then only signs); a second one: the next key"),
    AP_INIT_TAKE1("KmenSPEncryptionCertificateFile", kmen_set_sp_file,
                  SERVER_SLOT(sp_enc_cert_file), RSRC_CONF,
                  "PEM certificate of that key, published for encryption; a second one: of the "
                  "second key"),
    AP_INIT_TAKE1("KmenIdPMetadataFile", kmen_set_server_file, SERVER_SLOT(idp_metadata_file),
                  RSRC_CONF, "NIA's federation metadata"),
    AP_INIT_TAKE1("KmenIdPMetadataCertificateFile", kmen_set_server_file,
                  SERVER_SLOT(idp_metadata_cert_file), RSRC_CONF,
                  "PEM certificate(s) one of which must sign KmenIdPMetadataFile"),
    AP_INIT_TAKE1("KmenIdPMetadataURL", kmen_set_server_string, SERVER_SLOT(idp_metadata_url),
                  RSRC_CONF, "where one process fetches NIA's metadata into KmenIdPMetadataFile"),
    AP_INIT_TAKE1("KmenIdPMetadataRefresh", kmen_set_server_seconds,
                  SERVER_SLOT(idp_metadata_refresh), RSRC_CONF,
                  "seconds between fetches of KmenIdPMetadataURL (default 3600)"),
    AP_INIT_TAKE1("KmenEndpointPath", kmen_set_endpoint_path, SERVER_SLOT(endpoint_path), RSRC_CONF,
                  "where mod_kmen's endpoints live (default /kmen)"),
    AP_INIT_TAKE1("KmenDatabase", kmen_set_server_string, SERVER_SLOT(db_conninfo), RSRC_CONF,
                  "libpq connection string of the register"),
    AP_INIT_TAKE1("KmenDatabasePoolSize", kmen_set_pool_size, SERVER_SLOT(db_pool_size), RSRC_CONF,
                  "database connections per httpd child (default 4)"),
    AP_INIT_TAKE1("KmenLoginStartLimit", kmen_set_login_start_limit, SERVER_SLOT(login_start_limit),
                  RSRC_CONF,
                  "login starts per minute from one client address; more answer 429 "
                  "(default 60, 0: no limit)"),
    AP_INIT_TAKE1("KmenRegisterAgenda", kmen_set_server_agenda, SERVER_SLOT(register_agenda),
                  RSRC_CONF, "agenda in which the register keeps AIFO (default A8566)"),
    AP_INIT_TAKE1("KmenLoginAgenda", kmen_set_server_agenda, SERVER_SLOT(login_agenda), RSRC_CONF,
                  "agenda of the BSI->AIFO translation (default A8566)"),
    AP_INIT_TAKE1("KmenRegisterKeyFile", kmen_set_server_file, SERVER_SLOT(register_key_file),
                  RSRC_CONF, "32 random bytes protecting identifiers at rest"),
    AP_INIT_TAKE1("KmenTranslatorURL", kmen_set_server_string, SERVER_SLOT(translator_url),
                  RSRC_CONF, "translation gateway base URL"),
    AP_INIT_TAKE1("KmenTranslatorCertificateFile", kmen_set_server_file,
                  SERVER_SLOT(translator_cert_file), RSRC_CONF,
                  "client certificate for the translation gateway"),
    AP_INIT_TAKE1("KmenTranslatorKeyFile", kmen_set_server_file, SERVER_SLOT(translator_key_file),
                  RSRC_CONF, "client key for the translation gateway"),
    AP_INIT_TAKE1("KmenTranslatorCAFile", kmen_set_server_file, SERVER_SLOT(translator_ca_file),
                  RSRC_CONF, "CA certificates trusted for the translation gateway"),
    AP_INIT_TAKE1("KmenTranslatorTimeout", kmen_set_server_seconds, SERVER_SLOT(translator_timeout),
                  RSRC_CONF, "whole-call timeout of the translation gateway, seconds (default 5)"),
    AP_INIT_TAKE1("KmenSessionLifetime", kmen_set_server_seconds, SERVER_SLOT(session_lifetime),
                  RSRC_CONF, "absolute session lifetime, seconds (default 28800)"),
    AP_INIT_TAKE1("KmenSessionIdleTimeout", kmen_set_server_seconds, SERVER_SLOT(session_idle),
                  RSRC_CONF, "session idle timeout, seconds (default 1800)"),
    AP_INIT_TAKE1("KmenSessionCacheTTL", kmen_set_server_seconds, SERVER_SLOT(session_cache_ttl),
                  RSRC_CONF,
                  "seconds a node trusts its cached copy of a session before asking the "
                  "database again; bounds how late a logout on another node is seen (default 10)"),
    AP_INIT_TAKE1("KmenSessionCache", kmen_set_server_string, SERVER_SLOT(session_cache), RSRC_CONF,
                  "socache provider[:args] in front of the database (default shmcb)"),
    AP_INIT_TAKE1("KmenCookieName", kmen_set_server_string, SERVER_SLOT(cookie_name), RSRC_CONF,
                  "session cookie name (default __Host-kmen_session; without the __Host- "
                  "with KmenCookieSecure Off)"),
    AP_INIT_FLAG("KmenCookieSecure", kmen_set_server_flag, SERVER_SLOT(cookie_secure), RSRC_CONF,
                 "Secure cookies (default On; Off only for plain-HTTP demos)"),
    AP_INIT_TAKE1("KmenClockSkew", kmen_set_server_seconds, SERVER_SLOT(clock_skew), RSRC_CONF,
                  "tolerance on NotBefore/NotOnOrAfter, seconds (default 180)"),
    AP_INIT_TAKE1("KmenHomeCountry", kmen_set_home_country, SERVER_SLOT(home_country), RSRC_CONF,
                  "PersonIdentifier country of NIA citizens (default CZ)"),
    AP_INIT_TAKE1("KmenHeaderPrefix", kmen_set_server_string, SERVER_SLOT(header_prefix), RSRC_CONF,
                  "prefix of injected headers (default Kmen-)"),
    AP_INIT_TAKE1("KmenHeaderEncoding", kmen_set_header_encoding, SERVER_SLOT(header_encoding),
                  RSRC_CONF, "percent, raw or base64url (default percent)"),
    AP_INIT_TAKE1("KmenHeaderSecretFile", kmen_set_server_file, SERVER_SLOT(header_secret_file),
                  RSRC_CONF, "HMAC key: adds Kmen-Signature"),
    AP_INIT_TAKE1("KmenEvidenceURL", kmen_set_server_string, SERVER_SLOT(evidence_url), RSRC_CONF,
                  "the evidence-preview service of the cross-border agenda"),
    AP_INIT_TAKE1("KmenEvidenceSecretFile", kmen_set_server_file, SERVER_SLOT(evidence_secret_file),
                  RSRC_CONF, "HMAC key authenticating the evidence service's callback"),
    AP_INIT_TAKE1("KmenErrorDocument", kmen_set_error_document, SERVER_SLOT(error_document),
                  RSRC_CONF,
                  "the portal's own error page; it gets REDIRECT_KMEN_ERROR and "
                  "REDIRECT_KMEN_REQUEST_ID (default: mod_kmen's Czech/English pages)"),
    AP_INIT_TAKE1("KmenEvidenceCallbackCAFile", kmen_set_server_file, SERVER_SLOT(evidence_ca_file),
                  RSRC_CONF,
                  "CAs whose TLS client certificates may deliver evidence (with "
                  "SSLVerifyClient optional_no_ca in the virtual host)"),
    AP_INIT_ITERATE("KmenEvidenceCallbackCertificate", kmen_add_evidence_pin,
                    SERVER_SLOT(evidence_pins), RSRC_CONF,
                    "sha256/<base64> pins of the evidence service's certificate public "
                    "key; several for a rollover"),
    AP_INIT_TAKE1("KmenNameIDFormat", kmen_set_nameid_format, SERVER_SLOT(nameid_policy), RSRC_CONF,
                  "NameIDPolicy asked of NIA: persistent, transient or none (default persistent)"),
    AP_INIT_TAKE1("KmenLoA", kmen_set_loa, DIR_SLOT(min_loa), OR_AUTHCFG,
                  "minimum level of assurance: low, substantial or high (default substantial)"),
    AP_INIT_ITERATE("KmenRequestedAttributes", kmen_add_requested_attribute, DIR_SLOT(requested),
                    OR_AUTHCFG,
                    "eIDAS attributes to request: NAME[=VALUE][!]; ! marks a required one, "
                    "=VALUE the value asked about (isAgeOver=18)"),
    AP_INIT_TAKE1("KmenSPType", kmen_set_sp_type, DIR_SLOT(sp_type), RSRC_CONF | OR_AUTHCFG,
                  "eIDAS SPType: public or private (default public)"),
    AP_INIT_TAKE1("KmenPendingTimeout", kmen_set_server_seconds, SERVER_SLOT(pending_timeout),
                  RSRC_CONF, "seconds a foreigner's pending verification waits (default 3600)"),
    AP_INIT_TAKE1("KmenEidasPolicy", kmen_set_eidas_policy, DIR_SLOT(eidas_accept), OR_AUTHCFG,
                  "accept the eIDAS minimal data set of a foreigner, or verify the person first "
                  "(default verify)"),
    AP_INIT_TAKE1("KmenVerifyPath", kmen_set_verify_path, DIR_SLOT(verify_path), OR_AUTHCFG,
                  "the backend page that verifies pending foreigners"),
    AP_INIT_FLAG("KmenAcceptContact", kmen_set_dir_flag, DIR_SLOT(accept_contact), OR_AUTHCFG,
                 "honour the backend's Kmen-Potential-Contact here (default Off)"),
    AP_INIT_FLAG("KmenAcceptLinkSystem", kmen_set_dir_flag, DIR_SLOT(accept_link_system),
                 OR_AUTHCFG, "honour the backend's Kmen-Link-System here (default Off)"),
    AP_INIT_FLAG("KmenAcceptEvidenceRequest", kmen_set_dir_flag, DIR_SLOT(accept_evidence_request),
                 OR_AUTHCFG, "honour the backend's Kmen-Evidence-Request here (default Off)"),
    AP_INIT_FLAG("KmenCacheControlPrivate", kmen_set_dir_flag, DIR_SLOT(cache_private), OR_AUTHCFG,
                 "mark responses to authenticated requests Cache-Control: private (default On)"),
    AP_INIT_FLAG("KmenForceAuthn", kmen_set_dir_flag, DIR_SLOT(force_authn), OR_AUTHCFG,
                 "logins started for this location ask NIA to authenticate the person anew "
                 "(ForceAuthn, default Off)"),
    AP_INIT_FLAG("KmenAllowLink", kmen_set_dir_flag, DIR_SLOT(allow_link), OR_AUTHCFG,
                 "honour Kmen-Complete: link= here as well as at KmenVerifyPath (default Off)"),
    AP_INIT_TAKE1("KmenAgenda", kmen_set_agenda, DIR_SLOT(agenda), OR_AUTHCFG,
                  "this location serves agenda Annnn: Kmen-Aifo carries the client's AIFO in it"),
    {NULL}};

static void kmen_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(kmen_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(kmen_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(kmen_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(kmen_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(kmen_post_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_quick_handler(kmen_endpoint_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_authn(kmen_check_authn, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(kmen_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(kmen_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    kmen_backend_filter_register();
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "kmen-loa", AUTHZ_PROVIDER_VERSION,
                              &kmen_authz_loa_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "kmen-origin", AUTHZ_PROVIDER_VERSION,
                              &kmen_authz_origin_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "kmen-status", AUTHZ_PROVIDER_VERSION,
                              &kmen_authz_status_provider, AP_AUTH_INTERNAL_PER_CONF);
}

module AP_MODULE_DECLARE_DATA kmen_module = {STANDARD20_MODULE_STUFF, kmen_create_dir_conf,
                                             kmen_merge_dir_conf,     kmen_create_server_conf,
                                             kmen_merge_server_conf,  kmen_cmds,
                                             kmen_register_hooks,     AP_MODULE_FLAG_NONE};
