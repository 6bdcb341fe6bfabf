/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a Response may hold before lasso sees it.
 *
 * lasso's parser is not built for hostile input: it turns any element it
 * knows (its own Session, Identity or Provider dumps, a LogoutRequest, an ECP
 * header) into a node of that class where it reads "any" content or where an
 * xsi:type names one; some of those crash it, and one makes it open a file
 * named in the message. lasso also decrypts before it checks a signature, and
 * anyone can encrypt to the SP's public certificate. So mod_kmen parses the
 * Response itself, decrypts the assertion itself, and lets lasso see only
 * what NIA sends: the message shapes, namespaces, types, algorithms and
 * same-document references below.
 * The costs: one RSA decryption of ours per Response that passes the outer
 * checks, as lasso spends one too. */
#include <limits.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlstring.h>
#include <libxml/tree.h>

#include "apr_base64.h"
#include "apr_strings.h"

#include "crypto.h"
#include "saml_private.h"

static int parent_is(const xmlNode *n, const char *ns, const char *name)
{
    return n->parent && kmen_xml_is_element(n->parent, ns, name);
}

static int algorithm_in(const xmlNode *n, const char *const *allowed)
{
    xmlChar *alg = xmlGetProp((xmlNode *)n, (const xmlChar *)"Algorithm");
    int ok = 0;
    for (; alg && *allowed && !ok; allowed++)
        ok = strcmp((const char *)alg, *allowed) == 0;
    xmlFree(alg);
    return ok;
}

/* The algorithm policy: RSA with SHA-2 signatures, OAEP key transport, AES
 * content encryption. SHA-1 signatures and RSA PKCS#1 v1.5 key transport
 * (Bleichenbacher) are refused even though xmlsec would accept them. */
static const char *const signature_algs[] = {KMEN_ALG_RSA_SHA256, KMEN_ALG_RSA_SHA384,
                                             KMEN_ALG_RSA_SHA512, NULL};
static const char *const digest_algs[] = {"http://www.w3.org/2001/04/xmlenc#sha256",
                                          "http://www.w3.org/2001/04/xmldsig-more#sha384",
                                          "http://www.w3.org/2001/04/xmlenc#sha512", NULL};
static const char *const key_transport_algs[] = {"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
                                                 "http://www.w3.org/2009/xmlenc11#rsa-oaep", NULL};
static const char *const data_enc_algs[] = {"http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                                            "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
                                            "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
                                            "http://www.w3.org/2009/xmlenc11#aes128-gcm",
                                            "http://www.w3.org/2009/xmlenc11#aes192-gcm",
                                            "http://www.w3.org/2009/xmlenc11#aes256-gcm",
                                            NULL};

/* Canonicalisation and transforms: what NIA uses and its variants. An XSLT,
 * XPath or XPointer transform would run code of the sender's inside xmlsec. */
#define C14N_ALGS                                                                                  \
    "http://www.w3.org/2001/10/xml-exc-c14n#",                                                     \
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",                                     \
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",                                         \
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
static const char *const c14n_algs[] = {C14N_ALGS, NULL};
static const char *const transform_algs[] = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature", C14N_ALGS, NULL};

static const char *algorithm_violation(const xmlNode *n)
{
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "CanonicalizationMethod") &&
        !algorithm_in(n, c14n_algs))
        return "canonicalisation outside policy (C14N, exclusive C14N only)";
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "Transform") && !algorithm_in(n, transform_algs))
        return "transform outside policy (enveloped signature, C14N only)";
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "SignatureMethod") && !algorithm_in(n, signature_algs))
        return "signature algorithm outside policy (RSA-SHA256/384/512 only)";
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "DigestMethod") &&
        parent_is(n, KMEN_NS_DSIG, "Reference") && !algorithm_in(n, digest_algs))
        return "digest algorithm outside policy (SHA-256/384/512 only)";
    if (kmen_xml_is_element(n, KMEN_NS_XENC, "EncryptionMethod") &&
        parent_is(n, KMEN_NS_XENC, "EncryptedKey") && !algorithm_in(n, key_transport_algs))
        return "key transport outside policy (RSA-OAEP only)";
    if (kmen_xml_is_element(n, KMEN_NS_XENC, "EncryptionMethod") &&
        parent_is(n, KMEN_NS_XENC, "EncryptedData") && !algorithm_in(n, data_enc_algs))
        return "content encryption outside policy (AES only)";
    return NULL;
}

/* What xmlsec would fetch while verifying or decrypting: a key by
 * RetrievalMethod, cipher text by CipherReference, signed content by a
 * Reference to anything but this message. NIA's messages carry everything
 * they need; a URI here only serves to make the SP fetch or open something. */
static const char *uri_violation(const xmlNode *n)
{
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "RetrievalMethod") ||
        kmen_xml_is_element(n, KMEN_NS_XENC, "CipherReference"))
        return "a URI to fetch a key or cipher text from (RetrievalMethod, CipherReference)";
    if (!kmen_xml_is_element(n, KMEN_NS_DSIG, "Reference"))
        return NULL;
    xmlChar *uri = xmlGetProp((xmlNode *)n, (const xmlChar *)"URI");
    int local = !uri || !*uri || *uri == '#';
    xmlFree(uri);
    return local ? NULL : "a signature Reference to something outside the message";
}

/* Cipher text comes as one CipherValue (a CipherReference is refused above):
 * xmlsec 1.2.37 leaks memory on a CipherData without one, for every such
 * message, whoever sends it. */
static const char *cipher_data_violation(const xmlNode *n)
{
    if (!kmen_xml_is_element(n, KMEN_NS_XENC, "CipherData"))
        return NULL;
    int elements = 0, values = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        elements += c->type == XML_ELEMENT_NODE;
        values += kmen_xml_is_element(c, KMEN_NS_XENC, "CipherValue");
    }
    return elements == 1 && values == 1 ? NULL : "a CipherData without exactly one CipherValue";
}

/* NIA's layout of an encrypted assertion, and SAML's: one EncryptedData and
 * its one EncryptedKey, beside it or in its KeyInfo (the count is
 * check_response's). A second key would let one cipher text decrypt to two
 * documents, one for each reader that picks another key. */
static const char *encryption_layout_violation(const xmlNode *n)
{
    if (kmen_xml_is_element(n, KMEN_NS_XENC, "EncryptedKey")) {
        const xmlNode *info = n->parent, *data = info ? info->parent : NULL;
        int beside = parent_is(n, KMEN_NS_SAML, "EncryptedAssertion");
        int inside = kmen_xml_is_element(info, KMEN_NS_DSIG, "KeyInfo") && data &&
                     kmen_xml_is_element(data, KMEN_NS_XENC, "EncryptedData") &&
                     parent_is(data, KMEN_NS_SAML, "EncryptedAssertion");
        return beside || inside ? NULL : "an EncryptedKey outside its EncryptedAssertion's places";
    }
    if (!kmen_xml_is_element(n, KMEN_NS_SAML, "EncryptedAssertion"))
        return NULL;
    int data = 0, keys = 0, elements = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        data += kmen_xml_is_element(c, KMEN_NS_XENC, "EncryptedData");
        keys += kmen_xml_is_element(c, KMEN_NS_XENC, "EncryptedKey");
        elements += c->type == XML_ELEMENT_NODE;
    }
    return data == 1 && elements == data + keys
               ? NULL
               : "an EncryptedAssertion other than one EncryptedData and its EncryptedKey";
}

/* Markup NIA never sends, which readers of the signed text disagree about:
 * exclusive c14n (and so the signature) skips a comment, lasso drops a CDATA
 * section and hands over the rest of the text ("CZ/CZ/abc<![CDATA[def]]>"
 * would log in as "CZ/CZ/abc"), and a truncating reader stops at either. */
static const char *markup_violation(const xmlNode *n)
{
    switch (n->type) {
    case XML_CDATA_SECTION_NODE:
        return "CDATA section in a SAML message";
    case XML_COMMENT_NODE:
        return "comment in a SAML message";
    case XML_PI_NODE:
        return "processing instruction in a SAML message";
    default:
        return NULL;
    }
}

/* The namespaces from which lasso builds a class named by an xsi:type: its
 * own, its Python binding's, SAML's and Liberty's, SOAP's, XML-DSig's and
 * XML-Enc's (and, in a build with ID-WSF, the WS-* ones under these
 * prefixes). A type of any other namespace leaves lasso reading the element
 * as the element it is. */
static int lasso_builds_from(const xmlNs *ns)
{
    static const char *const prefixes[] = {"http://www.entrouvert.org/namespaces/",
                                           "urn:oasis:names:tc:SAML:",
                                           "urn:liberty:",
                                           "http://projectliberty.org/",
                                           "http://schemas.xmlsoap.org/",
                                           "http://docs.oasis-open.org/",
                                           "http://www.w3.org/2000/09/xmldsig",
                                           "http://www.w3.org/2001/04/xmlenc",
                                           "http://www.w3.org/2005/08/addressing",
                                           NULL};
    for (const char *const *p = prefixes; ns && *p; p++) {
        if (strncmp((const char *)ns->href, *p, strlen(*p)) == 0)
            return 1;
    }
    return 0;
}

/* An xsi:type names the class lasso builds ("samlp:LogoutRequest" on a Status
 * or a Subject, "lasso:Session" anywhere). NIA types attribute values only,
 * each with its attribute's type: XML Schema's, eIDAS's (tn:CurrentFamilyNameType),
 * and STORK's and the Czech claims' in their own namespaces. So an attribute
 * value may carry any type lasso builds nothing from; its text is what counts
 * (an element inside a value stays refused below). */
static const char *type_violation(const xmlNode *n)
{
    xmlChar *type = xmlGetNsProp(n, (const xmlChar *)"type", (const xmlChar *)KMEN_NS_XSI);
    if (!type)
        return NULL;
    const char *colon = strchr((const char *)type, ':');
    xmlChar *prefix = colon ? xmlStrndup(type, (int)(colon - (const char *)type)) : NULL;
    const xmlNs *ns = xmlSearchNs(n->doc, (xmlNode *)n, prefix);
    int ok = kmen_xml_is_element(n, KMEN_NS_SAML, "AttributeValue") && !lasso_builds_from(ns);
    xmlFree(prefix);
    xmlFree(type);
    return ok ? NULL : "xsi:type other than an attribute value's type (or one lasso builds from)";
}

/* Inside the assertion NIA uses the SAML assertion and XML-DSig namespaces
 * only, and an attribute value holds text only. */
static const char *assertion_element_violation(const xmlNode *n)
{
    if (!kmen_xml_ns_is(n->ns, KMEN_NS_SAML) && !kmen_xml_ns_is(n->ns, KMEN_NS_DSIG))
        return "an element of another namespace than SAML's or XML-DSig's in the assertion";
    if (parent_is(n, KMEN_NS_SAML, "AttributeValue"))
        return "an element inside an attribute value";
    return NULL;
}

/* What a tree holds, taken in one walk: how many assertions, plain and
 * encrypted, at any depth (one hidden in Extensions, Advice or a signature's
 * Object counts), and the first node that breaks the rules above. */
typedef struct {
    int in_assertion; /* the walk is inside a decrypted assertion: its rules too */
    int assertions, encrypted, encrypted_keys;
    xmlNode *encrypted_assertion; /* the last one met; used when encrypted == 1 */
    const char *violation;
} tree_census;

static const char *element_violation(const tree_census *census, const xmlNode *n)
{
    const char *why = algorithm_violation(n);
    if (!why)
        why = uri_violation(n);
    if (!why)
        why = cipher_data_violation(n);
    if (!why)
        why = encryption_layout_violation(n);
    if (!why)
        why = type_violation(n);
    if (!why && census->in_assertion)
        why = assertion_element_violation(n);
    return why;
}

static void take_census(xmlNode *n, tree_census *census)
{
    for (; n && !census->violation; n = n->next) {
        census->violation = markup_violation(n);
        if (n->type != XML_ELEMENT_NODE)
            continue;
        census->assertions += kmen_xml_is_element(n, KMEN_NS_SAML, "Assertion");
        census->encrypted_keys += kmen_xml_is_element(n, KMEN_NS_XENC, "EncryptedKey");
        if (kmen_xml_is_element(n, KMEN_NS_SAML, "EncryptedAssertion")) {
            census->encrypted++;
            census->encrypted_assertion = n;
        }
        if (!census->violation)
            census->violation = element_violation(census, n);
        take_census(n->children, census);
    }
}

int kmen_xml_has_signature_child(const xmlNode *n)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (kmen_xml_is_element(c, KMEN_NS_DSIG, "Signature"))
            return 1;
    }
    return 0;
}

/* Well-formed UTF-8 (RFC 3629): no overlong form, no surrogate, nothing
 * above U+10FFFF. */
static int is_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t more = c < 0x80 ? 0 : c < 0xC2 ? 4 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : c < 0xF5 ? 3 : 4;
        if (more == 4 || len - i - 1 < more)
            return 0;
        /* the second byte's range rules out overlong forms, surrogates and > U+10FFFF */
        unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        for (size_t k = 1; k <= more; k++, lo = 0x80, hi = 0xBF) {
            if (s[i + k] < lo || s[i + k] > hi)
                return 0;
        }
        i += more + 1;
    }
    return 1;
}

static apr_status_t doc_free(void *doc)
{
    xmlFreeDoc(doc);
    return APR_SUCCESS;
}

/* XML from outside: no network, no entity substitution, no DTD loading; a
 * document with a DOCTYPE is refused by its reader. libxml2 builds a tree
 * despite namespace errors (an undeclared prefix, an attribute given twice
 * under two prefixes of one namespace), which readers then see differently:
 * such a document is refused here. So is a NUL byte, where libxml2 stops
 * reading without a word (what follows it would go unchecked), and anything
 * but UTF-8: bytes that are one document in Latin-1 are another in UTF-8.
 * The tree lives as long as P. */
static xmlDoc *read_untrusted(apr_pool_t *p, const char *xml, apr_size_t len)
{
    if (len > INT_MAX || memchr(xml, '\0', len) || !is_utf8((const unsigned char *)xml, len))
        return NULL;
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    xmlDoc *doc = ctxt
                      ? xmlCtxtReadMemory(ctxt, xml, (int)len, "saml.xml", NULL,
                                          XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR)
                      : NULL;
    if (doc && (!ctxt->nsWellFormed ||
                (doc->encoding && xmlStrcasecmp(doc->encoding, BAD_CAST "UTF-8") != 0))) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    if (doc)
        apr_pool_cleanup_register(p, doc, doc_free, apr_pool_cleanup_null);
    return doc;
}

const char *kmen_assertion_xml_read(apr_pool_t *p, const char *xml, apr_size_t len, xmlDoc **out)
{
    xmlDoc *doc = read_untrusted(p, xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    tree_census census = {1, 0, 0, 0, NULL, NULL};
    *out = NULL;
    if (!root)
        return "the EncryptedAssertion does not decrypt to one well-formed UTF-8 XML element";
    if (doc->intSubset || doc->extSubset)
        return "DOCTYPE in a SAML message";
    if (!kmen_xml_is_element(root, KMEN_NS_SAML, "Assertion"))
        return "the EncryptedAssertion holds no saml:Assertion";
    /* the whole document: the root's attributes and what stands beside it too */
    take_census(doc->children, &census);
    if (census.violation)
        return census.violation;
    if (census.assertions != 1 || census.encrypted)
        return "an assertion inside the assertion";
    *out = doc;
    return NULL;
}

/* ROOT_NAME: Response or LogoutResponse; NOT_IT: the refusal of any other. */
static const char *check_response(xmlDoc *doc, const char *root_name, const char *not_it,
                                  kmen_response_shape *shape)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    tree_census census = {0, 0, 0, 0, NULL, NULL};
    if (doc->intSubset || doc->extSubset)
        return "DOCTYPE in a SAML message";
    if (!root || !kmen_xml_is_element(root, KMEN_NS_SAMLP, root_name))
        return not_it;
    take_census(doc->children, &census);
    if (census.violation)
        return census.violation;
    /* NIA always encrypts: exactly one EncryptedAssertion and no plaintext
     * one, except in a failure answer, which carries none. */
    if (census.assertions)
        return "plaintext assertion (NIA always encrypts)";
    if (census.encrypted > 1)
        return "more than one EncryptedAssertion";
    if (census.encrypted_keys != census.encrypted)
        return "not exactly one EncryptedKey for the EncryptedAssertion";
    shape->root = root;
    shape->signed_response = kmen_xml_has_signature_child(root);
    shape->encrypted = census.encrypted;
    shape->encrypted_assertion = census.encrypted ? census.encrypted_assertion : NULL;
    return NULL;
}

const char *kmen_response_xml_check(apr_pool_t *p, const char *xml, apr_size_t len,
                                    kmen_response_shape *shape)
{
    memset(shape, 0, sizeof(*shape));
    xmlDoc *doc = read_untrusted(p, xml, len);
    return doc ? check_response(doc, "Response", "the message is not a samlp:Response", shape)
               : "SAMLResponse is not well-formed UTF-8 XML";
}

const char *kmen_logout_response_xml_check(apr_pool_t *p, const char *xml, apr_size_t len,
                                           kmen_response_shape *shape)
{
    memset(shape, 0, sizeof(*shape));
    xmlDoc *doc = read_untrusted(p, xml, len);
    const char *why = doc ? check_response(doc, "LogoutResponse",
                                           "the message is not a samlp:LogoutResponse", shape)
                          : "SAMLResponse is not well-formed UTF-8 XML";
    return why || !shape->encrypted ? why : "an EncryptedAssertion in a LogoutResponse";
}

const char *kmen_response_shape_check(apr_pool_t *p, const char *b64, kmen_response_shape *shape)
{
    memset(shape, 0, sizeof(*shape));
    if (!kmen_base64_is_valid(b64))
        return "SAMLResponse is not base64";
    char *xml = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64) + 1);
    int len = apr_base64_decode(xml, b64);
    return kmen_response_xml_check(p, xml, (apr_size_t)len, shape);
}
