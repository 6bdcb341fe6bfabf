/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every check a Response must pass before anyone is logged in.
 *
 * lasso verifies signatures and decrypts, but checks neither time,
 * InResponseTo nor Audience (lasso 2.8.1 accepts a real NIA assertion that
 * expired in 2019); it also accepts whatever algorithms xmlsec
 * knows and more than one assertion. The checks it leaves out are here, in the
 * order an attacker would meet them, cheap ones first: the shape of the XML
 * (saml_shape.c) and the envelope, then lasso (the Response's signature),
 * then mod_kmen's one decryption, the assertion's shape, its signature and
 * its content. lasso never decrypts: the assertion it reads is the tree
 * mod_kmen decrypted and checked, not a second decryption of its own that
 * could pick another key or read the bytes in another encoding. */
#include <string.h>

#include "apr_strings.h"

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

/* The Response's envelope as read from mod_kmen's tree before any
 * private-key operation, and again as lasso read it. */
static int check_envelope(check_ctx *c, const char *destination, const char *issuer,
                          const char *in_response_to)
{
    if (!same(destination, c->sp->params.acs_url))
        return refuse(c, "Destination is not this SP's ACS URL");
    if (!same(issuer, c->sp->idp.entity_id))
        return refuse(c, "Response Issuer is not the IdP");
    if (!in_response_to)
        return refuse(c, "unsolicited Response (no InResponseTo)");
    if (!same(in_response_to, c->expect->request_id))
        return refuse(c, "InResponseTo names no request this browser started");
    return 1;
}

static int check_lasso_envelope(check_ctx *c, LassoSamlp2StatusResponse *resp)
{
    return check_envelope(c, resp->Destination, resp->Issuer ? resp->Issuer->content : NULL,
                          resp->InResponseTo);
}

static int check_tree_envelope(check_ctx *c, xmlNode *response)
{
    const char *issuer = kmen_xml_text(c->p, kmen_xml_child(response, KMEN_NS_SAML, "Issuer"));
    return check_envelope(c, kmen_xml_attribute(c->p, response, "Destination"), issuer,
                          kmen_xml_attribute(c->p, response, "InResponseTo"));
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

static int check_assertion(check_ctx *c, LassoSaml2Assertion *a, kmen_assertion *out)
{
    if (!a->ID)
        return refuse(c, "assertion without ID");
    if (!a->Issuer || !same(a->Issuer->content, c->sp->idp.entity_id))
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

/* The assertion's own signature, on lasso's copy of mod_kmen's tree (one
 * Reference, to the assertion): required where the Response is not signed,
 * and never wrong where it is there. */
static int check_assertion_signature(check_ctx *c, LassoServer *server, LassoSaml2Assertion *a,
                                     const xmlNode *tree, int response_signed)
{
    if (!kmen_xml_has_signature_child(tree))
        return response_signed ? 1 : refuse(c, "neither the Response nor the assertion is signed");
    LassoProvider *idp = lasso_server_get_provider(server, c->sp->idp.entity_id);
    int rc = idp ? lasso_provider_verify_single_node_signature(idp, LASSO_NODE(a), "ID") : -1;
    return rc == 0 ? 1 : refuse(c, "the assertion's signature does not verify");
}

/* mod_kmen's one decryption, its checked tree, and lasso's node built from
 * that very tree; NULL (and why) if any step fails. */
static LassoSaml2Assertion *decrypted_assertion(check_ctx *c, const kmen_response_shape *shape,
                                                xmlNode **tree, int *key_used)
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
        refuse(c, why);
        return NULL;
    }
    *tree = xmlDocGetRootElement(doc);
    LassoNode *node = lasso_node_new_from_xmlNode(*tree);
    if (LASSO_IS_SAML2_ASSERTION(node))
        return LASSO_SAML2_ASSERTION(node);
    if (node)
        lasso_node_destroy(node);
    refuse(c, "lasso reads no assertion in the decrypted EncryptedAssertion");
    return NULL;
}

static kmen_response_status check_decrypted(check_ctx *c, LassoServer *server,
                                            const kmen_response_shape *shape, int response_signed,
                                            kmen_assertion *out)
{
    xmlNode *tree = NULL;
    LassoSaml2Assertion *a = decrypted_assertion(c, shape, &tree, &out->decryption_key);
    int ok = a && check_assertion_signature(c, server, a, tree, response_signed) &&
             check_assertion(c, a, out);
    if (a)
        lasso_node_destroy(LASSO_NODE(a));
    return ok ? KMEN_RESPONSE_OK : KMEN_RESPONSE_INVALID;
}

/* lasso holds no decryption key: a Success with an EncryptedAssertion leaves
 * it with no assertion (LASSO_PROFILE_ERROR_MISSING_ASSERTION) after it has
 * verified the Response's signature. */
static kmen_response_status after_lasso(check_ctx *c, LassoLogin *login, int rc,
                                        const kmen_response_shape *shape, kmen_assertion *out)
{
    LassoProfile *profile = LASSO_PROFILE(login);
    LassoSamlp2StatusResponse *resp = LASSO_IS_SAMLP2_STATUS_RESPONSE(profile->response)
                                          ? LASSO_SAMLP2_STATUS_RESPONSE(profile->response)
                                          : NULL;
    int response_signed = shape->signed_response && profile->signature_status == 0;
    if (rc == LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS && response_signed && resp &&
        check_lasso_envelope(c, resp)) {
        c->reason = apr_pstrcat(c->p, "the IdP reports ", status_code(resp), NULL);
        return KMEN_RESPONSE_FAILED;
    }
    if (shape->signed_response && !response_signed)
        refuse(c, "the Response's signature does not verify");
    else if (rc != LASSO_PROFILE_ERROR_MISSING_ASSERTION || !resp)
        refuse(c, apr_pstrcat(c->p, "lasso: ", lasso_strerror(rc), NULL));
    else if (shape->encrypted != 1)
        refuse(c, "no EncryptedAssertion in a successful Response");
    if (c->reason || !check_lasso_envelope(c, resp))
        return KMEN_RESPONSE_INVALID;
    return check_decrypted(c, profile->server, shape, response_signed, out);
}

static kmen_response_status run_lasso(check_ctx *c, const kmen_response_shape *shape,
                                      const char *b64, kmen_assertion *out)
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
    return status;
}

const char *kmen_saml_response_in_response_to(apr_pool_t *p, const char *b64,
                                              const char **in_response_to)
{
    kmen_response_shape shape;
    const char *why = kmen_response_shape_check(p, b64, &shape);
    *in_response_to = why ? NULL : kmen_xml_attribute(p, shape.root, "InResponseTo");
    return why;
}

/* kmen_saml_verify_response with the read lock held: the IdP metadata cannot
 * change under it (saml_reload.c). */
static kmen_response_status verify_response_locked(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                                   const kmen_response_expect *expect,
                                                   kmen_assertion *out, const char **reason)
{
    check_ctx c = {p, sp, expect, NULL};
    kmen_response_shape shape;
    kmen_response_status status = KMEN_RESPONSE_INVALID;
    memset(out, 0, sizeof(*out));
    c.reason = kmen_response_shape_check(p, b64, &shape);
    if (!c.reason && check_tree_envelope(&c, shape.root))
        status = run_lasso(&c, &shape, b64, out);
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
