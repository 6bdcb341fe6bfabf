/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks mod_kmen makes before lasso sees a Response (mod_kmen/saml_shape.c),
 * on the Response's XML and on a decrypted assertion's.
 *
 * Input: byte 0 even: the rest is a Response (an EncryptedAssertion in it is
 * decrypted with a key no input was encrypted for, so it never decrypts);
 * odd: the rest is the plaintext of an EncryptedAssertion.
 *
 * Invariants: nothing crashes or leaks; an accepted document has no "<!" at all
 * (no DOCTYPE, comment or CDATA section can stand in it) and no "<?" but an
 * XML declaration at its very start; an accepted Response holds no
 * EncryptedAssertion (none can decrypt here) and says whether a Signature is
 * its child only when the text names one; an accepted assertion names
 * saml:Assertion's namespace. */
#include "fuzz.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "saml_private.h"

static apr_pool_t *root;
static xmlSecKey *key;

/* A throwaway RSA key, made once, loaded as the module loads the SP's: the
 * checks need one to try decrypting with. */
static xmlSecKey *rsa_key(void)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    BIO_write(bio, "", 1); /* the loader takes a C string */
    char *pem = NULL;
    BIO_get_mem_data(bio, &pem);
    xmlSecKey *k = NULL;
    const char *err = kmen_sp_decryption_key_load(root, pem, &k);
    INVARIANT(!err, "%s", err);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    xmlInitParser();
    INVARIANT(xmlSecInit() == 0 && xmlSecCryptoAppInit(NULL) == 0 && xmlSecCryptoInit() == 0,
              "xmlsec does not start");
    key = rsa_key();
    INVARIANT(key != NULL, "no RSA key");
    return 0;
}

static int contains(const char *xml, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(xml + i, word, n) == 0)
            return 1;
    }
    return 0;
}

/* No "<!" at all, and "<?" only as the XML declaration at the start (after a
 * UTF-8 byte order mark, if any). */
static void check_markup_free(const char *xml, size_t len)
{
    size_t start = len >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    for (size_t i = 0; i + 1 < len; i++) {
        INVARIANT(!(xml[i] == '<' && xml[i + 1] == '!'), "accepted with \"<!\" at %zu", i);
        INVARIANT(!(xml[i] == '<' && xml[i + 1] == '?') || i == start,
                  "accepted with \"<?\" at %zu", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *xml = (const char *)data + 1;
    size_t len = size - 1;
    apr_pool_t *p;
    apr_pool_create(&p, root);
    const char *why;
    if (data[0] % 2 == 0) {
        kmen_response_shape shape;
        why = kmen_response_xml_check(p, xml, len, key, &shape);
        INVARIANT(why || shape.encrypted == 0, "accepted an EncryptedAssertion nobody can decrypt");
        INVARIANT(why || !shape.signed_response || contains(xml, len, "Signature"),
                  "a Signature child without the word");
    } else {
        why = kmen_assertion_xml_check(xml, len);
        INVARIANT(why || contains(xml, len, KMEN_NS_SAML),
                  "accepted an assertion outside SAML's namespace");
    }
    if (!why)
        check_markup_free(xml, len);
    apr_pool_destroy(p);
    return 0;
}
