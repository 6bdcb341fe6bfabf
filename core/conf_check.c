/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration checks every server shares: what a merged, defaulted
 * kmen_server_conf says, judged without a server and without reading a
 * file. What needs the server stays with it: httpd's socache providers, and
 * whether httpd's children (not root, who runs the check) can read a file. */
#include <string.h>
#include <strings.h>

#include "apr_strings.h"
#include "apr_uri.h"

#include "conf_check.h"
#include "store_pg.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Each field's C name (how a problem references it) and its two spellings. */
typedef struct {
    const char *id, *httpd, *nginx;
} field_names;
#define FIELD_NAMES(type, field, default_value, merge, directive, nginx) {#field, directive, nginx},
static const field_names names[] = {KMEN_SERVER_FIELDS(FIELD_NAMES)},
                         dir_names[] = {KMEN_DIR_FIELDS(FIELD_NAMES)};
#undef FIELD_NAMES

/* N's directive as SPELLING writes it; its C name where SPELLING has none. */
static const char *spelt(const field_names *n, kmen_spelling spelling)
{
    const char *name = spelling == KMEN_SPELL_NGINX ? n->nginx : n->httpd;
    return name ? name : n->id;
}

/* C's server's spelling; httpd's outside any server (a NULL C). */
static kmen_spelling spelling_of(const kmen_server_conf *c)
{
    return c ? c->spelling : KMEN_SPELL_HTTPD;
}

const char *kmen_conf_field_name(kmen_conf_field field, kmen_spelling spelling)
{
    return spelt(&names[field], spelling);
}

const char *kmen_conf_spelling(const kmen_server_conf *c, kmen_conf_field field)
{
    return spelt(&names[field], spelling_of(c));
}

const char *kmen_dir_spelling(const kmen_server_conf *c, kmen_dir_field field)
{
    return spelt(&dir_names[field], spelling_of(c));
}

const char *kmen_dir_switched_off(apr_pool_t *p, const kmen_server_conf *c, kmen_dir_field field)
{
    const char *off = spelling_of(c) == KMEN_SPELL_NGINX ? " is off" : " is Off";
    return apr_pstrcat(p, kmen_dir_spelling(c, field), off, NULL);
}

const char *kmen_conf_field_ref(apr_pool_t *p, kmen_conf_field field)
{
    return apr_pstrcat(p, "{", names[field].id, "}", NULL);
}

/* The reference TOKEN, LEN bytes ("field" or "field:on"), spelt SPELLING;
 * NULL when it names no field (a brace in a library's message). */
static const char *reference(apr_pool_t *p, const char *token, size_t len, kmen_spelling spelling)
{
    static const char on[] = ":on";
    const size_t on_len = sizeof(on) - 1;
    const int switched_on = len > on_len && strncmp(token + len - on_len, on, on_len) == 0;
    const size_t id_len = switched_on ? len - on_len : len;
    for (size_t i = 0; i < COUNT(names); i++) {
        if (strlen(names[i].id) == id_len && strncmp(names[i].id, token, id_len) == 0)
            return apr_pstrcat(p, kmen_conf_field_name((kmen_conf_field)i, spelling),
                               !switched_on                   ? ""
                               : spelling == KMEN_SPELL_NGINX ? " on"
                                                              : " On",
                               NULL);
    }
    return NULL;
}

const char *kmen_conf_problem_text(apr_pool_t *p, const char *problem, kmen_spelling spelling)
{
    const char *out = "", *rest = problem, *brace;
    while ((brace = strchr(rest, '{'))) {
        const char *end = strchr(brace, '}');
        const char *name =
            end ? reference(p, brace + 1, (size_t)(end - brace - 1), spelling) : NULL;
        out = apr_pstrcat(p, out, apr_pstrndup(p, rest, (size_t)(brace - rest)), name ? name : "{",
                          NULL);
        rest = name ? end + 1 : brace + 1;
    }
    return apr_pstrcat(p, out, rest, NULL);
}

const char *kmen_conf_where_key(apr_pool_t *p, const char *directive, int second)
{
    return second ? apr_pstrcat(p, directive, " (second)", NULL) : directive;
}

const char *kmen_conf_where(apr_pool_t *p, const kmen_server_conf *c, kmen_conf_field field,
                            int second)
{
    const char *directive = names[field].httpd;
    return directive ? apr_table_get(c->where, kmen_conf_where_key(p, directive, second)) : NULL;
}

kmen_conf_culprit *kmen_conf_culprit_make(apr_pool_t *p, kmen_conf_field field, int second,
                                          const char *value, const char *problem)
{
    kmen_conf_culprit *out = apr_pcalloc(p, sizeof(*out));
    out->field = field;
    out->second = second;
    out->value = value;
    out->problem = problem;
    return out;
}

/* A missing setting has no value and no line: a server names the context
 * that lacks it instead. */
static const kmen_conf_culprit *check_required(apr_pool_t *p, const kmen_server_conf *c, int parts)
{
    const struct {
        int part;
        kmen_conf_field field;
        int set;
    } needed[] = {{KMEN_CONF_SP, KMEN_FIELD_sp_entity_id, c->sp_entity_id != NULL},
                  {KMEN_CONF_SP, KMEN_FIELD_sp_key_file, c->sp_key_file != NULL},
                  {KMEN_CONF_SP, KMEN_FIELD_sp_cert_file, c->sp_cert_file != NULL},
                  {KMEN_CONF_SP, KMEN_FIELD_idp_metadata_file, c->idp_metadata_file != NULL},
                  {KMEN_CONF_LOGIN, KMEN_FIELD_db_conninfo, c->db_conninfo != NULL},
                  {KMEN_CONF_LOGIN, KMEN_FIELD_register_key_file, c->register_key_file != NULL}};
    for (size_t i = 0; i < COUNT(needed); i++) {
        if ((parts & needed[i].part) && !needed[i].set) {
            kmen_conf_culprit *out =
                kmen_conf_culprit_make(p, needed[i].field, 0, NULL, "is required");
            out->missing = 1;
            return out;
        }
    }
    return NULL;
}

/* A key without its certificate, or the reverse: the SP would publish a
 * certificate whose key it does not hold, or hold a key NIA is never told
 * of. FIELDS: the key's and the certificate's; FILES: the first key and
 * certificate, then the second ones. */
static const kmen_conf_culprit *check_pair(apr_pool_t *p, const kmen_conf_field fields[2],
                                           const char *const files[4])
{
    static const char *const needs[] = {"needs a %s, its certificate", "needs a %s, its key",
                                        "a second key needs a second %s, its certificate",
                                        "a second certificate needs a second %s, its key"};
    for (int i = 0; i < 4; i++) {
        if (!files[i] || files[i ^ 1])
            continue;
        return kmen_conf_culprit_make(
            p, fields[i & 1], i >= 2, files[i],
            apr_psprintf(p, needs[i], kmen_conf_field_ref(p, fields[(i & 1) ^ 1])));
    }
    return NULL;
}

static const kmen_conf_culprit *check_pairs(apr_pool_t *p, const kmen_server_conf *c)
{
    static const kmen_conf_field signing[] = {KMEN_FIELD_sp_key_file, KMEN_FIELD_sp_cert_file};
    static const kmen_conf_field encryption[] = {KMEN_FIELD_sp_enc_key_file,
                                                 KMEN_FIELD_sp_enc_cert_file};
    const char *const signing_files[] = {c->sp_key_file, c->sp_cert_file, c->sp_next_key_file,
                                         c->sp_next_cert_file};
    const char *const encryption_files[] = {c->sp_enc_key_file, c->sp_enc_cert_file,
                                            c->sp_next_enc_key_file, c->sp_next_enc_cert_file};
    const kmen_conf_culprit *bad = check_pair(p, signing, signing_files);
    return bad ? bad : check_pair(p, encryption, encryption_files);
}

/* The entity ID and the ACS base URL: NIA posts to https only. A base URL
 * is only a prefix of the endpoints' URLs: no query, fragment or user. */
static const kmen_conf_culprit *check_https_url(apr_pool_t *p, const kmen_server_conf *c,
                                                kmen_conf_field field, const char *url, int is_base)
{
    apr_uri_t uri;
    const char *problem = NULL;
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname ||
        (strcasecmp(uri.scheme, "https") != 0 && strcasecmp(uri.scheme, "http") != 0))
        problem = "expected an absolute https URL";
    else if (is_base && (uri.query || uri.fragment || uri.user))
        problem = "expected https://host[:port][/prefix], without query, fragment or user";
    else if (strcasecmp(uri.scheme, "http") == 0 && !c->allow_http)
        problem = "NIA logins need https ({allow_http:on} only for a demo)";
    return problem ? kmen_conf_culprit_make(p, field, 0, url, problem) : NULL;
}

static const kmen_conf_culprit *check_urls(apr_pool_t *p, const kmen_server_conf *c)
{
    const kmen_conf_culprit *bad =
        check_https_url(p, c, KMEN_FIELD_sp_entity_id, c->sp_entity_id, 0);
    if (!bad && c->acs_base_url)
        bad = check_https_url(p, c, KMEN_FIELD_acs_base_url, c->acs_base_url, 1);
    return bad;
}

/* A fetched copy of the metadata names the keys every login is checked
 * against: it is used only when NIA's pinned certificate signed it, and
 * fetched over https (http only for a demo, with KmenAllowHTTP On). */
static const kmen_conf_culprit *check_metadata_url(apr_pool_t *p, const kmen_server_conf *c)
{
    const char *url = c->idp_metadata_url;
    if (url && c->idp_metadata_refresh < 1)
        return kmen_conf_culprit_make(p, KMEN_FIELD_idp_metadata_refresh, 0,
                                      apr_itoa(p, c->idp_metadata_refresh), "must be 1 or more");
    const char *why = !url                                   ? NULL
                      : !c->idp_metadata_cert_file           ? "needs {idp_metadata_cert_file}"
                      : strncasecmp(url, "https://", 8) == 0 ? NULL
                      : c->allow_http && strncasecmp(url, "http://", 7) == 0
                          ? NULL
                          : "needs an https:// URL (http:// only with {allow_http:on})";
    return why ? kmen_conf_culprit_make(p, KMEN_FIELD_idp_metadata_url, 0, url, why) : NULL;
}

/* The prefix starts every header name mod_kmen sets and every one it
 * strips: empty, it would strip every request header (Host among them);
 * with a character no header name may hold, it would set headers no
 * backend could parse. */
static const kmen_conf_culprit *check_header_prefix(apr_pool_t *p, const kmen_server_conf *c)
{
    static const char tchar[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789!#$%&'*+-.^_`|~";
    const char *prefix = c->header_prefix;
    if (*prefix && strspn(prefix, tchar) == strlen(prefix))
        return NULL;
    return kmen_conf_culprit_make(p, KMEN_FIELD_header_prefix, 0, prefix,
                                  "expected the start of a header name: letters, digits "
                                  "and !#$%&'*+-.^_`|~, at least one");
}

/* Browsers drop a __Host- cookie that is not Secure: every login would fail. */
static const kmen_conf_culprit *check_cookie_name(apr_pool_t *p, const kmen_server_conf *c)
{
    if (!c->cookie_secure && strncmp(c->cookie_name, "__Host-", 7) == 0)
        return kmen_conf_culprit_make(p, KMEN_FIELD_cookie_name, 0, c->cookie_name,
                                      "a __Host- cookie needs {cookie_secure:on}");
    return NULL;
}

/* The connection string is not repeated: it may hold a password. */
static const kmen_conf_culprit *check_conninfo(apr_pool_t *p, const kmen_server_conf *c)
{
    const char *err = kmen_store_conninfo_check(p, c->db_conninfo);
    return err ? kmen_conf_culprit_make(
                     p, KMEN_FIELD_db_conninfo, 0, NULL,
                     apr_pstrcat(p, "libpq cannot parse the connection string: ", err, NULL))
               : NULL;
}

/* The gateway is sent the person's BSI and answers the AIFO: both secret. */
static const kmen_conf_culprit *check_translator_url(apr_pool_t *p, const kmen_server_conf *c)
{
    if (kmen_translator_mode_of(c) != KMEN_TRANSLATOR_GATEWAY ||
        strncasecmp(c->translator_url, "https://", 8) == 0)
        return NULL;
    return kmen_conf_culprit_make(p, KMEN_FIELD_translator_url, 0, c->translator_url,
                                  "the translation gateway needs an https:// URL");
}

/* Any certificate of a CA is too many: the CA may certify others than the
 * evidence service, so its certificate is pinned too. */
static const kmen_conf_culprit *check_evidence_pins(apr_pool_t *p, const kmen_server_conf *c)
{
    if (c->evidence_ca_file && !c->evidence_pins)
        return kmen_conf_culprit_make(
            p, KMEN_FIELD_evidence_ca_file, 0, c->evidence_ca_file,
            "needs {evidence_pins} sha256/<base64>, the pin of the evidence "
            "service's certificate");
    if (c->evidence_pins && !c->evidence_ca_file)
        return kmen_conf_culprit_make(p, KMEN_FIELD_evidence_pins, 0, NULL,
                                      "needs {evidence_ca_file}");
    return NULL;
}

const kmen_conf_culprit *kmen_conf_check(apr_pool_t *p, const kmen_server_conf *c, int parts)
{
    const kmen_conf_culprit *bad;
    if ((bad = check_required(p, c, parts)))
        return bad;
    if ((parts & KMEN_CONF_SP) &&
        ((bad = check_pairs(p, c)) || (bad = check_urls(p, c)) ||
         (bad = check_metadata_url(p, c)) || (bad = check_header_prefix(p, c))))
        return bad;
    if ((parts & KMEN_CONF_LOGIN) &&
        ((bad = check_cookie_name(p, c)) || (bad = check_conninfo(p, c)) ||
         (bad = check_translator_url(p, c)) || (bad = check_evidence_pins(p, c))))
        return bad;
    return NULL;
}
