/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Protected locations: kmen_auth on (httpd's AuthType Kmen with Require
 * valid-user) and kmen_loa (KmenLoA), checked in nginx's access phase; the
 * identity's headers set for the upstream, the spoofed ones removed. */
#ifndef KMEN_NGX_ACCESS_H
#define KMEN_NGX_ACCESS_H

#include "directives.h"

/* A location's kmen settings. */
typedef struct {
    ngx_flag_t auth;        /* kmen_auth */
    const char *auth_where; /* file:line of that kmen_auth */
    kmen_dir_conf *dir;     /* kmen_loa, as httpd's <Location> settings; merged: never NULL */
} kmen_ngx_loc_conf;

void *kmen_ngx_create_loc_conf(ngx_conf_t *cf);
/* Refuses kmen_auth on in a server{} without an SP and a register. */
char *kmen_ngx_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
char *kmen_ngx_set_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_loa(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* postconfiguration: the handlers of the post-read phase (spoofed headers
 * removed in every server{} with an SP, as httpd's post_read_request) and
 * of the access phase. */
ngx_int_t kmen_ngx_access_init(ngx_conf_t *cf);

#endif
