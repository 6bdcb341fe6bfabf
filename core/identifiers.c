/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Blind index and ciphertext of secret identifiers (BSI, AIFO, pseudonyms). */
#include <string.h>

#include "apr_strings.h"

#include "identifiers.h"

static const char *const kind_labels[] = {"bsi",   "aifo",  "pseudonym", "nameid",
                                          "email", "phone", "name"};

void kmen_id_keys_derive(const unsigned char master[KMEN_HASH_LEN], kmen_id_keys *keys)
{
    kmen_derive_key(master, KMEN_KEY_BLIND_INDEX, keys->index);
    kmen_derive_key(master, KMEN_KEY_REGISTER_SEAL, keys->seal);
}

/* "<kind>\0<agenda>\0": the context both the index and the AAD are bound to,
 * so an AIFO of one agenda never matches or opens as another's. */
static char *context(apr_pool_t *p, kmen_id_kind kind, const char *agenda, apr_size_t *len)
{
    const char *a = agenda ? agenda : "";
    size_t kind_len = strlen(kind_labels[kind]), agenda_len = strlen(a);
    char *out = apr_palloc(p, kind_len + agenda_len + 2);
    memcpy(out, kind_labels[kind], kind_len + 1);
    memcpy(out + kind_len + 1, a, agenda_len + 1);
    *len = kind_len + agenda_len + 2;
    return out;
}

void kmen_id_index(apr_pool_t *p, const kmen_id_keys *keys, kmen_id_kind kind, const char *agenda,
                   const char *value, unsigned char out[KMEN_HASH_LEN])
{
    apr_size_t ctx_len, value_len = strlen(value);
    const char *ctx = context(p, kind, agenda, &ctx_len);
    char *buf = apr_palloc(p, ctx_len + value_len);
    memcpy(buf, ctx, ctx_len);
    memcpy(buf + ctx_len, value, value_len);
    kmen_hmac_sha256(keys->index, KMEN_HASH_LEN, buf, ctx_len + value_len, out);
}

unsigned char *kmen_id_seal(apr_pool_t *p, const kmen_id_keys *keys, kmen_id_kind kind,
                            const char *agenda, const char *value, apr_size_t *len)
{
    apr_size_t aad_len;
    const char *aad = context(p, kind, agenda, &aad_len);
    return kmen_seal(p, keys->seal, aad, aad_len, value, strlen(value), len);
}

char *kmen_id_open(apr_pool_t *p, const kmen_id_keys *keys, kmen_id_kind kind, const char *agenda,
                   const unsigned char *sealed, apr_size_t len)
{
    apr_size_t aad_len;
    const char *aad = context(p, kind, agenda, &aad_len);
    return kmen_open(p, keys->seal, aad, aad_len, sealed, len, NULL);
}
