/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Directive handlers, and httpd's hooks around the core's configuration (conf.c). */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"

#include "config.h"
#include "crypto.h"
#include "files.h"

extern module AP_MODULE_DECLARE_DATA kmen_module;

kmen_server_conf *kmen_server_conf_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &kmen_module);
}

kmen_dir_conf *kmen_dir_conf_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &kmen_module);
}

/* httpd's create and merge hooks: the core's, in httpd's signatures. */
void *kmen_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return kmen_server_conf_new(p);
}

void *kmen_merge_server_conf(apr_pool_t *p, void *base, void *add)
{
    return kmen_server_conf_merge(p, base, add);
}

void *kmen_create_dir_conf(apr_pool_t *p, char *dir)
{
    return kmen_dir_conf_new(p);
}

void *kmen_merge_dir_conf(apr_pool_t *p, void *base, void *add)
{
    return kmen_dir_conf_merge(p, base, add);
}

/* ---- directive handlers: cmd->info is the offset of the field the
 * directive sets, in kmen_server_conf or kmen_dir_conf (conf_fields.h) */

static kmen_server_conf *server_conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &kmen_module);
}

static void *server_field(cmd_parms *cmd)
{
    return (char *)server_conf_of(cmd) + (size_t)cmd->info;
}

static void *dir_field(cmd_parms *cmd, void *dir)
{
    return (char *)dir + (size_t)cmd->info;
}

/* Where a directive stands, under KEY, for the startup checks' messages. */
static void record_where_as(cmd_parms *cmd, const char *key)
{
    if (cmd->directive && cmd->directive->filename)
        apr_table_set(
            server_conf_of(cmd)->where, key,
            apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num));
}

static void record_where(cmd_parms *cmd)
{
    record_where_as(cmd, cmd->cmd->name);
}

const char *kmen_set_server_string(cmd_parms *cmd, void *dir, const char *arg)
{
    *(const char **)server_field(cmd) = arg;
    record_where(cmd);
    return NULL;
}

const char *kmen_set_server_flag(cmd_parms *cmd, void *dir, int on)
{
    *(int *)server_field(cmd) = on;
    record_where(cmd);
    return NULL;
}

const char *kmen_set_server_file(cmd_parms *cmd, void *dir, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (!path)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", arg, NULL);
    return kmen_set_server_string(cmd, dir, path);
}

/* The file ARG into *FIRST, or into *SECOND when this context has a first. */
static const char *set_first_or_second(cmd_parms *cmd, const char *arg, const char **first,
                                       const char **second)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (!path)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", arg, NULL);
    if (*second)
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " given a third time: at most two, the pair in use and the next one",
                           NULL);
    if (*first) {
        *second = path;
        record_where_as(cmd, kmen_conf_where_key(cmd->pool, cmd->cmd->name, 1));
    } else {
        *first = path;
        record_where(cmd);
    }
    return NULL;
}

#define SLOT(field) APR_OFFSETOF(kmen_server_conf, field)

/* Where the second file of the directive whose first is at offset FIRST goes. */
static size_t second_slot(size_t first)
{
    static const size_t slots[][2] = {{SLOT(sp_key_file), SLOT(sp_next_key_file)},
                                      {SLOT(sp_cert_file), SLOT(sp_next_cert_file)},
                                      {SLOT(sp_enc_key_file), SLOT(sp_next_enc_key_file)},
                                      {SLOT(sp_enc_cert_file), SLOT(sp_next_enc_cert_file)}};
    size_t i = 0;
    while (i < sizeof(slots) / sizeof(slots[0]) - 1 && slots[i][0] != first)
        i++;
    return slots[i][1];
}

const char *kmen_set_sp_file(cmd_parms *cmd, void *dir, const char *arg)
{
    char *c = (char *)server_conf_of(cmd);
    return set_first_or_second(cmd, arg, server_field(cmd),
                               (const char **)(c + second_slot((size_t)cmd->info)));
}

/* A whole decimal number from MIN to MAX into *OUT; 0 when ARG is not one. */
static int parse_int(const char *arg, long min, long max, int *out)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < min || v > max)
        return 0;
    *out = (int)v;
    return 1;
}

const char *kmen_set_server_seconds(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!parse_int(arg, 0, 31536000, server_field(cmd)))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected a number of seconds, got ", arg,
                           NULL);
    return NULL;
}

const char *kmen_set_error_document(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_local_path_is_valid(arg))
        return "KmenErrorDocument: expected a local URL path such as /errors/login.html";
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_endpoint_path(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_endpoint_path_is_valid(arg))
        return "KmenEndpointPath: expected a path such as /kmen (leading /, no trailing /)";
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_pool_size(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!parse_int(arg, 1, 1024, server_field(cmd)))
        return "KmenDatabasePoolSize: expected 1 to 1024 connections";
    return NULL;
}

const char *kmen_set_login_start_limit(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!parse_int(arg, 0, 1000000, server_field(cmd)))
        return apr_pstrcat(cmd->pool,
                           "KmenLoginStartLimit: expected login starts per minute and client "
                           "address, 0 to 1000000 (0: no limit), got ",
                           arg, NULL);
    return NULL;
}

/* One of the words NAMES (NULL-terminated), stored as its index; NULL or the
 * usage message. */
static const char *set_choice(int *field, const char *arg, const char *const names[],
                              const char *usage)
{
    for (int i = 0; names[i]; i++) {
        if (strcasecmp(arg, names[i]) == 0) {
            *field = i;
            return NULL;
        }
    }
    return usage;
}

const char *kmen_set_header_encoding(cmd_parms *cmd, void *dir, const char *arg)
{
    return set_choice(server_field(cmd), arg, kmen_header_encoding_names,
                      "KmenHeaderEncoding: expected percent, raw or base64url");
}

const char *kmen_set_nameid_format(cmd_parms *cmd, void *dir, const char *arg)
{
    const char *err = set_choice(server_field(cmd), arg, kmen_nameid_policy_names,
                                 "KmenNameIDFormat: expected persistent, transient or none");
    if (!err)
        record_where(cmd); /* for the warning about transient */
    return err;
}

const char *kmen_set_home_country(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_country_is_valid(arg))
        return "KmenHomeCountry: expected a two-letter country code such as CZ";
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_loa(cmd_parms *cmd, void *dir, const char *arg)
{
    kmen_loa loa = kmen_loa_from_name(arg);
    if (loa == KMEN_LOA_NONE)
        return "KmenLoA: expected low, substantial or high";
    *(int *)dir_field(cmd, dir) = loa;
    return NULL;
}

const char *kmen_set_sp_type(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_sp_type_is_valid(arg))
        return "KmenSPType: expected public or private";
    *(const char **)dir_field(cmd, dir) = arg;
    return NULL;
}

const char *kmen_set_server_agenda(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_agenda_is_valid(arg))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected an agenda code such as A8566",
                           NULL);
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_agenda(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_agenda_is_valid(arg))
        return "KmenAgenda: expected an agenda code such as A9145";
    *(const char **)dir_field(cmd, dir) = arg;
    return NULL;
}

const char *kmen_set_eidas_policy(cmd_parms *cmd, void *dir, const char *arg)
{
    if (strcmp(arg, "accept") != 0 && strcmp(arg, "verify") != 0)
        return "KmenEidasPolicy: expected accept or verify";
    *(int *)dir_field(cmd, dir) = strcmp(arg, "accept") == 0;
    return NULL;
}

const char *kmen_set_dir_flag(cmd_parms *cmd, void *dir, int on)
{
    *(int *)dir_field(cmd, dir) = on;
    return NULL;
}

const char *kmen_set_verify_path(cmd_parms *cmd, void *dir, const char *arg)
{
    if (!kmen_local_path_is_valid(arg))
        return "KmenVerifyPath: expected a local path such as /verify/";
    *(const char **)dir_field(cmd, dir) = arg;
    return NULL;
}

/* A new element of the list directive's array *ARRAY, which its first
 * occurrence creates: each occurrence adds to it. */
static void *push_onto(apr_pool_t *p, apr_array_header_t **array, int element_size)
{
    if (!*array)
        *array = apr_array_make(p, 4, element_size);
    return apr_array_push(*array);
}

/* Several pins allow a rollover. */
const char *kmen_add_evidence_pin(cmd_parms *cmd, void *dir, const char *arg)
{
    unsigned char hash[KMEN_HASH_LEN];
    if (!kmen_pin_parse(arg, hash))
        return apr_pstrcat(cmd->pool,
                           "KmenEvidenceCallbackCertificate: expected sha256/<base64 of the "
                           "SHA-256 of the certificate's public key>, got ",
                           arg, NULL);
    memcpy(push_onto(cmd->pool, server_field(cmd), KMEN_HASH_LEN), hash, KMEN_HASH_LEN);
    record_where(cmd);
    return NULL;
}

const char *kmen_add_requested_attribute(cmd_parms *cmd, void *dir, const char *arg)
{
    kmen_requested_attr a;
    const char *err = kmen_requested_attr_parse(cmd->pool, arg, &a);
    if (err)
        return apr_pstrcat(cmd->pool, "KmenRequestedAttributes: ", err, NULL);
    *(kmen_requested_attr *)push_onto(cmd->pool, dir_field(cmd, dir), sizeof(a)) = a;
    return NULL;
}

/* ---- loading: runs in post_config, as root */

static const char *load_register_key(apr_pool_t *p, const server_rec *s, kmen_server_conf *c)
{
    const char *err = kmen_register_key_load(p, c);
    return err ? kmen_config_problem(p, s, c, "KmenRegisterKeyFile", c->register_key_file, err)
               : NULL;
}

/* An HMAC key file, when PATH is set (kmen_secret_load). */
static const char *load_secret(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                               const char *directive, const char *path,
                               const unsigned char **secret, apr_size_t *secret_len)
{
    const char *err = path ? kmen_secret_load(p, path, secret, secret_len) : NULL;
    return err ? kmen_config_problem(p, s, c, directive, path, err) : NULL;
}

/* The evidence service's CA, whose pin kmen_conf_check requires. */
static const char *load_evidence_ca(apr_pool_t *p, const server_rec *s, kmen_server_conf *c)
{
    const char *err = NULL;
    if (c->evidence_ca_file &&
        !(c->evidence_ca_store = kmen_ca_store_load(p, c->evidence_ca_file, &err)))
        return kmen_config_problem(p, s, c, "KmenEvidenceCallbackCAFile", c->evidence_ca_file, err);
    return NULL;
}

const char *kmen_server_conf_load(apr_pool_t *p, const server_rec *s, kmen_server_conf *c)
{
    const kmen_conf_culprit *bad = kmen_conf_check(p, c, KMEN_CONF_SP | KMEN_CONF_LOGIN);
    const char *err;
    if (bad)
        return kmen_config_culprit(p, s, c, bad);
    if ((err = load_register_key(p, s, c)) ||
        (err = load_secret(p, s, c, "KmenHeaderSecretFile", c->header_secret_file,
                           &c->header_secret, &c->header_secret_len)) ||
        (err = load_secret(p, s, c, "KmenEvidenceSecretFile", c->evidence_secret_file,
                           &c->evidence_secret, &c->evidence_secret_len)) ||
        (err = load_evidence_ca(p, s, c)))
        return err;
    return NULL;
}

const char *kmen_vhost_name(apr_pool_t *p, const server_rec *s, apr_port_t unnamed_port)
{
    apr_port_t port = s->is_virtual && s->addrs && s->addrs->host_port ? s->addrs->host_port
                      : s->port                                        ? s->port
                                                                       : unnamed_port;
    return apr_psprintf(p, "%s:%u", s->server_hostname, (unsigned)port);
}

const char *kmen_directive_where(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                 const char *directive)
{
    const char *line = apr_table_get(c->where, directive);
    const char *vhost =
        s && s->is_virtual ? apr_pstrcat(p, "virtual host ", kmen_vhost_name(p, s, 0), NULL) : NULL;
    if (!line && !vhost)
        return "";
    return apr_pstrcat(p, " (", line ? line : "", line && vhost ? ", " : "", vhost ? vhost : "",
                       ")", NULL);
}

/* kmen_config_problem's form, the place found under WHERE_KEY. */
static const char *problem_at(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                              const char *directive, const char *where_key, const char *value,
                              const char *problem)
{
    return apr_pstrcat(p, directive, value ? " " : "", value ? value : "",
                       kmen_directive_where(p, s, c, where_key), ": ", problem, NULL);
}

const char *kmen_config_problem(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                const char *directive, const char *value, const char *problem)
{
    return problem_at(p, s, c, directive, directive, value, problem);
}

/* A missing directive has no line: only the virtual host is named. */
const char *kmen_config_culprit(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                const kmen_conf_culprit *culprit)
{
    const char *directive = kmen_conf_field_name(culprit->field, KMEN_SPELL_HTTPD);
    const char *problem = kmen_conf_problem_text(p, culprit->problem, KMEN_SPELL_HTTPD);
    if (culprit->missing)
        return apr_pstrcat(p, directive, " ", problem, kmen_directive_where(p, s, c, directive),
                           NULL);
    return problem_at(p, s, c, directive, kmen_conf_where_key(p, directive, culprit->second),
                      culprit->value, problem);
}
