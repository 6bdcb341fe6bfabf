/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Enveloped XML-DSig signatures, verified by xmlsec with keys loaded once.
 *
 * The Response's and the assertion's signatures are checked here, with the
 * IdP's signing keys read from its metadata when it is loaded (and again
 * when saml_reload.c swaps in a new file), and so is the metadata's own
 * signature with the pinned certificate. lasso verified the Response's
 * before: it duplicated the IdP's key with its certificate for every
 * message (an X.509 encode and decode) and set up OpenSSL's decoders, which
 * cost about as much as the RSA private-key operation of the login. The
 * rules are lasso's and stricter: one signature, one Reference naming the
 * signed element by its ID, and only the transforms and algorithms of the
 * policy (saml_shape.c has refused the others already). The signature's own
 * KeyInfo is never read: the given key decides alone. */
#include <string.h>

#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "apr_strings.h"

#include "saml_private.h"

const char *kmen_xml_declare_id(apr_pool_t *p, xmlNode *element)
{
    xmlAttr *attr = xmlHasProp(element, (const xmlChar *)"ID");
    xmlChar *id = attr ? xmlNodeGetContent((xmlNode *)attr) : NULL;
    xmlAttr *known = id && *id ? xmlGetID(element->doc, id) : NULL;
    /* an ID is declared once: again for the same element (the ACS looks at
     * the Response twice), never for another (xml:id declares its own) */
    int ok = known ? known == attr : id && *id && xmlAddID(NULL, element->doc, id, attr) != NULL;
    const char *out = ok ? apr_pstrdup(p, (const char *)id) : NULL;
    xmlFree(id);
    return out;
}

/* The transforms a signature may use: exclusive canonicalisation (and
 * inclusive, where INCLUSIVE_C14N), the enveloped-signature transform,
 * SHA-2 digests and RSA with SHA-2. Anything else (XSLT, XPath, SHA-1)
 * fails the check. */
static int enable_policy(xmlSecDSigCtx *ctx, int inclusive_c14n)
{
    xmlSecTransformId reference[] = {xmlSecTransformEnvelopedId, xmlSecTransformSha256Id,
                                     xmlSecTransformSha384Id, xmlSecTransformSha512Id};
    xmlSecTransformId signature[] = {xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
                                     xmlSecTransformRsaSha512Id};
    int rc = xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) |
             xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId);
    if (inclusive_c14n)
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) |
              xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId);
    for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++)
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, reference[i]);
    for (size_t i = 0; i < sizeof(signature) / sizeof(signature[0]); i++)
        rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, signature[i]);
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    return rc == 0;
}

/* The one Reference of a verified signature names "#ID". */
static int references_only(xmlSecDSigCtx *ctx, const char *id)
{
    if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1)
        return 0;
    xmlSecDSigReferenceCtx *ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
    return ref && ref->uri && ref->uri[0] == '#' && strcmp((const char *)ref->uri + 1, id) == 0;
}

int kmen_dsig_verifies(xmlNode *signature, xmlSecKey *key, const char *id, int inclusive_c14n)
{
    xmlSecDSigCtx *ctx = xmlSecDSigCtxCreate(NULL);
    if (!ctx)
        return 0;
    ctx->signKey = key; /* borrowed: the transform takes its own reference to the RSA key */
    int ok = enable_policy(ctx, inclusive_c14n) && xmlSecDSigCtxVerify(ctx, signature) == 0 &&
             ctx->status == xmlSecDSigStatusSucceeded && references_only(ctx, id);
    ctx->signKey = NULL; /* not the context's to destroy */
    xmlSecDSigCtxDestroy(ctx);
    return ok;
}

int kmen_signed_by_any(apr_pool_t *p, xmlNode *element, const apr_array_header_t *keys)
{
    xmlNode *signature = kmen_xml_only_child(element, KMEN_NS_DSIG, "Signature");
    const char *id = signature ? kmen_xml_declare_id(p, element) : NULL;
    for (int i = 0; id && i < keys->nelts; i++) {
        if (kmen_dsig_verifies(signature, APR_ARRAY_IDX(keys, i, xmlSecKey *), id, 0))
            return 1;
    }
    return 0;
}

static apr_status_t xmlsec_key_free(void *key)
{
    xmlSecKeyDestroy(key);
    return APR_SUCCESS;
}

xmlSecKey *kmen_xmlsec_certificate_key(apr_pool_t *p, const unsigned char *der, apr_size_t len)
{
    xmlSecKey *key = xmlSecCryptoAppKeyLoadMemory(der, (xmlSecSize)len, xmlSecKeyDataFormatCertDer,
                                                  NULL, NULL, NULL);
    if (key)
        apr_pool_cleanup_register(p, key, xmlsec_key_free, apr_pool_cleanup_null);
    return key;
}
