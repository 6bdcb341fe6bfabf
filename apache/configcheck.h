/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Startup checks of what httpd would accept and mod_kmen trip over later. */
#ifndef KMEN_CONFIGCHECK_H
#define KMEN_CONFIGCHECK_H

#include "httpd.h"

#include "config.h"

/* NULL, or the one line saying which directive of S is wrong: a socache
 * provider httpd has not loaded, a translator file httpd's children cannot
 * read (the checks without httpd are the core's: kmen_conf_check). Logs
 * warnings for a register key every user can read and for KmenAllowHTTP On.
 * Connects to nothing. */
const char *kmen_server_conf_check(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c);

#endif
