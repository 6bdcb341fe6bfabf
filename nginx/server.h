/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A server{}'s kmen settings created and merged, and its SP made of them
 * while nginx reads its configuration. */
#ifndef KMEN_NGX_SERVER_H
#define KMEN_NGX_SERVER_H

#include "directives.h"

void *kmen_ngx_create_srv_conf(ngx_conf_t *cf);
/* Also makes the server{}'s SP: a bad key or IdP metadata stops nginx (and
 * nginx -t) with the problem httpd would name, and where it was written. */
char *kmen_ngx_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child);

#endif
