/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The IdP metadata's own signature, checked against a pinned certificate
 * (KmenIdPMetadataCertificateFile) before anything uses the metadata.
 *
 * NIA signs its federation metadata (an enveloped XML-DSig over the root
 * EntityDescriptor, by a seal key that is not the key signing its
 * Responses). Fetched over the network, the metadata is only as good as
 * that signature: it names the keys every login is checked against. The
 * pinned key decides alone (the KeyInfo the signature carries is never
 * trusted), the one Reference must cover the whole root element, and only
 * the algorithms of the Response policy are enabled. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "apr_strings.h"

#include "saml_private.h"

/* The one ds:Signature child of ROOT, or NULL (none, or two). */
static xmlNode *only_signature(xmlNode *root)
{
    xmlNode *found = NULL;
    for (xmlNode *n = root->children; n; n = n->next) {
        if (!kmen_xml_is_element(n, KMEN_NS_DSIG, "Signature"))
            continue;
        if (found)
            return NULL;
        found = n;
    }
    return found;
}

/* The transforms a metadata signature may use: exclusive or inclusive
 * canonicalisation, the enveloped-signature transform, SHA-2 digests and
 * RSA with SHA-2. Anything else (XSLT, XPath, SHA-1) fails the check. */
static int enable_policy(xmlSecDSigCtx *ctx)
{
    xmlSecTransformId both[] = {xmlSecTransformExclC14NId, xmlSecTransformInclC14NId};
    xmlSecTransformId reference[] = {xmlSecTransformEnvelopedId, xmlSecTransformSha256Id,
                                     xmlSecTransformSha384Id, xmlSecTransformSha512Id};
    xmlSecTransformId signature[] = {xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
                                     xmlSecTransformRsaSha512Id};
    int rc = 0;
    for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++)
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, both[i]) |
              xmlSecDSigCtxEnableSignatureTransform(ctx, both[i]);
    for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++)
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, reference[i]);
    for (size_t i = 0; i < sizeof(signature) / sizeof(signature[0]); i++)
        rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, signature[i]);
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    return rc == 0;
}

/* The signature verified with KEY (taken over) and its one Reference
 * naming the root element (URI "#ID"). */
static int verifies_with(xmlNode *signature, xmlSecKey *key, const char *id)
{
    xmlSecDSigCtx *ctx = xmlSecDSigCtxCreate(NULL);
    if (!ctx) {
        xmlSecKeyDestroy(key);
        return 0;
    }
    ctx->signKey = key;
    int ok = enable_policy(ctx) && xmlSecDSigCtxVerify(ctx, signature) == 0 &&
             ctx->status == xmlSecDSigStatusSucceeded &&
             xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1;
    if (ok) {
        xmlSecDSigReferenceCtx *ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
        ok = ref && ref->uri && ref->uri[0] == '#' && strcmp((const char *)ref->uri + 1, id) == 0;
    }
    xmlSecDSigCtxDestroy(ctx);
    return ok;
}

/* One PEM certificate after another in PINNED: does any verify? */
static int any_pinned_key_verifies(const char *pinned, xmlNode *signature, const char *id)
{
    static const char end_marker[] = "-----END CERTIFICATE-----";
    for (const char *begin = strstr(pinned, "-----BEGIN CERTIFICATE-----"); begin;
         begin = strstr(begin + 1, "-----BEGIN CERTIFICATE-----")) {
        const char *end = strstr(begin, end_marker);
        if (!end)
            return 0;
        end += strlen(end_marker);
        xmlSecKey *key =
            xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)begin, (xmlSecSize)(end - begin),
                                         xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
        if (key && verifies_with(signature, key, id))
            return 1;
    }
    return 0;
}

/* The root's ID (in P), declared as an ID so that the Reference "#ID" finds it. */
static const char *root_id(apr_pool_t *p, xmlDoc *doc, xmlNode *root)
{
    xmlAttr *attr = xmlHasProp(root, (const xmlChar *)"ID");
    xmlChar *id = attr ? xmlNodeGetContent((xmlNode *)attr) : NULL;
    const char *out =
        id && *id && xmlAddID(NULL, doc, id, attr) ? apr_pstrdup(p, (const char *)id) : NULL;
    xmlFree(id);
    return out;
}

const char *kmen_idp_metadata_verify(apr_pool_t *p, const char *xml, const char *pinned_pem)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "idp-metadata.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const char *id = root ? root_id(p, doc, root) : NULL;
    xmlNode *signature = root ? only_signature(root) : NULL;
    /* A DOCTYPE lies outside the signed root element, yet could declare IDs
     * or default attributes that change what the signature is taken to cover. */
    const char *err = !root ? "is not well-formed XML"
                      : doc->intSubset || doc->extSubset
                          ? "has a DOCTYPE, which its signature does not cover"
                      : !signature ? "is not signed (one ds:Signature in its root element)"
                      : !id        ? "has no ID on its root element for the signature to name"
                      : !any_pinned_key_verifies(pinned_pem, signature, id)
                          ? "is not signed by KmenIdPMetadataCertificateFile"
                          : NULL;
    xmlFreeDoc(doc);
    return err;
}
