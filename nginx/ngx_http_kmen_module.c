/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ngx_http_kmen_module: NIA (SAML 2.0, eIDAS profile) login for nginx, on
 * the core mod_kmen runs on. Module record and directive table: each
 * directive is httpd's, in nginx's spelling (docs/nginx.md), the server
 * and location settings' expanded from the field list that spells them. */
#include <stddef.h>

#include "access.h"
#include "backend_commands.h"
#include "cache_private.h"
#include "cache_shm.h"
#include "directives.h"
#include "endpoints.h"
#include "location.h"
#include "request.h"
#include "server.h"

#define SLOT(field) offsetof(kmen_server_conf, field)
/* The directive's ngx_command_t post: httpd's name, the second's offset, a
 * number's range, a word's choices, a string's form. */
#define AS(name) (&(kmen_ngx_directive){.httpd_name = name})
#define AS_TWICE(name, second_) (&(kmen_ngx_directive){.httpd_name = name, .second = SLOT(second_)})
#define AS_NUMBER(name, least_, most_, usage_)                                                     \
    (&(kmen_ngx_directive){.httpd_name = name, .least = least_, .most = most_, .usage = usage_})
#define AS_CHOICE(name, choices_, usage_)                                                          \
    (&(kmen_ngx_directive){.httpd_name = name, .choices = choices_, .usage = usage_})
#define AS_FORM(name, valid_, usage_)                                                              \
    (&(kmen_ngx_directive){.httpd_name = name, .valid = valid_, .usage = usage_})
#define YEAR 31536000

/* ---- the settings' rows, expanded from the field list (core/conf_fields.h):
 * one directive for each field, the server settings' (KMEN_SERVER_FIELDS)
 * and the location settings' (KMEN_DIR_FIELDS) by the same row (FIELD_ROW),
 * whose context column (SERVER, LOCATION) says where the directive stands
 * (WHERE_context), whose configuration it sets (CONF_context) and the
 * struct of the field's offset (STRUCT_context). A row is named by the
 * field's nginx column, set by its context's setter of its TYPE
 * (SET_context_type), with its TYPE's arguments and post (ARGS_type,
 * POST_type), except where a directive really differs: ROW_field defined as
 * "~, MACRO" makes MACRO(context, type, field, directive, nginx) its whole
 * row (or none), POST_field as "~, MACRO" makes MACRO(directive) its post. A
 * field with no nginx name (NULL) and no row of its own does not compile
 * ("" NULL). */
#define SECOND_(first, second, ...) second
#define SECOND(...) SECOND_(__VA_ARGS__)
/* PICK(maybe, default): the MACRO a defined maybe names, else default (an
 * undefined maybe stays one token, which SECOND skips). Variadic, since a
 * preprocessor may expand a defined maybe before it counts the arguments
 * (cppcheck's does); the post's choice
 * has macros of its own, since it is made inside the row's (FIELD_ROW), and
 * a macro is not expanded again inside its own expansion. */
#define PICK(...) SECOND(__VA_ARGS__, ~)
#define POST_SECOND_(first, second, ...) second
#define POST_SECOND(...) POST_SECOND_(__VA_ARGS__)
#define PICK_POST(...) POST_SECOND(__VA_ARGS__, ~)

/* the contexts: a server setting in http{} and server{}, a location setting
 * in location{} as well */
#define WHERE_SERVER (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF)
#define WHERE_LOCATION (WHERE_SERVER | NGX_HTTP_LOC_CONF)
#define CONF_SERVER NGX_HTTP_SRV_CONF_OFFSET
#define CONF_LOCATION NGX_HTTP_LOC_CONF_OFFSET
#define STRUCT_SERVER kmen_server_conf
#define STRUCT_LOCATION kmen_dir_conf

#define SET_SERVER_STR kmen_ngx_set_string
#define SET_SERVER_FILE kmen_ngx_set_file
#define SET_SERVER_INT kmen_ngx_set_number
#define SET_SERVER_FLAG kmen_ngx_set_flag
#define SET_SERVER_ENCODING kmen_ngx_set_choice
#define SET_SERVER_NAMEID kmen_ngx_set_choice
#define SET_SERVER_PINS kmen_ngx_set_pins
#define SET_LOCATION_STR kmen_ngx_set_dir_string
#define SET_LOCATION_FLAG kmen_ngx_set_dir_flag
#define SET_LOCATION_LOA kmen_ngx_set_dir_loa
#define SET_LOCATION_EIDAS kmen_ngx_set_dir_eidas
#define SET_LOCATION_ATTRS kmen_ngx_add_dir_attributes
#define ARGS_STR NGX_CONF_TAKE1
#define ARGS_FILE NGX_CONF_TAKE1
#define ARGS_INT NGX_CONF_TAKE1
#define ARGS_FLAG NGX_CONF_FLAG
#define ARGS_ENCODING NGX_CONF_TAKE1
#define ARGS_NAMEID NGX_CONF_TAKE1
#define ARGS_PINS NGX_CONF_1MORE /* several for a rollover */
#define ARGS_LOA NGX_CONF_TAKE1
#define ARGS_EIDAS NGX_CONF_TAKE1
#define ARGS_ATTRS NGX_CONF_1MORE /* each occurrence adds to the list */
#define POST_STR AS
#define POST_FILE AS
#define POST_FLAG AS
#define POST_LOA AS
#define POST_EIDAS AS
#define POST_ATTRS AS
#define POST_INT(name) AS_NUMBER(name, 0, YEAR, "expects a number of seconds")
#define POST_ENCODING(name)                                                                        \
    AS_CHOICE(name, kmen_header_encoding_names, "expects percent, raw or base64url")
#define POST_PINS(name)                                                                            \
    AS_FORM(name, NULL, "expects sha256/<base64 of the SHA-256 of the certificate's public key>")
#define POST_NAMEID(name)                                                                          \
    AS_CHOICE(name, kmen_nameid_policy_names, "expects persistent, transient or none")

/* one row of the table */
#define COMMAND(name, type_, set, conf_, offset_, post_)                                           \
    {ngx_string(name), type_, set, conf_, offset_, post_},
#define FIELD_ROW(context, type, field, directive, nginx)                                          \
    COMMAND("" nginx, WHERE_##context | ARGS_##type, SET_##context##_##type, CONF_##context,       \
            offsetof(STRUCT_##context, field), PICK_POST(POST_##field, POST_##type)(directive))
#define SERVER_ROW(type, field, default_value, merge, directive, nginx)                            \
    PICK(ROW_##field, FIELD_ROW)(SERVER, type, field, directive, nginx)
#define LOCATION_ROW(type, field, default_value, merge, directive, nginx)                          \
    PICK(ROW_##field, FIELD_ROW)(LOCATION, type, field, directive, nginx)

/* the posts that differ from their type's: a number's range, a string's form */
#define POST_db_pool_size ~, POOL_SIZE
#define POOL_SIZE(name) AS_NUMBER(name, 1, 1024, "expects 1 to 1024 connections")
#define POST_login_start_limit ~, STARTS_A_MINUTE
#define STARTS_A_MINUTE(name)                                                                      \
    AS_NUMBER(name, 0, 1000000,                                                                    \
              "expects login starts per minute and client address, 0 to 1000000 (0: no limit)")
#define POST_endpoint_path ~, ENDPOINT_PATH
#define ENDPOINT_PATH(name)                                                                        \
    AS_FORM(name, kmen_endpoint_path_is_valid,                                                     \
            "expects a path such as /kmen (leading /, no trailing /)")
#define POST_register_agenda ~, AGENDA
#define POST_login_agenda ~, AGENDA
#define AGENDA(name) AS_FORM(name, kmen_agenda_is_valid, "expects an agenda code such as A8566")
#define POST_error_document ~, LOCAL_PATH
#define LOCAL_PATH(name)                                                                           \
    AS_FORM(name, kmen_local_path_is_valid, "expects a local URL path such as /errors/login.html")
#define POST_home_country ~, COUNTRY
#define COUNTRY(name)                                                                              \
    AS_FORM(name, kmen_country_is_valid, "expects a two-letter country code such as CZ")
#define POST_agenda ~, LOCATION_AGENDA
#define LOCATION_AGENDA(name)                                                                      \
    AS_FORM(name, kmen_agenda_is_valid, "expects an agenda code such as A9145")
#define POST_verify_path ~, VERIFY_PATH
#define VERIFY_PATH(name)                                                                          \
    AS_FORM(name, kmen_local_path_is_valid, "expects a local path such as /verify/")
#define POST_sp_type ~, SP_TYPE
#define SP_TYPE(name) AS_FORM(name, kmen_sp_type_is_valid, "expects public or private")

/* the rows that differ: the SP's key pairs, whose second occurrence sets
 * the next pair (which has no directive of its own); the session cache, a
 * shared-memory zone of http{} */
#define ROW_sp_key_file ~, KEY_PAIR_ROW
#define ROW_sp_cert_file ~, KEY_PAIR_ROW
#define ROW_sp_enc_key_file ~, KEY_PAIR_ROW
#define ROW_sp_enc_cert_file ~, KEY_PAIR_ROW
#define NEXT_OF_sp_key_file sp_next_key_file
#define NEXT_OF_sp_cert_file sp_next_cert_file
#define NEXT_OF_sp_enc_key_file sp_next_enc_key_file
#define NEXT_OF_sp_enc_cert_file sp_next_enc_cert_file
#define KEY_PAIR_ROW(context, type, field, directive, nginx)                                       \
    COMMAND(nginx, WHERE_SERVER | NGX_CONF_TAKE1, kmen_ngx_set_sp_file, NGX_HTTP_SRV_CONF_OFFSET,  \
            SLOT(field), AS_TWICE(directive, NEXT_OF_##field))
#define ROW_sp_next_key_file ~, NO_ROW
#define ROW_sp_next_cert_file ~, NO_ROW
#define ROW_sp_next_enc_key_file ~, NO_ROW
#define ROW_sp_next_enc_cert_file ~, NO_ROW
#define NO_ROW(context, type, field, directive, nginx)
#define ROW_session_cache ~, SESSION_ZONE_ROW
#define SESSION_ZONE_ROW(context, type, field, directive, nginx)                                   \
    COMMAND(nginx, NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2, kmen_ngx_set_session_zone,                 \
            NGX_HTTP_MAIN_CONF_OFFSET, 0, AS(directive))

/* The server settings' rows (clang-format would take the expansion for a
 * call), the others, then the location settings': a name given before them
 * for http{} and server{} (kmen_sp_type, the server{}'s, which its metadata
 * publishes) keeps those levels, since nginx takes the first entry of a name
 * that is allowed where it stands. */
/* clang-format off */
static ngx_command_t kmen_commands[] = {
    KMEN_SERVER_FIELDS(SERVER_ROW)
    {ngx_string("kmen_sp_type"), WHERE_SERVER | NGX_CONF_TAKE1, kmen_ngx_set_sp_type,
     NGX_HTTP_SRV_CONF_OFFSET, 0, AS("KmenSPType")},
    {ngx_string("kmen_auth"), WHERE_LOCATION | NGX_CONF_FLAG, kmen_ngx_set_auth,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(kmen_ngx_loc_conf, auth), NULL},
    {ngx_string("kmen_require"), WHERE_LOCATION | NGX_CONF_2MORE, kmen_ngx_add_require,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("kmen_endpoints"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, kmen_ngx_set_endpoints,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    KMEN_DIR_FIELDS(LOCATION_ROW)
    ngx_null_command};
/* clang-format on */

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
    kmen_ngx_request_variables,                                  /* $kmen_error */
    postconfiguration,          kmen_ngx_create_main_conf, NULL, /* init main configuration */
    kmen_ngx_create_srv_conf,   kmen_ngx_merge_srv_conf,   kmen_ngx_create_loc_conf,
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
