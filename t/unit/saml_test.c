/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The module's Response checks on the Responses NIA itself produced (2019,
 * t/fixtures/nia-test-2019): accepted with the clock and outstanding
 * request set to their values; refused altered, expired, early or unsolicited. */
#include <check.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_file_io.h"
#include "apr_base64.h"
#include "apr_escape.h"
#include "apr_strings.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "check_main.h"
#include "conf.h"
#include "lasso_reference.h"
#include "saml.h"
#include "saml_private.h"

#define IDP "urn:microsoft:cgg2010:fpsts"

typedef struct {
    const char *file, *destination, *audience, *request_id, *bsi, *not_before;
} fixture;

static const fixture response1 = {
    "response.samlresponse.b64",
    "http://eidasproxyservice.jjanousek.dev.office.nic.cz/IdentityProviderResponse",
    "http://eidasproxyservice.jjanousek.dev.office.nic.cz/saml/idp.xml",
    "e399fb9b-9454-4284-831f-4aa33d83757e",
    "CZ/CZ/ff70c9dd-6a05-4068-aaa2-b57be4f328e9",
    "2019-08-21T13:41:42.551Z"};
static const fixture response2 = {
    "response2.samlresponse.b64",
    "http://localhost.localdomain:8000/IdentityProviderResponse",
    "http://localhost.localdomain:8000/saml/idp.xml",
    "_EC4U.pASZbyim6prNJtsgOJW5BQUYug_vL-dVUzF-2C8Soni4zLm6GuAfvPZ8M2",
    "CZ/CZ/1cd49592-b9ba-42ed-91ac-80d07ac9faf2",
    "2019-09-18T11:10:53.417Z"};

static const char *fixture_dir(void)
{
    const char *dir = getenv("KMEN_FIXTURES");
    return dir ? dir : "t/fixtures/nia-test-2019";
}

static const char *fixture_path(const char *name)
{
    return apr_pstrcat(pool, fixture_dir(), "/", name, NULL);
}

static const char *slurp(const char *name)
{
    char *data = NULL;
    apr_file_t *f;
    apr_finfo_t info;
    const char *path = fixture_path(name);
    ck_assert_msg(apr_file_open(&f, path, APR_READ, 0, pool) == APR_SUCCESS, "open %s", path);
    apr_file_info_get(&info, APR_FINFO_SIZE, f);
    data = apr_pcalloc(pool, (apr_size_t)info.size + 1);
    apr_size_t n = (apr_size_t)info.size;
    apr_file_read_full(f, data, n, &n);
    apr_file_close(f);
    return data;
}

/* The base64 body of the PEM certificate in fixture FILE. */
static const char *certificate_body(const char *file)
{
    char *pem = apr_pstrdup(pool, slurp(file));
    char *body = strstr(pem, "-----BEGIN CERTIFICATE-----") + 27;
    *strstr(body, "-----END CERTIFICATE-----") = '\0';
    return body;
}

/* NIA publishes its signing certificates only in its metadata: the same
 * shape here, one signing KeyDescriptor per certificate file of CERTS. */
static const char *idp_metadata_of(const char *const *certs, int n)
{
    const char *keys = "";
    for (int i = 0; i < n; i++)
        keys = apr_pstrcat(pool, keys,
                           "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                           "<ds:X509Certificate>",
                           certificate_body(certs[i]),
                           "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                           NULL);
    return apr_pstrcat(
        pool,
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"" IDP "\">"
        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
        keys,
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"https://tnia.identita.gov.cz/FPSTS/saml2/basic\"/>"
        "</md:IDPSSODescriptor></md:EntityDescriptor>",
        NULL);
}

static const char *idp_metadata(void)
{
    static const char *const nia[] = {"nia-test-cert.pem"};
    return idp_metadata_of(nia, 1);
}

/* The key pair the captured Responses are encrypted to. */
static kmen_sp_key_pair nia_test_pair(void)
{
    kmen_sp_key_pair pair = {
        .key_pem = slurp("sp-key.pem"), .key_file = "sp-key.pem", .cert_pem = slurp("sp-cert.pem")};
    return pair;
}

static const char *bio_text(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    const char *out = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

/* A key pair of no one's (serial 4242), made once: the other key of a rollover. */
static kmen_sp_key_pair other_pair(void)
{
    static kmen_sp_key_pair pair;
    if (pair.key_pem)
        return pair;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"next", -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    BIO *k = BIO_new(BIO_s_mem()), *c = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(k, key, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_X509(c, cert);
    pair.key_pem = bio_text(k);
    pair.key_file = "other.key";
    pair.cert_pem = bio_text(c);
    X509_free(cert);
    EVP_PKEY_free(key);
    return pair;
}

/* The server the SPs are made for, whose spelling their refusals use:
 * httpd's unless a test (each runs in its own process) says otherwise. */
static kmen_spelling server_spelling = KMEN_SPELL_HTTPD;

static const char *sp_create(const fixture *fx, const char *metadata, const kmen_sp_key_pair *keys,
                             int count, kmen_sp **sp, kmen_sp_input *culprit)
{
    kmen_sp_params params = {.entity_id = fx->audience,
                             .acs_url = fx->destination,
                             .slo_url = "http://sp.invalid/slo",
                             .key_count = count,
                             .idp_metadata = metadata,
                             .nameid_policy = KMEN_NAMEID_PERSISTENT,
                             .sp_type = "public",
                             .spelling = server_spelling};
    for (int i = 0; i < count; i++)
        params.keys[i] = keys[i];
    return kmen_sp_create(pool, &params, sp, culprit);
}

static kmen_sp *sp_with_keys(const fixture *fx, const char *metadata, const kmen_sp_key_pair *keys,
                             int count)
{
    kmen_sp *sp = NULL;
    kmen_sp_input culprit;
    const char *err = sp_create(fx, metadata, keys, count, &sp, &culprit);
    ck_assert_msg(err == NULL, "kmen_sp_create: %s", err ? err : "");
    ck_assert_ptr_null(kmen_sp_child_init(sp, pool, 2));
    return sp;
}

/* The key pair the captured Responses are encrypted to, and METADATA. */
static kmen_sp *sp_with(const fixture *fx, const char *metadata)
{
    kmen_sp_key_pair nia = nia_test_pair();
    return sp_with_keys(fx, metadata, &nia, 1);
}

static kmen_sp *sp_for(const fixture *fx)
{
    return sp_with(fx, idp_metadata());
}

static apr_time_t at(const char *xs_datetime, apr_interval_time_t plus)
{
    apr_time_exp_t t = {0};
    sscanf(xs_datetime, "%4d-%2d-%2dT%2d:%2d:%2d", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour,
           &t.tm_min, &t.tm_sec);
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    apr_time_t out;
    apr_time_exp_gmt_get(&out, &t);
    return out + plus;
}

static kmen_response_status verify(const fixture *fx, const char *b64, apr_time_t now,
                                   const char *request_id, kmen_assertion *out, const char **reason)
{
    kmen_response_expect expect = {now, apr_time_from_sec(60), request_id};
    return kmen_saml_verify_response(sp_for(fx), pool, b64, &expect, out, reason);
}

/* FX's captured Response verified by SP, AFTER its NotBefore, for FX's request. */
static kmen_response_status verify_capture(kmen_sp *sp, const fixture *fx,
                                           apr_interval_time_t after, kmen_assertion *out,
                                           const char **reason)
{
    kmen_response_expect expect = {at(fx->not_before, after), apr_time_from_sec(60),
                                   fx->request_id};
    return kmen_saml_verify_response(sp, pool, slurp(fx->file), &expect, out, reason);
}

static void assert_accepted(const fixture *fx)
{
    kmen_assertion a;
    const char *reason = NULL;
    kmen_response_status st =
        verify(fx, slurp(fx->file), at(fx->not_before, apr_time_from_sec(600)), fx->request_id, &a,
               &reason);
    ck_assert_msg(st == KMEN_RESPONSE_OK, "refused: %s", reason ? reason : "");
    ck_assert_str_eq(a.ref.name_id, fx->bsi);
    ck_assert_int_eq(a.loa, KMEN_LOA_SUBSTANTIAL);
    kmen_identity id = {0};
    int failed = 1;
    ck_assert_ptr_null(kmen_identity_from_attributes(pool, a.attrs, "CZ", &id, &failed));
    ck_assert_int_eq(failed, 0);
    ck_assert_str_eq(id.pseudonym, fx->bsi);
    ck_assert_int_eq(id.origin, KMEN_ORIGIN_NIA);
    ck_assert_ptr_nonnull(id.given_name);
    ck_assert_ptr_nonnull(id.family_name);
    ck_assert_ptr_nonnull(id.birth_date);
}

START_TEST(nia_response_accepted)
{
    assert_accepted(&response1);
    kmen_assertion a;
    const char *reason = NULL;
    verify(&response1, slurp(response1.file), at(response1.not_before, 0), response1.request_id, &a,
           &reason);
    kmen_identity id = {0};
    int failed;
    kmen_identity_from_attributes(pool, a.attrs, "CZ", &id, &failed);
    ck_assert_str_eq(id.given_name, "PAVEL");
    ck_assert_str_eq(id.family_name, "ČERNÝCH");
}
END_TEST

/* NIA's rollover: its metadata publishes the new signing key beside the
 * old one (here the new one first); a Response signed with either key is
 * accepted, and one signed by a key the metadata does not list is not. */
START_TEST(nia_response_accepted_with_two_signing_keys)
{
    static const char *const rollover[] = {"sp-cert.pem", "nia-test-cert.pem"};
    static const char *const other[] = {"sp-cert.pem"};
    kmen_assertion a;
    const char *reason = NULL;
    kmen_response_status st = verify_capture(sp_with(&response1, idp_metadata_of(rollover, 2)),
                                             &response1, apr_time_from_sec(600), &a, &reason);
    ck_assert_msg(st == KMEN_RESPONSE_OK, "refused: %s", reason ? reason : "");
    st = verify_capture(sp_with(&response1, idp_metadata_of(other, 1)), &response1,
                        apr_time_from_sec(600), &a, &reason);
    ck_assert_int_eq(st, KMEN_RESPONSE_INVALID);
}
END_TEST

START_TEST(nia_response2_accepted)
{
    assert_accepted(&response2);
}
END_TEST

static void assert_refused(const fixture *fx, const char *b64, apr_time_t now,
                           const char *request_id, const char *expected_reason)
{
    kmen_assertion a;
    const char *reason = NULL;
    ck_assert_int_eq(verify(fx, b64, now, request_id, &a, &reason), KMEN_RESPONSE_INVALID);
    ck_assert_msg(reason && strstr(reason, expected_reason), "reason '%s' lacks '%s'",
                  reason ? reason : "(none)", expected_reason);
}

START_TEST(expired_refused)
{
    assert_refused(&response1, slurp(response1.file),
                   at(response1.not_before, apr_time_from_sec(3600 + 61)), response1.request_id,
                   "expired");
}
END_TEST

START_TEST(not_yet_valid_refused)
{
    assert_refused(&response1, slurp(response1.file),
                   at(response1.not_before, -apr_time_from_sec(62)), response1.request_id,
                   "not yet valid");
}
END_TEST

START_TEST(unsolicited_refused)
{
    assert_refused(&response1, slurp(response1.file), at(response1.not_before, 0), "_other",
                   "InResponseTo");
}
END_TEST

START_TEST(wrong_audience_refused)
{
    fixture other = response1;
    other.audience = "https://portal.example.cz/";
    assert_refused(&other, slurp(response1.file), at(response1.not_before, 0), response1.request_id,
                   "Audience");
}
END_TEST

START_TEST(wrong_destination_refused)
{
    fixture other = response1;
    other.destination = "https://portal.example.cz/kmen/acs";
    assert_refused(&other, slurp(response1.file), at(response1.not_before, 0), response1.request_id,
                   "Destination");
}
END_TEST

static const char *base64_of(const char *xml)
{
    char *b64 = apr_palloc(pool, (apr_size_t)apr_base64_encode_len((int)strlen(xml)));
    apr_base64_encode(b64, xml, (int)strlen(xml));
    return b64;
}

/* The first capture with one character of its signed XML changed (the
 * IssueInstant's last second digit), base64: its signature no longer verifies. */
static const char *altered_capture(void)
{
    char *xml = apr_pstrdup(pool, slurp("response.min.xml"));
    char *instant = strstr(xml, "IssueInstant=\"2019-08-21T13:41:4");
    ck_assert_ptr_nonnull(instant);
    instant[strlen("IssueInstant=\"2019-08-21T13:41:4")] ^= 1;
    return base64_of(xml);
}

START_TEST(altered_refused)
{
    assert_refused(&response1, altered_capture(), at(response1.not_before, 0), response1.request_id,
                   "signature does not verify");
}
END_TEST

/* A comment inside the signed Issuer leaves NIA's signature valid (exclusive
 * c14n drops comments) but splits the text a reader sees: refused. */
START_TEST(comment_in_signed_text_refused)
{
    const char *xml = slurp("response.min.xml");
    const char *issuer = strstr(xml, "urn:microsoft:cgg2010:fpsts");
    ck_assert_ptr_nonnull(issuer);
    const char *split =
        apr_pstrcat(pool, apr_pstrndup(pool, xml, (apr_size_t)(issuer - xml)),
                    "urn:microsoft:<!---->", issuer + strlen("urn:microsoft:"), NULL);
    assert_refused(&response1, base64_of(split), at(response1.not_before, 0), response1.request_id,
                   "comment");
}
END_TEST

START_TEST(garbage_refused)
{
    assert_refused(&response1, "not base64!", at(response1.not_before, 0), response1.request_id,
                   "base64");
    assert_refused(&response1, "PHgvPg==", at(response1.not_before, 0), response1.request_id,
                   "samlp:Response");
}
END_TEST

/* The module's verdict on B64 by SP at NOW for REQUEST_ID, which must be
 * lasso's old pipeline's (lasso_reference.c) too. */
static kmen_response_status verdict_of_both(kmen_sp *sp, const char *b64, apr_time_t now,
                                            const char *request_id)
{
    kmen_response_expect expect = {now, apr_time_from_sec(60), request_id};
    kmen_assertion a;
    const char *why_new = NULL, *why_old = NULL;
    kmen_response_status st = kmen_saml_verify_response(sp, pool, b64, &expect, &a, &why_new);
    kmen_response_status old = kmen_lasso_verify_response(sp, pool, b64, &expect, &a, &why_old);
    ck_assert_msg(st == old, "xmlsec: %d (%s), lasso: %d (%s)", st, why_new ? why_new : "-", old,
                  why_old ? why_old : "-");
    return st;
}

/* Both captured NIA Responses, with the clock and request set to theirs,
 * expired, unsolicited, altered and checked against a key NIA did not sign
 * with: the module's xmlsec verification and lasso's agree on each. */
START_TEST(captures_same_verdict_as_lasso)
{
    static const char *const other[] = {"sp-cert.pem"};
    const fixture *captures[] = {&response1, &response2};
    for (int i = 0; i < 2; i++) {
        const fixture *fx = captures[i];
        const char *b64 = slurp(fx->file);
        apr_time_t valid = at(fx->not_before, apr_time_from_sec(600));
        ck_assert_int_eq(verdict_of_both(sp_for(fx), b64, valid, fx->request_id), KMEN_RESPONSE_OK);
        ck_assert_int_eq(
            verdict_of_both(sp_for(fx), b64, valid + apr_time_from_sec(86400), fx->request_id),
            KMEN_RESPONSE_INVALID);
        ck_assert_int_eq(verdict_of_both(sp_for(fx), b64, valid, "_other"), KMEN_RESPONSE_INVALID);
        ck_assert_int_eq(
            verdict_of_both(sp_with(fx, idp_metadata_of(other, 1)), b64, valid, fx->request_id),
            KMEN_RESPONSE_INVALID);
    }
    ck_assert_int_eq(verdict_of_both(sp_for(&response1), altered_capture(),
                                     at(response1.not_before, 0), response1.request_id),
                     KMEN_RESPONSE_INVALID);
}
END_TEST

/* ---- NIA's LogoutResponse (saml_logout.c) */

#define SLO "http://sp.invalid/slo"

static const char *logout_response(const char *destination, const char *status)
{
    return apr_pstrcat(
        pool,
        "<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
        "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r\" "
        "Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\" Destination=\"",
        destination,
        "\" InResponseTo=\"_logout1\"><saml:Issuer>" IDP "</saml:Issuer>"
        "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:",
        status, "\"/></samlp:Status></samlp:LogoutResponse>", NULL);
}

/* The HTTP-Redirect query of LEN bytes of XML: raw DEFLATE, base64, URL-escaped. */
static const char *redirect_query(const char *xml, size_t len)
{
    unsigned char *out = apr_palloc(pool, len + 1024);
    z_stream z = {0};
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)xml;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(len + 1024);
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    int n = (int)z.total_out;
    deflateEnd(&z);
    char *b64 = apr_palloc(pool, (apr_size_t)apr_base64_encode_len(n));
    apr_base64_encode_binary(b64, out, n);
    return apr_pstrcat(pool, "SAMLResponse=", apr_pescape_urlencoded(pool, b64), NULL);
}

static const char *read_logout(const char *query, const char *post_b64, kmen_logout_answer *out)
{
    return kmen_saml_logout_response_read(sp_for(&response1), pool, query, post_b64, out);
}

START_TEST(unsigned_logout_response_read_by_both_bindings)
{
    kmen_logout_answer a;
    const char *xml = logout_response(SLO, "Success");
    ck_assert_ptr_null(read_logout(NULL, base64_of(xml), &a));
    ck_assert_str_eq(a.in_response_to, "_logout1");
    ck_assert_int_eq(a.success, 1);
    ck_assert_ptr_null(read_logout(redirect_query(xml, strlen(xml)), NULL, &a));
    ck_assert_str_eq(a.in_response_to, "_logout1");
    ck_assert_ptr_null(read_logout(NULL, base64_of(logout_response(SLO, "Responder")), &a));
    ck_assert_int_eq(a.success, 0);
    ck_assert_str_eq(a.status, "urn:oasis:names:tc:SAML:2.0:status:Responder");
}
END_TEST

static void assert_logout_refused(const char *query, const char *post_b64, const char *why)
{
    kmen_logout_answer a;
    const char *err = read_logout(query, post_b64, &a);
    ck_assert_msg(err && strstr(err, why), "expected '%s', got '%s'", why, err ? err : "(taken)");
}

START_TEST(logout_response_refusals)
{
    const char *xml = logout_response(SLO, "Success");
    assert_logout_refused(NULL, base64_of(logout_response("http://sp.invalid/acs", "Success")),
                          "Destination");
    assert_logout_refused(NULL, base64_of(apr_pstrcat(pool, "<!DOCTYPE x []>", xml, NULL)),
                          "DOCTYPE");
    assert_logout_refused(NULL,
                          base64_of("<samlp:Response xmlns:samlp="
                                    "\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"),
                          "samlp:LogoutResponse");
    /* a query signature, there, must be the IdP's */
    assert_logout_refused(apr_pstrcat(pool, redirect_query(xml, strlen(xml)),
                                      "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more"
                                      "%23rsa-sha256&Signature=AAAA",
                                      NULL),
                          NULL, "not the IdP's");
    /* 1 MiB of spaces deflates to a few KiB, and inflates past the 64 KiB read */
    size_t big = 1024 * 1024;
    char *bomb = apr_palloc(pool, big);
    memset(bomb, ' ', big);
    memcpy(bomb, xml, strlen(xml));
    assert_logout_refused(redirect_query(bomb, big), NULL, "64 KiB");
}
END_TEST

/* An assertion holding one attribute value: VALUE_ATTRS on the value's start
 * tag, CONTENT inside it, the namespaces NIA declares beside them. */
static const char *assertion_with_value(const char *value_attrs, const char *content)
{
    return apr_pstrcat(pool,
                       "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
                       "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"_a\">"
                       "<saml:AttributeStatement><saml:Attribute Name=\"x\"><saml:AttributeValue ",
                       value_attrs, ">", content, "</saml:AttributeValue></saml:Attribute>",
                       "</saml:AttributeStatement></saml:Assertion>", NULL);
}

static const char *assertion_shape(const char *xml)
{
    xmlDoc *doc = NULL;
    return kmen_assertion_xml_read(pool, xml, strlen(xml), &doc);
}

/* NIA types each value with its attribute's type, in the attribute's own
 * namespace: eIDAS, STORK, the Czech claims, or XML Schema. */
START_TEST(typed_attribute_values_accepted)
{
    static const char *const typed[] = {
        "xmlns:tn=\"http://eidas.europa.eu/attributes/naturalperson\" "
        "xsi:type=\"tn:CurrentFamilyNameType\"",
        "xmlns:tn=\"http://www.stork.gov.eu/1.0\" xsi:type=\"tn:eMailType\"",
        "xmlns:tn=\"http://schemas.eidentita.cz/moris/2016/identity/claims\" "
        "xsi:type=\"tn:phonenumberType\"",
        "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xsi:type=\"xs:string\"",
        "xsi:type=\"string\"",
        NULL};
    for (const char *const *t = typed; *t; t++)
        ck_assert_msg(assertion_shape(assertion_with_value(*t, "jan@example.cz")) == NULL, "%s",
                      *t);
}
END_TEST

/* A type lasso builds a class from stays refused on a value, and any type
 * elsewhere; so does an element inside a typed value. */
START_TEST(types_lasso_reads_refused)
{
    static const char *const typed[] = {
        "xmlns:l=\"http://www.entrouvert.org/namespaces/lasso/0.0\" xsi:type=\"l:Session\"",
        "xmlns:p=\"urn:oasis:names:tc:SAML:2.0:protocol\" xsi:type=\"p:LogoutRequest\"",
        "xmlns:e=\"urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp\" xsi:type=\"e:Request\"",
        "xmlns:d=\"http://www.w3.org/2000/09/xmldsig#\" xsi:type=\"d:KeyInfo\"", NULL};
    for (const char *const *t = typed; *t; t++)
        ck_assert_ptr_nonnull(strstr(assertion_shape(assertion_with_value(*t, "v")), "xsi:type"));
    const char *stork = "xmlns:tn=\"http://www.stork.gov.eu/1.0\" xsi:type=\"tn:eMailType\"";
    ck_assert_ptr_nonnull(strstr(assertion_shape(assertion_with_value(stork, "<saml:Issuer/>")),
                                 "an element inside an attribute value"));
    const char *subject = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
                          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                          "xmlns:tn=\"http://www.stork.gov.eu/1.0\" ID=\"_a\">"
                          "<saml:Subject xsi:type=\"tn:eMailType\"/></saml:Assertion>";
    ck_assert_ptr_nonnull(strstr(assertion_shape(subject), "xsi:type"));
}
END_TEST

/* The fixture's SP key, encrypted with the passphrase "x". */
static const char *encrypted_sp_key(void)
{
    BIO *in = BIO_new_mem_buf(slurp("sp-key.pem"), -1), *out = BIO_new(BIO_s_mem());
    EVP_PKEY *key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    ck_assert(key && PEM_write_bio_PrivateKey(out, key, EVP_aes_256_cbc(), (unsigned char *)"x", 1,
                                              NULL, NULL) == 1);
    char *data = NULL;
    long len = BIO_get_mem_data(out, &data);
    const char *pem = apr_pstrndup(pool, data, (apr_size_t)len);
    EVP_PKEY_free(key);
    BIO_free(in);
    BIO_free(out);
    return pem;
}

/* Both loaders of the SP key refuse an encrypted one with the same message,
 * without OpenSSL's passphrase prompt (a hang at configtest; the test's
 * timeout). */
START_TEST(encrypted_sp_key_refused_without_a_prompt)
{
    const char *pem = encrypted_sp_key(), *expected = kmen_sp_key_encrypted(pool, "/k.pem");
    EVP_PKEY *signing = NULL;
    xmlSecKey *decryption = NULL;
    ck_assert_str_eq(kmen_sp_signing_key_load(pool, pem, "/k.pem", &signing), expected);
    ck_assert_str_eq(kmen_sp_decryption_key_load(pool, pem, "/k.pem", &decryption), expected);
    ck_assert(!signing && !decryption);
    ck_assert(strstr(expected, "is encrypted: mod_kmen needs an unencrypted key (openssl pkey -in "
                               "/k.pem -out ") == expected);
}
END_TEST

/* lasso logs some malformed input at GLib's ERROR level, after which GLib
 * executes a breakpoint trap: the process must live on (saml.c). */
/* NIA names the certificate it encrypted to by issuer and serial number: of
 * two keys, the one it names decrypts, whichever comes first. */
START_TEST(second_key_named_by_nia_decrypts)
{
    const kmen_sp_key_pair keys[] = {other_pair(), nia_test_pair()};
    kmen_sp *sp = sp_with_keys(&response1, idp_metadata(), keys, 2);
    kmen_assertion a;
    const char *reason = NULL;
    ck_assert_int_eq(verify_capture(sp, &response1, 0, &a, &reason), KMEN_RESPONSE_OK);
    ck_assert_int_eq(a.decryption_key, 1);
}
END_TEST

START_TEST(key_not_named_by_nia_refused)
{
    const kmen_sp_key_pair keys[] = {other_pair()};
    kmen_sp *sp = sp_with_keys(&response1, idp_metadata(), keys, 1);
    kmen_assertion a;
    const char *reason = NULL;
    ck_assert_int_eq(verify_capture(sp, &response1, 0, &a, &reason), KMEN_RESPONSE_INVALID);
    ck_assert_str_eq(reason, "the EncryptedKey is for a certificate that is not a "
                             "KmenSPCertificateFile (serial number "
                             "35034105937627197988315846329862265808194354993)");
}
END_TEST

static xmlNode *encrypted_assertion_naming(const char *key_info)
{
    const char *xml = apr_pstrcat(
        pool,
        "<EncryptedAssertion xmlns=\"" KMEN_NS_SAML "\"><e:EncryptedData xmlns:e=\"" KMEN_NS_XENC
        "\"><KeyInfo xmlns=\"" KMEN_NS_DSIG "\"><e:EncryptedKey>",
        key_info, "</e:EncryptedKey></KeyInfo></e:EncryptedData></EncryptedAssertion>", NULL);
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    return xmlDocGetRootElement(doc);
}

/* The key choice itself: the serial number as a number, the certificate as
 * its bytes, nothing named matches every key. */
START_TEST(key_reference_read_and_matched)
{
    kmen_sp_decryption_key ours = {.serial = "4242", .cert_b64 = "QUJD"};
    kmen_key_reference ref = kmen_encrypted_key_reference(
        pool, encrypted_assertion_naming(
                  "<KeyInfo><o:SecurityTokenReference xmlns:o=\"urn:wsse\"><X509Data>"
                  "<X509IssuerSerial><X509IssuerName>CN=x</X509IssuerName>"
                  "<X509SerialNumber> 004242\n</X509SerialNumber></X509IssuerSerial>"
                  "</X509Data></o:SecurityTokenReference></KeyInfo>"));
    ck_assert_str_eq(ref.serial, "4242");
    ck_assert_ptr_null(ref.cert_b64);
    ck_assert(kmen_key_reference_matches(&ref, &ours));
    ref.serial = "4243";
    ck_assert(!kmen_key_reference_matches(&ref, &ours));
    ref = kmen_encrypted_key_reference(
        pool, encrypted_assertion_naming(
                  "<KeyInfo><X509Data><X509Certificate>QU\n JD</X509Certificate></X509Data>"
                  "</KeyInfo>"));
    ck_assert_str_eq(ref.cert_b64, "QUJD");
    ck_assert(kmen_key_reference_matches(&ref, &ours));
    ref.cert_b64 = "QUJE";
    ck_assert(!kmen_key_reference_matches(&ref, &ours));
    ref = kmen_encrypted_key_reference(pool, encrypted_assertion_naming(""));
    ck_assert(!ref.serial && !ref.cert_b64 && kmen_key_reference_matches(&ref, &ours));
}
END_TEST

/* Both certificates are published for both uses, the signing pair's first. */
START_TEST(metadata_publishes_both_certificates)
{
    const kmen_sp_key_pair keys[] = {nia_test_pair(), other_pair()};
    const char *md = kmen_sp_metadata(sp_with_keys(&response1, idp_metadata(), keys, 2));
    kmen_sp_decryption_key first, second;
    ck_assert_ptr_null(kmen_sp_certificate_name(pool, keys[0].cert_pem, &first));
    ck_assert_ptr_null(kmen_sp_certificate_name(pool, keys[1].cert_pem, &second));
    const char *sign1 = strstr(md, "use=\"signing\""), *enc1 = strstr(md, "use=\"encryption\"");
    ck_assert(sign1 && enc1 && sign1 < enc1);
    const char *c1 = strstr(sign1, first.cert_b64), *c2 = strstr(sign1, second.cert_b64);
    ck_assert(c1 && c2 && c1 < c2 && c2 < enc1);
    c1 = strstr(enc1, first.cert_b64);
    c2 = strstr(enc1, second.cert_b64);
    ck_assert(c1 && c2 && c1 < c2);
}
END_TEST

/* A pair of USE: NIA's test pair or the other one. */
static kmen_sp_key_pair pair_for(kmen_sp_key_pair pair, kmen_sp_key_use use)
{
    pair.use = use;
    return pair;
}

/* Separate keys: the signing pair is published for signing only, the
 * encryption pair for encryption only, and the encryption pair decrypts. */
START_TEST(separate_encryption_key_decrypts_and_is_published_for_encryption)
{
    const kmen_sp_key_pair keys[] = {pair_for(other_pair(), KMEN_KEY_SIGNS),
                                     pair_for(nia_test_pair(), KMEN_KEY_DECRYPTS)};
    kmen_sp *sp = sp_with_keys(&response1, idp_metadata(), keys, 2);
    kmen_sp_decryption_key sign, enc;
    ck_assert_ptr_null(kmen_sp_certificate_name(pool, keys[0].cert_pem, &sign));
    ck_assert_ptr_null(kmen_sp_certificate_name(pool, keys[1].cert_pem, &enc));
    const char *md = kmen_sp_metadata(sp);
    const char *sign1 = strstr(md, "use=\"signing\""), *enc1 = strstr(md, "use=\"encryption\"");
    ck_assert(sign1 && enc1 && sign1 < enc1);
    ck_assert(!strstr(sign1 + 1, "use=\"signing\"") && !strstr(enc1 + 1, "use=\"encryption\""));
    const char *s1 = strstr(md, sign.cert_b64), *e1 = strstr(md, enc.cert_b64);
    ck_assert(s1 && s1 < enc1 && !strstr(s1 + 1, sign.cert_b64));
    ck_assert(e1 && e1 > enc1 && !strstr(e1 + 1, enc.cert_b64));
    kmen_assertion a;
    const char *reason = NULL;
    ck_assert_int_eq(verify_capture(sp, &response1, 0, &a, &reason), KMEN_RESPONSE_OK);
    ck_assert_int_eq(a.decryption_key, 1);
    ck_assert(!kmen_sp_pair_is_second(kmen_sp_pairs(sp), 1));
}
END_TEST

/* An assertion encrypted to a signing-only key is refused by the key's name,
 * though the SP holds that key, in the server's spelling: _i 0 httpd, 1 nginx. */
START_TEST(assertion_encrypted_to_signing_only_key_refused)
{
    static const char *const key[] = {"KmenSPPrivateKeyFile", "kmen_sp_private_key_file"};
    static const char *const enc_cert[] = {"KmenSPEncryptionCertificateFile",
                                           "kmen_sp_encryption_certificate_file"};
    server_spelling = _i ? KMEN_SPELL_NGINX : KMEN_SPELL_HTTPD;
    const kmen_sp_key_pair keys[] = {pair_for(nia_test_pair(), KMEN_KEY_SIGNS),
                                     pair_for(other_pair(), KMEN_KEY_DECRYPTS)};
    kmen_sp *sp = sp_with_keys(&response1, idp_metadata(), keys, 2);
    kmen_assertion a;
    const char *reason = NULL;
    ck_assert_int_eq(verify_capture(sp, &response1, 0, &a, &reason), KMEN_RESPONSE_INVALID);
    ck_assert_str_eq(reason, apr_pstrcat(pool, "the EncryptedKey is for the signing-only ", key[_i],
                                         " sp-key.pem (serial number "
                                         "35034105937627197988315846329862265808194354993), not a ",
                                         enc_cert[_i], NULL));
}
END_TEST

START_TEST(second_key_not_of_its_certificate_refused)
{
    kmen_sp_key_pair mixed = other_pair();
    mixed.cert_pem = nia_test_pair().cert_pem;
    const kmen_sp_key_pair keys[] = {nia_test_pair(), mixed};
    kmen_sp *sp = NULL;
    kmen_sp_input culprit = KMEN_SP_KEY_OF(0);
    ck_assert_str_eq(sp_create(&response1, idp_metadata(), keys, 2, &sp, &culprit),
                     "does not belong to the second {sp_cert_file}"); /* kmen_conf_problem_text */
    ck_assert_int_eq(culprit, KMEN_SP_KEY_OF(1));
}
END_TEST

START_TEST(lasso_error_message_is_survived)
{
    g_log("Lasso", G_LOG_LEVEL_ERROR, "%s", "samlp2:LogoutRequest needs one of BaseID, NameID");
    g_log("Lasso", G_LOG_LEVEL_ERROR, "%s", "and a second one");
}
END_TEST

/* ...but only that trap: any other SIGTRAP ends the process as before. */
START_TEST(other_sigtrap_still_ends_the_process)
{
    raise(SIGTRAP);
}
END_TEST

Suite *unit_suite(void)
{
    kmen_saml_library_init(NULL);
    Suite *s = suite_create("saml");
    TCase *tc = tcase_create("nia-test-2019");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, nia_response_accepted);
    tcase_add_test(tc, nia_response2_accepted);
    tcase_add_test(tc, nia_response_accepted_with_two_signing_keys);
    tcase_add_test(tc, expired_refused);
    tcase_add_test(tc, not_yet_valid_refused);
    tcase_add_test(tc, unsolicited_refused);
    tcase_add_test(tc, wrong_audience_refused);
    tcase_add_test(tc, wrong_destination_refused);
    tcase_add_test(tc, altered_refused);
    tcase_add_test(tc, comment_in_signed_text_refused);
    tcase_add_test(tc, garbage_refused);
    tcase_add_test(tc, captures_same_verdict_as_lasso);
    tcase_add_test(tc, unsigned_logout_response_read_by_both_bindings);
    tcase_add_test(tc, logout_response_refusals);
    tcase_add_test(tc, typed_attribute_values_accepted);
    tcase_add_test(tc, types_lasso_reads_refused);
    tcase_add_test(tc, second_key_named_by_nia_decrypts);
    tcase_add_test(tc, key_not_named_by_nia_refused);
    tcase_add_test(tc, key_reference_read_and_matched);
    tcase_add_test(tc, metadata_publishes_both_certificates);
    tcase_add_test(tc, second_key_not_of_its_certificate_refused);
    tcase_add_test(tc, separate_encryption_key_decrypts_and_is_published_for_encryption);
    tcase_add_loop_test(tc, assertion_encrypted_to_signing_only_key_refused, 0, 2);
    tcase_add_test(tc, lasso_error_message_is_survived);
    tcase_add_test(tc, encrypted_sp_key_refused_without_a_prompt);
    tcase_add_test_raise_signal(tc, other_sigtrap_still_ends_the_process, SIGTRAP);
    suite_add_tcase(s, tc);
    return s;
}
