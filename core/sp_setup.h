/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAML SP of one server's configuration: the key pairs, certificates and
 * IdP metadata read from the files the configuration names, and the SP
 * kmen_sp_create makes of them. A refusal says what is wrong and which input
 * it is about; each server adapter adds where that directive was written, in
 * its own terms. */
#ifndef KMEN_SP_SETUP_H
#define KMEN_SP_SETUP_H

#include "apr_pools.h"

#include "conf.h"
#include "saml.h"

/* The input a refusal is about: its directive, by the name httpd gives it
 * (the core's name of each setting), which occurrence, and its file. */
typedef struct {
    const char *directive;
    int second; /* the second occurrence of the directive: the next key */
    const char *file;
} kmen_sp_culprit;

/* Reads the files C names for the SP (the key pairs, the IdP metadata, then
 * its pinned certificates) and creates *SP. SP_TYPE: the server's eIDAS
 * SPType, which the metadata publishes. NULL, or the problem ("cannot read:
 * ...", "is encrypted: ...") and *CULPRIT. */
const char *kmen_sp_setup(apr_pool_t *p, const kmen_server_conf *c, const char *sp_type,
                          kmen_sp **sp, kmen_sp_culprit *culprit);

#endif
