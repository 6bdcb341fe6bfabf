/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Directive values: server/virtual-host and per-directory configuration. */
#ifndef KMEN_CONFIG_H
#define KMEN_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include "identifiers.h"
#include "identity.h"

#define KMEN_UNSET -1
#define KMEN_KEY_LEN 32

typedef enum {
    KMEN_ENCODING_PERCENT = 0,
    KMEN_ENCODING_RAW,
    KMEN_ENCODING_BASE64URL
} kmen_header_encoding;

typedef enum {
    KMEN_NAMEID_PERSISTENT = 0,
    KMEN_NAMEID_TRANSIENT,
    KMEN_NAMEID_NONE
} kmen_nameid_policy;

struct kmen_sp;
struct kmen_store;

typedef struct {
    const char *sp_entity_id;
    const char *acs_base_url;      /* KmenACSBaseURL, NULL: the entity ID's scheme://host[:port] */
    const char *sp_key_file;       /* the first KmenSPPrivateKeyFile: signs and decrypts */
    const char *sp_cert_file;      /* the first KmenSPCertificateFile */
    const char *sp_next_key_file;  /* the second, while the key rolls over: decrypts */
    const char *sp_next_cert_file; /* NULL without a second */
    /* KmenSPEncryptionKeyFile and KmenSPEncryptionCertificateFile: when set,
     * they alone decrypt, and the KmenSPPrivateKeyFile pairs only sign */
    const char *sp_enc_key_file;
    const char *sp_enc_cert_file;
    const char *sp_next_enc_key_file; /* the second, while that key rolls over */
    const char *sp_next_enc_cert_file;
    const char *idp_metadata_file;
    const char *idp_metadata_cert_file; /* the pinned certificate(s) signing that file */
    const char *idp_metadata_url;       /* where one process fetches that file from */
    int idp_metadata_refresh;           /* seconds between fetches */
    const char *endpoint_path;
    const char *db_conninfo;
    int db_pool_size;
    const char *register_agenda;
    const char *login_agenda;
    const char *register_key_file;
    const char *translator_url;
    const char *translator_cert_file;
    const char *translator_key_file;
    const char *translator_ca_file;
    int translator_timeout;
    int session_lifetime;
    int session_idle;
    int session_cache_ttl;
    const char *session_cache;
    const char *cookie_name;
    int cookie_secure;
    int allow_http;
    int clock_skew;
    const char *home_country;
    const char *header_prefix;
    int header_encoding; /* kmen_header_encoding or KMEN_UNSET */
    const char *header_secret_file;
    const char *evidence_url;
    const char *error_document;
    const char *evidence_secret_file;
    const char *evidence_ca_file;
    apr_array_header_t *evidence_pins; /* KmenEvidenceCallbackCertificate: SPKI SHA-256s */
    int nameid_policy;                 /* kmen_nameid_policy or KMEN_UNSET */
    int pending_timeout;
    int login_start_limit; /* per minute and client address; 0: none */
    apr_table_t *where;    /* directive name -> "file:line" where it was set */

    /* Loaded at post_config, while httpd still runs as root. */
    unsigned char register_key[KMEN_KEY_LEN];
    int register_key_loaded;
    kmen_id_keys id_keys;                    /* derived from register_key */
    unsigned char session_key[KMEN_KEY_LEN]; /* seals session records; derived once */
    const unsigned char *header_secret;
    apr_size_t header_secret_len;
    const unsigned char *evidence_secret;
    apr_size_t evidence_secret_len;
    void *evidence_ca_store; /* from KmenEvidenceCallbackCAFile */
    struct kmen_sp *sp;
    struct kmen_store *store;
} kmen_server_conf;

typedef struct {
    int min_loa;                   /* kmen_loa or KMEN_UNSET */
    apr_array_header_t *requested; /* of kmen_requested_attr, NULL = unset */
    const char *sp_type;
    const char *agenda; /* KmenAgenda: this location gets Kmen-Aifo in it */
    int eidas_accept;   /* KmenEidasPolicy accept (1) / verify (0) or KMEN_UNSET */
    const char *verify_path;
    int accept_contact;          /* KmenAcceptContact, KMEN_UNSET = Off */
    int allow_link;              /* KmenAllowLink, KMEN_UNSET = Off */
    int accept_link_system;      /* KmenAcceptLinkSystem, KMEN_UNSET = Off */
    int accept_evidence_request; /* KmenAcceptEvidenceRequest, KMEN_UNSET = Off */
    int cache_private;           /* KmenCacheControlPrivate, KMEN_UNSET = On */
    int force_authn;             /* KmenForceAuthn, KMEN_UNSET = Off */
} kmen_dir_conf;

typedef struct {
    const char *name;  /* full attribute URI */
    const char *value; /* the eidas:AttributeValue asked about (isAgeOver's age), or NULL */
    int required;
} kmen_requested_attr;

void *kmen_create_server_conf(apr_pool_t *p, server_rec *s);
void *kmen_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *kmen_create_dir_conf(apr_pool_t *p, char *dir);
void *kmen_merge_dir_conf(apr_pool_t *p, void *base, void *add);

kmen_server_conf *kmen_server_conf_get(const server_rec *s);
kmen_dir_conf *kmen_dir_conf_get(const request_rec *r);

/* The effective values, defaults applied. */
int kmen_dir_min_loa(const kmen_dir_conf *d);
const char *kmen_dir_sp_type(const kmen_dir_conf *d);
const apr_array_header_t *kmen_dir_requested(const kmen_dir_conf *d);

/* Directive handlers; for server settings cmd->info is the field's offset. */
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
int kmen_dir_eidas_accept(const kmen_dir_conf *d);
int kmen_dir_force_authn(const kmen_dir_conf *d);
/* An agenda code: A followed by 1 to 6 digits. */
int kmen_agenda_is_valid(const char *agenda);
const char *kmen_add_requested_attribute(cmd_parms *cmd, void *dir, const char *arg);

/* The text of the file PATH; NULL, or why not ("cannot read: ..."). */
const char *kmen_read_text_file(apr_pool_t *p, const char *path, const char **text);

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
/* The same for the second occurrence of a directive given twice: the line
 * named is that one's. */
const char *kmen_config_problem_second(apr_pool_t *p, const server_rec *s,
                                       const kmen_server_conf *c, const char *directive,
                                       const char *value, const char *problem);

/* Applies the defaults of every unset value (after merging). */
void kmen_server_conf_defaults(kmen_server_conf *c);

/* Validates the configuration of the (virtual) server S and reads its key
 * material (as root); NULL, or the refusal (kmen_config_problem's form). */
const char *kmen_server_conf_load(apr_pool_t *p, const server_rec *s, kmen_server_conf *c);

/* Where browsers reach this server's root: KmenACSBaseURL, else scheme://host[:port] of
 * the entity ID. The SP's endpoints live under it. */
const char *kmen_sp_base_url(apr_pool_t *p, const kmen_server_conf *c);
const char *kmen_endpoint_url(apr_pool_t *p, const kmen_server_conf *c, const char *name);

/* KmenTranslatorURL: a gateway's URL; "none", a register that keeps Czech
 * clients by BSI alone until it gets one; or unset, a site that cannot
 * resolve first logins (docs/register.md). */
typedef enum {
    KMEN_TRANSLATOR_UNSET = 0,
    KMEN_TRANSLATOR_NONE,
    KMEN_TRANSLATOR_GATEWAY
} kmen_translator_mode;

kmen_translator_mode kmen_translator_mode_of(const kmen_server_conf *c);

#endif
