/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Randomness, encodings, keyed hashes and authenticated encryption. */
#ifndef KMEN_CRYPTO_H
#define KMEN_CRYPTO_H

#include "apr_pools.h"
#include "apr_tables.h"

#define KMEN_HASH_LEN 32

/* Keys derived from KmenRegisterKeyFile, one per purpose, so a key never
 * serves two uses. */
typedef enum {
    KMEN_KEY_SESSION_SEAL = 0, /* AES-256-GCM of session records */
    KMEN_KEY_BLIND_INDEX,      /* HMAC-SHA256 lookups of secret identifiers */
    KMEN_KEY_REGISTER_SEAL     /* AES-256-GCM of recoverable identifiers */
} kmen_key_purpose;

int kmen_random(unsigned char *buf, apr_size_t len);
/* The same for bytes that may become known (a nonce, a public identifier),
 * never for a key or a token: cheaper, from a batch (crypto.c). */
int kmen_random_public(unsigned char *buf, apr_size_t len);
/* A random identifier: len random bytes as unpadded base64url. */
const char *kmen_random_token(apr_pool_t *p, apr_size_t len);

const char *kmen_base64url(apr_pool_t *p, const unsigned char *data, apr_size_t len);
/* How many of S's first characters are base64url's (A-Z a-z 0-9 - _). */
apr_size_t kmen_base64url_span(const char *s);
/* Standard base64 (line breaks allowed): apr_base64_decode checks nothing. */
int kmen_base64_is_valid(const char *s);
const char *kmen_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len);

void kmen_sha256(const void *data, apr_size_t len, unsigned char out[KMEN_HASH_LEN]);
void kmen_hmac_sha256(const unsigned char *key, apr_size_t key_len, const void *data,
                      apr_size_t len, unsigned char out[KMEN_HASH_LEN]);
void kmen_derive_key(const unsigned char *master, kmen_key_purpose purpose,
                     unsigned char out[KMEN_HASH_LEN]);
int kmen_equal_const_time(const void *a, const void *b, apr_size_t len);

/* CA certificates from a PEM file, freed with pool p; NULL and *err otherwise. */
void *kmen_ca_store_load(apr_pool_t *p, const char *path, const char **err);
/* NULL when the PEM certificate names clientAuth in its extended key usage,
 * its public key's SHA-256 is one of spki_pins (KMEN_HASH_LEN bytes each)
 * and it chains to one of the store's CAs (valid now); else why not. */
const char *kmen_client_certificate_refusal(void *store, const char *cert_pem,
                                            const apr_array_header_t *spki_pins);

/* AES-256-GCM: out = nonce || ciphertext || tag. aad binds the ciphertext to
 * its context (e.g. the session key) so records cannot be swapped. */
unsigned char *kmen_seal(apr_pool_t *p, const unsigned char key[KMEN_HASH_LEN], const void *aad,
                         apr_size_t aad_len, const void *plain, apr_size_t plain_len,
                         apr_size_t *out_len);
/* NULL when the ciphertext is not authentic. Result is NUL-terminated. */
char *kmen_open(apr_pool_t *p, const unsigned char key[KMEN_HASH_LEN], const void *aad,
                apr_size_t aad_len, const unsigned char *sealed, apr_size_t sealed_len,
                apr_size_t *out_len);

#endif
