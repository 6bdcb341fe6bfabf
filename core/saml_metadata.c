/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SP metadata in the form NIA reads, and the facts mod_kmen needs from the IdP's. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "apr_base64.h"
#include "apr_escape.h"
#include "apr_strings.h"

#include "crypto.h"
#include "saml_private.h"

/* The text from BEGIN to END without blanks and line breaks (base64 as
 * certificates carry it; apr_base64_decode stops at the first of them). */
static const char *without_blanks(apr_pool_t *p, const char *begin, const char *end)
{
    char *out = apr_palloc(p, (apr_size_t)(end - begin) + 1), *o = out;
    for (const char *c = begin; c < end; c++) {
        if (!strchr(" \t\r\n", *c))
            *o++ = *c;
    }
    *o = '\0';
    return out;
}

/* The base64 body of a PEM certificate, armour and line breaks removed. */
static const char *pem_body(apr_pool_t *p, const char *pem)
{
    const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
    const char *end = begin ? strstr(begin, "-----END CERTIFICATE-----") : NULL;
    if (!end)
        return NULL;
    begin += strlen("-----BEGIN CERTIFICATE-----");
    return without_blanks(p, begin, end);
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

/* NIA posts its LogoutResponse; its own LogoutRequests come by HTTP-Redirect. */
static const char *slo_services(apr_pool_t *p, const char *slo_url)
{
    const char *slo = apr_pescape_entity(p, slo_url, 0);
    return apr_pstrcat(p,
                       "  <md:SingleLogoutService Binding=\"" LASSO_SAML2_METADATA_BINDING_REDIRECT
                       "\" Location=\"",
                       slo,
                       "\"/>\n"
                       "  <md:SingleLogoutService Binding=\"" LASSO_SAML2_METADATA_BINDING_POST
                       "\" Location=\"",
                       slo, "\"/>\n", NULL);
}

/* A KeyDescriptor of USE for each certificate of PARAMS but those of pairs
 * for OTHER_USE only, the first pair's first. While the SP rolls its key
 * over NIA has both: it may encrypt to either, and it verifies the requests
 * whichever of the two signs them, so that neither step of the rollover
 * waits for NIA. */
static const char *key_descriptors(apr_pool_t *p, const kmen_sp_params *params, const char *use,
                                   kmen_sp_key_use other_use, const char *methods)
{
    const char *out = "";
    for (int i = 0; i < params->key_count; i++) {
        const char *cert = pem_body(p, params->keys[i].cert_pem);
        if (!cert)
            return NULL;
        if (params->keys[i].use != other_use)
            out = apr_pstrcat(p, out, key_descriptor(p, use, cert, methods), NULL);
    }
    return out;
}

const char *kmen_sp_metadata_build(apr_pool_t *p, const kmen_sp_params *params)
{
    /* NIA reads the encryption certificate from here; it encrypts with
     * aes256-cbc and rsa-oaep-mgf1p, which is what xmlsec can decrypt. */
    const char *enc_methods =
        "   <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/>\n"
        "   <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\n";
    const char *signing = key_descriptors(p, params, "signing", KMEN_KEY_DECRYPTS, "");
    const char *encryption = key_descriptors(p, params, "encryption", KMEN_KEY_SIGNS, enc_methods);
    if (!signing || !encryption)
        return NULL;
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
        signing, encryption, slo_services(p, params->slo_url),
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

static apr_status_t public_key_free(void *key)
{
    EVP_PKEY_free(key);
    return APR_SUCCESS;
}

/* X509_get0_notAfter as apr_time_t; 0 if OpenSSL cannot read it. */
static apr_time_t not_after(const X509 *cert)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
        return 0;
    apr_time_exp_t t = {.tm_sec = tm.tm_sec,
                        .tm_min = tm.tm_min,
                        .tm_hour = tm.tm_hour,
                        .tm_mday = tm.tm_mday,
                        .tm_mon = tm.tm_mon,
                        .tm_year = tm.tm_year};
    apr_time_t out = 0;
    return apr_time_exp_gmt_get(&out, &t) == APR_SUCCESS ? out : 0;
}

/* The public key of an X509Certificate element's base64 text, freed with P,
 * into FACTS, and the certificate's notAfter into its signing_expires when
 * later; nothing if it is no certificate. */
static void certificate_key(apr_pool_t *p, const xmlNode *x509_certificate, kmen_idp_facts *facts)
{
    xmlChar *text = xmlNodeGetContent(x509_certificate);
    const char *b64 = text ? without_blanks(p, (const char *)text,
                                            (const char *)text + strlen((const char *)text))
                           : "";
    xmlFree(text);
    if (!*b64 || !kmen_base64_is_valid(b64))
        return;
    unsigned char *der = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64));
    const unsigned char *in = der;
    int len = apr_base64_decode((char *)der, b64);
    X509 *cert = d2i_X509(NULL, &in, len);
    EVP_PKEY *key = cert ? X509_get_pubkey(cert) : NULL;
    apr_time_t expires = key ? not_after(cert) : 0;
    X509_free(cert);
    ERR_clear_error();
    xmlSecKey *xml_key = key ? kmen_xmlsec_certificate_key(p, der, (apr_size_t)len) : NULL;
    if (key)
        apr_pool_cleanup_register(p, key, public_key_free, apr_pool_cleanup_null);
    if (!xml_key)
        return;
    APR_ARRAY_PUSH(facts->signing_keys, EVP_PKEY *) = key;
    APR_ARRAY_PUSH(facts->xml_signing_keys, xmlSecKey *) = xml_key;
    if (expires > facts->signing_expires)
        facts->signing_expires = expires;
}

/* Every certificate at or below N, into FACTS. */
static void certificates_below(apr_pool_t *p, const xmlNode *n, kmen_idp_facts *facts)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (kmen_xml_is_element(n, KMEN_NS_DSIG, "X509Certificate"))
            certificate_key(p, n, facts);
        certificates_below(p, n->children, facts);
    }
}

/* The IdP's signing keys: the certificates of every KeyDescriptor of an
 * IDPSSODescriptor that is not for encryption only (as lasso reads them). */
static void idp_signing_keys(apr_pool_t *p, const xmlNode *n, int in_idp, kmen_idp_facts *facts)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (in_idp && kmen_xml_is_element(n, LASSO_SAML2_METADATA_HREF, "KeyDescriptor")) {
            xmlChar *use = xmlGetProp((xmlNode *)n, (const xmlChar *)"use");
            if (!use || strcmp((const char *)use, "encryption") != 0)
                certificates_below(p, n->children, facts);
            xmlFree(use);
            continue;
        }
        idp_signing_keys(
            p, n->children,
            in_idp || kmen_xml_is_element(n, LASSO_SAML2_METADATA_HREF, "IDPSSODescriptor"), facts);
    }
}

const char *kmen_idp_metadata_read(apr_pool_t *p, const char *xml, kmen_idp_facts *facts)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "idp-metadata.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const char *err = NULL;
    memset(facts, 0, sizeof(*facts));
    if (!root)
        err = "is not well-formed XML";
    else if (strcmp((const char *)root->name, "EntityDescriptor") != 0)
        err = "has no EntityDescriptor root element";
    else if (!(facts->entity_id = kmen_xml_attribute(p, root, "entityID")))
        err = "has no entityID";
    const char *until = root ? kmen_xml_attribute(p, root, "validUntil") : NULL;
    if (!err && until && !kmen_parse_xs_datetime(until, &facts->valid_until))
        err = "has an unreadable validUntil";
    facts->signing_keys = apr_array_make(p, 2, sizeof(EVP_PKEY *));
    facts->xml_signing_keys = apr_array_make(p, 2, sizeof(xmlSecKey *));
    if (!err)
        idp_signing_keys(p, root, 0, facts);
    if (!err && facts->signing_keys->nelts == 0)
        err = "has no signing certificate of an IdP (KeyDescriptor in IDPSSODescriptor)";
    xmlFreeDoc(doc);
    return err;
}
