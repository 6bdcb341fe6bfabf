/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Protected locations: kmen_auth on (httpd's AuthType Kmen with Require
 * valid-user) at the location's settings (location.h: kmen_loa,
 * kmen_eidas_policy, kmen_verify_path, kmen_require, ...), checked in
 * nginx's access phase; the identity's headers set for the upstream
 * (kmen_agenda's Kmen-Aifo among them), the spoofed ones removed. */
#ifndef KMEN_NGX_ACCESS_H
#define KMEN_NGX_ACCESS_H

#include "location.h"

/* postconfiguration: the handlers of the post-read phase (spoofed headers
 * removed in every server{} with an SP, as httpd's post_read_request), of
 * the rewrite phase (the login kmen_ngx_login redirects to a location,
 * started there: login_here_handler) and of the access phase. */
ngx_int_t kmen_ngx_access_init(ngx_conf_t *cf);

#endif
