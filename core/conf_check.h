/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks of a server's configuration that need no server: run on a
 * merged, defaulted kmen_server_conf, by httpd at configtest and by nginx at
 * nginx -t, each answering with a culprit that names the setting by its
 * identity (its field in conf_fields.h), which each server then writes in
 * its own spelling and with its own idea of where it was set. */
#ifndef KMEN_CONF_CHECK_H
#define KMEN_CONF_CHECK_H

#include "apr_pools.h"

#include "conf.h"

/* A server setting's identity: KMEN_FIELD_sp_entity_id, ... */
#define KMEN_FIELD_ENUM(type, field, ...) KMEN_FIELD_##field,
typedef enum { KMEN_SERVER_FIELDS(KMEN_FIELD_ENUM) KMEN_FIELD_COUNT } kmen_conf_field;
#undef KMEN_FIELD_ENUM

/* A location setting's identity: KMEN_DIR_FIELD_min_loa, ... */
#define KMEN_DIR_FIELD_ENUM(type, field, ...) KMEN_DIR_FIELD_##field,
typedef enum { KMEN_DIR_FIELDS(KMEN_DIR_FIELD_ENUM) KMEN_DIR_FIELD_COUNT } kmen_dir_field;
#undef KMEN_DIR_FIELD_ENUM

/* What is wrong with a configuration, and which setting to fix. PROBLEM
 * names other settings as {field}, or {field:on} for "that switch on"
 * (kmen_conf_problem_text spells them); everything else in it is plain. */
typedef struct {
    kmen_conf_field field;
    int second;          /* its second occurrence: the next key pair */
    int missing;         /* not set at all: no value and no place to name */
    const char *value;   /* the value refused; NULL: none shown (missing, or a secret) */
    const char *problem; /* "is required" when missing */
} kmen_conf_culprit;

/* The parts of mod_kmen a server runs, whose settings it checks: httpd both,
 * nginx the SP and, once a server{} names a database or a register key, the
 * other part too. */
typedef enum {
    KMEN_CONF_SP = 1,   /* the SAML SP: its names, keys, NIA's metadata */
    KMEN_CONF_LOGIN = 2 /* the register, the gateway, sessions, evidence */
} kmen_conf_part;

/* NULL, or the first culprit in C of the PARTS (kmen_conf_part, or-ed): a
 * required setting missing, a key without its certificate (or the reverse,
 * of either pair, the first or the second), an entity ID or ACS base URL
 * that is not https (without KmenAllowHTTP) or not a base URL, a metadata
 * URL without its pin or https, a __Host- cookie that is not Secure, a
 * connection string libpq cannot parse, a gateway not on https, an evidence
 * CA without its pin. Reads no file and connects to nothing. */
const kmen_conf_culprit *kmen_conf_check(apr_pool_t *p, const kmen_server_conf *c, int parts);

/* A culprit about FIELD (SECOND: its second occurrence), VALUE, PROBLEM. */
kmen_conf_culprit *kmen_conf_culprit_make(apr_pool_t *p, kmen_conf_field field, int second,
                                          const char *value, const char *problem);

/* The directive that sets FIELD, as SPELLING writes it; its C name (as
 * PROBLEM references write it) for a field no directive of SPELLING sets. */
const char *kmen_conf_field_name(kmen_conf_field field, kmen_spelling spelling);
/* The directive that sets FIELD as C's server writes it (C's spelling), for
 * the texts the core makes while serving; httpd's for a NULL C (a context
 * outside any server: the unit tests, kmenctl). */
const char *kmen_conf_spelling(const kmen_server_conf *c, kmen_conf_field field);
/* The same for a location setting: "KmenVerifyPath" or "kmen_verify_path". */
const char *kmen_dir_spelling(const kmen_server_conf *c, kmen_dir_field field);
/* "<the switch FIELD> is Off" as C's server writes it ("... is off" on nginx). */
const char *kmen_dir_switched_off(apr_pool_t *p, const kmen_server_conf *c, kmen_dir_field field);
/* "{field}": PROBLEM's reference to FIELD. */
const char *kmen_conf_field_ref(apr_pool_t *p, kmen_conf_field field);

/* PROBLEM with its references spelt SPELLING: "{allow_http:on}" is
 * "KmenAllowHTTP On" to httpd, "kmen_allow_http on" to nginx. */
const char *kmen_conf_problem_text(apr_pool_t *p, const char *problem, kmen_spelling spelling);

/* The key under which the where table keeps the place of DIRECTIVE (httpd's
 * name, conf_fields.h), or of its SECOND occurrence. */
const char *kmen_conf_where_key(apr_pool_t *p, const char *directive, int second);

/* Where C's where table says FIELD (SECOND: its second occurrence) was
 * written ("file:line"), or NULL. */
const char *kmen_conf_where(apr_pool_t *p, const kmen_server_conf *c, kmen_conf_field field,
                            int second);

#endif
