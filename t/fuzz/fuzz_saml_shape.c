/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks mod_kmen makes before lasso sees a Response (core/saml_shape.c),
 * on the Response's XML and on a decrypted assertion's.
 *
 * Input: byte 0 odd: the rest is the plaintext of an EncryptedAssertion;
 * even, with bit 1 set: a LogoutResponse (NIA's comes unsigned); else a
 * Response.
 *
 * Invariants: nothing crashes or leaks; an accepted document is UTF-8 with no
 * NUL, no "<!" at all (no DOCTYPE, comment or CDATA section can stand in it)
 * and no "<?" but an XML declaration at its very start; an accepted Response
 * hands over an EncryptedAssertion only when the text names one and
 * EncryptedKey exactly once, and says whether a Signature is its child only
 * when the text names one; an accepted assertion names saml:Assertion's
 * namespace; an accepted LogoutResponse names LogoutResponse and holds no
 * EncryptedAssertion. (fuzz_saml_decrypt decrypts.)
 *
 * An accepted Response, and an accepted assertion, then go through the
 * module's signature verification (saml_signature.c, kmen_signed_by_any) as
 * the ACS runs it, with a key pair made at start: no input can carry its
 * signature, so none may verify. (At start, a Response signed with that key
 * must verify, so that the check is not vacuous.) */
#include "fuzz.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

#include <lasso/lasso.h>
#include <openssl/x509.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>

#include "fuzz_apr.h"

#include "saml_private.h"

static EVP_PKEY *idp;                /* the key pair no input can sign with */
static xmlSecKey *idp_key;           /* its public half, as the module loads it, */
static apr_array_header_t *idp_keys; /* in the list kmen_signed_by_any takes */

/* IDP's self-signed certificate, DER, loaded as the module loads the
 * certificates of the IdP's metadata. */
static void load_idp_key(void)
{
    X509 *cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, idp);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, idp, EVP_sha256());
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    idp_keys = apr_array_make(fuzz_apr_root(), 1, sizeof(xmlSecKey *));
    /* held in a static too: LeakSanitizer does not look into APR's pool memory */
    idp_key = kmen_xmlsec_certificate_key(fuzz_apr_root(), der, (apr_size_t)len);
    INVARIANT(idp_key, "the IdP certificate does not load");
    APR_ARRAY_PUSH(idp_keys, xmlSecKey *) = idp_key;
    OPENSSL_free(der);
    X509_free(cert);
}

/* A Response signed as NIA signs it (enveloped, exclusive C14N,
 * RSA-SHA256) with IDP's private key: it must verify. */
static void check_control(void)
{
    static const char xml[] = "<samlp:Response xmlns:samlp=\"" KMEN_NS_SAMLP "\" ID=\"_c\"/>";
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_apr_root());
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "c.xml", NULL, XML_PARSE_NONET);
    xmlNode *sig =
        xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, NULL);
    xmlAddChild(xmlDocGetRootElement(doc), sig);
    xmlNode *ref =
        xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST "#_c", NULL);
    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
    xmlSecDSigCtx *ctx = xmlSecDSigCtxCreate(NULL);
    ctx->signKey = xmlSecKeyCreate();
    EVP_PKEY_up_ref(idp);
    xmlSecKeySetValue(ctx->signKey, xmlSecOpenSSLEvpKeyAdopt(idp));
    kmen_xml_declare_id(p, xmlDocGetRootElement(doc));
    INVARIANT(xmlSecDSigCtxSign(ctx, sig) == 0, "the control does not sign");
    INVARIANT(kmen_signed_by_any(p, xmlDocGetRootElement(doc), idp_keys),
              "the signed control does not verify");
    xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    apr_pool_destroy(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    INVARIANT(lasso_init() == 0, "lasso (and xmlsec) do not start");
    idp = EVP_RSA_gen(2048);
    load_idp_key();
    check_control();
    return 0;
}

/* ELEMENT, accepted by the checks, is not signed by IDP: nobody has its key. */
static void check_unsigned(apr_pool_t *p, xmlNode *element)
{
    INVARIANT(!kmen_signed_by_any(p, element, idp_keys),
              "a signature by a key no input holds verifies");
}

static int occurrences(const char *xml, size_t len, const char *word)
{
    size_t n = strlen(word);
    int count = 0;
    for (size_t i = 0; i + n <= len; i++)
        count += memcmp(xml + i, word, n) == 0;
    return count;
}

static int contains(const char *xml, size_t len, const char *word)
{
    return occurrences(xml, len, word) > 0;
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
    INVARIANT(!memchr(xml, '\0', len), "accepted with a NUL byte");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *xml = (const char *)data + 1;
    size_t len = size - 1;
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_apr_root());
    const char *why;
    if (data[0] % 2 == 0 && (data[0] & 2)) {
        kmen_response_shape shape;
        why = kmen_logout_response_xml_check(p, xml, len, &shape);
        INVARIANT(why || (contains(xml, len, "LogoutResponse") && !shape.encrypted),
                  "a LogoutResponse accepted without the word, or with an EncryptedAssertion");
    } else if (data[0] % 2 == 0) {
        kmen_response_shape shape;
        why = kmen_response_xml_check(p, xml, len, &shape);
        INVARIANT(why || !shape.encrypted ||
                      (shape.encrypted_assertion && contains(xml, len, "EncryptedAssertion") &&
                       contains(xml, len, "EncryptedKey")),
                  "an EncryptedAssertion without the words, or without its one EncryptedKey");
        INVARIANT(why || !shape.signed_response || contains(xml, len, "Signature"),
                  "a Signature child without the word");
        if (!why)
            check_unsigned(p, shape.root);
    } else {
        xmlDoc *doc = NULL;
        why = kmen_assertion_xml_read(p, xml, len, &doc);
        INVARIANT(!why == !!doc, "a document without a verdict, or a verdict with a document");
        INVARIANT(why || contains(xml, len, KMEN_NS_SAML),
                  "accepted an assertion outside SAML's namespace");
        if (!why)
            check_unsigned(p, xmlDocGetRootElement(doc));
    }
    if (!why)
        check_markup_free(xml, len);
    apr_pool_destroy(p);
    return 0;
}
