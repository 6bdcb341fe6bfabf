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

/* A worker's start and end (init_process, exit_process), as httpd's
 * child_init: each server{}'s SP readied and its database pool made in the
 * worker (connections are opened when first needed), closed at its end. */
ngx_int_t kmen_ngx_init_process(ngx_cycle_t *cycle);
void kmen_ngx_exit_process(ngx_cycle_t *cycle);

#endif
