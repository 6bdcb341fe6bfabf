/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Directive handlers, server and per-directory configuration create/merge. */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_base64.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_uri.h"
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

void *kmen_create_server_conf(apr_pool_t *p, server_rec *s)
{
    kmen_server_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    c->where = apr_table_make(p, 8);
    c->db_pool_size = c->translator_timeout = c->session_lifetime = c->session_idle =
        c->session_cache_ttl = c->cookie_secure = c->clock_skew = c->header_encoding =
            c->nameid_policy = c->pending_timeout = c->allow_http = c->login_start_limit =
                c->idp_metadata_refresh = KMEN_UNSET;
    return c;
}

#define MERGE_PTR(f) m->f = add->f ? add->f : base->f
#define MERGE_INT(f) m->f = add->f != KMEN_UNSET ? add->f : base->f

/* The services mod_kmen calls or is called by: the translation gateway and
 * the evidence service. */
static void merge_services(kmen_server_conf *m, const kmen_server_conf *base,
                           const kmen_server_conf *add)
{
    MERGE_PTR(translator_url);
    MERGE_PTR(translator_cert_file);
    MERGE_PTR(translator_key_file);
    MERGE_PTR(translator_ca_file);
    MERGE_INT(translator_timeout);
    MERGE_PTR(evidence_url);
    MERGE_PTR(evidence_secret_file);
    MERGE_PTR(evidence_ca_file);
    MERGE_PTR(evidence_pins);
}

/* The SAML side: this SP's names and keys, and NIA's metadata. */
static void merge_saml(kmen_server_conf *m, const kmen_server_conf *base,
                       const kmen_server_conf *add)
{
    MERGE_PTR(sp_entity_id);
    /* a context's key pairs go together: a virtual host's one key is not
     * followed by the main server's second */
    m->sp_next_key_file = add->sp_key_file ? add->sp_next_key_file : base->sp_next_key_file;
    m->sp_next_cert_file = add->sp_cert_file ? add->sp_next_cert_file : base->sp_next_cert_file;
    /* nor is a virtual host's own signing key paired with the main server's
     * encryption keys */
    const kmen_server_conf *enc =
        add->sp_key_file || add->sp_enc_key_file || add->sp_enc_cert_file ? add : base;
    m->sp_enc_key_file = enc->sp_enc_key_file;
    m->sp_enc_cert_file = enc->sp_enc_cert_file;
    m->sp_next_enc_key_file = enc->sp_next_enc_key_file;
    m->sp_next_enc_cert_file = enc->sp_next_enc_cert_file;
    MERGE_PTR(acs_base_url);
    MERGE_PTR(sp_key_file);
    MERGE_PTR(sp_cert_file);
    MERGE_PTR(idp_metadata_file);
    MERGE_PTR(idp_metadata_cert_file);
    MERGE_PTR(idp_metadata_url);
    MERGE_INT(idp_metadata_refresh);
}

void *kmen_merge_server_conf(apr_pool_t *p, void *base_, void *add_)
{
    kmen_server_conf *base = base_, *add = add_, *m = apr_pcalloc(p, sizeof(*m));
    merge_saml(m, base, add);
    MERGE_PTR(endpoint_path);
    MERGE_PTR(db_conninfo);
    MERGE_INT(db_pool_size);
    MERGE_PTR(register_agenda);
    MERGE_PTR(login_agenda);
    MERGE_PTR(register_key_file);
    merge_services(m, base, add);
    MERGE_INT(session_lifetime);
    MERGE_INT(session_idle);
    MERGE_INT(session_cache_ttl);
    MERGE_PTR(session_cache);
    MERGE_PTR(cookie_name);
    MERGE_INT(cookie_secure);
    MERGE_INT(allow_http);
    MERGE_INT(clock_skew);
    MERGE_PTR(home_country);
    MERGE_PTR(header_prefix);
    MERGE_INT(header_encoding);
    MERGE_PTR(header_secret_file);
    MERGE_PTR(error_document);
    MERGE_INT(nameid_policy);
    MERGE_INT(pending_timeout);
    MERGE_INT(login_start_limit);
    m->where = apr_table_overlay(p, add->where, base->where);
    return m;
}

void *kmen_create_dir_conf(apr_pool_t *p, char *dir)
{
    kmen_dir_conf *d = apr_pcalloc(p, sizeof(*d));
    (void)dir;
    d->min_loa = d->eidas_accept = d->accept_contact = d->allow_link = d->accept_link_system =
        d->accept_evidence_request = d->cache_private = d->force_authn = KMEN_UNSET;
    return d;
}

void *kmen_merge_dir_conf(apr_pool_t *p, void *base_, void *add_)
{
    kmen_dir_conf *base = base_, *add = add_, *m = apr_pcalloc(p, sizeof(*m));
    MERGE_INT(min_loa);
    MERGE_PTR(requested);
    MERGE_PTR(sp_type);
    MERGE_PTR(agenda);
    MERGE_INT(eidas_accept);
    MERGE_PTR(verify_path);
    MERGE_INT(accept_contact);
    MERGE_INT(allow_link);
    MERGE_INT(accept_link_system);
    MERGE_INT(accept_evidence_request);
    MERGE_INT(cache_private);
    MERGE_INT(force_authn);
    return m;
}

/* ---- directive handlers: cmd->info is the offset into the server config */

static kmen_server_conf *server_conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &kmen_module);
}

/* The key of the where table for the second occurrence of DIRECTIVE. */
static const char *second_of(apr_pool_t *p, const char *directive)
{
    return apr_pstrcat(p, directive, " (second)", NULL);
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
    (void)dir;
    *(const char **)((char *)server_conf_of(cmd) + (size_t)cmd->info) = arg;
    record_where(cmd);
    return NULL;
}

const char *kmen_set_server_flag(cmd_parms *cmd, void *dir, int on)
{
    (void)dir;
    *(int *)((char *)server_conf_of(cmd) + (size_t)cmd->info) = on;
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
        record_where_as(cmd, second_of(cmd->pool, cmd->cmd->name));
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
    size_t first = (size_t)cmd->info;
    (void)dir;
    return set_first_or_second(cmd, arg, (const char **)(c + first),
                               (const char **)(c + second_slot(first)));
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
    (void)dir;
    if (!parse_int(arg, 0, 31536000, (int *)((char *)server_conf_of(cmd) + (size_t)cmd->info)))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected a number of seconds, got ", arg,
                           NULL);
    return NULL;
}

const char *kmen_set_error_document(cmd_parms *cmd, void *dir, const char *arg)
{
    if (arg[0] != '/')
        return "KmenErrorDocument: expected a local URL path such as /errors/login.html";
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_endpoint_path(cmd_parms *cmd, void *dir, const char *arg)
{
    size_t len = strlen(arg);
    if (arg[0] != '/' || len < 2 || arg[len - 1] == '/')
        return "KmenEndpointPath: expected a path such as /kmen (leading /, no trailing /)";
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_pool_size(cmd_parms *cmd, void *dir, const char *arg)
{
    (void)dir;
    if (!parse_int(arg, 1, 1024, &server_conf_of(cmd)->db_pool_size))
        return "KmenDatabasePoolSize: expected 1 to 1024 connections";
    return NULL;
}

const char *kmen_set_login_start_limit(cmd_parms *cmd, void *dir, const char *arg)
{
    (void)dir;
    if (!parse_int(arg, 0, 1000000, &server_conf_of(cmd)->login_start_limit))
        return apr_pstrcat(cmd->pool,
                           "KmenLoginStartLimit: expected login starts per minute and client "
                           "address, 0 to 1000000 (0: no limit), got ",
                           arg, NULL);
    return NULL;
}

/* One of three words, stored as its index; NULL or the usage message. */
static const char *set_choice(int *field, const char *arg, const char *const names[3],
                              const char *usage)
{
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(arg, names[i]) == 0) {
            *field = i;
            return NULL;
        }
    }
    return usage;
}

const char *kmen_set_header_encoding(cmd_parms *cmd, void *dir, const char *arg)
{
    static const char *const names[] = {"percent", "raw", "base64url"};
    (void)dir;
    return set_choice(&server_conf_of(cmd)->header_encoding, arg, names,
                      "KmenHeaderEncoding: expected percent, raw or base64url");
}

const char *kmen_set_nameid_format(cmd_parms *cmd, void *dir, const char *arg)
{
    static const char *const names[] = {"persistent", "transient", "none"};
    (void)dir;
    const char *err = set_choice(&server_conf_of(cmd)->nameid_policy, arg, names,
                                 "KmenNameIDFormat: expected persistent, transient or none");
    if (!err)
        record_where(cmd); /* for the warning about transient */
    return err;
}

const char *kmen_set_home_country(cmd_parms *cmd, void *dir, const char *arg)
{
    if (strlen(arg) != 2 || !apr_isalpha(arg[0]) || !apr_isalpha(arg[1]))
        return "KmenHomeCountry: expected a two-letter country code such as CZ";
    return kmen_set_server_string(cmd, dir, arg);
}

const char *kmen_set_loa(cmd_parms *cmd, void *dir, const char *arg)
{
    kmen_loa loa = kmen_loa_from_name(arg);
    (void)cmd;
    if (loa == KMEN_LOA_NONE)
        return "KmenLoA: expected low, substantial or high";
    ((kmen_dir_conf *)dir)->min_loa = loa;
    return NULL;
}

const char *kmen_set_sp_type(cmd_parms *cmd, void *dir, const char *arg)
{
    (void)cmd;
    if (strcmp(arg, "public") != 0 && strcmp(arg, "private") != 0)
        return "KmenSPType: expected public or private";
    ((kmen_dir_conf *)dir)->sp_type = arg;
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
    (void)cmd;
    if (!kmen_agenda_is_valid(arg))
        return "KmenAgenda: expected an agenda code such as A9145";
    ((kmen_dir_conf *)dir)->agenda = arg;
    return NULL;
}

const char *kmen_set_eidas_policy(cmd_parms *cmd, void *dir, const char *arg)
{
    (void)cmd;
    if (strcmp(arg, "accept") != 0 && strcmp(arg, "verify") != 0)
        return "KmenEidasPolicy: expected accept or verify";
    ((kmen_dir_conf *)dir)->eidas_accept = strcmp(arg, "accept") == 0;
    return NULL;
}

const char *kmen_set_dir_flag(cmd_parms *cmd, void *dir, int on)
{
    *(int *)((char *)dir + (size_t)cmd->info) = on;
    return NULL;
}

const char *kmen_set_verify_path(cmd_parms *cmd, void *dir, const char *arg)
{
    (void)cmd;
    if (arg[0] != '/')
        return "KmenVerifyPath: expected a local path such as /verify/";
    ((kmen_dir_conf *)dir)->verify_path = arg;
    return NULL;
}

/* A pin of the public key, not of the certificate: it survives the renewal
 * of a certificate for the same key. Several pins allow a rollover. */
const char *kmen_add_evidence_pin(cmd_parms *cmd, void *dir, const char *arg)
{
    static const char prefix[] = "sha256/";
    unsigned char hash[KMEN_HASH_LEN + 2]; /* 44 base64 characters: at most 33 bytes */
    (void)dir;
    if (strncmp(arg, prefix, strlen(prefix)) != 0 || strlen(arg + strlen(prefix)) != 44 ||
        !kmen_base64_is_valid(arg + strlen(prefix)) ||
        apr_base64_decode_binary(hash, arg + strlen(prefix)) != KMEN_HASH_LEN)
        return apr_pstrcat(cmd->pool,
                           "KmenEvidenceCallbackCertificate: expected sha256/<base64 of the "
                           "SHA-256 of the certificate's public key>, got ",
                           arg, NULL);
    kmen_server_conf *c = server_conf_of(cmd);
    if (!c->evidence_pins)
        c->evidence_pins = apr_array_make(cmd->pool, 2, KMEN_HASH_LEN);
    memcpy(apr_array_push(c->evidence_pins), hash, KMEN_HASH_LEN);
    record_where(cmd);
    return NULL;
}

/* The namespace of a name given without one: NIA's STORK and Czech claims by
 * their own names, everything else from the eIDAS natural-person set. */
static const char *attribute_uri(apr_pool_t *p, const char *name)
{
    static const char *const stork[] = {"eMail", "age", "isAgeOver", "countryCodeOfBirth", NULL};
    static const char *const moris[] = {"phonenumber", "tradresaid", "idtype", "idnumber", NULL};
    if (strchr(name, ':'))
        return name;
    for (int i = 0; stork[i]; i++) {
        if (strcmp(name, stork[i]) == 0)
            return apr_pstrcat(p, KMEN_STORK, name, NULL);
    }
    for (int i = 0; moris[i]; i++) {
        if (strcmp(name, moris[i]) == 0)
            return apr_pstrcat(p, KMEN_MORIS, name, NULL);
    }
    return apr_pstrcat(p, KMEN_EIDAS_NP, name, NULL);
}

/* NAME[=VALUE][!]: "!" marks it required, VALUE (everything after the first
 * "=") is sent as the requested attribute's value, as isAgeOver=18 asks
 * about the age 18; "DateOfBirth!" or "isAgeOver=18!" is enough in httpd.conf. */
const char *kmen_add_requested_attribute(cmd_parms *cmd, void *dir_, const char *arg)
{
    kmen_dir_conf *dir = dir_;
    size_t len = strlen(arg);
    int required = len > 0 && arg[len - 1] == '!';
    char *name = apr_pstrndup(cmd->pool, arg, len - (size_t)required);
    char *value = strchr(name, '=');
    if (value)
        *value++ = '\0';
    if (!*name)
        return apr_pstrcat(cmd->pool, "KmenRequestedAttributes: empty attribute name in ", arg,
                           NULL);
    if (value && !*value)
        return apr_pstrcat(cmd->pool, "KmenRequestedAttributes: empty value after = in ", arg,
                           NULL);
    if (!dir->requested)
        dir->requested = apr_array_make(cmd->pool, 8, sizeof(kmen_requested_attr));
    kmen_requested_attr *a = apr_array_push(dir->requested);
    a->name = attribute_uri(cmd->pool, name);
    a->value = value;
    a->required = required;
    return NULL;
}

/* ---- loading: runs in post_config, as root */

static const char *read_file(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                             const char *directive, const char *path, char **data, apr_size_t *len)
{
    const char *err = kmen_file_read(p, path, data, len);
    return err ? kmen_config_problem(p, s, c, directive, path, err) : NULL;
}

/* A directive that is missing has no line: the virtual host is named. */
static const char *check_required(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    const char *const pairs[][2] = {
        {c->sp_entity_id, "KmenSPEntityID"},        {c->sp_key_file, "KmenSPPrivateKeyFile"},
        {c->sp_cert_file, "KmenSPCertificateFile"}, {c->idp_metadata_file, "KmenIdPMetadataFile"},
        {c->db_conninfo, "KmenDatabase"},           {c->register_key_file, "KmenRegisterKeyFile"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        if (!pairs[i][0])
            return apr_pstrcat(p, pairs[i][1], " is required",
                               kmen_directive_where(p, s, c, pairs[i][1]), NULL);
    }
    return NULL;
}

/* A key without its certificate, or the reverse: mod_kmen would publish a
 * certificate whose key it does not hold, or hold a key NIA is never told
 * of. KEY and CERT: the directives' first files, NEXT_KEY and NEXT_CERT
 * their second. */
static const char *check_pair(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                              const char *const directives[2], const char *const files[4])
{
    static const char *const needs[] = {"needs a %s, its certificate", "needs a %s, its key",
                                        "a second key needs a second %s, its certificate",
                                        "a second certificate needs a second %s, its key"};
    for (int i = 0; i < 4; i++) {
        if (!files[i] || files[i ^ 1])
            continue;
        const char *problem = apr_psprintf(p, needs[i], directives[(i & 1) ^ 1]);
        return i < 2 ? kmen_config_problem(p, s, c, directives[i & 1], files[i], problem)
                     : kmen_config_problem_second(p, s, c, directives[i & 1], files[i], problem);
    }
    return NULL;
}

static const char *check_pairs(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    static const char *const signing[] = {"KmenSPPrivateKeyFile", "KmenSPCertificateFile"};
    static const char *const encryption[] = {"KmenSPEncryptionKeyFile",
                                             "KmenSPEncryptionCertificateFile"};
    const char *const signing_files[] = {c->sp_key_file, c->sp_cert_file, c->sp_next_key_file,
                                         c->sp_next_cert_file};
    const char *const encryption_files[] = {c->sp_enc_key_file, c->sp_enc_cert_file,
                                            c->sp_next_enc_key_file, c->sp_next_enc_cert_file};
    const char *err = check_pair(p, s, c, signing, signing_files);
    return err ? err : check_pair(p, s, c, encryption, encryption_files);
}

static const char *load_register_key(apr_pool_t *p, const server_rec *s, kmen_server_conf *c)
{
    char *data;
    apr_size_t len;
    const char *err = read_file(p, s, c, "KmenRegisterKeyFile", c->register_key_file, &data, &len);
    if (err)
        return err;
    if (len != KMEN_KEY_LEN)
        return kmen_config_problem(p, s, c, "KmenRegisterKeyFile", c->register_key_file,
                                   apr_psprintf(p,
                                                "must hold exactly %d random bytes (head -c 32 "
                                                "/dev/urandom), has %" APR_SIZE_T_FMT,
                                                KMEN_KEY_LEN, len));
    memcpy(c->register_key, data, KMEN_KEY_LEN);
    c->register_key_loaded = 1;
    kmen_id_keys_derive(c->register_key, &c->id_keys);
    kmen_derive_key(c->register_key, KMEN_KEY_SESSION_SEAL, c->session_key);
    return NULL;
}

/* An HMAC key file: at least 16 bytes. */
static const char *load_secret(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                               const char *directive, const char *path,
                               const unsigned char **secret, apr_size_t *secret_len)
{
    char *data;
    apr_size_t len;
    if (!path)
        return NULL;
    const char *err = read_file(p, s, c, directive, path, &data, &len);
    if (!err && len < 16)
        err = kmen_config_problem(p, s, c, directive, path, "the key must hold at least 16 bytes");
    *secret = (const unsigned char *)data;
    *secret_len = len;
    return err;
}

/* KmenSPEntityID and KmenACSBaseURL: NIA posts to https only. A base URL is
 * only a prefix of the endpoints' URLs: no query, fragment or user. */
static const char *check_https_url(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c,
                                   const char *directive, const char *url, int is_base)
{
    apr_uri_t uri;
    const char *problem = NULL;
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname ||
        (strcasecmp(uri.scheme, "https") != 0 && strcasecmp(uri.scheme, "http") != 0))
        problem = "expected an absolute https URL";
    else if (is_base && (uri.query || uri.fragment || uri.user))
        problem = "expected https://host[:port][/prefix], without query, fragment or user";
    else if (strcasecmp(uri.scheme, "http") == 0 && !c->allow_http)
        problem = "NIA logins need https (KmenAllowHTTP On only for a demo)";
    return problem ? kmen_config_problem(p, s, c, directive, url, problem) : NULL;
}

static const char *check_urls(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    const char *err = check_https_url(p, s, c, "KmenSPEntityID", c->sp_entity_id, 0);
    if (!err && c->acs_base_url)
        err = check_https_url(p, s, c, "KmenACSBaseURL", c->acs_base_url, 1);
    return err;
}

/* Browsers drop a __Host- cookie that is not Secure: every login would fail. */
static const char *check_cookie_name(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    if (!c->cookie_secure && strncmp(c->cookie_name, "__Host-", 7) == 0)
        return kmen_config_problem(p, s, c, "KmenCookieName", c->cookie_name,
                                   "a __Host- cookie needs KmenCookieSecure On");
    return NULL;
}

/* Any certificate of a CA is too many: the CA may certify others than the
 * evidence service. */
static const char *load_evidence_ca(apr_pool_t *p, const server_rec *s, kmen_server_conf *c)
{
    const char *err = NULL;
    if (c->evidence_ca_file && !c->evidence_pins)
        return kmen_config_problem(p, s, c, "KmenEvidenceCallbackCAFile", c->evidence_ca_file,
                                   "needs KmenEvidenceCallbackCertificate sha256/<base64>, the "
                                   "pin of the evidence service's certificate");
    if (c->evidence_pins && !c->evidence_ca_file)
        return kmen_config_problem(p, s, c, "KmenEvidenceCallbackCertificate", NULL,
                                   "needs KmenEvidenceCallbackCAFile");
    if (c->evidence_ca_file &&
        !(c->evidence_ca_store = kmen_ca_store_load(p, c->evidence_ca_file, &err)))
        return kmen_config_problem(p, s, c, "KmenEvidenceCallbackCAFile", c->evidence_ca_file, err);
    return NULL;
}

const char *kmen_server_conf_load(apr_pool_t *p, const server_rec *s, kmen_server_conf *c)
{
    const char *err;
    if ((err = check_required(p, s, c)) || (err = check_pairs(p, s, c)) ||
        (err = check_urls(p, s, c)) || (err = check_cookie_name(p, s, c)) ||
        (err = load_register_key(p, s, c)) ||
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

const char *kmen_config_problem_second(apr_pool_t *p, const server_rec *s,
                                       const kmen_server_conf *c, const char *directive,
                                       const char *value, const char *problem)
{
    return problem_at(p, s, c, directive, second_of(p, directive), value, problem);
}
