/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every check a Response must pass before anyone is logged in.
 *
 * lasso verifies signatures and decrypts, but (FACTS.md) checks neither time,
 * InResponseTo nor Audience; it also accepts whatever algorithms xmlsec
 * knows and more than one assertion. The checks it leaves out are here, in the
 * order an attacker would meet them: the shape of the raw XML first (before
 * lasso spends an RSA operation on it), then lasso, then the assertion. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "apr_base64.h"
#include "apr_strings.h"

#include "crypto.h"
#include "saml_private.h"

typedef struct {
    apr_pool_t *p;
    kmen_sp *sp;
    const kmen_response_expect *expect;
    const char *reason;
} check_ctx;

static int refuse(check_ctx *c, const char *reason)
{
    if (!c->reason)
        c->reason = reason;
    return 0;
}

int kmen_xml_is_element(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
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
static const char *const signature_algs[] = {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                             "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
                                             "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
                                             NULL};
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

static const char *algorithm_violation(const xmlNode *n)
{
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "SignatureMethod") && !algorithm_in(n, signature_algs))
        return "signature algorithm outside policy (RSA-SHA256/384/512 only)";
    if (kmen_xml_is_element(n, KMEN_NS_DSIG, "DigestMethod") && n->parent &&
        kmen_xml_is_element(n->parent, KMEN_NS_DSIG, "Reference") && !algorithm_in(n, digest_algs))
        return "digest algorithm outside policy (SHA-256/384/512 only)";
    if (kmen_xml_is_element(n, KMEN_NS_XENC, "EncryptionMethod") && n->parent &&
        kmen_xml_is_element(n->parent, KMEN_NS_XENC, "EncryptedKey") &&
        !algorithm_in(n, key_transport_algs))
        return "key transport outside policy (RSA-OAEP only)";
    if (kmen_xml_is_element(n, KMEN_NS_XENC, "EncryptionMethod") && n->parent &&
        kmen_xml_is_element(n->parent, KMEN_NS_XENC, "EncryptedData") &&
        !algorithm_in(n, data_enc_algs))
        return "content encryption outside policy (AES only)";
    return NULL;
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

/* lasso builds a node of whatever class an xsi:type names ("samlp:LogoutRequest"
 * on a Status or a Subject); NIA types attribute values only. */
static const char *type_violation(const xmlNode *n)
{
    if (xmlHasNsProp(n, (const xmlChar *)"type", (const xmlChar *)KMEN_NS_XSI) &&
        !kmen_xml_is_element(n, KMEN_NS_SAML, "AttributeValue"))
        return "xsi:type outside an attribute value";
    return NULL;
}

static const char *element_violation(const xmlNode *n)
{
    const char *why = algorithm_violation(n);
    return why ? why : type_violation(n);
}

/* What a tree holds, taken in one walk: how many assertions, plain and
 * encrypted, at any depth (one hidden in Extensions, Advice or a signature's
 * Object counts), and the first node that breaks the algorithm policy, is
 * markup NIA never sends or carries an xsi:type where NIA puts none. */
typedef struct {
    int assertions, encrypted;
    xmlNode *encrypted_assertion; /* the last one met; used when encrypted == 1 */
    const char *violation;
} tree_census;

static void take_census(xmlNode *n, tree_census *census)
{
    for (; n && !census->violation; n = n->next) {
        census->violation = markup_violation(n);
        if (n->type != XML_ELEMENT_NODE)
            continue;
        census->assertions += kmen_xml_is_element(n, KMEN_NS_SAML, "Assertion");
        if (kmen_xml_is_element(n, KMEN_NS_SAML, "EncryptedAssertion")) {
            census->encrypted++;
            census->encrypted_assertion = n;
        }
        if (!census->violation)
            census->violation = element_violation(n);
        take_census(n->children, census);
    }
}

static int has_signature_child(const xmlNode *n)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (kmen_xml_is_element(c, KMEN_NS_DSIG, "Signature"))
            return 1;
    }
    return 0;
}

typedef struct {
    tree_census census; /* of the whole Response, in mod_kmen's own parse */
    int signed_response;
} response_shape;

static int check_shape(check_ctx *c, xmlDoc *doc, response_shape *shape)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    if (doc->intSubset || doc->extSubset)
        return refuse(c, "DOCTYPE in a SAML message");
    if (!root || !kmen_xml_is_element(root, KMEN_NS_SAMLP, "Response"))
        return refuse(c, "the message is not a samlp:Response");
    shape->signed_response = has_signature_child(root);
    take_census(root, &shape->census);
    if (shape->census.violation)
        return refuse(c, shape->census.violation);
    /* NIA always encrypts: exactly one EncryptedAssertion and no plaintext
     * one, except in a failure answer, which carries none. */
    if (shape->census.assertions)
        return refuse(c, "plaintext assertion (NIA always encrypts)");
    return shape->census.encrypted <= 1 ? 1 : refuse(c, "more than one EncryptedAssertion");
}

/* The Response as mod_kmen parsed it itself; NULL (and a reason) if its
 * shape is wrong. Freed by the caller. */
static xmlDoc *precheck(check_ctx *c, const char *b64, response_shape *shape)
{
    if (!kmen_base64_is_valid(b64)) {
        refuse(c, "SAMLResponse is not base64");
        return NULL;
    }
    char *xml = apr_palloc(c->p, (apr_size_t)apr_base64_decode_len(b64) + 1);
    int len = apr_base64_decode(xml, b64);
    /* No network, no entity substitution, no DTD loading: the document is
     * refused below if it has a DOCTYPE at all. */
    xmlDoc *doc = xmlReadMemory(xml, len, "response.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    if (!doc) {
        refuse(c, "SAMLResponse is not well-formed XML");
        return NULL;
    }
    if (!check_shape(c, doc, shape)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static int check_time_window(check_ctx *c, const char *not_before, const char *not_on_or_after,
                             const char *what)
{
    apr_time_t t, now = c->expect->now, skew = c->expect->skew;
    if (not_before && (!kmen_parse_xs_datetime(not_before, &t) || now + skew < t))
        return refuse(c, apr_pstrcat(c->p, what, " not yet valid (NotBefore)", NULL));
    if (not_on_or_after && (!kmen_parse_xs_datetime(not_on_or_after, &t) || now - skew >= t))
        return refuse(c, apr_pstrcat(c->p, what, " expired (NotOnOrAfter)", NULL));
    return 1;
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static int check_envelope(check_ctx *c, LassoSamlp2StatusResponse *resp)
{
    if (!same(resp->Destination, c->sp->params.acs_url))
        return refuse(c, "Destination is not this SP's ACS URL");
    if (!resp->Issuer || !same(resp->Issuer->content, c->sp->idp_entity_id))
        return refuse(c, "Response Issuer is not the IdP");
    if (!resp->InResponseTo)
        return refuse(c, "unsolicited Response (no InResponseTo)");
    if (!same(resp->InResponseTo, c->expect->request_id))
        return refuse(c, "InResponseTo names no request this browser started");
    return 1;
}

static int check_audience(check_ctx *c, LassoSaml2Conditions *cond)
{
    for (GList *l = cond->AudienceRestriction; l; l = l->next) {
        LassoSaml2AudienceRestriction *ar = l->data;
        if (!same(ar->Audience, c->sp->params.entity_id))
            return refuse(c, "Audience is not this SP");
    }
    return cond->AudienceRestriction ? 1 : refuse(c, "no AudienceRestriction");
}

static int check_conditions(check_ctx *c, LassoSaml2Assertion *a)
{
    LassoSaml2Conditions *cond = a->Conditions;
    if (!cond)
        return refuse(c, "assertion without Conditions");
    return check_time_window(c, cond->NotBefore, cond->NotOnOrAfter, "assertion") &&
           check_audience(c, cond);
}

static int check_subject(check_ctx *c, LassoSaml2Assertion *a)
{
    LassoSaml2Subject *subject = a->Subject;
    LassoSaml2SubjectConfirmation *sc = subject ? subject->SubjectConfirmation : NULL;
    LassoSaml2SubjectConfirmationData *scd = sc ? sc->SubjectConfirmationData : NULL;
    if (!subject || !subject->NameID || !subject->NameID->content)
        return refuse(c, "assertion without NameID");
    if (!scd || !same(sc->Method, "urn:oasis:names:tc:SAML:2.0:cm:bearer"))
        return refuse(c, "no bearer SubjectConfirmationData");
    if (!same(scd->Recipient, c->sp->params.acs_url))
        return refuse(c, "SubjectConfirmationData Recipient is not this SP's ACS URL");
    if (!same(scd->InResponseTo, c->expect->request_id))
        return refuse(c, "SubjectConfirmationData InResponseTo does not match");
    if (!scd->NotOnOrAfter)
        return refuse(c, "SubjectConfirmationData without NotOnOrAfter");
    return check_time_window(c, scd->NotBefore, scd->NotOnOrAfter, "subject confirmation");
}

static int read_authn_statement(check_ctx *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    LassoSaml2AuthnStatement *st = a->AuthnStatement ? a->AuthnStatement->data : NULL;
    if (!st || a->AuthnStatement->next)
        return refuse(c, "not exactly one AuthnStatement");
    out->loa = st->AuthnContext ? kmen_loa_from_uri(st->AuthnContext->AuthnContextClassRef)
                                : KMEN_LOA_NONE;
    if (out->loa == KMEN_LOA_NONE)
        return refuse(c, "AuthnContextClassRef is no eIDAS level of assurance");
    out->authn_instant = apr_pstrdup(c->p, st->AuthnInstant);
    out->ref.session_index = apr_pstrdup(c->p, st->SessionIndex);
    return 1;
}

/* Text of an AttributeValue. Every text node is kept, so a comment inside a
 * value cannot truncate it (the 2018 NameID-comment class of bugs); anything
 * else inside a value (a CDATA section, an element) makes *markup true: the
 * signature covers it, but lasso would hand over only part of the text. */
static const char *attribute_value_text(apr_pool_t *p, LassoSaml2AttributeValue *v, int *markup)
{
    const char *text = NULL;
    for (GList *l = v->any; l; l = l->next) {
        if (LASSO_IS_MISC_TEXT_NODE(l->data) && LASSO_MISC_TEXT_NODE(l->data)->text_child)
            text = apr_pstrcat(p, text ? text : "", LASSO_MISC_TEXT_NODE(l->data)->content, NULL);
        else
            *markup = 1;
    }
    return text;
}

static int read_attributes(check_ctx *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    int markup = 0;
    out->attrs = apr_array_make(c->p, 16, sizeof(kmen_attr));
    for (GList *s = a->AttributeStatement; s; s = s->next) {
        for (GList *l = LASSO_SAML2_ATTRIBUTE_STATEMENT(s->data)->Attribute; l; l = l->next) {
            LassoSaml2Attribute *attr = l->data;
            for (GList *v = attr->AttributeValue; v && attr->Name; v = v->next) {
                const char *text = attribute_value_text(c->p, v->data, &markup);
                if (!text)
                    continue;
                kmen_attr *out_attr = apr_array_push(out->attrs);
                out_attr->name = apr_pstrdup(c->p, attr->Name);
                out_attr->value = text;
            }
        }
    }
    return markup ? refuse(c, "an attribute value holds markup (CDATA or elements)") : 1;
}

static void read_subject(check_ctx *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    LassoSaml2NameID *n = a->Subject->NameID;
    out->ref.name_id = apr_pstrdup(c->p, n->content);
    out->ref.name_id_format = apr_pstrdup(c->p, n->Format);
    out->ref.name_qualifier = apr_pstrdup(c->p, n->NameQualifier);
    out->ref.sp_name_qualifier = apr_pstrdup(c->p, n->SPNameQualifier);
    out->assertion_id = apr_pstrdup(c->p, a->ID);
}

static int check_assertion(check_ctx *c, LassoSaml2Assertion *a, int response_signed,
                           kmen_assertion *out)
{
    xmlNode *original = lasso_node_get_original_xmlnode(LASSO_NODE(a));
    if (!a->ID)
        return refuse(c, "assertion without ID");
    if (!response_signed && !has_signature_child(original))
        return refuse(c, "neither the Response nor the assertion is signed");
    tree_census inside = {0, 0, NULL, NULL};
    if (original)
        take_census(original->children, &inside);
    if (inside.violation)
        return refuse(c, inside.violation);
    if (inside.assertions || inside.encrypted)
        return refuse(c, "an assertion inside the assertion");
    if (!a->Issuer || !same(a->Issuer->content, c->sp->idp_entity_id))
        return refuse(c, "assertion Issuer is not the IdP");
    if (!check_conditions(c, a) || !check_subject(c, a) || !read_authn_statement(c, a, out))
        return 0;
    apr_time_t until = 0;
    kmen_parse_xs_datetime(a->Conditions->NotOnOrAfter, &until);
    out->not_on_or_after = until ? until : c->expect->now;
    read_subject(c, a, out);
    return read_attributes(c, a, out);
}

static const char *status_code(LassoSamlp2StatusResponse *resp)
{
    LassoSamlp2StatusCode *code = resp && resp->Status ? resp->Status->StatusCode : NULL;
    if (code && code->StatusCode && code->StatusCode->Value)
        return code->StatusCode->Value;
    return code && code->Value ? code->Value : "(no status)";
}

static kmen_response_status after_lasso(check_ctx *c, LassoLogin *login, int rc,
                                        const response_shape *shape, kmen_assertion *out)
{
    LassoProfile *profile = LASSO_PROFILE(login);
    LassoSamlp2StatusResponse *resp = LASSO_IS_SAMLP2_STATUS_RESPONSE(profile->response)
                                          ? LASSO_SAMLP2_STATUS_RESPONSE(profile->response)
                                          : NULL;
    int response_signed = shape->signed_response && profile->signature_status == 0;
    if (rc == LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS && response_signed && resp &&
        check_envelope(c, resp)) {
        c->reason = apr_pstrcat(c->p, "the IdP reports ", status_code(resp), NULL);
        return KMEN_RESPONSE_FAILED;
    }
    if (rc != 0 || !resp)
        refuse(c, apr_pstrcat(c->p, "lasso: ", lasso_strerror(rc), NULL));
    GList *assertions = resp ? LASSO_SAMLP2_RESPONSE(resp)->Assertion : NULL;
    if (!c->reason && (!assertions || assertions->next))
        refuse(c, "not exactly one assertion after decryption");
    if (c->reason || !check_envelope(c, resp) ||
        !check_assertion(c, LASSO_SAML2_ASSERTION(assertions->data), response_signed, out))
        return KMEN_RESPONSE_INVALID;
    return KMEN_RESPONSE_OK;
}

/* lasso accepted the Response; what it could not see is checked here. */
static kmen_response_status after_lasso_accepted(check_ctx *c, const response_shape *shape)
{
    if (shape->census.encrypted != 1)
        refuse(c, "the assertion was not encrypted");
    else if (kmen_encrypted_assertion_count(shape->census.encrypted_assertion,
                                            c->sp->decryption_key) != 1)
        refuse(c, "not exactly one assertion inside the EncryptedAssertion");
    return c->reason ? KMEN_RESPONSE_INVALID : KMEN_RESPONSE_OK;
}

static kmen_response_status run_lasso(check_ctx *c, const response_shape *shape, const char *b64,
                                      kmen_assertion *out)
{
    const char *err = NULL;
    LassoServer *server = kmen_sp_server_acquire(c->sp, &err);
    if (!server) {
        c->reason = err;
        return KMEN_RESPONSE_INVALID;
    }
    LassoLogin *login = lasso_login_new(server);
    int rc = lasso_login_process_authn_response_msg(login, (gchar *)b64);
    kmen_response_status status = after_lasso(c, login, rc, shape, out);
    lasso_login_destroy(login);
    kmen_sp_server_release(c->sp, server);
    return status == KMEN_RESPONSE_OK ? after_lasso_accepted(c, shape) : status;
}

kmen_response_status kmen_saml_verify_response(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                               const kmen_response_expect *expect,
                                               kmen_assertion *out, const char **reason)
{
    check_ctx c = {p, sp, expect, NULL};
    response_shape shape = {{0, 0, NULL, NULL}, 0};
    kmen_response_status status = KMEN_RESPONSE_INVALID;
    memset(out, 0, sizeof(*out));
    xmlDoc *doc = precheck(&c, b64, &shape);
    if (doc) {
        status = run_lasso(&c, &shape, b64, out);
        xmlFreeDoc(doc);
    }
    *reason = c.reason;
    return status;
}
