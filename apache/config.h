/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Directive values: server/virtual-host and per-directory configuration,
 * created and merged by the core (conf.h) behind httpd's hooks. */
#ifndef KMEN_CONFIG_H
#define KMEN_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "conf_check.h"

void *kmen_create_server_conf(apr_pool_t *p, server_rec *s);
void *kmen_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *kmen_create_dir_conf(apr_pool_t *p, char *dir);
void *kmen_merge_dir_conf(apr_pool_t *p, void *base, void *add);

kmen_server_conf *kmen_server_conf_get(const server_rec *s);
kmen_dir_conf *kmen_dir_conf_get(const request_rec *r);

/* Directive handlers; cmd->info is the offset of the field each sets, in
 * kmen_server_conf or (directory directives) kmen_dir_conf. */
const char *kmen_set_server_string(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_server_file(cmd_parms *cmd, void *dir, const char *arg);
/* KmenSPPrivateKeyFile, KmenSPCertificateFile and their KmenSPEncryption*
 * twins (cmd->info: the offset of the first file): the first occurrence in a
 * context is the pair in use, a second the next (or previous) pair, a third
 * a syntax error. */
const char *kmen_set_sp_file(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_server_seconds(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_server_flag(cmd_parms *cmd, void *dir, int on);
const char *kmen_set_endpoint_path(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_error_document(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_pool_size(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_login_start_limit(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_header_encoding(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_nameid_format(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_home_country(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_loa(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_sp_type(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_agenda(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_server_agenda(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_eidas_policy(cmd_parms *cmd, void *dir, const char *arg);
const char *kmen_set_verify_path(cmd_parms *cmd, void *dir, const char *arg);
/* sha256/<base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo> */
const char *kmen_add_evidence_pin(cmd_parms *cmd, void *dir, const char *arg);
/* Per-directory On/Off: cmd->info is the field's offset in kmen_dir_conf. */
const char *kmen_set_dir_flag(cmd_parms *cmd, void *dir, int on);
const char *kmen_add_requested_attribute(cmd_parms *cmd, void *dir, const char *arg);

/* "NAME:PORT" of the (virtual) server S: the port of its <VirtualHost>
 * address, else of its ServerName, else UNNAMED_PORT. */
const char *kmen_vhost_name(apr_pool_t *p, const server_rec *s, apr_port_t unnamed_port);

/* " (file:line, virtual host name:port)": where DIRECTIVE was set (if it
 * was) and the virtual host S (if it is one), for a message that names both;
 * "" when httpd tells neither. */
const char *kmen_directive_where(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                 const char *directive);

/* "DIRECTIVE VALUE (file:line, virtual host name:port): PROBLEM", the one
 * form of every startup refusal and warning, so that each names what to fix
 * and where, as far as httpd tells. VALUE NULL: none (it may hold a secret). */
const char *kmen_config_problem(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                const char *directive, const char *value, const char *problem);
/* The same for a culprit of the core's checks (kmen_conf_check,
 * kmen_sp_setup), the directive in httpd's spelling and, for its second
 * occurrence, that one's line; "DIRECTIVE is required (virtual host
 * name:port)" for a missing one. */
const char *kmen_config_culprit(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                const kmen_conf_culprit *culprit);

/* Validates the configuration of the (virtual) server S with the core's
 * checks (kmen_conf_check) and reads its key material (as root); NULL, or
 * the refusal (kmen_config_problem's form). */
const char *kmen_server_conf_load(apr_pool_t *p, const server_rec *s, kmen_server_conf *c);

#endif
