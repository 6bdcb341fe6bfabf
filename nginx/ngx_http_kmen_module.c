/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ngx_http_kmen_module: NIA (SAML 2.0, eIDAS profile) login for nginx, on
 * the core mod_kmen runs on. Module record and directive table: each
 * directive is httpd's, in nginx's spelling (docs/nginx.md). */
#include <stddef.h>

#include "access.h"
#include "backend_commands.h"
#include "cache_private.h"
#include "cache_shm.h"
#include "directives.h"
#include "endpoints.h"
#include "location.h"
#include "server.h"

#define SERVER_TAKE1 (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1)
#define SLOT(field) offsetof(kmen_server_conf, field)
/* The directive's ngx_command_t post: httpd's name, the second's offset, a
 * number's range. */
#define AS(name) (&(kmen_ngx_directive){.httpd_name = name})
#define AS_TWICE(name, second_) (&(kmen_ngx_directive){.httpd_name = name, .second = SLOT(second_)})
#define AS_NUMBER(name, least_, most_, usage_)                                                     \
    (&(kmen_ngx_directive){.httpd_name = name, .least = least_, .most = most_, .usage = usage_})
#define AS_CHOICE(name, choices_, usage_)                                                          \
    (&(kmen_ngx_directive){.httpd_name = name, .choices = choices_, .usage = usage_})
#define LOCATION (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF)
#define SECONDS "expects a number of seconds"
#define YEAR 31536000

static ngx_command_t kmen_commands[] = {
    {ngx_string("kmen_sp_entity_id"), SERVER_TAKE1, kmen_ngx_set_string, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(sp_entity_id), AS("KmenSPEntityID")},
    {ngx_string("kmen_acs_base_url"), SERVER_TAKE1, kmen_ngx_set_string, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(acs_base_url), AS("KmenACSBaseURL")},
    {ngx_string("kmen_allow_http"), SERVER_TAKE1, kmen_ngx_set_flag, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(allow_http), AS("KmenAllowHTTP")},
    {ngx_string("kmen_sp_private_key_file"), SERVER_TAKE1, kmen_ngx_set_sp_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(sp_key_file),
     AS_TWICE("KmenSPPrivateKeyFile", sp_next_key_file)},
    {ngx_string("kmen_sp_certificate_file"), SERVER_TAKE1, kmen_ngx_set_sp_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(sp_cert_file),
     AS_TWICE("KmenSPCertificateFile", sp_next_cert_file)},
    {ngx_string("kmen_sp_encryption_key_file"), SERVER_TAKE1, kmen_ngx_set_sp_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(sp_enc_key_file),
     AS_TWICE("KmenSPEncryptionKeyFile", sp_next_enc_key_file)},
    {ngx_string("kmen_sp_encryption_certificate_file"), SERVER_TAKE1, kmen_ngx_set_sp_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(sp_enc_cert_file),
     AS_TWICE("KmenSPEncryptionCertificateFile", sp_next_enc_cert_file)},
    {ngx_string("kmen_idp_metadata_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(idp_metadata_file), AS("KmenIdPMetadataFile")},
    {ngx_string("kmen_idp_metadata_certificate_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(idp_metadata_cert_file), AS("KmenIdPMetadataCertificateFile")},
    {ngx_string("kmen_endpoint_path"), SERVER_TAKE1, kmen_ngx_set_endpoint_path,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(endpoint_path), AS("KmenEndpointPath")},
    {ngx_string("kmen_sp_type"), SERVER_TAKE1, kmen_ngx_set_sp_type, NGX_HTTP_SRV_CONF_OFFSET, 0,
     AS("KmenSPType")},
    {ngx_string("kmen_database"), SERVER_TAKE1, kmen_ngx_set_string, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(db_conninfo), AS("KmenDatabase")},
    {ngx_string("kmen_database_pool_size"), SERVER_TAKE1, kmen_ngx_set_number,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(db_pool_size),
     AS_NUMBER("KmenDatabasePoolSize", 1, 1024, "expects 1 to 1024 connections")},
    {ngx_string("kmen_register_key_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(register_key_file), AS("KmenRegisterKeyFile")},
    {ngx_string("kmen_translator_url"), SERVER_TAKE1, kmen_ngx_set_string, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(translator_url), AS("KmenTranslatorURL")},
    {ngx_string("kmen_translator_certificate_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(translator_cert_file), AS("KmenTranslatorCertificateFile")},
    {ngx_string("kmen_translator_key_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(translator_key_file), AS("KmenTranslatorKeyFile")},
    {ngx_string("kmen_translator_ca_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(translator_ca_file), AS("KmenTranslatorCAFile")},
    {ngx_string("kmen_session_lifetime"), SERVER_TAKE1, kmen_ngx_set_number,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(session_lifetime),
     AS_NUMBER("KmenSessionLifetime", 0, YEAR, SECONDS)},
    {ngx_string("kmen_session_idle_timeout"), SERVER_TAKE1, kmen_ngx_set_number,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(session_idle),
     AS_NUMBER("KmenSessionIdleTimeout", 0, YEAR, SECONDS)},
    {ngx_string("kmen_session_cache_ttl"), SERVER_TAKE1, kmen_ngx_set_number,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(session_cache_ttl),
     AS_NUMBER("KmenSessionCacheTTL", 0, YEAR, SECONDS)},
    {ngx_string("kmen_cookie_name"), SERVER_TAKE1, kmen_ngx_set_string, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(cookie_name), AS("KmenCookieName")},
    {ngx_string("kmen_cookie_secure"), SERVER_TAKE1, kmen_ngx_set_flag, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(cookie_secure), AS("KmenCookieSecure")},
    {ngx_string("kmen_header_prefix"), SERVER_TAKE1, kmen_ngx_set_string, NGX_HTTP_SRV_CONF_OFFSET,
     SLOT(header_prefix), AS("KmenHeaderPrefix")},
    {ngx_string("kmen_header_encoding"), SERVER_TAKE1, kmen_ngx_set_choice,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(header_encoding),
     AS_CHOICE("KmenHeaderEncoding", kmen_header_encoding_names,
               "expects percent, raw or base64url")},
    {ngx_string("kmen_header_secret_file"), SERVER_TAKE1, kmen_ngx_set_file,
     NGX_HTTP_SRV_CONF_OFFSET, SLOT(header_secret_file), AS("KmenHeaderSecretFile")},
    {ngx_string("kmen_auth"), LOCATION | NGX_CONF_FLAG, kmen_ngx_set_auth, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(kmen_ngx_loc_conf, auth), NULL},
    {ngx_string("kmen_require"), LOCATION | NGX_CONF_2MORE, kmen_ngx_add_require,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("kmen_session_zone"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2,
     kmen_ngx_set_session_zone, NGX_HTTP_MAIN_CONF_OFFSET, 0, AS("KmenSessionCache")},
    {ngx_string("kmen_endpoints"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, kmen_ngx_set_endpoints,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    /* the location settings of the field list (core/conf_fields.h), after
     * the server{} rows: kmen_sp_type is also the server{}'s (location.h) */
    KMEN_NGX_LOCATION_COMMANDS ngx_null_command};

/* The access phase's handlers, and the filters after them: the backend's
 * commands' last, so that they run first and Cache-Control private sees
 * the answer they leave. */
static ngx_int_t postconfiguration(ngx_conf_t *cf)
{
    if (kmen_ngx_access_init(cf) != NGX_OK || kmen_ngx_cache_private_init(cf) != NGX_OK)
        return NGX_ERROR;
    return kmen_ngx_backend_commands_init(cf);
}

static ngx_http_module_t kmen_module_ctx = {
    NULL, /* preconfiguration */
    postconfiguration,
    kmen_ngx_create_main_conf,
    NULL, /* init main configuration */
    kmen_ngx_create_srv_conf,
    kmen_ngx_merge_srv_conf,
    kmen_ngx_create_loc_conf,
    kmen_ngx_merge_loc_conf,
};

ngx_module_t ngx_http_kmen_module = {NGX_MODULE_V1,
                                     &kmen_module_ctx,
                                     kmen_commands,
                                     NGX_HTTP_MODULE,
                                     NULL, /* init master */
                                     NULL, /* init module */
                                     kmen_ngx_init_process,
                                     NULL, /* init thread */
                                     NULL, /* exit thread */
                                     kmen_ngx_exit_process,
                                     NULL, /* exit master */
                                     NGX_MODULE_V1_PADDING};
