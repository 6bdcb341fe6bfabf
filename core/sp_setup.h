/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAML SP of one server's configuration: the key pairs, certificates and
 * IdP metadata read from the files the configuration names, and the SP
 * kmen_sp_create makes of them. A refusal says what is wrong and which input
 * it is about (a kmen_conf_culprit); each server adapter adds where that
 * directive was written, in its own terms. */
#ifndef KMEN_SP_SETUP_H
#define KMEN_SP_SETUP_H

#include "apr_pools.h"

#include "conf_check.h"
#include "saml.h"

/* Reads the files C names for the SP (the key pairs, the IdP metadata, then
 * its pinned certificates) and creates *SP. SP_TYPE: the server's eIDAS
 * SPType, which the metadata publishes. NULL, or the culprit: the input
 * refused, its file, and the problem ("cannot read: ...", "is encrypted:
 * ..."), rendered by each server as it renders kmen_conf_check's. */
const kmen_conf_culprit *kmen_sp_setup(apr_pool_t *p, const kmen_server_conf *c,
                                       const char *sp_type, kmen_sp **sp);

#endif
