/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The identity's headers, their environment twins and the optional
 * signature, encoded for whichever server sets them. */
#include <stdlib.h>
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "crypto.h"
#include "header_set.h"
#include "headers_encode.h"
#include "pairs.h"

/* One header with the line it adds to Kmen-Signature (NULL when nothing
 * signs). */
typedef struct {
    kmen_header header;
    const char *signed_line;
} prepared_header;

struct kmen_header_set {
    apr_array_header_t *headers; /* prepared_header */
};

static unsigned long name_hash(const char *lower)
{
    unsigned long h = 0;
    for (const unsigned char *c = (const unsigned char *)lower; *c; c++)
        h = h * 31 + *c;
    return h;
}

/* NAME: VALUE (encoded) with ENV: RAW, measured. */
static kmen_header header_of(apr_pool_t *p, const char *name, const char *value, const char *env,
                             const char *raw)
{
    const char *lower = kmen_lower(apr_pstrdup(p, name));
    return (kmen_header){name,         value,         env,   raw,
                         strlen(name), strlen(value), lower, name_hash(lower)};
}

static void prepare_one(apr_pool_t *p, const kmen_server_conf *conf, kmen_header_set *set,
                        const char *suffix, const char *env, const char *value)
{
    prepared_header *h = apr_array_push(set->headers);
    h->header = header_of(p, apr_pstrcat(p, conf->header_prefix, suffix, NULL),
                          kmen_header_encode(p, value, conf->header_encoding), env,
                          kmen_header_encode(p, value, KMEN_ENCODING_RAW));
    h->signed_line = conf->header_secret
                         ? apr_pstrcat(p, h->header.name_lower, ":", h->header.value, NULL)
                         : NULL;
}

/* Kmen-Attr-<name> and KMEN_ATTR_<NAME>: the attributes nothing above maps. */
static void prepare_released(apr_pool_t *p, const kmen_server_conf *conf, kmen_header_set *set,
                             const kmen_identity *identity)
{
    apr_array_header_t *released = kmen_released(p, identity);
    for (int i = 0; i < released->nelts; i++) {
        const kmen_attr *a = &APR_ARRAY_IDX(released, i, kmen_attr);
        char *env = apr_pstrcat(p, "KMEN_ATTR_", a->name, NULL);
        for (char *c = env; *c; c++)
            *c = *c == '-' ? '_' : (char)apr_toupper(*c);
        prepare_one(p, conf, set, apr_pstrcat(p, "Attr-", a->name, NULL), env, a->value);
    }
}

kmen_header_set *kmen_headers_prepare(apr_pool_t *p, const kmen_server_conf *conf,
                                      const kmen_identity *identity)
{
    kmen_header_set *set = apr_palloc(p, sizeof(*set));
    set->headers = apr_array_make(p, 24, sizeof(prepared_header));
    for (const kmen_identity_field *f = kmen_identity_fields; f->key; f++) {
        const char *v = kmen_identity_field_value(identity, f);
        if (v && *v)
            prepare_one(p, conf, set, f->header, f->env, v);
    }
    prepare_released(p, conf, set, identity);
    prepare_one(p, conf, set, "Origin", "KMEN_ORIGIN", kmen_origin_name(identity->origin));
    prepare_one(p, conf, set, "LoA", "KMEN_LOA", kmen_loa_name(identity->loa));
    return set;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Kmen-Signature: t=<unix time>, v1=<hex HMAC-SHA256> over "t=<time>\n"
 * followed by every header set here as "lower-case-name:value\n", sorted. */
static kmen_header signature(apr_pool_t *p, const kmen_server_conf *conf,
                             apr_array_header_t *signed_lines, apr_time_t time)
{
    const char *t = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(time));
    qsort(signed_lines->elts, (size_t)signed_lines->nelts, sizeof(const char *), compare_strings);
    const char *text =
        apr_pstrcat(p, "t=", t, "\n", apr_array_pstrcat(p, signed_lines, '\n'), "\n", NULL);
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256(conf->header_secret, conf->header_secret_len, text, strlen(text), mac);
    const char *value = apr_pstrcat(p, "t=", t, ", v1=", kmen_hex(p, mac, KMEN_HASH_LEN), NULL);
    return header_of(p, apr_pstrcat(p, conf->header_prefix, "Signature", NULL), value,
                     "KMEN_SIGNATURE", value);
}

/* SET's headers onto OUT, and their lines onto SIGNED_LINES (NULL: none). */
static void add_all(apr_array_header_t *out, apr_array_header_t *signed_lines,
                    const kmen_header_set *set)
{
    for (int i = 0; i < set->headers->nelts; i++) {
        const prepared_header *h = &APR_ARRAY_IDX(set->headers, i, prepared_header);
        APR_ARRAY_PUSH(out, kmen_header) = h->header;
        if (signed_lines)
            APR_ARRAY_PUSH(signed_lines, const char *) = h->signed_line;
    }
}

apr_array_header_t *kmen_headers_of_request(apr_pool_t *p, const kmen_server_conf *conf,
                                            const kmen_header_set *set, const char *aifo,
                                            const char *evidence, apr_time_t time)
{
    kmen_header_set extra = {apr_array_make(p, 2, sizeof(prepared_header))};
    if (aifo)
        prepare_one(p, conf, &extra, "Aifo", "KMEN_AIFO", aifo);
    if (evidence)
        prepare_one(p, conf, &extra, "Evidence", "KMEN_EVIDENCE", evidence);
    apr_array_header_t *out = apr_array_make(p, set->headers->nelts + 3, sizeof(kmen_header));
    apr_array_header_t *signed_lines =
        conf->header_secret ? apr_array_make(p, 24, sizeof(const char *)) : NULL;
    add_all(out, signed_lines, set);
    add_all(out, signed_lines, &extra);
    if (signed_lines)
        APR_ARRAY_PUSH(out, kmen_header) = signature(p, conf, signed_lines, time);
    return out;
}
