/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plaintext of an EncryptedAssertion, decrypted by mod_kmen alone.
 *
 * lasso could decrypt too, but it would pick the key by its own rule (the
 * first EncryptedKey beside the EncryptedData, else xmlsec's in KeyInfo) and
 * parse the plaintext by its own reader; one cipher text can then mean two
 * documents. So lasso is given no decryption key: this is the only
 * decryption, and saml_shape.c has made sure there is only one key to use.
 *
 * The SP holds one or two RSA keys (two while it rolls its key over): the
 * EncryptedKey's KeyInfo says which certificate NIA encrypted to, so the
 * content key is unwrapped with that one, never with a key it does not name.
 * With separate encryption keys the signing keys decrypt nothing: an
 * assertion encrypted to one of them is refused. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "apr_base64.h"
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

/* The serial number of CERT in decimal, in P. */
static const char *serial_decimal(apr_pool_t *p, X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *dec = bn ? BN_bn2dec(bn) : NULL;
    const char *out = dec ? apr_pstrdup(p, dec) : NULL;
    OPENSSL_free(dec);
    BN_free(bn);
    return out;
}

/* CERT's DER in base64, in P. */
static const char *der_base64(apr_pool_t *p, X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    if (len <= 0)
        return NULL;
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len(len));
    apr_base64_encode(out, (const char *)der, len);
    OPENSSL_free(der);
    return out;
}

const char *kmen_sp_certificate_name(apr_pool_t *p, const char *cert_pem, kmen_sp_decryption_key *k)
{
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    k->serial = cert ? serial_decimal(p, cert) : NULL;
    k->cert_b64 = cert ? der_base64(p, cert) : NULL;
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    return k->serial && k->cert_b64 ? NULL : "is not a PEM certificate";
}

/* The EncryptedKey of ENCRYPTED_ASSERTION and (*DATA) its EncryptedData.
 * SAML puts the EncryptedKey beside the EncryptedData; NIA puts it in the
 * EncryptedData's KeyInfo. */
static xmlNode *encrypted_key_of(xmlNode *encrypted_assertion, xmlNode **data)
{
    *data = kmen_xml_only_child(encrypted_assertion, KMEN_NS_XENC, "EncryptedData");
    xmlNode *key = kmen_xml_only_child(encrypted_assertion, KMEN_NS_XENC, "EncryptedKey");
    return key ? key
               : kmen_xml_only_child(kmen_xml_only_child(*data, KMEN_NS_DSIG, "KeyInfo"),
                                     KMEN_NS_XENC, "EncryptedKey");
}

/* The first element NS:NAME at or below the children of N, depth first. */
static xmlNode *first_below(xmlNode *n, const char *ns, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        xmlNode *found = kmen_xml_is_element(c, ns, name) ? c : first_below(c, ns, name);
        if (found)
            return found;
    }
    return NULL;
}

/* N's text without blanks and (SERIAL) leading zeros; NULL for N NULL. */
static const char *reference_text(apr_pool_t *p, xmlNode *n, int serial)
{
    const char *text = kmen_xml_text(p, n);
    if (!text)
        return NULL;
    char *out = apr_pstrdup(p, text), *o = out;
    for (const char *c = text; *c; c++) {
        if (!strchr(" \t\r\n", *c) && !(serial && *c == '0' && o == out && c[1] >= '0'))
            *o++ = *c;
    }
    *o = '\0';
    return out;
}

kmen_key_reference kmen_encrypted_key_reference(apr_pool_t *p, xmlNode *encrypted_assertion)
{
    xmlNode *data = NULL;
    xmlNode *info =
        kmen_xml_only_child(encrypted_key_of(encrypted_assertion, &data), KMEN_NS_DSIG, "KeyInfo");
    kmen_key_reference ref = {
        reference_text(p, first_below(info, KMEN_NS_DSIG, "X509SerialNumber"), 1),
        reference_text(p, first_below(info, KMEN_NS_DSIG, "X509Certificate"), 0)};
    return ref;
}

int kmen_key_reference_matches(const kmen_key_reference *ref, const kmen_sp_decryption_key *k)
{
    return (!ref->serial || strcmp(ref->serial, k->serial) == 0) &&
           (!ref->cert_b64 || strcmp(ref->cert_b64, k->cert_b64) == 0);
}

/* What a refusal may say of the serial number a sender wrote: digits only. */
static const char *named_serial(const kmen_key_reference *ref)
{
    const char *s = ref->serial;
    if (!s)
        return "none; another certificate";
    return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 60 ? s : "not a number";
}

/* The refusal of an EncryptedKey for K, a pair that only signs: NIA read a
 * metadata that published K's certificate for encryption too. */
static const char *signing_only_refusal(apr_pool_t *p, const kmen_sp_decryption_key *k)
{
    return apr_pstrcat(p, "the EncryptedKey is for the signing-only ",
                       kmen_conf_field_name(KMEN_FIELD_sp_key_file, k->spelling), " ", k->key_file,
                       " (serial number ", k->serial, "), not a ",
                       kmen_conf_field_name(KMEN_FIELD_sp_enc_cert_file, k->spelling), NULL);
}

const char *kmen_encrypted_assertion_decrypt(apr_pool_t *p, xmlNode *encrypted_assertion,
                                             const kmen_sp_decryption_key *keys, int count,
                                             const char **plain, apr_size_t *len, int *used)
{
    xmlNode *data = NULL, *key = encrypted_key_of(encrypted_assertion, &data);
    kmen_key_reference ref = kmen_encrypted_key_reference(p, encrypted_assertion);
    xmlSecKey *aes = NULL;
    const kmen_sp_decryption_key *named = NULL;
    *plain = NULL;
    for (int i = 0; data && key && !aes && i < count; i++) {
        if (!kmen_key_reference_matches(&ref, &keys[i]))
            continue;
        if (!named || !named->key) /* a key that decrypts is the one to blame */
            named = &keys[i];
        *used = i;
        aes = keys[i].key ? content_key(key, keys[i].key) : NULL;
    }
    if (data && key && !named)
        return apr_pstrcat(p, "the EncryptedKey is for a certificate that is not a ",
                           count ? keys[count - 1].cert_directive : "", " (serial number ",
                           named_serial(&ref), ")", NULL);
    if (named && !named->key && !aes)
        return signing_only_refusal(p, named);
    if (aes)
        *plain = decrypt_data(p, data, aes, len);
    return *plain ? NULL : "the EncryptedAssertion does not decrypt with the SP key";
}
