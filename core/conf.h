/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration the core reads: one virtual host's settings and one
 * location's, their fields expanded from the lists of conf_fields.h. A
 * server adapter (apache/config.c for httpd) fills them from its directives
 * and calls the core to create, merge and default them. No server header:
 * how a directive is parsed and where it was written stay with the adapter. */
#ifndef KMEN_CONF_H
#define KMEN_CONF_H

#include "apr_tables.h"

#include "identifiers.h"
#include "identity.h"
#include "conf_fields.h"

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

/* The TYPE column of the field lists (conf_fields.h): each type's base, STR,
 * INT or ARRAY, gives the C type, the value that means "not set" and the type
 * the effective value is read as. */
#define KMEN_BASE_STR STR
#define KMEN_BASE_FILE STR /* a path, made absolute by the adapter's directive */
#define KMEN_BASE_INT INT
#define KMEN_BASE_FLAG INT
#define KMEN_BASE_LOA INT      /* kmen_loa */
#define KMEN_BASE_EIDAS INT    /* 1: accept, 0: verify */
#define KMEN_BASE_ENCODING INT /* kmen_header_encoding */
#define KMEN_BASE_NAMEID INT   /* kmen_nameid_policy */
#define KMEN_BASE_PINS ARRAY   /* of KMEN_HASH_LEN bytes */
#define KMEN_BASE_ATTRS ARRAY  /* of kmen_requested_attr */

#define KMEN_CTYPE_STR const char *
#define KMEN_CTYPE_INT int
#define KMEN_CTYPE_ARRAY apr_array_header_t *
#define KMEN_UNSET_STR NULL
#define KMEN_UNSET_INT KMEN_UNSET
#define KMEN_UNSET_ARRAY NULL
#define KMEN_READ_STR const char *
#define KMEN_READ_INT int
#define KMEN_READ_ARRAY const apr_array_header_t *

#define KMEN_BASE_OF_(base, what) KMEN_##what##_##base
#define KMEN_BASE_OF(base, what) KMEN_BASE_OF_(base, what)
/* KMEN_TYPE(FLAG, CTYPE) is int, KMEN_TYPE(STR, UNSET) NULL, ... */
#define KMEN_TYPE(type, what) KMEN_BASE_OF(KMEN_BASE_##type, what)
#define KMEN_IS_SET(type, value) ((value) != KMEN_TYPE(type, UNSET))

#define KMEN_MEMBER(type, field, ...) KMEN_TYPE(type, CTYPE) field;

/* Whose directive names: the directive and nginx columns of conf_fields.h. */
typedef enum { KMEN_SPELL_HTTPD, KMEN_SPELL_NGINX } kmen_spelling;

typedef struct {
    KMEN_SERVER_FIELDS(KMEN_MEMBER)
    apr_table_t *where; /* directive name -> "file:line" where it was set */
    /* the server's, which the core's texts name settings in: set once by
     * the adapter (nginx), httpd's unless it does */
    kmen_spelling spelling;

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
    KMEN_DIR_FIELDS(KMEN_MEMBER)
} kmen_dir_conf;

typedef struct {
    const char *name;  /* full attribute URI */
    const char *value; /* the eidas:AttributeValue asked about (isAgeOver's age), or NULL */
    int required;
} kmen_requested_attr;

/* KmenRequestedAttributes' default: the eIDAS minimal data set, all of it required. */
extern const apr_array_header_t kmen_eidas_minimal_set;

/* The words of KmenHeaderEncoding and KmenNameIDFormat, by value; NULL-terminated. */
extern const char *const kmen_header_encoding_names[];
extern const char *const kmen_nameid_policy_names[];

/* Every field unset, in pool P; the where table empty; httpd's spelling. */
kmen_server_conf *kmen_server_conf_new(apr_pool_t *p);
kmen_dir_conf *kmen_dir_conf_new(apr_pool_t *p);

/* ADD (a virtual host's or a location's own settings) over BASE (its
 * parent's), field by field as the lists' MERGE column says; defaults are
 * not applied yet. */
kmen_server_conf *kmen_server_conf_merge(apr_pool_t *p, const kmen_server_conf *base,
                                         const kmen_server_conf *add);
kmen_dir_conf *kmen_dir_conf_merge(apr_pool_t *p, const kmen_dir_conf *base,
                                   const kmen_dir_conf *add);

/* kmen_dir_FIELD(d) for every field of KMEN_DIR_FIELDS: its effective value,
 * the default when unset (kmen_dir_min_loa, kmen_dir_requested, ...). A
 * location's settings are merged per request: their defaults are read, not
 * written. */
#define KMEN_DIR_READER(type, field, ...)                                                          \
    KMEN_TYPE(type, READ) kmen_dir_##field(const kmen_dir_conf *d);
KMEN_DIR_FIELDS(KMEN_DIR_READER)
#undef KMEN_DIR_READER

/* Applies the defaults of every unset value (after merging). */
void kmen_server_conf_defaults(kmen_server_conf *c);

/* An agenda code: A followed by 1 to 6 digits. */
int kmen_agenda_is_valid(const char *agenda);

/* An eIDAS SPType: public or private. */
int kmen_sp_type_is_valid(const char *sp_type);

/* One requested attribute as KmenRequestedAttributes and
 * kmen_requested_attributes write it, NAME[=VALUE][!], into *OUT: "!" marks
 * it required, VALUE (everything after the first "=") is sent as the
 * requested attribute's value, as isAgeOver=18 asks about the age 18; a NAME
 * without a namespace is NIA's STORK or Czech claim of that name, else the
 * eIDAS natural person's. NULL, or what is wrong with ARG. */
const char *kmen_requested_attr_parse(apr_pool_t *p, const char *arg, kmen_requested_attr *out);

/* KmenEndpointPath's form: a leading /, something after it, no trailing /. */
int kmen_endpoint_path_is_valid(const char *path);

/* KmenErrorDocument's and KmenVerifyPath's form: a local URL path, starting
 * with /. */
int kmen_local_path_is_valid(const char *path);

/* A pin of KmenEvidenceCallbackCertificate, "sha256/<base64 of the
 * SHA-256 of a certificate's public key>", into HASH (KMEN_HASH_LEN bytes);
 * 0 when TEXT is not one. */
int kmen_pin_parse(const char *text, unsigned char *hash);

/* KmenHomeCountry's form: a two-letter country code. */
int kmen_country_is_valid(const char *country);

/* The text of the file PATH; NULL, or why not ("cannot read: ..."). */
const char *kmen_read_text_file(apr_pool_t *p, const char *path, const char **text);

/* KmenRegisterKeyFile's 32 bytes into C, and the keys derived from them
 * (identifiers at rest, the session seal); NULL, or why not, for a message
 * that names the file first. */
const char *kmen_register_key_load(apr_pool_t *p, kmen_server_conf *c);

/* An HMAC key file (KmenHeaderSecretFile, KmenEvidenceSecretFile) into
 * *SECRET, *SECRET_LEN: at least 16 bytes. NULL, or why not, for a message
 * that names the file first. */
const char *kmen_secret_load(apr_pool_t *p, const char *path, const unsigned char **secret,
                             apr_size_t *secret_len);

/* Where browsers reach this server's root: KmenACSBaseURL, else scheme://host[:port] of
 * the entity ID. The SP's endpoints live under it. */
const char *kmen_sp_base_url(apr_pool_t *p, const kmen_server_conf *c);
const char *kmen_endpoint_url(apr_pool_t *p, const kmen_server_conf *c, const char *name);
/* The login endpoint that brings the browser back to RETURN_TO (a local
 * path), as a page's link or a redirect writes it: "/kmen/login?ReturnTo=...". */
const char *kmen_login_path(apr_pool_t *p, const kmen_server_conf *c, const char *return_to);

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
