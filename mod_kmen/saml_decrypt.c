/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plaintext of an EncryptedAssertion, decrypted by mod_kmen alone.
 *
 * lasso could decrypt too, but it would pick the key by its own rule (the
 * first EncryptedKey beside the EncryptedData, else xmlsec's in KeyInfo) and
 * parse the plaintext by its own reader; one cipher text can then mean two
 * documents. So lasso is given no decryption key: this is the only
 * decryption, and saml_shape.c has made sure there is only one key to use. */
#include <string.h>

#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "apr_strings.h"

#include "saml_private.h"

static apr_status_t key_destroy(void *key)
{
    xmlSecKeyDestroy(key);
    return APR_SUCCESS;
}

/* Shared with saml_sign.c, which loads the same key: here, because the fuzz
 * targets link this file without that one. */
int kmen_sp_key_passphrase_refuse(char *buf, int size, int rwflag, void *asked)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)asked = 1;
    return -1;
}

const char *kmen_sp_key_encrypted(apr_pool_t *p, const char *key_file)
{
    return apr_pstrcat(p,
                       "is encrypted: mod_kmen needs an unencrypted key "
                       "(openssl pkey -in ",
                       key_file, " -out <new key file>, readable by root only)", NULL);
}

/* xmlsec hands the callback to OpenSSL's PEM reader when it has no password
 * (xmlSecOpenSSLAppKeyLoadBIO); without one OpenSSL would prompt. */
const char *kmen_sp_decryption_key_load(apr_pool_t *p, const char *key_pem, const char *key_file,
                                        xmlSecKey **out)
{
    int asked = 0;
    *out = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)key_pem, (xmlSecSize)strlen(key_pem),
                                        xmlSecKeyDataFormatPem, NULL,
                                        (void *)kmen_sp_key_passphrase_refuse, &asked);
    if (!*out)
        return asked ? kmen_sp_key_encrypted(p, key_file)
                     : "xmlsec cannot load it as a decryption key";
    apr_pool_cleanup_register(p, *out, key_destroy, apr_pool_cleanup_null);
    return NULL;
}

/* The only child element NAME (namespace NS) of PARENT; NULL if none or more. */
static xmlNode *only_child(xmlNode *parent, const char *ns, const char *name)
{
    xmlNode *found = NULL;
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next) {
        if (!kmen_xml_is_element(n, ns, name))
            continue;
        if (found)
            return NULL;
        found = n;
    }
    return found;
}

/* The content key, unwrapped with the SP's RSA key. The RSA key is lent to
 * xmlsec, not copied (a copy of an OpenSSL key costs as much as the RSA
 * operation itself): encKey is taken back before the context is destroyed. */
static xmlSecKey *content_key(xmlNode *encrypted_key, xmlSecKey *rsa_key)
{
    xmlSecKey *aes = NULL;
    xmlSecEncCtx *ctx = xmlSecEncCtxCreate(NULL);
    if (!ctx)
        return NULL;
    ctx->mode = xmlEncCtxModeEncryptedKey;
    ctx->transformCtx.enabledUris = xmlSecTransformUriTypeNone;
    ctx->encKey = rsa_key;
    xmlSecBuffer *raw = xmlSecEncCtxDecryptToBuffer(ctx, encrypted_key);
    if (raw)
        aes = xmlSecKeyReadBuffer(xmlSecKeyDataAesId, raw);
    ctx->encKey = NULL;
    xmlSecEncCtxDestroy(ctx);
    return aes;
}

/* What ENCRYPTED_DATA decrypts to with the content key AES (which it takes),
 * copied into P; NULL if it does not decrypt. */
static const char *decrypt_data(apr_pool_t *p, xmlNode *encrypted_data, xmlSecKey *aes,
                                apr_size_t *len)
{
    xmlSecEncCtx *ctx = xmlSecEncCtxCreate(NULL);
    if (!ctx) {
        xmlSecKeyDestroy(aes);
        return NULL;
    }
    ctx->mode = xmlEncCtxModeEncryptedData;
    /* saml_shape.c refuses a CipherReference; should one get here, nothing is fetched */
    ctx->transformCtx.enabledUris = xmlSecTransformUriTypeNone;
    ctx->encKey = aes; /* owned by the context from here on */
    xmlSecBuffer *plain = xmlSecEncCtxDecryptToBuffer(ctx, encrypted_data);
    *len = plain ? (apr_size_t)xmlSecBufferGetSize(plain) : 0;
    const char *out =
        plain ? apr_pstrmemdup(p, (const char *)xmlSecBufferGetData(plain), *len) : NULL;
    xmlSecEncCtxDestroy(ctx);
    return out;
}

const char *kmen_encrypted_assertion_decrypt(apr_pool_t *p, xmlNode *encrypted_assertion,
                                             xmlSecKey *rsa_key, apr_size_t *len)
{
    xmlNode *data = only_child(encrypted_assertion, KMEN_NS_XENC, "EncryptedData");
    /* SAML puts the EncryptedKey beside the EncryptedData; NIA puts it in
     * the EncryptedData's KeyInfo. */
    xmlNode *key = only_child(encrypted_assertion, KMEN_NS_XENC, "EncryptedKey");
    if (!key)
        key = only_child(only_child(data, KMEN_NS_DSIG, "KeyInfo"), KMEN_NS_XENC, "EncryptedKey");
    xmlSecKey *aes = data && key ? content_key(key, rsa_key) : NULL;
    return aes ? decrypt_data(p, data, aes, len) : NULL;
}
