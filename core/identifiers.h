/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Secret identifiers at rest (AIFO, BSI, eIDAS pseudonyms), so that a dump of
 * the database alone reveals none of them: a keyed blind index for lookups
 * and uniqueness, and AES-256-GCM ciphertext where the value must be
 * recoverable. Shared by the module and kmenctl, so both compute the same
 * index from the same KmenRegisterKeyFile. */
#ifndef KMEN_IDENTIFIERS_H
#define KMEN_IDENTIFIERS_H

#include "apr_pools.h"

#include "crypto.h"

typedef enum {
    KMEN_ID_BSI = 0,   /* NIA's per-SeP pseudonym */
    KMEN_ID_AIFO,      /* agenda identifier, within its agenda */
    KMEN_ID_PSEUDONYM, /* eIDAS PersonIdentifier of a foreigner */
    KMEN_ID_NAMEID,    /* the login's NameID, for IdP-initiated logout */
    KMEN_ID_EMAIL,     /* contact data of a potential client */
    KMEN_ID_PHONE,
    KMEN_ID_NAME
} kmen_id_kind;

typedef struct {
    unsigned char index[KMEN_HASH_LEN];
    unsigned char seal[KMEN_HASH_LEN];
} kmen_id_keys;

void kmen_id_keys_derive(const unsigned char master[KMEN_HASH_LEN], kmen_id_keys *keys);

/* HMAC-SHA256(index key, "<kind>" 0x00 agenda 0x00 value); agenda may be NULL. */
void kmen_id_index(apr_pool_t *p, const kmen_id_keys *keys, kmen_id_kind kind, const char *agenda,
                   const char *value, unsigned char out[KMEN_HASH_LEN]);

/* Ciphertext bound (as AAD) to its kind and agenda. */
unsigned char *kmen_id_seal(apr_pool_t *p, const kmen_id_keys *keys, kmen_id_kind kind,
                            const char *agenda, const char *value, apr_size_t *len);
/* NULL when not authentic. */
char *kmen_id_open(apr_pool_t *p, const kmen_id_keys *keys, kmen_id_kind kind, const char *agenda,
                   const unsigned char *sealed, apr_size_t len);

#endif
