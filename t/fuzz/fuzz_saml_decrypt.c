/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One EncryptedAssertion, decrypted as mod_kmen decrypts it and as lasso
 * would: the two must never read two different assertions.
 *
 * Input: byte 0 chooses the layout (bit 0: the EncryptedKey beside the
 * EncryptedData or in its KeyInfo; bit 1: a second EncryptedKey, for another
 * content key, in the other place); the rest is the plaintext. The target
 * encrypts it (AES-256-CBC, the content key wrapped by RSA-OAEP to a key
 * made at start), wraps it in a samlp:Response, and runs mod_kmen's checks:
 * saml_shape.c on the Response, its one decryption, and the plaintext's
 * checks. Where mod_kmen accepts, lasso decrypts the same EncryptedAssertion
 * with the same key (lasso_saml2_encrypted_element_decrypt, its own choice
 * of EncryptedKey and its own parse).
 *
 * Invariants: nothing crashes or leaks; a Response with two EncryptedKeys is
 * refused before any decryption; where mod_kmen accepts and lasso decrypts
 * too, lasso's assertion and the one lasso builds from mod_kmen's tree
 * export to the same XML. (lasso refuses some plaintexts mod_kmen takes: it
 * parses them inside the Response, where an XML declaration is an error.) */
#include "fuzz.h"

#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/saml2_encrypted_element.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "saml_private.h"

#define XENC "http://www.w3.org/2001/04/xmlenc#"

static apr_pool_t *root;
static EVP_PKEY *rsa;     /* the SP's key pair, for encrypting */
static xmlSecKey *sp_key; /* the same, loaded as the module loads it */
static unsigned char aes[2][32];

/* lasso, failing to decrypt, leaks a GLib string (its stack is not unwound
 * past g_malloc). The module never lets lasso decrypt; this target does, to
 * compare, so GLib's allocations are not this target's to count. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:g_malloc\n";
}

static xmlSecKey *load_as_module_does(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    BIO_write(bio, "", 1); /* the loader takes a C string */
    char *pem = NULL;
    BIO_get_mem_data(bio, &pem);
    xmlSecKey *k = NULL;
    const char *err = kmen_sp_decryption_key_load(root, pem, "the fuzz key", &k);
    INVARIANT(!err, "%s", err);
    BIO_free(bio);
    return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    INVARIANT(lasso_init() == 0, "lasso does not start");
    rsa = EVP_RSA_gen(2048);
    sp_key = load_as_module_does(rsa);
    INVARIANT(RAND_bytes(aes[0], 32) == 1 && RAND_bytes(aes[1], 32) == 1, "no random bytes");
    return 0;
}

static const char *base64(apr_pool_t *p, const unsigned char *data, int len)
{
    char *out = apr_palloc(p, (apr_size_t)(4 * ((len + 2) / 3) + 1));
    EVP_EncodeBlock((unsigned char *)out, data, len);
    return out;
}

/* IV || AES-256-CBC(plain), PKCS#7 padding (XML Encryption reads its last byte only). */
static const char *cipher_value(apr_pool_t *p, const unsigned char *key, const uint8_t *plain,
                                size_t len)
{
    unsigned char *out = apr_palloc(p, len + 48);
    int n = 0, tail = 0;
    memset(out, 7, 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, out);
    EVP_EncryptUpdate(ctx, out + 16, &n, plain, (int)len);
    EVP_EncryptFinal_ex(ctx, out + 16 + n, &tail);
    EVP_CIPHER_CTX_free(ctx);
    return base64(p, out, 16 + n + tail);
}

static const char *encrypted_key(apr_pool_t *p, const unsigned char *key)
{
    unsigned char wrapped[256];
    size_t len = sizeof(wrapped);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa, NULL);
    INVARIANT(EVP_PKEY_encrypt_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
                  EVP_PKEY_encrypt(ctx, wrapped, &len, key, 32) == 1,
              "RSA-OAEP fails");
    EVP_PKEY_CTX_free(ctx);
    return apr_pstrcat(p,
                       "<xenc:EncryptedKey xmlns:xenc=\"" XENC "\"><xenc:EncryptionMethod "
                       "Algorithm=\"" XENC "rsa-oaep-mgf1p\"/><xenc:CipherData><xenc:CipherValue>",
                       base64(p, wrapped, (int)len),
                       "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>", NULL);
}

static const char *response(apr_pool_t *p, uint8_t layout, const uint8_t *plain, size_t len)
{
    const char *key = encrypted_key(p, aes[0]);
    const char *second = layout & 2 ? encrypted_key(p, aes[1]) : "";
    int beside = layout & 1;
    return apr_pstrcat(
        p,
        "<samlp:Response xmlns:samlp=\"" KMEN_NS_SAMLP "\" xmlns:saml=\"" KMEN_NS_SAML "\" "
        "ID=\"_r\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\"><saml:EncryptedAssertion>"
        "<xenc:EncryptedData xmlns:xenc=\"" XENC "\" Type=\"" XENC "Element\">"
        "<xenc:EncryptionMethod Algorithm=\"" XENC "aes256-cbc\"/>"
        "<ds:KeyInfo xmlns:ds=\"" KMEN_NS_DSIG "\">",
        beside ? second : key, "</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>",
        cipher_value(p, aes[0], plain, len),
        "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>", beside ? key : second,
        "</saml:EncryptedAssertion></samlp:Response>", NULL);
}

static char *exported(LassoNode *node)
{
    char *xml = node ? lasso_node_export_to_xml(node) : NULL;
    if (node)
        lasso_node_destroy(node);
    return xml;
}

/* mod_kmen accepted TREE: lasso, decrypting the EncryptedAssertion itself,
 * must build the very assertion lasso builds from TREE, or none. */
static void compare_with_lasso(xmlNode *encrypted_assertion, xmlNode *tree)
{
    LassoNode *element = lasso_node_new_from_xmlNode(encrypted_assertion);
    INVARIANT(LASSO_IS_SAML2_ENCRYPTED_ELEMENT(element), "lasso reads no EncryptedAssertion");
    LassoNode *theirs = NULL;
    int rc = lasso_saml2_encrypted_element_decrypt(LASSO_SAML2_ENCRYPTED_ELEMENT(element), sp_key,
                                                   &theirs);
    lasso_node_destroy(element);
    char *a = exported(lasso_node_new_from_xmlNode(tree)), *b = exported(theirs);
    INVARIANT(rc != 0 || (a && b && strcmp(a, b) == 0),
              "lasso decrypts another assertion (rc %d):\n  mod_kmen: %s\n  lasso:    %s", rc,
              a ? a : "(none)", b ? b : "(none)");
    g_free(a);
    g_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    apr_pool_t *p;
    apr_pool_create(&p, root);
    const char *xml = response(p, data[0], data + 1, size - 1);
    kmen_response_shape shape;
    const char *why = kmen_response_xml_check(p, xml, strlen(xml), &shape);
    INVARIANT(!(data[0] & 2) || why, "accepted a Response with two EncryptedKeys");
    INVARIANT((data[0] & 2) || !why, "refused NIA's layout: %s", why);
    apr_size_t len = 0;
    xmlDoc *doc = NULL;
    const char *plain = NULL;
    int used = -1;
    /* the response names no certificate */
    kmen_sp_decryption_key key = {.key = sp_key, .serial = "1", .cert_b64 = ""};
    if (!why)
        kmen_encrypted_assertion_decrypt(p, shape.encrypted_assertion, &key, 1, &plain, &len,
                                         &used);
    INVARIANT(why || plain || size == 1, "mod_kmen does not decrypt what was encrypted to it");
    if (plain && !kmen_assertion_xml_read(p, plain, len, &doc))
        compare_with_lasso(shape.encrypted_assertion, xmlDocGetRootElement(doc));
    apr_pool_destroy(p);
    return 0;
}
