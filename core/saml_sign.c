/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Signatures of HTTP-Redirect messages (AuthnRequest, LogoutRequest,
 * LogoutResponse): made by mod_kmen with the SP key loaded once per process,
 * and verified on the IdP's messages before anything parses them.
 *
 * lasso would sign them itself, but it loads the SP key from its PEM text
 * again for every message and signs with that cold key: 15.8 M instructions
 * of a login start's 19.6 M (bench/RESULTS.md), against 6.2 M for one
 * signature with a warm key. lasso builds the message unsigned (signature
 * hint FORBID); the signature here follows SAML bindings 3.4.4.1: RSA-SHA256
 * over "SAMLRequest=…[&RelayState=…]&SigAlg=…" exactly as the URL carries
 * them, base64, URL-encoded. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "apr_base64.h"
#include "apr_escape.h"
#include "apr_strings.h"

#include "crypto.h"
#include "pairs.h"
#include "saml_private.h"

#define SIG_ALG_RSA_SHA256 "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"

static apr_status_t key_free(void *key)
{
    EVP_PKEY_free(key);
    return APR_SUCCESS;
}

const char *kmen_sp_signing_key_load(apr_pool_t *p, const char *key_pem, const char *key_file,
                                     EVP_PKEY **out)
{
    int asked = 0;
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, kmen_sp_key_passphrase_refuse, &asked) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!*out)
        return asked ? kmen_sp_key_encrypted(p, key_file) : "is not an unencrypted PEM private key";
    apr_pool_cleanup_register(p, *out, key_free, apr_pool_cleanup_null);
    return NULL;
}

/* RSA-SHA256 of DATA, base64 and URL-encoded; NULL on failure. */
static const char *signature_param(apr_pool_t *p, EVP_PKEY *key, const char *data)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = (size_t)EVP_PKEY_get_size(key);
    unsigned char *sig = apr_palloc(p, len);
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, strlen(data)) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return NULL;
    }
    char *b64 = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));
    apr_base64_encode(b64, (const char *)sig, (int)len);
    return apr_pescape_urlencoded(p, b64);
}

/* The SAML parameters: all lasso put after the endpoint's own query, from
 * the SAMLRequest or SAMLResponse parameter on. */
static const char *saml_params(const char *url)
{
    for (const char *q = strpbrk(url, "?&"); q; q = strpbrk(q + 1, "?&")) {
        if (strncmp(q + 1, "SAMLRequest=", 12) == 0 || strncmp(q + 1, "SAMLResponse=", 13) == 0)
            return q + 1;
    }
    return NULL;
}

const char *kmen_redirect_sign(apr_pool_t *p, EVP_PKEY *key, const char *url)
{
    const char *saml = saml_params(url);
    if (!saml)
        return NULL;
    const char *signed_part = apr_pstrcat(p, saml, "&SigAlg=" SIG_ALG_RSA_SHA256, NULL);
    const char *signature = signature_param(p, key, signed_part);
    if (!signature)
        return NULL;
    return apr_pstrcat(p, apr_pstrmemdup(p, url, (apr_size_t)(saml - url)), signed_part,
                       "&Signature=", signature, NULL);
}

/* The digest of a SigAlg (decoded) within the algorithm policy of
 * saml_shape.c: RSA with SHA-2. NULL otherwise. */
static const EVP_MD *sig_alg_digest(const char *sig_alg)
{
    static const struct {
        const char *alg;
        const EVP_MD *(*md)(void);
    } allowed[] = {{KMEN_ALG_RSA_SHA256, EVP_sha256},
                   {KMEN_ALG_RSA_SHA384, EVP_sha384},
                   {KMEN_ALG_RSA_SHA512, EVP_sha512}};
    for (size_t i = 0; sig_alg && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (strcmp(sig_alg, allowed[i].alg) == 0)
            return allowed[i].md();
    }
    return NULL;
}

static int verifies(EVP_PKEY *key, const EVP_MD *md, const char *data, const unsigned char *sig,
                    size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
             EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)data, strlen(data)) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* The raw value of NAME in QUERY; *TWICE set when it comes with two values. */
static const char *param(apr_pool_t *p, const char *query, const char *name, int *twice)
{
    int conflict = 0;
    const char *value = kmen_pair_single_value(p, query, '&', name, &conflict);
    *twice |= conflict;
    return value;
}

const char *kmen_redirect_verify(apr_pool_t *p, const apr_array_header_t *keys, const char *query)
{
    int twice = 0;
    const char *request = param(p, query, "SAMLRequest", &twice);
    const char *response = param(p, query, "SAMLResponse", &twice);
    const char *relay_state = param(p, query, "RelayState", &twice);
    const char *sig_alg = param(p, query, "SigAlg", &twice);
    const char *sig_b64 = param(p, query, "Signature", &twice);
    if (twice || !request == !response)
        return "not exactly one SAMLRequest or SAMLResponse";
    if (!sig_alg || !sig_b64)
        return "the HTTP-Redirect message is not signed";
    const EVP_MD *md = sig_alg_digest(apr_punescape_url(p, sig_alg, NULL, NULL, 0));
    if (!md)
        return "signature algorithm outside policy (RSA-SHA256/384/512 only)";
    sig_b64 = apr_punescape_url(p, sig_b64, NULL, NULL, 0);
    if (!sig_b64 || !kmen_base64_is_valid(sig_b64))
        return "the Signature parameter is not base64";
    unsigned char *sig = apr_palloc(p, (apr_size_t)apr_base64_decode_len(sig_b64));
    size_t sig_len = (size_t)apr_base64_decode_binary(sig, sig_b64);
    /* SAML bindings 3.4.4.1: the parameters in this order, as the URL carries them. */
    const char *signed_part =
        apr_pstrcat(p, request ? "SAMLRequest=" : "SAMLResponse=", request ? request : response,
                    relay_state ? "&RelayState=" : "", relay_state ? relay_state : "",
                    "&SigAlg=", sig_alg, NULL);
    for (int i = 0; i < keys->nelts; i++) {
        if (verifies(APR_ARRAY_IDX(keys, i, EVP_PKEY *), md, signed_part, sig, sig_len))
            return NULL;
    }
    return "the HTTP-Redirect signature is not the IdP's";
}
