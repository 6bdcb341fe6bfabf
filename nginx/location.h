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

void *kmen_ngx_create_loc_conf(ngx_conf_t *cf);
/* Refuses kmen_auth on in a server{} without an SP and a register. */
char *kmen_ngx_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
char *kmen_ngx_set_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* kmen_require origin|status WORD...: httpd's Require kmen-origin and
 * kmen-status, checked by the core's words (core/authz.h). */
char *kmen_ngx_add_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* The setters of the field list's types (its TYPE column; the table:
 * ngx_http_kmen_module.c): cmd->offset is the field's offset in
 * kmen_dir_conf, cmd->post a kmen_ngx_directive (a string's form).
 * Each may be given once in a context, kmen_requested_attributes as often
 * as wanted (each adds to the list, as KmenRequestedAttributes does). */
char *kmen_ngx_set_dir_string(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_dir_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_dir_loa(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_dir_eidas(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_add_dir_attributes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

#endif
