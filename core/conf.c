/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration's life, what every server adapter shares: created with
 * every field unset, merged over its parent, its defaults applied, all
 * expanded from the field lists (conf_fields.h); and the URLs derived. */
#include <string.h>
#include <strings.h>

#include "apr_base64.h"
#include "apr_escape.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_uri.h"

#include "conf.h"
#include "crypto.h"
#include "files.h"

const char *const kmen_header_encoding_names[] = {"percent", "raw", "base64url", NULL};
const char *const kmen_nameid_policy_names[] = {"persistent", "transient", "none", NULL};

static const kmen_requested_attr eidas_minimal[] = {{KMEN_EIDAS_NP "PersonIdentifier", NULL, 1},
                                                    {KMEN_EIDAS_NP "CurrentGivenName", NULL, 1},
                                                    {KMEN_EIDAS_NP "CurrentFamilyName", NULL, 1},
                                                    {KMEN_EIDAS_NP "DateOfBirth", NULL, 1}};
const apr_array_header_t kmen_eidas_minimal_set = {NULL, sizeof(kmen_requested_attr), 4, 4,
                                                   (char *)eidas_minimal};

#define UNSET_FIELD(type, field, ...) c->field = KMEN_TYPE(type, UNSET);

kmen_server_conf *kmen_server_conf_new(apr_pool_t *p)
{
    kmen_server_conf *c = apr_pcalloc(p, sizeof(*c));
    KMEN_SERVER_FIELDS(UNSET_FIELD)
    c->where = apr_table_make(p, 8);
    return c;
}

kmen_dir_conf *kmen_dir_conf_new(apr_pool_t *p)
{
    kmen_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    KMEN_DIR_FIELDS(UNSET_FIELD)
    return c;
}

/* A context whose own directives name a signing or an encryption key decrypts
 * with its own keys only: the parent's encryption keys do not follow it. */
static int has_own_keys(const kmen_server_conf *c)
{
    return c->sp_key_file || c->sp_enc_key_file || c->sp_enc_cert_file;
}

/* The MERGE column's rules, into m from add over base. */
#define MERGE_OWN(type, field) m->field = KMEN_IS_SET(type, add->field) ? add->field : base->field;
#define MERGE_WITH_KEY(type, field) m->field = add->sp_key_file ? add->field : base->field;
#define MERGE_WITH_CERT(type, field) m->field = add->sp_cert_file ? add->field : base->field;
#define MERGE_WITH_ENC(type, field) m->field = (has_own_keys(add) ? add : base)->field;
#define MERGE_FIELD(type, field, default_value, merge, ...) MERGE_##merge(type, field)

kmen_server_conf *kmen_server_conf_merge(apr_pool_t *p, const kmen_server_conf *base,
                                         const kmen_server_conf *add)
{
    kmen_server_conf *m = apr_pcalloc(p, sizeof(*m));
    KMEN_SERVER_FIELDS(MERGE_FIELD)
    m->where = apr_table_overlay(p, add->where, base->where);
    m->spelling = add->spelling;
    return m;
}

kmen_dir_conf *kmen_dir_conf_merge(apr_pool_t *p, const kmen_dir_conf *base,
                                   const kmen_dir_conf *add)
{
    kmen_dir_conf *m = apr_pcalloc(p, sizeof(*m));
    KMEN_DIR_FIELDS(MERGE_FIELD)
    return m;
}

/* Defaults are applied once, after merging, so that an unset value in a
 * virtual host still inherits the main server's explicit one; in list order,
 * so that a default may read the fields above it. */
#define DEFAULT_FIELD(type, field, default_value, ...)                                             \
    if (!KMEN_IS_SET(type, c->field))                                                              \
        c->field = default_value;

/* clang-format off: a macro's expansion, which clang-format takes for a call */
void kmen_server_conf_defaults(kmen_server_conf *c)
{
    KMEN_SERVER_FIELDS(DEFAULT_FIELD)
}
/* clang-format on */

#define DIR_READER(type, field, default_value, ...)                                                \
    KMEN_TYPE(type, READ) kmen_dir_##field(const kmen_dir_conf *d)                                 \
    {                                                                                              \
        return KMEN_IS_SET(type, d->field) ? d->field : default_value;                             \
    }

/* clang-format off: function definitions, not a call */
KMEN_DIR_FIELDS(DIR_READER)
/* clang-format on */

int kmen_agenda_is_valid(const char *agenda)
{
    size_t len = strlen(agenda);
    return agenda[0] == 'A' && len >= 2 && len <= 7 && strspn(agenda + 1, "0123456789") == len - 1;
}

int kmen_sp_type_is_valid(const char *sp_type)
{
    return strcmp(sp_type, "public") == 0 || strcmp(sp_type, "private") == 0;
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

const char *kmen_requested_attr_parse(apr_pool_t *p, const char *arg, kmen_requested_attr *out)
{
    size_t len = strlen(arg);
    int required = len > 0 && arg[len - 1] == '!';
    char *name = apr_pstrndup(p, arg, len - (size_t)required);
    char *value = strchr(name, '=');
    if (value)
        *value++ = '\0';
    if (!*name)
        return apr_pstrcat(p, "empty attribute name in ", arg, NULL);
    if (value && !*value)
        return apr_pstrcat(p, "empty value after = in ", arg, NULL);
    out->name = attribute_uri(p, name);
    out->value = value;
    out->required = required;
    return NULL;
}

int kmen_endpoint_path_is_valid(const char *path)
{
    size_t len = strlen(path);
    return path[0] == '/' && len >= 2 && path[len - 1] != '/';
}

int kmen_local_path_is_valid(const char *path)
{
    return path[0] == '/';
}

/* A pin of the public key, not of the certificate: it survives the renewal
 * of a certificate for the same key. */
int kmen_pin_parse(const char *text, unsigned char *hash)
{
    static const char prefix[] = "sha256/";
    unsigned char decoded[KMEN_HASH_LEN + 2]; /* 44 base64 characters: at most 33 bytes */
    const char *b64 = text + strlen(prefix);
    if (strncmp(text, prefix, strlen(prefix)) != 0 || strlen(b64) != 44 ||
        !kmen_base64_is_valid(b64) || apr_base64_decode_binary(decoded, b64) != KMEN_HASH_LEN)
        return 0;
    memcpy(hash, decoded, KMEN_HASH_LEN);
    return 1;
}

int kmen_country_is_valid(const char *country)
{
    return strlen(country) == 2 && apr_isalpha(country[0]) && apr_isalpha(country[1]);
}

const char *kmen_read_text_file(apr_pool_t *p, const char *path, const char **text)
{
    char *data = NULL;
    apr_size_t len;
    const char *err = kmen_file_read(p, path, &data, &len);
    *text = data;
    return err;
}

const char *kmen_register_key_load(apr_pool_t *p, kmen_server_conf *c)
{
    char *data;
    apr_size_t len;
    const char *err = kmen_file_read(p, c->register_key_file, &data, &len);
    if (err)
        return err;
    if (len != KMEN_KEY_LEN)
        return apr_psprintf(p,
                            "must hold exactly %d random bytes (head -c 32 /dev/urandom), "
                            "has %" APR_SIZE_T_FMT,
                            KMEN_KEY_LEN, len);
    memcpy(c->register_key, data, KMEN_KEY_LEN);
    c->register_key_loaded = 1;
    kmen_id_keys_derive(c->register_key, &c->id_keys);
    kmen_derive_key(c->register_key, KMEN_KEY_SESSION_SEAL, c->session_key);
    return NULL;
}

const char *kmen_secret_load(apr_pool_t *p, const char *path, const unsigned char **secret,
                             apr_size_t *secret_len)
{
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = kmen_file_read(p, path, &data, &len);
    if (!err && len < 16)
        err = "the key must hold at least 16 bytes";
    *secret = (const unsigned char *)data;
    *secret_len = len;
    return err;
}

const char *kmen_sp_base_url(apr_pool_t *p, const kmen_server_conf *c)
{
    apr_uri_t uri;
    if (c->acs_base_url) {
        size_t len = strlen(c->acs_base_url);
        while (len && c->acs_base_url[len - 1] == '/')
            len--;
        return apr_pstrndup(p, c->acs_base_url, len);
    }
    apr_uri_parse(p, c->sp_entity_id, &uri);
    return apr_uri_unparse(p, &uri, APR_URI_UNP_OMITPATHINFO | APR_URI_UNP_OMITUSERINFO);
}

const char *kmen_endpoint_url(apr_pool_t *p, const kmen_server_conf *c, const char *name)
{
    return apr_pstrcat(p, kmen_sp_base_url(p, c), c->endpoint_path, "/", name, NULL);
}

const char *kmen_login_path(apr_pool_t *p, const kmen_server_conf *c, const char *return_to)
{
    return apr_pstrcat(p, c->endpoint_path,
                       "/login?ReturnTo=", apr_pescape_urlencoded(p, return_to), NULL);
}

kmen_translator_mode kmen_translator_mode_of(const kmen_server_conf *c)
{
    if (!c->translator_url)
        return KMEN_TRANSLATOR_UNSET;
    return strcasecmp(c->translator_url, "none") == 0 ? KMEN_TRANSLATOR_NONE
                                                      : KMEN_TRANSLATOR_GATEWAY;
}
