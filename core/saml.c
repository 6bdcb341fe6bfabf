/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAML service provider: lasso servers, AuthnRequest and single logout. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "apr_date.h"
#include "apr_strings.h"

#include "conf.h"
#include "crypto.h"
#include "saml_private.h"

static void (*log_sink)(const char *domain, int level, const char *msg);

/* lasso reports some malformed input at GLib's ERROR level: a LogoutRequest
 * without NameID, an ECP or PAOS header, or any element it is made to read
 * as one (an attribute value, an xsi:type), also inside an encrypted
 * assertion anyone can make with the SP's public certificate. GLib makes
 * every ERROR fatal whatever handler is installed: right after the handler
 * it executes a breakpoint trap, and the SIGTRAP ends the httpd child with
 * every request it serves. lasso itself goes on after such a message (it
 * returns an error code, and the message is refused), so mod_kmen lets it:
 * the handler marks its thread, and the SIGTRAP that follows at once on that
 * thread is swallowed. Any other SIGTRAP still ends the process. */
static __thread volatile sig_atomic_t lasso_error_logged;

static void survive_lasso_error(int sig)
{
    if (lasso_error_logged) {
        lasso_error_logged = 0;
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* lasso (through GLib) would write to stderr; every NIA attribute triggers a
 * warning about OriginalIssuer, so lasso's warnings go to the error log at
 * debug level, its own debug trace at trace1, and only critical messages
 * above. */
static void glib_to_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u)
{
    (void)u;
    if ((level & G_LOG_LEVEL_ERROR) && !(level & G_LOG_FLAG_RECURSION))
        lasso_error_logged = 1;
    if (!log_sink)
        return;
    int sink_level = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? KMEN_SAML_LOG_ERROR
                     : (level & G_LOG_LEVEL_DEBUG)                        ? KMEN_SAML_LOG_TRACE
                                                                          : KMEN_SAML_LOG_DEBUG;
    log_sink(domain ? domain : "glib", sink_level, msg);
}

void kmen_saml_library_init(void (*log)(const char *domain, int level, const char *msg))
{
    struct sigaction trap = {.sa_handler = survive_lasso_error};
    sigemptyset(&trap.sa_mask);
    sigaction(SIGTRAP, &trap, NULL);
    log_sink = log;
    g_log_set_handler("Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      glib_to_log, NULL);
    lasso_init();
}

/* A LassoServer for the IdP metadata IDP_METADATA without the SP's private
 * key: mod_kmen signs its messages itself (saml_sign.c) and decrypts the
 * assertion itself (saml_decrypt.c), so lasso can never decrypt a second
 * time and read something else. *culprit: the input lasso refused. */
static LassoServer *server_build(const kmen_sp *sp, const char *idp_metadata, const char **err,
                                 kmen_sp_input *culprit)
{
    LassoServer *server =
        lasso_server_new_from_buffers(sp->metadata, NULL, NULL, sp->params.keys[0].cert_pem);
    if (!server) {
        *culprit = KMEN_SP_CERT_OF(0);
        *err = "lasso refuses it, or the SP metadata made of it";
        return NULL;
    }
    server->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
    int rc = lasso_server_add_provider_from_buffer(server, LASSO_PROVIDER_ROLE_IDP, idp_metadata,
                                                   NULL, NULL);
    if (rc != 0) {
        *culprit = KMEN_SP_IDP_METADATA;
        *err = lasso_strerror(rc);
        lasso_server_destroy(server);
        return NULL;
    }
    return server;
}

static apr_status_t server_construct(void **resource, void *params, apr_pool_t *p)
{
    const char *err = NULL;
    kmen_sp_input culprit;
    const kmen_sp *sp = params;
    (void)p;
    *resource = server_build(sp, sp->params.idp_metadata, &err, &culprit);
    return *resource ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t server_destruct(void *resource, void *params, apr_pool_t *p)
{
    (void)params;
    (void)p;
    lasso_server_destroy(resource);
    return APR_SUCCESS;
}

kmen_conf_field kmen_sp_pair_field(const kmen_sp_key_pair *pair, int cert)
{
    if (pair->use == KMEN_KEY_DECRYPTS)
        return cert ? KMEN_FIELD_sp_enc_cert_file : KMEN_FIELD_sp_enc_key_file;
    return cert ? KMEN_FIELD_sp_cert_file : KMEN_FIELD_sp_key_file;
}

int kmen_sp_pair_is_second(const kmen_sp_key_pair *keys, int i)
{
    return i > 0 && (keys[i - 1].use == KMEN_KEY_DECRYPTS) == (keys[i].use == KMEN_KEY_DECRYPTS);
}

const kmen_sp_key_pair *kmen_sp_pairs(const kmen_sp *sp)
{
    return sp->params.keys;
}

/* lasso would sign with one key and publish another certificate without a
 * word; NIA would then refuse every request, or encrypt to a certificate
 * whose key mod_kmen does not hold. */
static const char *check_key_pair(apr_pool_t *p, EVP_PKEY *key, const kmen_sp_params *params, int i,
                                  kmen_sp_input *culprit)
{
    BIO *cert_bio = BIO_new_mem_buf(params->keys[i].cert_pem, -1);
    X509 *cert = PEM_read_bio_X509(cert_bio, NULL, NULL, NULL);
    *culprit = cert ? KMEN_SP_KEY_OF(i) : KMEN_SP_CERT_OF(i);
    const char *err =
        !cert ? "is not a PEM certificate"
        : X509_check_private_key(cert, key) != 1
            ? apr_pstrcat(p, "does not belong to ",
                          kmen_sp_pair_is_second(params->keys, i) ? "the second " : "",
                          kmen_conf_field_ref(p, kmen_sp_pair_field(&params->keys[i], 1)), NULL)
            : NULL;
    X509_free(cert);
    BIO_free(cert_bio);
    ERR_clear_error();
    return err;
}

/* Key pair I, checked against its certificate: its key loaded for
 * decryption unless it only signs, and the first pair's for signing. */
static const char *load_key_pair(apr_pool_t *p, kmen_sp *sp, int i, kmen_sp_input *culprit)
{
    const kmen_sp_key_pair *pair = &sp->params.keys[i];
    kmen_sp_decryption_key *k = &sp->decryption_keys[i];
    EVP_PKEY *key = NULL;
    *culprit = KMEN_SP_KEY_OF(i);
    const char *err = kmen_sp_signing_key_load(p, pair->key_pem, pair->key_file, &key);
    if (!err && pair->use != KMEN_KEY_SIGNS)
        err = kmen_sp_decryption_key_load(p, pair->key_pem, pair->key_file, &k->key);
    if (err || (err = check_key_pair(p, key, &sp->params, i, culprit)))
        return err;
    if (i == 0)
        sp->signing_key = key;
    k->key_file = pair->key_file;
    k->spelling = sp->params.spelling;
    k->cert_directive = kmen_conf_field_name(kmen_sp_pair_field(pair, 1), k->spelling);
    *culprit = KMEN_SP_CERT_OF(i);
    return kmen_sp_certificate_name(p, pair->cert_pem, k);
}

/* The SP's key pairs, and the metadata that publishes their certificates. */
static const char *load_key_pairs(apr_pool_t *p, kmen_sp *sp, kmen_sp_input *culprit)
{
    const char *err = NULL;
    for (int i = 0; i < sp->params.key_count && !err; i++)
        err = load_key_pair(p, sp, i, culprit);
    if (err)
        return err;
    *culprit = KMEN_SP_CERT_OF(0);
    sp->metadata = kmen_sp_metadata_build(p, &sp->params);
    return sp->metadata ? NULL : "is not a PEM certificate";
}

static const char *check_idp_validity(apr_pool_t *p, const kmen_idp_facts *idp)
{
    char date[APR_RFC822_DATE_LEN];
    if (!idp->valid_until || idp->valid_until > apr_time_now())
        return NULL;
    apr_rfc822_date(date, idp->valid_until);
    return apr_pstrcat(p, "expired (validUntil ", date,
                       "): download NIA's current federation metadata", NULL);
}

/* The pinned signature is checked first: a forged file is refused as
 * forged, whatever else it holds. */
const char *kmen_idp_load(apr_pool_t *p, const kmen_sp *sp, const char *xml, kmen_idp_facts *out,
                          kmen_sp_input *culprit)
{
    const char *pinned = sp->params.idp_metadata_cert_pem;
    *culprit = KMEN_SP_IDP_METADATA;
    const char *err = pinned ? kmen_idp_metadata_verify(p, xml, pinned, sp->params.spelling) : NULL;
    if (err || (err = kmen_idp_metadata_read(p, xml, out)) || (err = check_idp_validity(p, out)))
        return err;
    LassoServer *probe = server_build(sp, xml, &err, culprit);
    if (!probe)
        return *culprit == KMEN_SP_IDP_METADATA ? apr_pstrcat(p, "lasso refuses it: ", err, NULL)
                                                : err;
    int ok = lasso_server_get_provider(probe, out->entity_id) != NULL;
    lasso_server_destroy(probe);
    return ok ? NULL : "lasso finds no IdP role in it";
}

const char *kmen_sp_idp_check(const kmen_sp *sp, apr_pool_t *p, const char *xml)
{
    kmen_idp_facts facts;
    kmen_sp_input culprit;
    return kmen_idp_load(p, sp, xml, &facts, &culprit);
}

const char *kmen_sp_create(apr_pool_t *p, const kmen_sp_params *params, kmen_sp **out,
                           kmen_sp_input *culprit)
{
    kmen_sp *sp = apr_pcalloc(p, sizeof(*sp));
    sp->params = *params;
    const char *err = load_key_pairs(p, sp, culprit);
    if (err || (err = kmen_idp_load(p, sp, params->idp_metadata, &sp->idp, culprit)))
        return err;
    kmen_idp_file_stat(params->idp_metadata_file, &sp->idp_file);
    *out = sp;
    return NULL;
}

const char *kmen_sp_servers_create(kmen_sp *sp, apr_pool_t *pool)
{
    apr_status_t rv = apr_reslist_create(&sp->servers, 0, sp->max_servers, sp->max_servers, 0,
                                         server_construct, server_destruct, sp, pool);
    return rv == APR_SUCCESS ? NULL : "cannot create the pool of lasso servers";
}

LassoServer *kmen_sp_server_acquire(kmen_sp *sp, const char **err)
{
    void *server = NULL;
    if (apr_reslist_acquire(sp->servers, &server) != APR_SUCCESS || !server) {
        *err = "no lasso server available";
        return NULL;
    }
    return server;
}

void kmen_sp_server_release(kmen_sp *sp, LassoServer *server)
{
    apr_reslist_release(sp->servers, server);
}

int kmen_sp_child_ready(const kmen_sp *sp)
{
    return sp->servers != NULL;
}

const char *kmen_sp_metadata(const kmen_sp *sp)
{
    return sp->metadata;
}

void kmen_sp_idp_dates(kmen_sp *sp, apr_time_t *valid_until, apr_time_t *signing_expires)
{
    kmen_sp_use_begin(sp);
    *valid_until = sp->idp.valid_until;
    *signing_expires = sp->idp.signing_expires;
    kmen_sp_use_end(sp);
}

static void set_nameid_policy(LassoSamlp2AuthnRequest *req, int policy)
{
    if (policy == KMEN_NAMEID_NONE) {
        g_clear_object(&req->NameIDPolicy);
        return;
    }
    if (!req->NameIDPolicy)
        req->NameIDPolicy = LASSO_SAMLP2_NAME_ID_POLICY(lasso_samlp2_name_id_policy_new());
    g_free(req->NameIDPolicy->Format);
    req->NameIDPolicy->Format =
        g_strdup(policy == KMEN_NAMEID_TRANSIENT ? LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT
                                                 : LASSO_SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT);
    req->NameIDPolicy->AllowCreate = TRUE;
}

static LassoSamlp2RequestedAuthnContext *requested_loa(kmen_loa loa)
{
    LassoSamlp2RequestedAuthnContext *rac =
        LASSO_SAMLP2_REQUESTED_AUTHN_CONTEXT(lasso_samlp2_requested_authn_context_new());
    rac->AuthnContextClassRef = g_list_append(NULL, g_strdup(kmen_loa_uri(loa)));
    rac->Comparison = g_strdup("minimum");
    return rac;
}

/* A top-level extension element declaring the eIDAS namespace itself, so it
 * stays valid when lasso copies it into the request. */
static xmlNode *eidas_node(const char *name)
{
    xmlNode *node = xmlNewNode(NULL, (const xmlChar *)name);
    xmlSetNs(node, xmlNewNs(node, (const xmlChar *)KMEN_NS_EIDAS, (const xmlChar *)"eidas"));
    return node;
}

/* eidas:SPType and eidas:RequestedAttributes, as NIA's eIDAS profile asks. */
static LassoSamlp2Extensions *eidas_extensions(const kmen_authn_params *params)
{
    xmlNode *sp_type = eidas_node("SPType");
    xmlNodeSetContent(sp_type, (const xmlChar *)params->sp_type);
    xmlNode *list = eidas_node("RequestedAttributes");
    for (int i = 0; i < params->requested->nelts; i++) {
        const kmen_requested_attr *a = &APR_ARRAY_IDX(params->requested, i, kmen_requested_attr);
        xmlNode *ra = xmlNewChild(list, list->ns, (const xmlChar *)"RequestedAttribute", NULL);
        xmlNewProp(ra, (const xmlChar *)"Name", (const xmlChar *)a->name);
        xmlNewProp(ra, (const xmlChar *)"NameFormat", (const xmlChar *)KMEN_NAMEFORMAT_URI);
        xmlNewProp(ra, (const xmlChar *)"isRequired",
                   (const xmlChar *)(a->required ? "true" : "false"));
        if (a->value) /* escaped: the directive's text is not markup */
            xmlNewTextChild(ra, list->ns, (const xmlChar *)"AttributeValue",
                            (const xmlChar *)a->value);
    }
    LassoSamlp2Extensions *ext = LASSO_SAMLP2_EXTENSIONS(lasso_samlp2_extensions_new());
    GList *any = g_list_append(g_list_append(NULL, sp_type), list);
    lasso_samlp2_extensions_set_any(ext, any); /* lasso keeps copies */
    g_list_free(any);
    xmlFreeNode(sp_type);
    xmlFreeNode(list);
    return ext;
}

/* A request's ID is what InResponseTo must name, and what finds the
 * outstanding login or logout of a browser again: 256 bits from OpenSSL's
 * CSPRNG, not lasso's from GLib's Mersenne Twister, whose output can be
 * predicted from enough of it. */
static const char *use_random_id(apr_pool_t *p, LassoNode *request)
{
    const char *random = kmen_random_token(p, 32);
    if (!random)
        return "no random bytes for the request ID";
    LassoSamlp2RequestAbstract *abstract = LASSO_SAMLP2_REQUEST_ABSTRACT(request);
    g_free(abstract->ID);
    abstract->ID = g_strconcat("_", random, NULL); /* an NCName starts with a letter or _ */
    return NULL;
}

static const char *request_id_of(apr_pool_t *p, LassoProfile *profile)
{
    return apr_pstrdup(p, LASSO_SAMLP2_REQUEST_ABSTRACT(profile->request)->ID);
}

static const char *build_authn_request(apr_pool_t *p, LassoLogin *login, kmen_sp *sp,
                                       const kmen_authn_params *params)
{
    /* Before init: lasso loads its signing key there, not only when it signs. */
    lasso_profile_set_signature_hint(LASSO_PROFILE(login), LASSO_PROFILE_SIGNATURE_HINT_FORBID);
    int rc = lasso_login_init_authn_request(login, (gchar *)sp->idp.entity_id,
                                            LASSO_HTTP_METHOD_REDIRECT);
    if (rc != 0)
        return lasso_strerror(rc);
    LassoSamlp2AuthnRequest *req = LASSO_SAMLP2_AUTHN_REQUEST(LASSO_PROFILE(login)->request);
    set_nameid_policy(req, sp->params.nameid_policy);
    g_free(req->AssertionConsumerServiceURL);
    req->AssertionConsumerServiceURL = g_strdup(sp->params.acs_url);
    g_free(req->ProtocolBinding);
    req->ProtocolBinding = g_strdup(LASSO_SAML2_METADATA_BINDING_POST);
    req->RequestedAuthnContext = requested_loa(params->min_loa);
    req->ForceAuthn = params->force_authn ? TRUE : FALSE;
    LASSO_SAMLP2_REQUEST_ABSTRACT(req)->Extensions = eidas_extensions(params);
    const char *err = use_random_id(p, LASSO_NODE(req));
    if (err)
        return err;
    rc = lasso_login_build_authn_request_msg(login);
    return rc == 0 ? NULL : lasso_strerror(rc);
}

/* URL, a message lasso built unsigned (it was told not to sign), signed by
 * mod_kmen; NULL if there is none. */
static const char *signed_url(apr_pool_t *p, kmen_sp *sp, const char *url)
{
    return url ? kmen_redirect_sign(p, sp->signing_key, url) : NULL;
}

/* kmen_saml_authn_request with the read lock held: the IdP metadata cannot
 * change under it (saml_reload.c). The lasso server goes back to the pool
 * before the RSA signature: it is held for lasso's part alone. */
static const char *authn_request_locked(kmen_sp *sp, apr_pool_t *p, const kmen_authn_params *params,
                                        const char **url, const char **request_id)
{
    const char *err = NULL, *unsigned_url = NULL;
    LassoServer *server = kmen_sp_server_acquire(sp, &err);
    if (!server)
        return err;
    LassoLogin *login = lasso_login_new(server);
    err = build_authn_request(p, login, sp, params);
    if (!err) {
        unsigned_url = apr_pstrdup(p, LASSO_PROFILE(login)->msg_url); /* NULL stays NULL */
        *request_id = request_id_of(p, LASSO_PROFILE(login));
    }
    lasso_login_destroy(login);
    kmen_sp_server_release(sp, server);
    if (!err && !(*url = signed_url(p, sp, unsigned_url)))
        err = "cannot sign the AuthnRequest";
    return err;
}

const char *kmen_saml_authn_request(kmen_sp *sp, apr_pool_t *p, const kmen_authn_params *params,
                                    const char **url, const char **request_id)
{
    kmen_sp_use_begin(sp);
    const char *err = authn_request_locked(sp, p, params, url, request_id);
    kmen_sp_use_end(sp);
    return err;
}

LassoSession *kmen_lasso_session_for(const char *idp_entity_id, const kmen_login_ref *ref)
{
    LassoSaml2Assertion *a = LASSO_SAML2_ASSERTION(lasso_saml2_assertion_new());
    LassoSaml2NameID *name_id =
        LASSO_SAML2_NAME_ID(lasso_saml2_name_id_new_with_string((char *)ref->name_id));
    name_id->Format = g_strdup(ref->name_id_format);
    name_id->NameQualifier = g_strdup(ref->name_qualifier);
    name_id->SPNameQualifier = g_strdup(ref->sp_name_qualifier);
    a->Subject = LASSO_SAML2_SUBJECT(lasso_saml2_subject_new());
    a->Subject->NameID = name_id;
    LassoSaml2AuthnStatement *st = LASSO_SAML2_AUTHN_STATEMENT(lasso_saml2_authn_statement_new());
    st->SessionIndex = g_strdup(ref->session_index);
    a->AuthnStatement = g_list_append(NULL, st);
    LassoSession *session = lasso_session_new();
    lasso_session_add_assertion(session, idp_entity_id, LASSO_NODE(a));
    g_object_unref(a);
    return session;
}

/* The logout profile with our side of the login restored into it. */
static LassoLogout *logout_for(LassoServer *server, kmen_sp *sp, const kmen_login_ref *ref)
{
    LassoLogout *logout = lasso_logout_new(server);
    if (ref)
        LASSO_PROFILE(logout)->session = kmen_lasso_session_for(sp->idp.entity_id, ref);
    return logout;
}

static const char *build_logout_request(apr_pool_t *p, LassoLogout *logout, kmen_sp *sp)
{
    lasso_profile_set_signature_hint(LASSO_PROFILE(logout), LASSO_PROFILE_SIGNATURE_HINT_FORBID);
    int rc =
        lasso_logout_init_request(logout, (char *)sp->idp.entity_id, LASSO_HTTP_METHOD_REDIRECT);
    if (rc != 0)
        return lasso_strerror(rc);
    const char *err = use_random_id(p, LASSO_PROFILE(logout)->request);
    if (err)
        return err;
    rc = lasso_logout_build_request_msg(logout);
    return rc == 0 ? NULL : lasso_strerror(rc);
}

/* kmen_saml_logout_request with the read lock held. */
static const char *logout_request_locked(kmen_sp *sp, apr_pool_t *p, const kmen_login_ref *ref,
                                         const char **url, const char **request_id)
{
    const char *err = NULL;
    LassoServer *server = kmen_sp_server_acquire(sp, &err);
    if (!server)
        return err;
    LassoLogout *logout = logout_for(server, sp, ref);
    err = build_logout_request(p, logout, sp);
    if (!err && !(*url = signed_url(p, sp, LASSO_PROFILE(logout)->msg_url)))
        err = "cannot sign the LogoutRequest";
    if (!err)
        *request_id = request_id_of(p, LASSO_PROFILE(logout));
    lasso_logout_destroy(logout);
    kmen_sp_server_release(sp, server);
    return err;
}

const char *kmen_saml_logout_request(kmen_sp *sp, apr_pool_t *p, const kmen_login_ref *ref,
                                     const char **url, const char **request_id)
{
    kmen_sp_use_begin(sp);
    const char *err = logout_request_locked(sp, p, ref, url, request_id);
    kmen_sp_use_end(sp);
    return err;
}

static void read_logout_request(apr_pool_t *p, LassoSamlp2LogoutRequest *req, kmen_login_ref *ref)
{
    LassoSaml2NameID *name_id = req->NameID;
    memset(ref, 0, sizeof(*ref));
    if (name_id) {
        ref->name_id = apr_pstrdup(p, name_id->content);
        ref->name_id_format = apr_pstrdup(p, name_id->Format);
        ref->name_qualifier = apr_pstrdup(p, name_id->NameQualifier);
        ref->sp_name_qualifier = apr_pstrdup(p, name_id->SPNameQualifier);
    }
    ref->session_index = apr_pstrdup(p, req->SessionIndex);
}

/* A LogoutRequest is fresh for KMEN_LOGOUT_REQUEST_MAX_AGE after its
 * IssueInstant; the replay cache keeps its ID as long as that. */
static const char *read_logout_message(apr_pool_t *p, LassoSamlp2LogoutRequest *req,
                                       const kmen_response_expect *expect, kmen_message_ref *msg)
{
    LassoSamlp2RequestAbstract *abstract = LASSO_SAMLP2_REQUEST_ABSTRACT(req);
    apr_time_t issued = 0;
    if (!abstract->ID || !*abstract->ID || !kmen_parse_xs_datetime(abstract->IssueInstant, &issued))
        return "the LogoutRequest has no ID or IssueInstant";
    if (issued > expect->now + expect->skew ||
        issued + KMEN_LOGOUT_REQUEST_MAX_AGE + expect->skew <= expect->now)
        return "the LogoutRequest's IssueInstant is not recent";
    msg->id = apr_pstrdup(p, abstract->ID);
    msg->replayable_until = issued + KMEN_LOGOUT_REQUEST_MAX_AGE + expect->skew;
    return NULL;
}

static const char *answer_logout_request(LassoLogout *logout, kmen_sp *sp, apr_pool_t *p,
                                         const kmen_response_expect *expect, kmen_login_ref *ref,
                                         kmen_message_ref *msg, const char **url)
{
    LassoProfile *profile = LASSO_PROFILE(logout);
    LassoSamlp2LogoutRequest *req = LASSO_SAMLP2_LOGOUT_REQUEST(profile->request);
    const char *err = read_logout_message(p, req, expect, msg);
    if (err)
        return err;
    /* NIA signs every portal's LogoutRequests with the same key */
    const char *destination = LASSO_SAMLP2_REQUEST_ABSTRACT(req)->Destination;
    if (destination && strcmp(destination, sp->params.slo_url) != 0)
        return "its Destination is not this SP's logout URL";
    read_logout_request(p, req, ref);
    if (!ref->name_id)
        return "the LogoutRequest names no NameID";
    profile->session = kmen_lasso_session_for(sp->idp.entity_id, ref);
    /* The request's signature was checked by lasso_logout_process_request_msg;
     * the answer is signed by mod_kmen (lasso holds no private key). */
    lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORBID);
    int rc = lasso_logout_validate_request(logout);
    if (rc == 0)
        rc = lasso_logout_build_response_msg(logout);
    if (rc != 0)
        return lasso_strerror(rc);
    *url = signed_url(p, sp, profile->msg_url);
    return *url ? NULL : "cannot sign the LogoutResponse";
}

/* kmen_saml_logout_request_consume with the read lock held. */
static const char *logout_request_consume_locked(kmen_sp *sp, apr_pool_t *p, const char *query,
                                                 const kmen_response_expect *expect,
                                                 kmen_login_ref *ref, kmen_message_ref *msg,
                                                 const char **url)
{
    const char *err = kmen_redirect_verify(p, sp->idp.signing_keys, query);
    if (err)
        return err;
    LassoServer *server = kmen_sp_server_acquire(sp, &err);
    if (!server)
        return err;
    LassoLogout *logout = logout_for(server, sp, NULL);
    lasso_profile_set_signature_verify_hint(LASSO_PROFILE(logout),
                                            LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
    int rc = lasso_logout_process_request_msg(logout, (char *)query);
    err =
        rc == 0 ? answer_logout_request(logout, sp, p, expect, ref, msg, url) : lasso_strerror(rc);
    lasso_logout_destroy(logout);
    kmen_sp_server_release(sp, server);
    return err;
}

const char *kmen_saml_logout_request_consume(kmen_sp *sp, apr_pool_t *p, const char *query,
                                             const kmen_response_expect *expect,
                                             kmen_login_ref *ref, kmen_message_ref *msg,
                                             const char **url)
{
    kmen_sp_use_begin(sp);
    const char *err = logout_request_consume_locked(sp, p, query, expect, ref, msg, url);
    kmen_sp_use_end(sp);
    return err;
}
