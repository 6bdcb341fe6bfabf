/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Signatures of HTTP-Redirect messages (AuthnRequest, LogoutRequest,
 * LogoutResponse), made by mod_kmen with the SP key loaded once per process.
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

#include "saml_private.h"

#define SIG_ALG_RSA_SHA256 "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"

static apr_status_t key_free(void *key)
{
    EVP_PKEY_free(key);
    return APR_SUCCESS;
}

const char *kmen_sp_signing_key_load(apr_pool_t *p, const char *key_pem, EVP_PKEY **out)
{
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!*out)
        return "KmenSPPrivateKeyFile is not an unencrypted PEM private key";
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
