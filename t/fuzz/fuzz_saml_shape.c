/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks mod_kmen makes before lasso sees a Response (mod_kmen/saml_shape.c),
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
 * EncryptedAssertion. (fuzz_saml_decrypt decrypts.) */
#include "fuzz.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

#include "fuzz_apr.h"

#include "saml_private.h"

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
    } else {
        xmlDoc *doc = NULL;
        why = kmen_assertion_xml_read(p, xml, len, &doc);
        INVARIANT(!why == !!doc, "a document without a verdict, or a verdict with a document");
        INVARIANT(why || contains(xml, len, KMEN_NS_SAML),
                  "accepted an assertion outside SAML's namespace");
    }
    if (!why)
        check_markup_free(xml, len);
    apr_pool_destroy(p);
    return 0;
}
