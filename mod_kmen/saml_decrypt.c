/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What an EncryptedAssertion really holds.
 *
 * lasso decrypts the EncryptedData and builds its assertion from the first
 * decrypted node only: a second assertion inside the same EncryptedData is
 * dropped without a word, so "exactly one assertion" cannot be checked on
 * lasso's result. Here the Response is decrypted a second time, in the
 * document mod_kmen parsed itself, and the elements it yields are counted.
 * This runs only after lasso accepted the Response, so a forged Response
 * costs no extra RSA operation. */
#include <string.h>

#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "saml_private.h"

static apr_status_t key_destroy(void *key)
{
    xmlSecKeyDestroy(key);
    return APR_SUCCESS;
}

const char *kmen_sp_decryption_key_load(apr_pool_t *p, const char *key_pem, xmlSecKey **out)
{
    *out = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)key_pem, (xmlSecSize)strlen(key_pem),
                                        xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    if (!*out)
        return "xmlsec cannot load KmenSPPrivateKeyFile as a decryption key";
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
    ctx->encKey = rsa_key;
    xmlSecBuffer *raw = xmlSecEncCtxDecryptToBuffer(ctx, encrypted_key);
    if (raw)
        aes = xmlSecKeyReadBuffer(xmlSecKeyDataAesId, raw);
    ctx->encKey = NULL;
    xmlSecEncCtxDestroy(ctx);
    return aes;
}

/* Replaces ENCRYPTED_DATA in its document by what it decrypts to. */
static int decrypt_in_place(xmlNode *encrypted_data, xmlSecKey *aes)
{
    xmlSecEncCtx *ctx = xmlSecEncCtxCreate(NULL);
    if (!ctx) {
        xmlSecKeyDestroy(aes);
        return 0;
    }
    ctx->mode = xmlEncCtxModeEncryptedData;
    ctx->encKey = aes; /* owned by the context from here on */
    int ok = xmlSecEncCtxDecrypt(ctx, encrypted_data) == 0 && ctx->result;
    xmlSecEncCtxDestroy(ctx);
    return ok;
}

int kmen_encrypted_assertion_count(xmlNode *encrypted_assertion, xmlSecKey *rsa_key)
{
    xmlNode *data = only_child(encrypted_assertion, KMEN_NS_XENC, "EncryptedData");
    xmlNode *beside = only_child(encrypted_assertion, KMEN_NS_XENC, "EncryptedKey");
    /* SAML puts the EncryptedKey beside the EncryptedData; NIA puts it in
     * the EncryptedData's KeyInfo. */
    xmlNode *key = beside ? beside
                          : only_child(only_child(data, KMEN_NS_DSIG, "KeyInfo"), KMEN_NS_XENC,
                                       "EncryptedKey");
    xmlSecKey *aes = data && key ? content_key(key, rsa_key) : NULL;
    if (!aes || !decrypt_in_place(data, aes))
        return -1;
    int count = 0;
    for (xmlNode *n = encrypted_assertion->children; n; n = n->next)
        count += n->type == XML_ELEMENT_NODE && n != beside;
    return count;
}
