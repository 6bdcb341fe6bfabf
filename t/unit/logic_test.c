/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The module's pure logic: levels of assurance, NIA/eIDAS attributes -> identity,
 * ReturnTo validation, header encoding and spoofing, the crypto helpers, and
 * httpd's directive handlers (apache/config.c) that fill the configuration
 * (its create, merge and defaults, core alone: t/unit/conf_test.c). */
#include <check.h>
#include <stddef.h>
#include <string.h>

#include "apr_base64.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "address.h"
#include "check_main.h"
#include "config.h"
#include "crypto.h"
#include "headers_encode.h"
#include "identity.h"
#include "redirect.h"

#define LOA "http://eidas.europa.eu/LoA/"
#define CZ1 "http://schemas.eidentita.cz/moris/2016/identity/claims/"
#define CZ2 "http://schemas.identitaobcana.cz/moris/2016/identity/claims/"
#define STATUS "urn:oasis:names:tc:SAML:2.0:status:"
#define BSI "CZ/CZ/ff70c9dd-6a05-4068-aaa2-b57be4f328e9"
#define NELTS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- stand-ins for the httpd runtime config.c links against: the module
 * record (only its index is read) and the server root resolution. */

module AP_MODULE_DECLARE_DATA kmen_module;

char *ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    return fname[0] == '/' ? apr_pstrdup(p, fname) : apr_pstrcat(p, "/srv/httpd/", fname, NULL);
}

/* ---- levels of assurance */

START_TEST(loa_from_uri_accepts_the_three_eidas_uris)
{
    ck_assert_int_eq(kmen_loa_from_uri(LOA "low"), KMEN_LOA_LOW);
    ck_assert_int_eq(kmen_loa_from_uri(LOA "substantial"), KMEN_LOA_SUBSTANTIAL);
    ck_assert_int_eq(kmen_loa_from_uri(LOA "high"), KMEN_LOA_HIGH);
}
END_TEST

START_TEST(loa_from_uri_refuses_anything_else)
{
    static const char *const refused[] = {LOA "High",
                                          LOA "SUBSTANTIAL",
                                          "HTTP://EIDAS.EUROPA.EU/LoA/high",
                                          LOA "medium",
                                          LOA "",
                                          LOA,
                                          "http://eidas.europa.eu/LoA",
                                          LOA "high/",
                                          LOA "highx",
                                          "https://eidas.europa.eu/LoA/high",
                                          "high",
                                          ""};
    for (size_t i = 0; i < NELTS(refused); i++)
        ck_assert_msg(kmen_loa_from_uri(refused[i]) == KMEN_LOA_NONE, "accepted %s", refused[i]);
    ck_assert_int_eq(kmen_loa_from_uri(NULL), KMEN_LOA_NONE);
}
END_TEST

START_TEST(loa_order_is_low_substantial_high)
{
    ck_assert_int_lt(KMEN_LOA_NONE, kmen_loa_from_uri(LOA "low"));
    ck_assert_int_lt(kmen_loa_from_uri(LOA "low"), kmen_loa_from_uri(LOA "substantial"));
    ck_assert_int_lt(kmen_loa_from_uri(LOA "substantial"), kmen_loa_from_uri(LOA "high"));
}
END_TEST

START_TEST(loa_from_name_ignores_case)
{
    ck_assert_int_eq(kmen_loa_from_name("low"), KMEN_LOA_LOW);
    ck_assert_int_eq(kmen_loa_from_name("Substantial"), KMEN_LOA_SUBSTANTIAL);
    ck_assert_int_eq(kmen_loa_from_name("HIGH"), KMEN_LOA_HIGH);
    ck_assert_int_eq(kmen_loa_from_name("medium"), KMEN_LOA_NONE);
    ck_assert_int_eq(kmen_loa_from_name("none"), KMEN_LOA_NONE);
    ck_assert_int_eq(kmen_loa_from_name(""), KMEN_LOA_NONE);
    ck_assert_int_eq(kmen_loa_from_name(NULL), KMEN_LOA_NONE);
}
END_TEST

START_TEST(loa_name_and_uri_round_trip)
{
    for (int i = KMEN_LOA_LOW; i <= KMEN_LOA_HIGH; i++) {
        ck_assert_int_eq(kmen_loa_from_name(kmen_loa_name((kmen_loa)i)), i);
        ck_assert_int_eq(kmen_loa_from_uri(kmen_loa_uri((kmen_loa)i)), i);
    }
    ck_assert_str_eq(kmen_loa_uri(KMEN_LOA_SUBSTANTIAL), LOA "substantial");
    ck_assert_str_eq(kmen_loa_name(KMEN_LOA_NONE), "none");
    ck_assert_ptr_null(kmen_loa_uri(KMEN_LOA_NONE));
}
END_TEST

/* ---- identity mapping */

#define PID KMEN_EIDAS_NP "PersonIdentifier"

/* Ends with {NULL, NULL}. */
static apr_array_header_t *attrs_of(const kmen_attr *pairs)
{
    apr_array_header_t *a = apr_array_make(pool, 16, sizeof(kmen_attr));
    for (; pairs->name; pairs++)
        *(kmen_attr *)apr_array_push(a) = *pairs;
    return a;
}

static const char *identity_of(const kmen_attr *pairs, const char *home, kmen_identity *id,
                               int *failed)
{
    memset(id, 0, sizeof(*id));
    *failed = -1;
    return kmen_identity_from_attributes(pool, attrs_of(pairs), home, id, failed);
}

static void assert_identity_ok(const kmen_attr *pairs, const char *home, kmen_identity *id)
{
    int failed;
    const char *err = identity_of(pairs, home, id, &failed);
    ck_assert_msg(err == NULL, "refused: %s", err ? err : "");
    ck_assert_int_eq(failed, 0);
}

START_TEST(identity_maps_eidas_and_stork_attributes)
{
    static const kmen_attr pairs[] = {{PID, BSI},
                                      {KMEN_EIDAS_NP "CurrentGivenName", "Jiří"},
                                      {KMEN_EIDAS_NP "CurrentFamilyName", "Novák"},
                                      {KMEN_EIDAS_NP "DateOfBirth", "1980-02-29"},
                                      {KMEN_EIDAS_NP "PlaceOfBirth", "Brno"},
                                      {KMEN_EIDAS_NP "CurrentAddress", "Praha 1"},
                                      {KMEN_STORK "eMail", "jiri@example.cz"},
                                      {KMEN_STORK "isAgeOver", "18"},
                                      {KMEN_STORK "countryCodeOfBirth", "CZ"},
                                      {NULL, NULL}};
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    ck_assert_str_eq(id.pseudonym, BSI);
    ck_assert_str_eq(id.given_name, "Jiří");
    ck_assert_str_eq(id.family_name, "Novák");
    ck_assert_str_eq(id.birth_date, "1980-02-29");
    ck_assert_str_eq(id.birth_place, "Brno");
    ck_assert_str_eq(id.address, "Praha 1");
    ck_assert_str_eq(id.email, "jiri@example.cz");
    ck_assert_str_eq(id.is_age_over, "18");
    ck_assert_str_eq(id.country_of_birth, "CZ");
    ck_assert_ptr_null(id.phone);
}
END_TEST

static void assert_czech_claims(const char *ns)
{
    const kmen_attr pairs[] = {{PID, BSI},
                               {apr_pstrcat(pool, ns, "phonenumber", NULL), "+420123456789"},
                               {apr_pstrcat(pool, ns, "tradresaid", NULL), "21747288"},
                               {apr_pstrcat(pool, ns, "idtype", NULL), "ID"},
                               {apr_pstrcat(pool, ns, "idnumber", NULL), "123456789"},
                               {NULL, NULL}};
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    ck_assert_str_eq(id.phone, "+420123456789");
    ck_assert_str_eq(id.address_id, "21747288");
    ck_assert_str_eq(id.id_type, "ID");
    ck_assert_str_eq(id.id_number, "123456789");
}

START_TEST(identity_maps_czech_claims_eidentita_namespace)
{
    assert_czech_claims(CZ1);
}
END_TEST

START_TEST(identity_maps_czech_claims_identitaobcana_namespace)
{
    assert_czech_claims(CZ2);
}
END_TEST

START_TEST(identity_ignores_unknown_attributes)
{
    static const kmen_attr pairs[] = {{PID, BSI},
                                      {KMEN_EIDAS_NP "Gender", "Male"},
                                      {"http://example.org/phonenumber", "+1555"},
                                      {NULL, NULL}};
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    ck_assert_ptr_null(id.phone);
    ck_assert_ptr_null(id.given_name);
}
END_TEST

/* The released attributes nothing maps, as kmen_released hands them to the
 * header code: "name=value" in release order, joined by '|'. */
static const char *released_of(const kmen_attr *pairs)
{
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    apr_array_header_t *r = kmen_released(pool, &id),
                       *parts = apr_array_make(pool, 4, sizeof(char *));
    for (int i = 0; i < r->nelts; i++) {
        const kmen_attr *a = &APR_ARRAY_IDX(r, i, kmen_attr);
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(pool, a->name, "=", a->value, NULL);
    }
    return apr_array_pstrcat(pool, parts, '|');
}

START_TEST(identity_releases_unmapped_attributes)
{
    static const kmen_attr pairs[] = {{PID, BSI},
                                      {KMEN_EIDAS_NP "CurrentGivenName", "Jan"},
                                      {KMEN_EIDAS_NP "BirthName", "Nov\xc3\xa1k\r\nX-Evil: 1"},
                                      {"urn:x:my attr_1.v2", "a"},
                                      {KMEN_EIDAS_NP "BirthName", "second value"},
                                      {"http://example.org/ns#Gender", "M"},
                                      {NULL, NULL}};
    /* mapped ones are not repeated; the name is the last segment, every byte that is not
     * a letter, digit or '-' made '-'; a name's first value counts; the value is kept
     * (the header code encodes it) */
    ck_assert_str_eq(released_of(pairs),
                     "BirthName=Nov\xc3\xa1k\r\nX-Evil: 1|my-attr-1-v2=a|Gender=M");
}
END_TEST

/* No identifier leaves through this path: not by its name (any namespace, any
 * case), not inside another attribute's value. */
START_TEST(identity_releases_no_identifier)
{
    static const kmen_attr pairs[] = {
        {PID, BSI},
        {"http://example.org/PersonIdentifier", "x"},
        {KMEN_EIDAS_NP "LegalPersonIdentifier", "CZ/CZ/123"},
        {"urn:x:AIFO", "x"},
        {"urn:x:bsi", "x"},
        {"urn:x:personidentifier", "x"},
        {"urn:x:Note", "id " BSI},
        {"urn:x:Tail", "ff70c9dd-6a05-4068-aaa2-b57be4f328e9"},
        {KMEN_ATTR_STATUSCODE, "urn:oasis:names:tc:SAML:2.0:status:Success"},
        {"urn:x:Ok", "fine"},
        {NULL, NULL}};
    ck_assert_str_eq(released_of(pairs), "Ok=fine");
}
END_TEST

/* At most 16 attributes, names cut at 64 bytes, values over 4 KiB left out. */
START_TEST(identity_releases_bounded)
{
    kmen_attr pairs[40] = {{PID, BSI}};
    char *big = apr_pcalloc(pool, 4098);
    memset(big, 'v', 4097);
    pairs[1] = (kmen_attr){apr_pstrcat(pool, "urn:x:", apr_pstrndup(pool, big, 100), NULL), "a"};
    pairs[2] = (kmen_attr){"urn:x:Big", big};
    for (int i = 3; i < 30; i++)
        pairs[i] = (kmen_attr){apr_psprintf(pool, "urn:x:A%d", i), "v"};
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    apr_array_header_t *r = kmen_released(pool, &id);
    ck_assert_int_eq(r->nelts, 16);
    ck_assert_int_eq((int)strlen(APR_ARRAY_IDX(r, 0, kmen_attr).name), 64);
    ck_assert_str_eq(APR_ARRAY_IDX(r, 1, kmen_attr).name, "A3");
}
END_TEST

START_TEST(identity_home_country_is_nia)
{
    static const kmen_attr pairs[] = {{PID, BSI}, {NULL, NULL}};
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    ck_assert_int_eq(id.origin, KMEN_ORIGIN_NIA);
    ck_assert_str_eq(id.country, "CZ");
    ck_assert_str_eq(kmen_origin_name(id.origin), "nia");
    assert_identity_ok(pairs, "cz", &id);
    ck_assert_int_eq(id.origin, KMEN_ORIGIN_NIA);
}
END_TEST

START_TEST(identity_foreign_country_is_eidas)
{
    static const kmen_attr pairs[] = {{PID, "DE/CZ/abc123XYZ="}, {NULL, NULL}};
    kmen_identity id;
    assert_identity_ok(pairs, "CZ", &id);
    ck_assert_int_eq(id.origin, KMEN_ORIGIN_EIDAS);
    ck_assert_str_eq(id.country, "DE");
    ck_assert_str_eq(kmen_origin_name(id.origin), "eidas");
    ck_assert_str_eq(id.pseudonym, "DE/CZ/abc123XYZ=");
}
END_TEST

START_TEST(identity_without_person_identifier_refused)
{
    static const kmen_attr none[] = {{KMEN_EIDAS_NP "CurrentGivenName", "Jiří"}, {NULL, NULL}};
    static const kmen_attr empty[] = {{PID, ""}, {NULL, NULL}};
    kmen_identity id;
    int failed;
    ck_assert_ptr_nonnull(identity_of(none, "CZ", &id, &failed));
    ck_assert_int_eq(failed, 0);
    ck_assert_ptr_nonnull(identity_of(empty, "CZ", &id, &failed));
}
END_TEST

START_TEST(identity_malformed_person_identifier_refused)
{
    static const char *const malformed[] = {
        "CZ",         "CZ/",        "CZ/CZ",      "CZ/CZ/",       "CZE/CZ/x",  "C/CZ/x",
        "CZ/CZE/x",   "CZ/C/x",     "/CZ/x",      "CZ//x",        "CZ/CZ/a b", "CZ/CZ/a\tb",
        "CZ/CZ/a\nb", "CZ/CZ/\x7f", "CZ/CZ/Jiří", "\xc5\xbd/CZ/x"};
    for (size_t i = 0; i < NELTS(malformed); i++) {
        const kmen_attr pairs[] = {{PID, malformed[i]}, {NULL, NULL}};
        kmen_identity id;
        int failed;
        ck_assert_msg(identity_of(pairs, "CZ", &id, &failed) != NULL, "accepted #%zu: %s", i,
                      malformed[i]);
    }
}
END_TEST

/* NIA reports some failed logins inside an otherwise successful Response, as
 * an attribute: the login must not go through. */
START_TEST(identity_authn_failed_status_attribute_sets_failed)
{
    static const kmen_attr alone[] = {{KMEN_ATTR_STATUSCODE, STATUS "AuthnFailed"}, {NULL, NULL}};
    static const kmen_attr with_bsi[] = {
        {PID, BSI}, {KMEN_ATTR_STATUSCODE, STATUS "AuthnFailed"}, {NULL, NULL}};
    kmen_identity id;
    int failed;
    identity_of(alone, "CZ", &id, &failed);
    ck_assert_int_eq(failed, 1);
    identity_of(with_bsi, "CZ", &id, &failed);
    ck_assert_int_eq(failed, 1);
}
END_TEST

START_TEST(identity_success_status_attribute_is_not_failed)
{
    static const kmen_attr pairs[] = {
        {KMEN_ATTR_STATUSCODE, STATUS "Success"}, {PID, BSI}, {NULL, NULL}};
    kmen_identity id;
    int failed = 1;
    memset(&id, 0, sizeof(id));
    ck_assert_ptr_null(kmen_identity_from_attributes(pool, attrs_of(pairs), "CZ", &id, &failed));
    ck_assert_int_eq(failed, 0);
    ck_assert_str_eq(id.pseudonym, BSI);
}
END_TEST

START_TEST(identity_fields_table_reads_the_identity)
{
    kmen_identity id;
    memset(&id, 0, sizeof(id));
    id.email = "jiri@example.cz";
    int seen = 0;
    for (const kmen_identity_field *f = kmen_identity_fields; f->key; f++) {
        if (strcmp(f->key, "email") == 0) {
            ck_assert_str_eq(kmen_identity_field_value(&id, f), "jiri@example.cz");
            *kmen_identity_field_slot(&id, f) = "other@example.cz";
            seen = 1;
        } else {
            ck_assert_ptr_null(kmen_identity_field_value(&id, f));
        }
    }
    ck_assert_int_eq(seen, 1);
    ck_assert_str_eq(id.email, "other@example.cz");
}
END_TEST

START_TEST(identity_two_person_identifiers_refused)
{
    static const kmen_attr pairs[] = {{PID, BSI}, {PID, "CZ/CZ/someone-else"}, {NULL, NULL}};
    kmen_identity id;
    int failed;
    const char *why = identity_of(pairs, "CZ", &id, &failed);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, "more than one PersonIdentifier");
}
END_TEST

/* ---- paths */

START_TEST(path_under_takes_whole_segments)
{
    ck_assert_int_ne(kmen_path_is_under("/app/verify", "/app/verify"), 0);
    ck_assert_int_ne(kmen_path_is_under("/app/verify/x", "/app/verify"), 0);
    ck_assert_int_ne(kmen_path_is_under("/app/verify/x", "/app/verify/"), 0);
    ck_assert_int_ne(kmen_path_is_under("/app/verify", "/app/verify?step=1"), 0);
    ck_assert_int_eq(kmen_path_is_under("/app/verifyX", "/app/verify"), 0);
    ck_assert_int_eq(kmen_path_is_under("/app/verif", "/app/verify"), 0);
    ck_assert_int_eq(kmen_path_is_under("/app/verify", NULL), 0);
}
END_TEST

/* ---- ReturnTo */

START_TEST(return_to_local_paths_accepted)
{
    static const char *const ok[] = {"/", "/app/", "/app/x?y=1&z=%2F", "/a-b_c~d", "/a.b/..c/.d"};
    for (size_t i = 0; i < NELTS(ok); i++)
        ck_assert_msg(kmen_return_to_is_local(ok[i]), "refused %s", ok[i]);
}
END_TEST

START_TEST(return_to_other_hosts_and_odd_bytes_refused)
{
    static const char *const refused[] = {
        "",        "app",      "//evil",       "///evil",
        "/\\evil", "\\\\evil", "http://evil",  "javascript:alert(1)",
        "/a\tb",   "/\t/evil", "/a\nb",        "/a\rb",
        "/a b",    "/\x7f",    "/caf\xc3\xa9", "/./x",
        "/../x",   "/a/./b",   "/a/..",        "/.",
        "/a/../?x"};
    for (size_t i = 0; i < NELTS(refused); i++)
        ck_assert_msg(!kmen_return_to_is_local(refused[i]), "accepted #%zu", i);
    ck_assert_int_eq(kmen_return_to_is_local(NULL), 0);
}
END_TEST

static char *path_of_length(size_t len)
{
    char *path = apr_palloc(pool, len + 1);
    path[0] = '/';
    memset(path + 1, 'a', len - 1);
    path[len] = '\0';
    return path;
}

START_TEST(return_to_length_limit_is_1024)
{
    ck_assert_int_ne(kmen_return_to_is_local(path_of_length(1024)), 0);
    ck_assert_int_eq(kmen_return_to_is_local(path_of_length(1025)), 0);
}
END_TEST

/* ---- header values */

START_TEST(header_percent_encodes_non_ascii_percent_and_space)
{
    ck_assert_str_eq(kmen_header_encode(pool, "Jiří", KMEN_ENCODING_PERCENT), "Ji%C5%99%C3%AD");
    ck_assert_str_eq(kmen_header_encode(pool, "a%b", KMEN_ENCODING_PERCENT), "a%25b");
    ck_assert_str_eq(kmen_header_encode(pool, "a b", KMEN_ENCODING_PERCENT), "a%20b");
    ck_assert_str_eq(kmen_header_encode(pool, "\x7f", KMEN_ENCODING_PERCENT), "%7F");
    ck_assert_str_eq(kmen_header_encode(pool, "A-z_0.~/:?", KMEN_ENCODING_PERCENT), "A-z_0.~/:?");
    ck_assert_str_eq(kmen_header_encode(pool, "", KMEN_ENCODING_PERCENT), "");
}
END_TEST

START_TEST(header_percent_encodes_cr_lf)
{
    const char *v = kmen_header_encode(pool, "x\r\nSet-Cookie: a=b", KMEN_ENCODING_PERCENT);
    ck_assert_str_eq(v, "x%0D%0ASet-Cookie:%20a=b");
    ck_assert_ptr_null(strpbrk(v, "\r\n"));
}
END_TEST

START_TEST(header_raw_drops_controls_keeps_utf8)
{
    ck_assert_str_eq(kmen_header_encode(pool,
                                        "a\r\nb\tc\x7f"
                                        "d\x01",
                                        KMEN_ENCODING_RAW),
                     "abcd");
    ck_assert_str_eq(kmen_header_encode(pool, "Jiří Novák", KMEN_ENCODING_RAW), "Jiří Novák");
}
END_TEST

START_TEST(header_base64url_encodes_whole_value)
{
    /* printf 'Jiří' | base64 | tr '+/' '-_' | tr -d '=' */
    ck_assert_str_eq(kmen_header_encode(pool, "Jiří", KMEN_ENCODING_BASE64URL), "SmnFmcOt");
    /* standard base64 "+/8=": the URL alphabet and no padding */
    ck_assert_str_eq(kmen_header_encode(pool, "\xfb\xff", KMEN_ENCODING_BASE64URL), "-_8");
}
END_TEST

/* ---- header names */

START_TEST(header_names_matching_prefix_are_spoofable)
{
    static const char *const spoof[] = {"Kmen-Client-Id", "kmen-client-id", "KMEN_CLIENT_ID",
                                        "Kmen_LoA",       "kMeN-oRiGiN",    "Kmen-"};
    for (size_t i = 0; i < NELTS(spoof); i++)
        ck_assert_msg(kmen_header_is_spoofable(spoof[i], "Kmen-"), "not spoofable: %s", spoof[i]);
}
END_TEST

START_TEST(header_names_without_prefix_are_not_spoofable)
{
    static const char *const safe[] = {"Kmen", "Kme", "X-Kmen-Id", "Kmenx-Id", "Accept", ""};
    for (size_t i = 0; i < NELTS(safe); i++)
        ck_assert_msg(!kmen_header_is_spoofable(safe[i], "Kmen-"), "spoofable: %s", safe[i]);
}
END_TEST

START_TEST(header_spoofing_follows_configured_prefix)
{
    ck_assert_int_ne(kmen_header_is_spoofable("x_portal_name", "X-Portal-"), 0);
    ck_assert_int_ne(kmen_header_is_spoofable("X-PORTAL-LOA", "X-Portal-"), 0);
    ck_assert_int_eq(kmen_header_is_spoofable("Kmen-Name", "X-Portal-"), 0);
    ck_assert_int_eq(kmen_header_is_spoofable("X-Portal", "X-Portal-"), 0);
}
END_TEST

START_TEST(header_table_has_prefix_whatever_the_case_and_place)
{
    apr_table_t *t = apr_table_make(pool, 4);
    apr_table_set(t, "ETag", "\"x\"");
    apr_table_set(t, "Last-Modified", "now");
    ck_assert_int_eq(kmen_header_table_has_prefix(t, "Kmen-"), 0);
    apr_table_set(t, "kMEN-Logout", "1");
    ck_assert_int_ne(kmen_header_table_has_prefix(t, "Kmen-"), 0);
    ck_assert_int_eq(kmen_header_table_has_prefix(t, "X-Portal-"), 0);
    apr_table_set(t, "x-portal-logout", "1");
    ck_assert_int_ne(kmen_header_table_has_prefix(t, "X-Portal-"), 0);
    ck_assert_int_eq(kmen_header_table_has_prefix(apr_table_make(pool, 1), "Kmen-"), 0);
}
END_TEST

/* ---- crypto */

/* Two keys that differ in their last byte only. */
static const unsigned char key1[KMEN_HASH_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static const unsigned char key2[KMEN_HASH_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, [31] = 1};
static const char plain[] = "given=Jiří\nfamily=Novák";
static const char aad[] = "session:abc";

static unsigned char *seal(apr_size_t *len)
{
    unsigned char *s = kmen_seal(pool, key1, aad, strlen(aad), plain, strlen(plain), len);
    ck_assert_ptr_nonnull(s);
    return s;
}

static char *open_with(const unsigned char *key, const char *ad, const unsigned char *s,
                       apr_size_t len)
{
    apr_size_t out_len = 0;
    return kmen_open(pool, key, ad, strlen(ad), s, len, &out_len);
}

START_TEST(seal_open_round_trip)
{
    apr_size_t len, out_len = 0;
    unsigned char *s = seal(&len);
    ck_assert_uint_eq(len, 12 + strlen(plain) + 16);
    char *out = kmen_open(pool, key1, aad, strlen(aad), s, len, &out_len);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, plain);
    ck_assert_uint_eq(out_len, strlen(plain));
}
END_TEST

START_TEST(open_with_wrong_key_fails)
{
    apr_size_t len;
    unsigned char *s = seal(&len);
    ck_assert_ptr_null(open_with(key2, aad, s, len));
}
END_TEST

START_TEST(open_with_wrong_aad_fails)
{
    apr_size_t len;
    unsigned char *s = seal(&len);
    ck_assert_ptr_null(open_with(key1, "session:abd", s, len));
    ck_assert_ptr_null(open_with(key1, "", s, len));
}
END_TEST

/* Nonce, ciphertext and tag: a flipped bit anywhere is caught. */
START_TEST(open_of_flipped_byte_fails)
{
    apr_size_t len;
    unsigned char *s = seal(&len);
    for (apr_size_t i = 0; i < len; i++) {
        s[i] ^= 0x01;
        ck_assert_msg(open_with(key1, aad, s, len) == NULL, "flip at %zu accepted", (size_t)i);
        s[i] ^= 0x01;
    }
    ck_assert_ptr_nonnull(open_with(key1, aad, s, len));
}
END_TEST

START_TEST(open_of_truncated_input_fails)
{
    apr_size_t len;
    unsigned char *s = seal(&len);
    ck_assert_ptr_null(open_with(key1, aad, s, len - 1));
    ck_assert_ptr_null(open_with(key1, aad, s, 28));
    ck_assert_ptr_null(open_with(key1, aad, s, 27));
    ck_assert_ptr_null(open_with(key1, aad, s, 0));
}
END_TEST

START_TEST(seal_twice_differs)
{
    apr_size_t len1, len2;
    unsigned char *s1 = seal(&len1), *s2 = seal(&len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert_int_ne(memcmp(s1, s2, 12), 0);
    ck_assert_int_ne(memcmp(s1 + 12, s2 + 12, len1 - 12), 0);
}
END_TEST

static int compare_nonces(const void *a, const void *b)
{
    return memcmp(*(const unsigned char *const *)a, *(const unsigned char *const *)b, 12);
}

/* More seals than one batch of nonces holds (crypto.c draws 256 at a time):
 * no nonce comes twice. */
START_TEST(seal_nonces_never_repeat)
{
    enum { SEALS = 1000 };
    unsigned char *nonce[SEALS];
    apr_size_t len;
    for (int i = 0; i < SEALS; i++)
        nonce[i] = seal(&len);
    qsort(nonce, SEALS, sizeof(nonce[0]), compare_nonces);
    for (int i = 1; i < SEALS; i++)
        ck_assert_int_ne(memcmp(nonce[i - 1], nonce[i], 12), 0);
}
END_TEST

/* A child forked while its parent holds a batch of nonces draws its own: the
 * parent's next nonce and the child's first differ. */
START_TEST(seal_forked_child_draws_its_own_nonces)
{
    apr_size_t len;
    int fds[2];
    unsigned char child_nonce[12];
    seal(&len);
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ssize_t n = write(fds[1], seal(&len), 12);
        _exit(n == 12 ? 0 : 1);
    }
    unsigned char *parent_nonce = seal(&len);
    ck_assert_int_eq(read(fds[0], child_nonce, 12), 12);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_ne(memcmp(parent_nonce, child_nonce, 12), 0);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(base64url_rfc4648_vectors)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < NELTS(in); i++)
        ck_assert_str_eq(kmen_base64url(pool, (const unsigned char *)in[i], strlen(in[i])), out[i]);
}
END_TEST

START_TEST(hex_is_lowercase_two_digits_per_byte)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0xab, 0xff};
    ck_assert_str_eq(kmen_hex(pool, bytes, sizeof(bytes)), "00017fabff");
    ck_assert_str_eq(kmen_hex(pool, bytes, 0), "");
}
END_TEST

START_TEST(sha256_fips180_abc)
{
    unsigned char md[KMEN_HASH_LEN];
    kmen_sha256("abc", 3, md);
    ck_assert_str_eq(kmen_hex(pool, md, sizeof(md)),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(hmac_sha256_rfc4231_case2)
{
    static const char data[] = "what do ya want for nothing?";
    unsigned char mac[KMEN_HASH_LEN];
    kmen_hmac_sha256((const unsigned char *)"Jefe", 4, data, strlen(data), mac);
    ck_assert_str_eq(kmen_hex(pool, mac, sizeof(mac)),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(derive_key_differs_per_purpose_and_master)
{
    unsigned char k[3][KMEN_HASH_LEN], again[KMEN_HASH_LEN], other[KMEN_HASH_LEN];
    kmen_derive_key(key1, KMEN_KEY_SESSION_SEAL, k[0]);
    kmen_derive_key(key1, KMEN_KEY_BLIND_INDEX, k[1]);
    kmen_derive_key(key1, KMEN_KEY_REGISTER_SEAL, k[2]);
    ck_assert_int_ne(memcmp(k[0], k[1], KMEN_HASH_LEN), 0);
    ck_assert_int_ne(memcmp(k[0], k[2], KMEN_HASH_LEN), 0);
    ck_assert_int_ne(memcmp(k[1], k[2], KMEN_HASH_LEN), 0);
    ck_assert_int_ne(memcmp(k[0], key1, KMEN_HASH_LEN), 0);
    kmen_derive_key(key1, KMEN_KEY_SESSION_SEAL, again);
    ck_assert_int_eq(memcmp(k[0], again, KMEN_HASH_LEN), 0);
    kmen_derive_key(key2, KMEN_KEY_SESSION_SEAL, other);
    ck_assert_int_ne(memcmp(k[0], other, KMEN_HASH_LEN), 0);
}
END_TEST

START_TEST(random_token_is_43_base64url_chars_for_32_bytes)
{
    const char *t1 = kmen_random_token(pool, 32), *t2 = kmen_random_token(pool, 32);
    ck_assert_ptr_nonnull(t1);
    ck_assert_uint_eq(strlen(t1), 43);
    ck_assert_uint_eq(
        strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    ck_assert_str_ne(t1, t2);
}
END_TEST

START_TEST(equal_const_time_compares_all_bytes)
{
    ck_assert_int_ne(kmen_equal_const_time(key1, key1, KMEN_HASH_LEN), 0);
    ck_assert_int_eq(kmen_equal_const_time(key1, key2, KMEN_HASH_LEN), 0);
    ck_assert_int_ne(kmen_equal_const_time(key1, key2, KMEN_HASH_LEN - 1), 0);
}
END_TEST

/* ---- directive handlers (apache/config.c), on configurations the core creates */

static kmen_server_conf *server_conf(void)
{
    return kmen_server_conf_new(pool);
}

static kmen_dir_conf *dir_conf(void)
{
    return kmen_dir_conf_new(pool);
}

static cmd_parms *fake_cmd(void)
{
    cmd_parms *cmd = apr_pcalloc(pool, sizeof(*cmd));
    cmd->pool = pool;
    cmd->temp_pool = pool;
    return cmd;
}

/* A directory directive's: cmd->info the offset of the field it sets. */
static cmd_parms *dir_cmd(size_t offset)
{
    cmd_parms *cmd = fake_cmd();
    cmd->info = (void *)offset;
    return cmd;
}

#define REQUESTED_CMD dir_cmd(offsetof(kmen_dir_conf, requested))

START_TEST(requested_short_name_gets_eidas_namespace)
{
    kmen_dir_conf *d = dir_conf();
    ck_assert_ptr_null(kmen_add_requested_attribute(REQUESTED_CMD, d, "DateOfBirth!"));
    ck_assert_ptr_null(kmen_add_requested_attribute(REQUESTED_CMD, d, "PlaceOfBirth"));
    const apr_array_header_t *req = kmen_dir_requested(d);
    ck_assert_int_eq(req->nelts, 2);
    const kmen_requested_attr *a = (const kmen_requested_attr *)req->elts;
    ck_assert_str_eq(a[0].name, KMEN_EIDAS_NP "DateOfBirth");
    ck_assert_int_eq(a[0].required, 1);
    ck_assert_str_eq(a[1].name, KMEN_EIDAS_NP "PlaceOfBirth");
    ck_assert_int_eq(a[1].required, 0);
}
END_TEST

START_TEST(requested_full_uri_passes_unchanged)
{
    kmen_dir_conf *d = dir_conf();
    kmen_add_requested_attribute(REQUESTED_CMD, d, CZ2 "phonenumber");
    kmen_add_requested_attribute(REQUESTED_CMD, d, KMEN_STORK "eMail!");
    const kmen_requested_attr *a = (const kmen_requested_attr *)d->requested->elts;
    ck_assert_str_eq(a[0].name, CZ2 "phonenumber");
    ck_assert_int_eq(a[0].required, 0);
    ck_assert_str_eq(a[1].name, KMEN_STORK "eMail");
    ck_assert_int_eq(a[1].required, 1);
}
END_TEST

START_TEST(requested_value_and_stork_czech_short_names)
{
    kmen_dir_conf *d = dir_conf();
    ck_assert_ptr_null(kmen_add_requested_attribute(REQUESTED_CMD, d, "isAgeOver=18!"));
    ck_assert_ptr_null(kmen_add_requested_attribute(REQUESTED_CMD, d, "age"));
    ck_assert_ptr_null(kmen_add_requested_attribute(REQUESTED_CMD, d, "tradresaid"));
    ck_assert_ptr_null(kmen_add_requested_attribute(REQUESTED_CMD, d, CZ2 "idtype=x=y"));
    const kmen_requested_attr *a = (const kmen_requested_attr *)d->requested->elts;
    ck_assert_str_eq(a[0].name, KMEN_STORK "isAgeOver");
    ck_assert_str_eq(a[0].value, "18");
    ck_assert_int_eq(a[0].required, 1);
    ck_assert_str_eq(a[1].name, KMEN_STORK "age");
    ck_assert_ptr_null(a[1].value);
    ck_assert_int_eq(a[1].required, 0);
    ck_assert_str_eq(a[2].name, CZ1 "tradresaid");
    ck_assert_str_eq(a[3].name, CZ2 "idtype"); /* the value is all after the first = */
    ck_assert_str_eq(a[3].value, "x=y");
    ck_assert_ptr_nonnull(kmen_add_requested_attribute(REQUESTED_CMD, d, "isAgeOver=!"));
    ck_assert_ptr_nonnull(kmen_add_requested_attribute(REQUESTED_CMD, d, "=18"));
    ck_assert_ptr_nonnull(kmen_add_requested_attribute(REQUESTED_CMD, d, "!"));
    ck_assert_int_eq(d->requested->nelts, 4);
}
END_TEST

/* NIA's CurrentAddress of the 2019 test Response (t/fixtures/nia-test-2019),
 * as the attribute carries it: base64 of a fragment with CRLF between
 * elements and an undeclared eidas: prefix. */
#define NIA_ADDRESS                                                                                \
    "PGVpZGFzOkxvY2F0b3JEZXNpZ25hdG9yPjEwPC9laWRhczpMb2NhdG9yRGVzaWduYXRvcj4NCjxlaWRhczpUaG9yb3Vn" \
    "aGZhcmU+WmEgcGlsb3U8L2VpZGFzOlRob3JvdWdoZmFyZT4NCjxlaWRhczpQb3N0TmFtZT7EjGVza8OhIEthbWVuaWNl" \
    "PC9laWRhczpQb3N0TmFtZT4NCjxlaWRhczpQb3N0Q29kZT40MDcyMTwvZWlkYXM6UG9zdENvZGU+DQo8ZWlkYXM6Q3Zh" \
    "ZGRyZXNzQXJlYT7EjGVza8OhIEthbWVuaWNlLCBEb2xuw60gS2FtZW5pY2U8L2VpZGFzOkN2YWRkcmVzc0FyZWE+DQo="

START_TEST(address_of_nia_fixture_decoded)
{
    kmen_address a = {0};
    ck_assert_int_eq(kmen_address_from_base64(pool, NIA_ADDRESS, &a), 1);
    ck_assert_str_eq(a.number, "10");
    ck_assert_str_eq(a.street, "Za pilou");
    ck_assert_str_eq(a.town, "\xc4\x8c"
                             "esk\xc3\xa1 Kamenice");
    ck_assert_str_eq(a.postcode, "40721");
    ck_assert_str_eq(a.area, "\xc4\x8c"
                             "esk\xc3\xa1 Kamenice, Doln\xc3\xad Kamenice");
    ck_assert_ptr_null(a.ruian_id);
}
END_TEST

START_TEST(address_parts_into_identity)
{
    kmen_identity id = {0};
    id.address = NIA_ADDRESS;
    /* tradresaid: the RUIAN address point, and a house number the address already has */
    const char *tr = "<TRadresaID><adresniMistoKod> 21710201 </adresniMistoKod>"
                     "<LocatorDesignator>99</LocatorDesignator></TRadresaID>";
    char *b64 = apr_palloc(pool, (apr_size_t)apr_base64_encode_len((int)strlen(tr)));
    apr_base64_encode(b64, tr, (int)strlen(tr));
    id.address_id = b64;
    kmen_identity_add_address(pool, &id);
    ck_assert_str_eq(id.address_street, "Za pilou");
    ck_assert_str_eq(id.address_number, "10");
    ck_assert_str_eq(id.address_ruian_id, "21710201");
    ck_assert_str_eq(id.address, NIA_ADDRESS); /* the raw value stays */
}
END_TEST

START_TEST(address_not_a_fragment_gives_nothing)
{
    static const char *const bad[] = {
        "<eidas:PostCode>1</eidas:PostCode></kmen-address><x>", /* leaves the wrapper */
        "<!DOCTYPE x [<!ENTITY e \"big\">]><eidas:PostCode>&e;</eidas:PostCode>",
        "<eidas:PostCode>&e;</eidas:PostCode>",  /* an entity nobody declared */
        "<eidas:PostCode>\xff</eidas:PostCode>", /* not UTF-8 */
        "<eidas:PostCode>1</eidas:PostCode",
        NULL};
    for (const char *const *b = bad; *b; b++) {
        kmen_address a = {0};
        ck_assert_msg(kmen_address_parse(pool, *b, strlen(*b), &a) == 0, "%s", *b);
        ck_assert_ptr_null(a.postcode);
    }
    kmen_address a = {0};
    const char *blank = "<x:PostCode> </x:PostCode><PostName>A&amp;B</PostName>";
    ck_assert_int_eq(kmen_address_parse(pool, blank, strlen(blank), &a), 1);
    ck_assert_ptr_null(a.postcode); /* blank: no part */
    ck_assert_str_eq(a.town, "A&B");
    ck_assert_int_eq(kmen_address_parse(pool, "<PostName>A</PostName>\0<x/>", 27, &a), 0);
    ck_assert_int_eq(kmen_address_from_base64(pool, "not base64!", &a), 0);
}
END_TEST

START_TEST(set_loa_and_sp_type_validate)
{
    kmen_dir_conf *d = dir_conf();
    cmd_parms *loa = dir_cmd(offsetof(kmen_dir_conf, min_loa));
    cmd_parms *sp_type = dir_cmd(offsetof(kmen_dir_conf, sp_type));
    ck_assert_ptr_null(kmen_set_loa(loa, d, "High"));
    ck_assert_int_eq(d->min_loa, KMEN_LOA_HIGH);
    ck_assert_ptr_nonnull(kmen_set_loa(loa, d, "medium"));
    ck_assert_int_eq(d->min_loa, KMEN_LOA_HIGH);
    ck_assert_ptr_null(kmen_set_sp_type(sp_type, d, "private"));
    ck_assert_ptr_nonnull(kmen_set_sp_type(sp_type, d, "secret"));
    ck_assert_str_eq(kmen_dir_sp_type(d), "private");
}
END_TEST

/* ---- server directive handlers, on a fake server_rec whose module config
 * vector holds our server config at kmen_module's index. */

static cmd_parms *server_cmd(kmen_server_conf *c, const char *name, size_t offset)
{
    void **vector = apr_pcalloc(pool, sizeof(void *) * (size_t)(kmen_module.module_index + 1));
    command_rec *directive = apr_pcalloc(pool, sizeof(*directive));
    cmd_parms *cmd = fake_cmd();
    cmd->server = apr_pcalloc(pool, sizeof(*cmd->server));
    vector[kmen_module.module_index] = c;
    cmd->server->module_config = (ap_conf_vector_t *)vector;
    directive->name = name;
    cmd->cmd = directive;
    cmd->info = (void *)offset;
    return cmd;
}

START_TEST(set_seconds_accepts_only_a_number_in_range)
{
    kmen_server_conf *c = server_conf();
    cmd_parms *cmd =
        server_cmd(c, "KmenSessionLifetime", offsetof(kmen_server_conf, session_lifetime));
    ck_assert_ptr_null(kmen_set_server_seconds(cmd, NULL, "3600"));
    ck_assert_int_eq(c->session_lifetime, 3600);
    static const char *const bad[] = {"", "abc", "10s", "-1", "31536001"};
    for (size_t i = 0; i < NELTS(bad); i++)
        ck_assert_msg(kmen_set_server_seconds(cmd, NULL, bad[i]) != NULL, "took '%s'", bad[i]);
    ck_assert_int_eq(c->session_lifetime, 3600);
}
END_TEST

START_TEST(set_endpoint_path_needs_leading_and_no_trailing_slash)
{
    kmen_server_conf *c = server_conf();
    cmd_parms *cmd = server_cmd(c, "KmenEndpointPath", offsetof(kmen_server_conf, endpoint_path));
    ck_assert_ptr_null(kmen_set_endpoint_path(cmd, NULL, "/auth/kmen"));
    ck_assert_str_eq(c->endpoint_path, "/auth/kmen");
    ck_assert_ptr_nonnull(kmen_set_endpoint_path(cmd, NULL, "/"));
    ck_assert_ptr_nonnull(kmen_set_endpoint_path(cmd, NULL, "kmen"));
    ck_assert_ptr_nonnull(kmen_set_endpoint_path(cmd, NULL, "/kmen/"));
    ck_assert_str_eq(c->endpoint_path, "/auth/kmen");
}
END_TEST

START_TEST(set_home_country_needs_two_letters)
{
    kmen_server_conf *c = server_conf();
    cmd_parms *cmd = server_cmd(c, "KmenHomeCountry", offsetof(kmen_server_conf, home_country));
    ck_assert_ptr_null(kmen_set_home_country(cmd, NULL, "SK"));
    ck_assert_str_eq(c->home_country, "SK");
    ck_assert_ptr_nonnull(kmen_set_home_country(cmd, NULL, "CZE"));
    ck_assert_ptr_nonnull(kmen_set_home_country(cmd, NULL, "C1"));
    ck_assert_ptr_nonnull(kmen_set_home_country(cmd, NULL, ""));
    ck_assert_str_eq(c->home_country, "SK");
}
END_TEST

START_TEST(set_header_encoding_names)
{
    kmen_server_conf *c = server_conf();
    cmd_parms *cmd =
        server_cmd(c, "KmenHeaderEncoding", offsetof(kmen_server_conf, header_encoding));
    ck_assert_ptr_null(kmen_set_header_encoding(cmd, NULL, "Base64URL"));
    ck_assert_int_eq(c->header_encoding, KMEN_ENCODING_BASE64URL);
    ck_assert_ptr_null(kmen_set_header_encoding(cmd, NULL, "raw"));
    ck_assert_int_eq(c->header_encoding, KMEN_ENCODING_RAW);
    ck_assert_ptr_nonnull(kmen_set_header_encoding(cmd, NULL, "utf8"));
    ck_assert_int_eq(c->header_encoding, KMEN_ENCODING_RAW);
}
END_TEST

START_TEST(set_server_file_resolves_relative_to_server_root)
{
    kmen_server_conf *c = server_conf();
    cmd_parms *cmd =
        server_cmd(c, "KmenIdPMetadataFile", offsetof(kmen_server_conf, idp_metadata_file));
    ck_assert_ptr_null(kmen_set_server_file(cmd, NULL, "keys/nia.xml"));
    ck_assert_str_eq(c->idp_metadata_file, "/srv/httpd/keys/nia.xml");
    ck_assert_ptr_null(kmen_set_server_file(cmd, NULL, "/etc/kmen/nia.xml"));
    ck_assert_str_eq(c->idp_metadata_file, "/etc/kmen/nia.xml");
}
END_TEST

/* The first KmenSPPrivateKeyFile of a context signs, a second is the next
 * key, a third is refused; a virtual host's own key is not followed by the
 * main server's second one. */
START_TEST(sp_key_files_first_second_and_no_third)
{
    kmen_server_conf *base = server_conf(), *vhost = server_conf();
    cmd_parms *cmd =
        server_cmd(base, "KmenSPPrivateKeyFile", offsetof(kmen_server_conf, sp_key_file));
    ck_assert_ptr_null(kmen_set_sp_file(cmd, NULL, "keys/sp.key"));
    ck_assert_ptr_null(kmen_set_sp_file(cmd, NULL, "/etc/kmen/sp-next.key"));
    ck_assert_str_eq(base->sp_key_file, "/srv/httpd/keys/sp.key");
    ck_assert_str_eq(base->sp_next_key_file, "/etc/kmen/sp-next.key");
    ck_assert_str_eq(kmen_set_sp_file(cmd, NULL, "/etc/kmen/third.key"),
                     "KmenSPPrivateKeyFile given a third time: at most two, the pair in use and "
                     "the next one");
    ck_assert_str_eq(base->sp_next_key_file, "/etc/kmen/sp-next.key");
    kmen_server_conf *inherited = kmen_server_conf_merge(pool, base, vhost);
    ck_assert_str_eq(inherited->sp_next_key_file, "/etc/kmen/sp-next.key");
    ck_assert_ptr_null(kmen_set_sp_file(
        server_cmd(vhost, "KmenSPPrivateKeyFile", offsetof(kmen_server_conf, sp_key_file)), NULL,
        "/v/sp.key"));
    kmen_server_conf *own = kmen_server_conf_merge(pool, base, vhost);
    ck_assert_str_eq(own->sp_key_file, "/v/sp.key");
    ck_assert_ptr_null(own->sp_next_key_file);
}
END_TEST

/* KmenSPEncryptionKeyFile goes to its own first and second slots; a virtual
 * host with its own signing key does not take the main server's encryption
 * keys, one without keys of its own takes all of them. */
START_TEST(sp_encryption_key_files_first_second_and_inherited_with_the_signing_key)
{
    kmen_server_conf *base = server_conf(), *vhost = server_conf();
    cmd_parms *cmd =
        server_cmd(base, "KmenSPEncryptionKeyFile", offsetof(kmen_server_conf, sp_enc_key_file));
    ck_assert_ptr_null(kmen_set_sp_file(cmd, NULL, "/e/enc.key"));
    ck_assert_ptr_null(kmen_set_sp_file(cmd, NULL, "/e/enc-next.key"));
    ck_assert_str_eq(base->sp_enc_key_file, "/e/enc.key");
    ck_assert_str_eq(base->sp_next_enc_key_file, "/e/enc-next.key");
    ck_assert_ptr_null(base->sp_key_file);
    ck_assert_ptr_null(base->sp_next_key_file);
    ck_assert_str_eq(kmen_set_sp_file(cmd, NULL, "/e/third.key"),
                     "KmenSPEncryptionKeyFile given a third time: at most two, the pair in use "
                     "and the next one");
    kmen_server_conf *inherited = kmen_server_conf_merge(pool, base, vhost);
    ck_assert_str_eq(inherited->sp_next_enc_key_file, "/e/enc-next.key");
    ck_assert_ptr_null(kmen_set_sp_file(
        server_cmd(vhost, "KmenSPPrivateKeyFile", offsetof(kmen_server_conf, sp_key_file)), NULL,
        "/v/sp.key"));
    kmen_server_conf *own = kmen_server_conf_merge(pool, base, vhost);
    ck_assert_ptr_null(own->sp_enc_key_file);
    ck_assert_ptr_null(own->sp_next_enc_key_file);
}
END_TEST

/* ---- suite */

static TCase *loa_case(void)
{
    TCase *tc = tcase_create("loa");
    tcase_add_test(tc, loa_from_uri_accepts_the_three_eidas_uris);
    tcase_add_test(tc, loa_from_uri_refuses_anything_else);
    tcase_add_test(tc, loa_order_is_low_substantial_high);
    tcase_add_test(tc, loa_from_name_ignores_case);
    tcase_add_test(tc, loa_name_and_uri_round_trip);
    return tc;
}

static TCase *identity_case(void)
{
    TCase *tc = tcase_create("identity");
    tcase_add_test(tc, identity_maps_eidas_and_stork_attributes);
    tcase_add_test(tc, identity_maps_czech_claims_eidentita_namespace);
    tcase_add_test(tc, identity_maps_czech_claims_identitaobcana_namespace);
    tcase_add_test(tc, identity_ignores_unknown_attributes);
    tcase_add_test(tc, identity_releases_unmapped_attributes);
    tcase_add_test(tc, identity_releases_no_identifier);
    tcase_add_test(tc, identity_releases_bounded);
    tcase_add_test(tc, identity_home_country_is_nia);
    tcase_add_test(tc, identity_foreign_country_is_eidas);
    tcase_add_test(tc, identity_without_person_identifier_refused);
    tcase_add_test(tc, identity_malformed_person_identifier_refused);
    tcase_add_test(tc, identity_authn_failed_status_attribute_sets_failed);
    tcase_add_test(tc, identity_success_status_attribute_is_not_failed);
    tcase_add_test(tc, identity_fields_table_reads_the_identity);
    tcase_add_test(tc, identity_two_person_identifiers_refused);
    tcase_add_test(tc, path_under_takes_whole_segments);
    return tc;
}

static TCase *redirect_case(void)
{
    TCase *tc = tcase_create("return_to");
    tcase_add_test(tc, return_to_local_paths_accepted);
    tcase_add_test(tc, return_to_other_hosts_and_odd_bytes_refused);
    tcase_add_test(tc, return_to_length_limit_is_1024);
    return tc;
}

static TCase *headers_case(void)
{
    TCase *tc = tcase_create("headers");
    tcase_add_test(tc, header_percent_encodes_non_ascii_percent_and_space);
    tcase_add_test(tc, header_percent_encodes_cr_lf);
    tcase_add_test(tc, header_raw_drops_controls_keeps_utf8);
    tcase_add_test(tc, header_base64url_encodes_whole_value);
    tcase_add_test(tc, header_names_matching_prefix_are_spoofable);
    tcase_add_test(tc, header_names_without_prefix_are_not_spoofable);
    tcase_add_test(tc, header_spoofing_follows_configured_prefix);
    tcase_add_test(tc, header_table_has_prefix_whatever_the_case_and_place);
    return tc;
}

static TCase *crypto_case(void)
{
    TCase *tc = tcase_create("crypto");
    tcase_add_test(tc, seal_open_round_trip);
    tcase_add_test(tc, open_with_wrong_key_fails);
    tcase_add_test(tc, open_with_wrong_aad_fails);
    tcase_add_test(tc, open_of_flipped_byte_fails);
    tcase_add_test(tc, open_of_truncated_input_fails);
    tcase_add_test(tc, seal_twice_differs);
    tcase_add_test(tc, seal_nonces_never_repeat);
    tcase_add_test(tc, seal_forked_child_draws_its_own_nonces);
    tcase_add_test(tc, base64url_rfc4648_vectors);
    tcase_add_test(tc, hex_is_lowercase_two_digits_per_byte);
    tcase_add_test(tc, sha256_fips180_abc);
    tcase_add_test(tc, hmac_sha256_rfc4231_case2);
    tcase_add_test(tc, derive_key_differs_per_purpose_and_master);
    tcase_add_test(tc, random_token_is_43_base64url_chars_for_32_bytes);
    tcase_add_test(tc, equal_const_time_compares_all_bytes);
    return tc;
}

static TCase *config_case(void)
{
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, requested_short_name_gets_eidas_namespace);
    tcase_add_test(tc, requested_full_uri_passes_unchanged);
    tcase_add_test(tc, requested_value_and_stork_czech_short_names);
    tcase_add_test(tc, address_of_nia_fixture_decoded);
    tcase_add_test(tc, address_parts_into_identity);
    tcase_add_test(tc, address_not_a_fragment_gives_nothing);
    tcase_add_test(tc, set_loa_and_sp_type_validate);
    tcase_add_test(tc, set_seconds_accepts_only_a_number_in_range);
    tcase_add_test(tc, set_endpoint_path_needs_leading_and_no_trailing_slash);
    tcase_add_test(tc, set_home_country_needs_two_letters);
    tcase_add_test(tc, set_header_encoding_names);
    tcase_add_test(tc, set_server_file_resolves_relative_to_server_root);
    tcase_add_test(tc, sp_key_files_first_second_and_no_third);
    tcase_add_test(tc, sp_encryption_key_files_first_second_and_inherited_with_the_signing_key);
    return tc;
}

Suite *unit_suite(void)
{
    Suite *s = suite_create("logic");
    suite_add_tcase(s, loa_case());
    suite_add_tcase(s, identity_case());
    suite_add_tcase(s, redirect_case());
    suite_add_tcase(s, headers_case());
    suite_add_tcase(s, crypto_case());
    suite_add_tcase(s, config_case());
    return s;
}
