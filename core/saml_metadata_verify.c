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
 * the algorithms of the Response policy are enabled (saml_signature.c). */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

#include "apr_strings.h"

#include "saml_private.h"

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
        int ok = key && kmen_dsig_verifies(signature, key, id, 1);
        xmlSecKeyDestroy(key);
        if (ok)
            return 1;
    }
    return 0;
}

const char *kmen_idp_metadata_verify(apr_pool_t *p, const char *xml, const char *pinned_pem,
                                     kmen_spelling spelling)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "idp-metadata.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const char *id = root ? kmen_xml_declare_id(p, root) : NULL;
    xmlNode *signature = root ? kmen_xml_only_child(root, KMEN_NS_DSIG, "Signature") : NULL;
    /* A DOCTYPE lies outside the signed root element, yet could declare IDs
     * or default attributes that change what the signature is taken to cover. */
    const char *err =
        !root                              ? "is not well-formed XML"
        : doc->intSubset || doc->extSubset ? "has a DOCTYPE, which its signature does not cover"
        : !signature                       ? "is not signed (one ds:Signature in its root element)"
        : !id ? "has no ID on its root element for the signature to name"
        : !any_pinned_key_verifies(pinned_pem, signature, id)
            ? apr_pstrcat(p, "is not signed by ",
                          kmen_conf_field_name(KMEN_FIELD_idp_metadata_cert_file, spelling), NULL)
            : NULL;
    xmlFreeDoc(doc);
    return err;
}
