/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration the core reads: one virtual host's settings and one
 * location's, as the server adapter (apache/config.c for httpd) fills and
 * merges them. No server header: what the directives are called and where
 * they were written stays with the adapter. */
#ifndef KMEN_CONF_H
#define KMEN_CONF_H

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

/* The effective values, defaults applied. */
int kmen_dir_min_loa(const kmen_dir_conf *d);
const char *kmen_dir_sp_type(const kmen_dir_conf *d);
const apr_array_header_t *kmen_dir_requested(const kmen_dir_conf *d);
int kmen_dir_eidas_accept(const kmen_dir_conf *d);
int kmen_dir_force_authn(const kmen_dir_conf *d);

/* Applies the defaults of every unset value (after merging). */
void kmen_server_conf_defaults(kmen_server_conf *c);

/* An agenda code: A followed by 1 to 6 digits. */
int kmen_agenda_is_valid(const char *agenda);

/* The text of the file PATH; NULL, or why not ("cannot read: ..."). */
const char *kmen_read_text_file(apr_pool_t *p, const char *path, const char **text);

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
