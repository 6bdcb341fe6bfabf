/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every check a Response must pass before anyone is logged in.
 *
 * In the order an attacker would meet them, cheap ones first: the shape of
 * the XML (saml_shape.c) and the envelope, the Response's signature
 * (saml_signature.c, by xmlsec with the IdP's keys loaded once), its status,
 * then mod_kmen's one decryption, the assertion's shape, its signature and
 * its content. lasso no longer processes the Response: it only reads the
 * checked and verified assertion into its classes, holding no key, and never
 * decrypts. lasso's own pipeline checked neither time, InResponseTo nor
 * Audience (lasso 2.8.1 accepts a real NIA assertion that expired in 2019),
 * accepted whatever algorithms xmlsec knows and more than one assertion;
 * its verdict on every hostile case and NIA's captured Responses is
 * compared with this one's by t/unit/saml_differential. */
#include <string.h>

#include "apr_strings.h"

#include "saml_private.h"

int kmen_check_refuse(kmen_response_check *c, const char *reason)
{
    if (!c->reason)
        c->reason = reason;
    return 0;
}

static int check_time_window(kmen_response_check *c, const char *not_before,
                             const char *not_on_or_after, const char *what)
{
    apr_time_t t, now = c->expect->now, skew = c->expect->skew;
    if (not_before && (!kmen_parse_xs_datetime(not_before, &t) || now + skew < t))
        return kmen_check_refuse(c, apr_pstrcat(c->p, what, " not yet valid (NotBefore)", NULL));
    if (not_on_or_after && (!kmen_parse_xs_datetime(not_on_or_after, &t) || now - skew >= t))
        return kmen_check_refuse(c, apr_pstrcat(c->p, what, " expired (NotOnOrAfter)", NULL));
    return 1;
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int kmen_check_envelope(kmen_response_check *c, const char *destination, const char *issuer,
                        const char *in_response_to)
{
    if (!same(destination, c->sp->params.acs_url))
        return kmen_check_refuse(c, "Destination is not this SP's ACS URL");
    if (!same(issuer, c->sp->idp.entity_id))
        return kmen_check_refuse(c, "Response Issuer is not the IdP");
    if (!in_response_to)
        return kmen_check_refuse(c, "unsolicited Response (no InResponseTo)");
    if (!same(in_response_to, c->expect->request_id))
        return kmen_check_refuse(c, "InResponseTo names no request this browser started");
    return 1;
}

int kmen_check_tree_envelope(kmen_response_check *c, xmlNode *response)
{
    const char *issuer = kmen_xml_text(c->p, kmen_xml_child(response, KMEN_NS_SAML, "Issuer"));
    return kmen_check_envelope(c, kmen_xml_attribute(c->p, response, "Destination"), issuer,
                               kmen_xml_attribute(c->p, response, "InResponseTo"));
}

static int check_audience(kmen_response_check *c, LassoSaml2Conditions *cond)
{
    for (GList *l = cond->AudienceRestriction; l; l = l->next) {
        LassoSaml2AudienceRestriction *ar = l->data;
        if (!same(ar->Audience, c->sp->params.entity_id))
            return kmen_check_refuse(c, "Audience is not this SP");
    }
    return cond->AudienceRestriction ? 1 : kmen_check_refuse(c, "no AudienceRestriction");
}

static int check_conditions(kmen_response_check *c, LassoSaml2Assertion *a)
{
    LassoSaml2Conditions *cond = a->Conditions;
    if (!cond)
        return kmen_check_refuse(c, "assertion without Conditions");
    return check_time_window(c, cond->NotBefore, cond->NotOnOrAfter, "assertion") &&
           check_audience(c, cond);
}

static int check_subject(kmen_response_check *c, LassoSaml2Assertion *a)
{
    LassoSaml2Subject *subject = a->Subject;
    LassoSaml2SubjectConfirmation *sc = subject ? subject->SubjectConfirmation : NULL;
    LassoSaml2SubjectConfirmationData *scd = sc ? sc->SubjectConfirmationData : NULL;
    if (!subject || !subject->NameID || !subject->NameID->content)
        return kmen_check_refuse(c, "assertion without NameID");
    if (!scd || !same(sc->Method, "urn:oasis:names:tc:SAML:2.0:cm:bearer"))
        return kmen_check_refuse(c, "no bearer SubjectConfirmationData");
    if (!same(scd->Recipient, c->sp->params.acs_url))
        return kmen_check_refuse(c, "SubjectConfirmationData Recipient is not this SP's ACS URL");
    if (!same(scd->InResponseTo, c->expect->request_id))
        return kmen_check_refuse(c, "SubjectConfirmationData InResponseTo does not match");
    if (!scd->NotOnOrAfter)
        return kmen_check_refuse(c, "SubjectConfirmationData without NotOnOrAfter");
    return check_time_window(c, scd->NotBefore, scd->NotOnOrAfter, "subject confirmation");
}

static int read_authn_statement(kmen_response_check *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    LassoSaml2AuthnStatement *st = a->AuthnStatement ? a->AuthnStatement->data : NULL;
    if (!st || a->AuthnStatement->next)
        return kmen_check_refuse(c, "not exactly one AuthnStatement");
    out->loa = st->AuthnContext ? kmen_loa_from_uri(st->AuthnContext->AuthnContextClassRef)
                                : KMEN_LOA_NONE;
    if (out->loa == KMEN_LOA_NONE)
        return kmen_check_refuse(c, "AuthnContextClassRef is no eIDAS level of assurance");
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

static int read_attributes(kmen_response_check *c, LassoSaml2Assertion *a, kmen_assertion *out)
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
    return markup ? kmen_check_refuse(c, "an attribute value holds markup (CDATA or elements)") : 1;
}

static void read_subject(kmen_response_check *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    LassoSaml2NameID *n = a->Subject->NameID;
    out->ref.name_id = apr_pstrdup(c->p, n->content);
    out->ref.name_id_format = apr_pstrdup(c->p, n->Format);
    out->ref.name_qualifier = apr_pstrdup(c->p, n->NameQualifier);
    out->ref.sp_name_qualifier = apr_pstrdup(c->p, n->SPNameQualifier);
    out->assertion_id = apr_pstrdup(c->p, a->ID);
}

static int check_assertion(kmen_response_check *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    if (!a->ID)
        return kmen_check_refuse(c, "assertion without ID");
    if (!a->Issuer || !same(a->Issuer->content, c->sp->idp.entity_id))
        return kmen_check_refuse(c, "assertion Issuer is not the IdP");
    if (!check_conditions(c, a) || !check_subject(c, a) || !read_authn_statement(c, a, out))
        return 0;
    apr_time_t until = 0;
    kmen_parse_xs_datetime(a->Conditions->NotOnOrAfter, &until);
    out->not_on_or_after = until ? until : c->expect->now;
    read_subject(c, a, out);
    return read_attributes(c, a, out);
}

/* The assertion's own signature: required where the Response is not
 * signed, and never wrong where it is there. VERIFIES checks it on TREE,
 * mod_kmen's decrypted and checked assertion, or on A, lasso's node of it. */
static int check_assertion_signature(kmen_response_check *c, kmen_assertion_verifier verifies,
                                     LassoSaml2Assertion *a, xmlNode *tree, int response_signed)
{
    if (!kmen_xml_has_signature_child(tree))
        return response_signed
                   ? 1
                   : kmen_check_refuse(c, "neither the Response nor the assertion is signed");
    return verifies(c, a, tree) ? 1
                                : kmen_check_refuse(c, "the assertion's signature does not verify");
}

/* mod_kmen's one decryption, its checked tree, and lasso's node built from
 * that very tree; NULL (and why) if any step fails. */
static LassoSaml2Assertion *decrypted_assertion(kmen_response_check *c,
                                                const kmen_response_shape *shape, xmlNode **tree,
                                                int *key_used)
{
    apr_size_t len = 0;
    xmlDoc *doc = NULL;
    const char *plain = NULL;
    const char *why =
        kmen_encrypted_assertion_decrypt(c->p, shape->encrypted_assertion, c->sp->decryption_keys,
                                         c->sp->params.key_count, &plain, &len, key_used);
    if (!why)
        why = kmen_assertion_xml_read(c->p, plain, len, &doc);
    if (why) {
        kmen_check_refuse(c, why);
        return NULL;
    }
    *tree = xmlDocGetRootElement(doc);
    LassoNode *node = lasso_node_new_from_xmlNode(*tree);
    if (LASSO_IS_SAML2_ASSERTION(node))
        return LASSO_SAML2_ASSERTION(node);
    if (node)
        lasso_node_destroy(node);
    kmen_check_refuse(c, "lasso reads no assertion in the decrypted EncryptedAssertion");
    return NULL;
}

kmen_response_status kmen_check_decrypted(kmen_response_check *c, const kmen_response_shape *shape,
                                          int response_signed, kmen_assertion_verifier verifies,
                                          kmen_assertion *out)
{
    xmlNode *tree = NULL;
    LassoSaml2Assertion *a = decrypted_assertion(c, shape, &tree, &out->decryption_key);
    int ok = a && check_assertion_signature(c, verifies, a, tree, response_signed) &&
             check_assertion(c, a, out);
    if (a)
        lasso_node_destroy(LASSO_NODE(a));
    return ok ? KMEN_RESPONSE_OK : KMEN_RESPONSE_INVALID;
}

static int signed_by_idp(kmen_response_check *c, LassoSaml2Assertion *a, xmlNode *tree)
{
    (void)a;
    return kmen_signed_by_any(c->p, tree, c->sp->idp.xml_signing_keys);
}

#define KMEN_STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"

/* The top-level StatusCode's Value of RESPONSE, or NULL; *DETAIL: the
 * second-level one where there is one, for the log. */
static const char *status_code(kmen_response_check *c, xmlNode *response, const char **detail)
{
    xmlNode *top = kmen_xml_child(kmen_xml_child(response, KMEN_NS_SAMLP, "Status"), KMEN_NS_SAMLP,
                                  "StatusCode");
    const char *value = kmen_xml_attribute(c->p, top, "Value");
    *detail = kmen_xml_attribute(c->p, kmen_xml_child(top, KMEN_NS_SAMLP, "StatusCode"), "Value");
    if (!*detail)
        *detail = value;
    return value;
}

/* After the envelope: the Response's signature where it has one, its
 * status, then the assertion. An unsigned failure answer is anyone's: it is
 * refused as such, not shown as the IdP's. */
static kmen_response_status
check_signed_response(kmen_response_check *c, const kmen_response_shape *shape, kmen_assertion *out)
{
    const char *detail = NULL;
    if (shape->signed_response &&
        !kmen_signed_by_any(c->p, shape->root, c->sp->idp.xml_signing_keys))
        kmen_check_refuse(c, "the Response's signature does not verify");
    const char *code = c->reason ? NULL : status_code(c, shape->root, &detail);
    if (!c->reason && !code)
        kmen_check_refuse(c, "the Response has no StatusCode");
    if (c->reason)
        return KMEN_RESPONSE_INVALID;
    if (strcmp(code, KMEN_STATUS_SUCCESS) != 0) {
        c->reason = apr_pstrcat(c->p, "the IdP reports ", detail,
                                shape->signed_response ? NULL : " (in an unsigned Response)", NULL);
        return shape->signed_response ? KMEN_RESPONSE_FAILED : KMEN_RESPONSE_INVALID;
    }
    if (shape->encrypted != 1) {
        kmen_check_refuse(c, "no EncryptedAssertion in a successful Response");
        return KMEN_RESPONSE_INVALID;
    }
    return kmen_check_decrypted(c, shape, shape->signed_response, signed_by_idp, out);
}

/* The Response parsed and shape-checked once per request: the ACS reads its
 * InResponseTo to find the login's state, then verifies it. */
typedef struct {
    const char *b64;
    const char *why;
    kmen_response_shape shape;
} parsed_response;

#define PARSED_RESPONSE_KEY "kmen_saml_parsed_response"

const char *kmen_response_parsed(apr_pool_t *p, const char *b64, const kmen_response_shape **shape)
{
    void *data = NULL;
    apr_pool_userdata_get(&data, PARSED_RESPONSE_KEY, p);
    parsed_response *r = data;
    if (!r || r->b64 != b64) {
        r = apr_palloc(p, sizeof(*r));
        r->b64 = b64;
        r->why = kmen_response_shape_check(p, b64, &r->shape);
        apr_pool_userdata_setn(r, PARSED_RESPONSE_KEY, NULL, p);
    }
    *shape = &r->shape;
    return r->why;
}

const char *kmen_saml_response_in_response_to(apr_pool_t *p, const char *b64,
                                              const char **in_response_to)
{
    const kmen_response_shape *shape = NULL;
    const char *why = kmen_response_parsed(p, b64, &shape);
    *in_response_to = why ? NULL : kmen_xml_attribute(p, shape->root, "InResponseTo");
    return why;
}

/* kmen_saml_verify_response with the read lock held: the IdP metadata cannot
 * change under it (saml_reload.c). */
static kmen_response_status verify_response_locked(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                                   const kmen_response_expect *expect,
                                                   kmen_assertion *out, const char **reason)
{
    kmen_response_check c = {p, sp, expect, NULL};
    const kmen_response_shape *shape = NULL;
    kmen_response_status status = KMEN_RESPONSE_INVALID;
    memset(out, 0, sizeof(*out));
    c.reason = kmen_response_parsed(p, b64, &shape);
    if (!c.reason && kmen_check_tree_envelope(&c, shape->root))
        status = check_signed_response(&c, shape, out);
    *reason = c.reason;
    return status;
}

kmen_response_status kmen_saml_verify_response(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                               const kmen_response_expect *expect,
                                               kmen_assertion *out, const char **reason)
{
    kmen_sp_use_begin(sp);
    kmen_response_status status = verify_response_locked(sp, p, b64, expect, out, reason);
    kmen_sp_use_end(sp);
    return status;
}
