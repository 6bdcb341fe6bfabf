/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A location's kmen settings: kmen_auth, kmen_require, and the core's
 * location settings (kmen_dir_conf), whose directives are expanded from the
 * field list (core/conf_fields.h, KMEN_DIR_FIELDS, its nginx column), as
 * httpd's per-directory settings in nginx's spelling. They are allowed in
 * http{}, server{} and location{}, and merged as httpd merges its
 * per-directory settings: what a location does not set, it inherits. */
#ifndef KMEN_NGX_LOCATION_H
#define KMEN_NGX_LOCATION_H

#include "authz.h"
#include "directives.h"

/* One kmen_require line: what it looks at, and the words it grants. */
typedef struct {
    kmen_require_kind kind;
    const char *words;
} kmen_ngx_requirement;

typedef struct {
    ngx_flag_t auth;        /* kmen_auth */
    const char *auth_where; /* file:line of that kmen_auth */
    kmen_dir_conf *dir;     /* as httpd's <Location> settings; merged: never NULL */
    /* of kmen_ngx_requirement: kmen_require's lines, one of which grants
     * (httpd's several Require lines); NULL: none, any session does */
    apr_array_header_t *require;
} kmen_ngx_loc_conf;

/* A location directive of the field list (its ngx_command_t's post). */
typedef struct {
    const char *httpd_name;
    kmen_dir_field field;
} kmen_ngx_dir_directive;

void *kmen_ngx_create_loc_conf(ngx_conf_t *cf);
/* Refuses kmen_auth on in a server{} without an SP and a register. */
char *kmen_ngx_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
char *kmen_ngx_set_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* kmen_require origin|status WORD...: httpd's Require kmen-origin and
 * kmen-status, checked by the core's words (core/authz.h). */
char *kmen_ngx_add_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* The setters of the field list's types (its TYPE column): cmd->offset is
 * the field's offset in kmen_dir_conf, cmd->post a kmen_ngx_dir_directive.
 * Each may be given once in a context, kmen_requested_attributes as often
 * as wanted (each adds to the list, as KmenRequestedAttributes does). */
char *kmen_ngx_set_dir_string(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_dir_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_dir_loa(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_dir_eidas(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_add_dir_attributes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* The TYPE column's setter and its arguments. */
#define KMEN_NGX_DIR_SETTER_STR kmen_ngx_set_dir_string
#define KMEN_NGX_DIR_SETTER_FLAG kmen_ngx_set_dir_flag
#define KMEN_NGX_DIR_SETTER_LOA kmen_ngx_set_dir_loa
#define KMEN_NGX_DIR_SETTER_EIDAS kmen_ngx_set_dir_eidas
#define KMEN_NGX_DIR_SETTER_ATTRS kmen_ngx_add_dir_attributes
#define KMEN_NGX_DIR_ARGS_STR NGX_CONF_TAKE1
#define KMEN_NGX_DIR_ARGS_FLAG NGX_CONF_FLAG
#define KMEN_NGX_DIR_ARGS_LOA NGX_CONF_TAKE1
#define KMEN_NGX_DIR_ARGS_EIDAS NGX_CONF_TAKE1
#define KMEN_NGX_DIR_ARGS_ATTRS NGX_CONF_1MORE

/* One location directive of the field list. */
#define KMEN_NGX_DIR_COMMAND(type, field, default_value, merge, directive, nginx)                  \
    {ngx_string(nginx),                                                                            \
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | KMEN_NGX_DIR_ARGS_##type,        \
     KMEN_NGX_DIR_SETTER_##type,                                                                   \
     NGX_HTTP_LOC_CONF_OFFSET,                                                                     \
     offsetof(kmen_dir_conf, field),                                                               \
     &(kmen_ngx_dir_directive){directive, KMEN_DIR_FIELD_##field}},

/* Every location directive of the field list, for the module's table. A
 * name the table gives before them for http{} and server{} (kmen_sp_type,
 * the server{}'s, which its metadata publishes) keeps those levels: nginx
 * takes the first entry of a name that is allowed where it stands. */
#define KMEN_NGX_LOCATION_COMMANDS KMEN_DIR_FIELDS(KMEN_NGX_DIR_COMMAND)

#endif
