/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Randomness, encodings, keyed hashes and authenticated encryption (OpenSSL). */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "crypto.h"

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16

/* OpenSSL 3 looks an algorithm up in its provider store every time a
 * convenience call (SHA256(), EVP_aes_256_gcm()) names it: on an
 * authenticated request, where a cookie is hashed and a session record
 * opened, that lookup cost more than the hashing. Fetched once per process. */
static EVP_MD *fetched_sha256;
static EVP_CIPHER *fetched_aes_256_gcm;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

static void fetch_algorithms(void)
{
    fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    fetched_aes_256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_MD *sha256_md(void)
{
    pthread_once(&fetched, fetch_algorithms);
    return fetched_sha256 ? fetched_sha256 : EVP_sha256();
}

static const EVP_CIPHER *aes_256_gcm(void)
{
    pthread_once(&fetched, fetch_algorithms);
    return fetched_aes_256_gcm ? fetched_aes_256_gcm : EVP_aes_256_gcm();
}

int kmen_random(unsigned char *buf, apr_size_t len)
{
    return RAND_bytes(buf, (int)len) == 1;
}

/* Random bytes that need not stay secret, drawn from OpenSSL's generator a
 * batch at a time: one call to it costs about 1.8 µs whatever it returns
 * (locks, and a getpid() of its own fork check), as much as the rest of
 * sealing a short value, and an import seals ten million and names as many
 * clients. The batch is the calling thread's own, and a process forked while
 * holding one draws a fresh batch instead of its parent's leftovers: two
 * processes never hand out the same bytes. */
#define PUBLIC_BATCH 3072
static __thread struct {
    unsigned char bytes[PUBLIC_BATCH];
    apr_size_t used;
    pid_t pid;
} batch = {.used = PUBLIC_BATCH};

int kmen_random_public(unsigned char *buf, apr_size_t len)
{
    pid_t pid = getpid();
    if (len > PUBLIC_BATCH)
        return kmen_random(buf, len);
    if (PUBLIC_BATCH - batch.used < len || batch.pid != pid) {
        if (!kmen_random(batch.bytes, PUBLIC_BATCH))
            return 0;
        batch.used = 0;
        batch.pid = pid;
    }
    memcpy(buf, batch.bytes + batch.used, len);
    batch.used += len;
    return 1;
}

const char *kmen_random_token(apr_pool_t *p, apr_size_t len)
{
    unsigned char *buf = apr_palloc(p, len);
    if (!kmen_random(buf, len))
        return NULL;
    return kmen_base64url(p, buf, len);
}

const char *kmen_base64url(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1), *o = out;
    apr_size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned long v = (unsigned long)data[i] << 16 | data[i + 1] << 8 | data[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)data[i] << 16 | (i + 1 < len ? data[i + 1] << 8 : 0);
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        if (i + 1 < len)
            *o++ = alphabet[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

/* Ranges rather than strspn over the alphabet: every request's session
 * cookie is checked, and strspn with 64 accepted characters took about 600
 * instructions for a cookie's 43 (callgrind), the ranges about 410. */
apr_size_t kmen_base64url_span(const char *s)
{
    const char *c = s;
    while ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
           *c == '-' || *c == '_')
        c++;
    return (apr_size_t)(c - s);
}

int kmen_base64_is_valid(const char *s)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n";
    return strspn(s, alphabet) == strlen(s);
}

const char *kmen_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, len * 2 + 1);
    for (apr_size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

void kmen_sha256(const void *data, apr_size_t len, unsigned char out[KMEN_HASH_LEN])
{
    unsigned int out_len = KMEN_HASH_LEN;
    EVP_Digest(data, len, out, &out_len, sha256_md(), NULL);
}

void kmen_hmac_sha256(const unsigned char *key, apr_size_t key_len, const void *data,
                      apr_size_t len, unsigned char out[KMEN_HASH_LEN])
{
    unsigned int out_len = KMEN_HASH_LEN;
    HMAC(sha256_md(), key, (int)key_len, data, len, out, &out_len);
}

void kmen_derive_key(const unsigned char *master, kmen_key_purpose purpose,
                     unsigned char out[KMEN_HASH_LEN])
{
    static const char *const labels[] = {"kmen session seal v1", "kmen blind index v1",
                                         "kmen register seal v1"};
    kmen_hmac_sha256(master, KMEN_HASH_LEN, labels[purpose], strlen(labels[purpose]), out);
}

int kmen_equal_const_time(const void *a, const void *b, apr_size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

static int gcm_init(EVP_CIPHER_CTX **ctx, int encrypt, const unsigned char *key,
                    const unsigned char *nonce, const void *aad, apr_size_t aad_len)
{
    int unused;
    *ctx = EVP_CIPHER_CTX_new();
    return *ctx && EVP_CipherInit_ex(*ctx, aes_256_gcm(), NULL, key, nonce, encrypt) == 1 &&
           EVP_CipherUpdate(*ctx, NULL, &unused, aad, (int)aad_len) == 1;
}

unsigned char *kmen_seal(apr_pool_t *p, const unsigned char key[KMEN_HASH_LEN], const void *aad,
                         apr_size_t aad_len, const void *plain, apr_size_t plain_len,
                         apr_size_t *out_len)
{
    unsigned char *out = apr_palloc(p, GCM_NONCE_LEN + plain_len + GCM_TAG_LEN);
    unsigned char *body = out + GCM_NONCE_LEN;
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0,
        ok = kmen_random_public(out, GCM_NONCE_LEN) && gcm_init(&ctx, 1, key, out, aad, aad_len) &&
             EVP_EncryptUpdate(ctx, body, &n, plain, (int)plain_len) == 1 &&
             EVP_EncryptFinal_ex(ctx, body + n, &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, body + plain_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    *out_len = GCM_NONCE_LEN + plain_len + GCM_TAG_LEN;
    return ok ? out : NULL;
}

char *kmen_open(apr_pool_t *p, const unsigned char key[KMEN_HASH_LEN], const void *aad,
                apr_size_t aad_len, const unsigned char *sealed, apr_size_t sealed_len,
                apr_size_t *out_len)
{
    if (sealed_len < GCM_NONCE_LEN + GCM_TAG_LEN)
        return NULL;
    apr_size_t body_len = sealed_len - GCM_NONCE_LEN - GCM_TAG_LEN;
    char *out = apr_palloc(p, body_len + 1);
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0;
    int ok = gcm_init(&ctx, 0, key, sealed, aad, aad_len) &&
             EVP_DecryptUpdate(ctx, (unsigned char *)out, &n, sealed + GCM_NONCE_LEN,
                               (int)body_len) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN,
                                 (void *)(sealed + sealed_len - GCM_TAG_LEN)) == 1 &&
             EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return NULL;
    out[body_len] = '\0';
    if (out_len)
        *out_len = body_len;
    return out;
}

static apr_status_t ca_store_free(void *store)
{
    X509_STORE_free(store);
    return APR_SUCCESS;
}

void *kmen_ca_store_load(apr_pool_t *p, const char *path, const char **err)
{
    X509_STORE *store = X509_STORE_new();
    if (!store || X509_STORE_load_file(store, path) != 1) {
        X509_STORE_free(store);
        *err = "not a readable file of PEM CA certificates";
        return NULL;
    }
    apr_pool_cleanup_register(p, store, ca_store_free, apr_pool_cleanup_null);
    return store;
}

/* A certificate issued for a TLS server, or for no stated use, does not
 * deliver evidence. */
static int names_client_auth(X509 *cert)
{
    return (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) &&
           (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
}

static int spki_pinned(X509 *cert, const apr_array_header_t *pins)
{
    unsigned char *der = NULL, hash[KMEN_HASH_LEN];
    int der_len = i2d_PUBKEY(X509_get0_pubkey(cert), &der), pinned = 0;
    if (der_len <= 0 || !pins)
        return 0;
    kmen_sha256(der, (apr_size_t)der_len, hash);
    OPENSSL_free(der);
    for (int i = 0; i < pins->nelts; i++)
        pinned |=
            kmen_equal_const_time(hash, pins->elts + (apr_size_t)i * KMEN_HASH_LEN, KMEN_HASH_LEN);
    return pinned;
}

static int chains_to(X509_STORE *store, X509 *cert)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = ctx && X509_STORE_CTX_init(ctx, store, cert, NULL) == 1 &&
             X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1 &&
             X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    return ok;
}

const char *kmen_client_certificate_refusal(void *store, const char *cert_pem,
                                            const apr_array_header_t *spki_pins)
{
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    const char *refusal = !cert                           ? "not a PEM certificate"
                          : !names_client_auth(cert)      ? "no clientAuth extended key usage"
                          : !spki_pinned(cert, spki_pins) ? "its key is not pinned"
                          : !chains_to(store, cert)       ? "not of a trusted CA, or expired"
                                                          : NULL;
    X509_free(cert);
    BIO_free(bio);
    return refusal;
}
