/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lasso's Response pipeline, as the module ran it before it verified
 * signatures with xmlsec itself (saml_signature.c): kept for the tests only,
 * so that t/unit/saml_differential and saml_test can hold every hostile case
 * and NIA's captured Responses to both and fail on any disagreement.
 *
 * The same shape and envelope checks in front, then
 * lasso_login_process_authn_response_msg (lasso holds no decryption key: it
 * verifies the Response's signature and stops at the EncryptedAssertion),
 * then mod_kmen's one decryption and content checks, with the assertion's
 * signature verified by lasso_provider_verify_single_node_signature. */
#include <string.h>

#include "apr_strings.h"

#include "lasso_reference.h"

static int check_lasso_envelope(kmen_response_check *c, LassoSamlp2StatusResponse *resp)
{
    return kmen_check_envelope(c, resp->Destination, resp->Issuer ? resp->Issuer->content : NULL,
                               resp->InResponseTo);
}

static const char *status_code(LassoSamlp2StatusResponse *resp)
{
    LassoSamlp2StatusCode *code = resp && resp->Status ? resp->Status->StatusCode : NULL;
    if (code && code->StatusCode && code->StatusCode->Value)
        return code->StatusCode->Value;
    return code && code->Value ? code->Value : "(no status)";
}

/* The assertion's signature on lasso's node, with the IdP's keys as lasso
 * holds them. */
static int verified_by_lasso(kmen_response_check *c, LassoSaml2Assertion *a, xmlNode *tree)
{
    (void)tree;
    const char *err = NULL;
    LassoServer *server = kmen_sp_server_acquire(c->sp, &err);
    LassoProvider *idp = server ? lasso_server_get_provider(server, c->sp->idp.entity_id) : NULL;
    int rc = idp ? lasso_provider_verify_single_node_signature(idp, LASSO_NODE(a), "ID") : -1;
    if (server)
        kmen_sp_server_release(c->sp, server);
    return rc == 0;
}

/* lasso holds no decryption key: a Success with an EncryptedAssertion leaves
 * it with no assertion (LASSO_PROFILE_ERROR_MISSING_ASSERTION) after it has
 * verified the Response's signature. */
static kmen_response_status after_lasso(kmen_response_check *c, LassoLogin *login, int rc,
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
        kmen_check_refuse(c, "the Response's signature does not verify");
    else if (rc != LASSO_PROFILE_ERROR_MISSING_ASSERTION || !resp)
        kmen_check_refuse(c, apr_pstrcat(c->p, "lasso: ", lasso_strerror(rc), NULL));
    else if (shape->encrypted != 1)
        kmen_check_refuse(c, "no EncryptedAssertion in a successful Response");
    if (c->reason || !check_lasso_envelope(c, resp))
        return KMEN_RESPONSE_INVALID;
    return kmen_check_decrypted(c, shape, response_signed, verified_by_lasso, out);
}

static kmen_response_status run_lasso(kmen_response_check *c, const kmen_response_shape *shape,
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

kmen_response_status kmen_lasso_verify_response(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                                const kmen_response_expect *expect,
                                                kmen_assertion *out, const char **reason)
{
    kmen_response_check c = {p, sp, expect, NULL};
    kmen_response_shape shape;
    kmen_response_status status = KMEN_RESPONSE_INVALID;
    memset(out, 0, sizeof(*out));
    c.reason = kmen_response_shape_check(p, b64, &shape);
    if (!c.reason && kmen_check_tree_envelope(&c, shape.root))
        status = run_lasso(&c, &shape, b64, out);
    *reason = c.reason;
    return status;
}
