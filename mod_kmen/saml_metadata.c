/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SP metadata in the form NIA reads, and the facts mod_kmen needs from the IdP's. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "apr_escape.h"
#include "apr_strings.h"

#include "saml_private.h"

/* The base64 body of a PEM certificate, armour and line breaks removed. */
static const char *pem_body(apr_pool_t *p, const char *pem)
{
    const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
    const char *end = begin ? strstr(begin, "-----END CERTIFICATE-----") : NULL;
    if (!end)
        return NULL;
    begin += strlen("-----BEGIN CERTIFICATE-----");
    char *out = apr_palloc(p, (apr_size_t)(end - begin) + 1), *o = out;
    for (const char *c = begin; c < end; c++) {
        if (!strchr(" \t\r\n", *c))
            *o++ = *c;
    }
    *o = '\0';
    return out;
}

static const char *key_descriptor(apr_pool_t *p, const char *use, const char *cert_b64,
                                  const char *methods)
{
    return apr_psprintf(p,
                        "  <md:KeyDescriptor use=\"%s\">\n"
                        "   <ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\n%s"
                        "  </md:KeyDescriptor>\n",
                        use, cert_b64, methods);
}

const char *kmen_sp_metadata_build(apr_pool_t *p, const kmen_sp_params *params)
{
    const char *cert = pem_body(p, params->cert_pem);
    if (!cert)
        return NULL;
    /* NIA reads the encryption certificate from here; it encrypts with
     * aes256-cbc and rsa-oaep-mgf1p, which is what xmlsec can decrypt. */
    const char *enc_methods =
        "   <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/>\n"
        "   <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\n";
    return apr_pstrcat(
        p,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"" KMEN_NS_DSIG "\" entityID=\"",
        apr_pescape_entity(p, params->entity_id, 0),
        "\">\n"
        " <md:Extensions><eidas:SPType xmlns:eidas=\"" KMEN_NS_EIDAS "\">",
        params->sp_type,
        "</eidas:SPType></md:Extensions>\n"
        " <md:SPSSODescriptor AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\" "
        "protocolSupportEnumeration=\"" KMEN_NS_SAMLP "\">\n",
        key_descriptor(p, "signing", cert, ""), key_descriptor(p, "encryption", cert, enc_methods),
        "  <md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"",
        apr_pescape_entity(p, params->slo_url, 0),
        "\"/>\n"
        "  "
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>\n"
        "  <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>\n"
        "  <md:AssertionConsumerService Binding=\"" LASSO_SAML2_METADATA_BINDING_POST
        "\" Location=\"",
        apr_pescape_entity(p, params->acs_url, 0),
        "\" index=\"0\" isDefault=\"true\"/>\n"
        " </md:SPSSODescriptor>\n"
        "</md:EntityDescriptor>\n",
        NULL);
}

static const char *root_attribute(apr_pool_t *p, xmlNode *root, const char *name)
{
    xmlChar *v = xmlGetProp(root, (const xmlChar *)name);
    const char *out = v ? apr_pstrdup(p, (const char *)v) : NULL;
    xmlFree(v);
    return out;
}

const char *kmen_idp_metadata_read(apr_pool_t *p, const char *xml, const char **entity_id,
                                   apr_time_t *valid_until)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "idp-metadata.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const char *err = NULL;
    if (!root)
        err = "is not well-formed XML";
    else if (strcmp((const char *)root->name, "EntityDescriptor") != 0)
        err = "has no EntityDescriptor root element";
    else if (!(*entity_id = root_attribute(p, root, "entityID")))
        err = "has no entityID";
    const char *until = root ? root_attribute(p, root, "validUntil") : NULL;
    *valid_until = 0;
    if (!err && until && !kmen_parse_xs_datetime(until, valid_until))
        err = "has an unreadable validUntil";
    xmlFreeDoc(doc);
    return err;
}
