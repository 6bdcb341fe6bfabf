/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's configuration checks (core/conf_check.c), with no server: each
 * bad configuration is refused with its culprit (the setting, which
 * occurrence, the value, the problem), and the problem reads in httpd's
 * and in nginx's spelling. t/integration/test_conf_check.py feeds the same
 * configurations to both servers. */
#include <check.h>
#include <string.h>

#include "apr_strings.h"

#include "check_main.h"
#include "conf_check.h"
#include "sp_setup.h"

/* A configuration both parts accept, not yet defaulted: the files are only
 * named (kmen_conf_check reads none). */
static kmen_server_conf *good(void)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    c->sp_entity_id = "https://portal.example.cz/";
    c->sp_key_file = "/etc/kmen/sp.key";
    c->sp_cert_file = "/etc/kmen/sp.crt";
    c->idp_metadata_file = "/etc/kmen/nia.xml";
    c->db_conninfo = "dbname=kmen";
    c->register_key_file = "/etc/kmen/register.key";
    return c;
}

static const kmen_conf_culprit *check(kmen_server_conf *c, int parts)
{
    kmen_server_conf_defaults(c);
    return kmen_conf_check(pool, c, parts);
}

static const int both = KMEN_CONF_SP | KMEN_CONF_LOGIN;

static void assert_culprit(const kmen_conf_culprit *bad, kmen_conf_field field, int second,
                           const char *value, const char *problem)
{
    ck_assert_ptr_nonnull(bad);
    ck_assert_int_eq(bad->field, field);
    ck_assert_int_eq(bad->second, second);
    if (value)
        ck_assert_str_eq(bad->value, value);
    else
        ck_assert_ptr_null(bad->value);
    ck_assert_str_eq(bad->problem, problem);
}

static const char *httpd_text(const kmen_conf_culprit *bad)
{
    return kmen_conf_problem_text(pool, bad->problem, KMEN_SPELL_HTTPD);
}

static const char *nginx_text(const kmen_conf_culprit *bad)
{
    return kmen_conf_problem_text(pool, bad->problem, KMEN_SPELL_NGINX);
}

START_TEST(a_good_configuration_passes_both_parts)
{
    ck_assert_ptr_null(check(good(), both));
}
END_TEST

START_TEST(a_missing_required_setting_is_the_culprit_without_a_value)
{
    kmen_server_conf *c = good();
    c->idp_metadata_file = NULL;
    const kmen_conf_culprit *bad = check(c, both);
    assert_culprit(bad, KMEN_FIELD_idp_metadata_file, 0, NULL, "is required");
    ck_assert(bad->missing);
}
END_TEST

START_TEST(the_register_settings_are_required_of_the_login_part_only)
{
    kmen_server_conf *c = good();
    c->db_conninfo = NULL;
    ck_assert_ptr_null(check(c, KMEN_CONF_SP));
    assert_culprit(kmen_conf_check(pool, c, both), KMEN_FIELD_db_conninfo, 0, NULL, "is required");
}
END_TEST

START_TEST(a_key_without_its_certificate)
{
    kmen_server_conf *c = good();
    c->sp_enc_key_file = "/etc/kmen/enc.key";
    const kmen_conf_culprit *bad = check(c, KMEN_CONF_SP);
    assert_culprit(bad, KMEN_FIELD_sp_enc_key_file, 0, "/etc/kmen/enc.key",
                   "needs a {sp_enc_cert_file}, its certificate");
    ck_assert_str_eq(httpd_text(bad), "needs a KmenSPEncryptionCertificateFile, its certificate");
    ck_assert_str_eq(nginx_text(bad),
                     "needs a kmen_sp_encryption_certificate_file, its certificate");
}
END_TEST

START_TEST(a_second_certificate_without_its_key_is_the_second_occurrence)
{
    kmen_server_conf *c = good();
    c->sp_next_cert_file = "/etc/kmen/next.crt";
    const kmen_conf_culprit *bad = check(c, KMEN_CONF_SP);
    assert_culprit(bad, KMEN_FIELD_sp_cert_file, 1, "/etc/kmen/next.crt",
                   "a second certificate needs a second {sp_key_file}, its key");
    ck_assert_str_eq(nginx_text(bad),
                     "a second certificate needs a second kmen_sp_private_key_file, its key");
}
END_TEST

START_TEST(an_http_entity_id_needs_the_demo_switch)
{
    kmen_server_conf *c = good();
    c->sp_entity_id = "http://portal.example.cz/";
    const kmen_conf_culprit *bad = check(c, KMEN_CONF_SP);
    assert_culprit(bad, KMEN_FIELD_sp_entity_id, 0, "http://portal.example.cz/",
                   "NIA logins need https ({allow_http:on} only for a demo)");
    ck_assert_str_eq(httpd_text(bad), "NIA logins need https (KmenAllowHTTP On only for a demo)");
    ck_assert_str_eq(nginx_text(bad), "NIA logins need https (kmen_allow_http on only for a demo)");
    c->allow_http = 1;
    ck_assert_ptr_null(kmen_conf_check(pool, c, both));
}
END_TEST

/* What nginx let through before the check was the core's: its own looked at
 * the scheme alone. */
START_TEST(an_acs_base_url_with_a_query_is_no_base)
{
    kmen_server_conf *c = good();
    c->acs_base_url = "https://portal.example.cz/?a=b";
    assert_culprit(check(c, KMEN_CONF_SP), KMEN_FIELD_acs_base_url, 0,
                   "https://portal.example.cz/?a=b",
                   "expected https://host[:port][/prefix], without query, fragment or user");
}
END_TEST

START_TEST(an_acs_base_url_must_be_absolute)
{
    kmen_server_conf *c = good();
    c->acs_base_url = "portal.example.cz";
    assert_culprit(check(c, KMEN_CONF_SP), KMEN_FIELD_acs_base_url, 0, "portal.example.cz",
                   "expected an absolute https URL");
}
END_TEST

START_TEST(a_metadata_url_needs_its_pin_and_https)
{
    kmen_server_conf *c = good();
    c->idp_metadata_url = "http://nia.example/metadata";
    assert_culprit(check(c, KMEN_CONF_SP), KMEN_FIELD_idp_metadata_url, 0,
                   "http://nia.example/metadata", "needs {idp_metadata_cert_file}");
    c->idp_metadata_cert_file = "/etc/kmen/nia-seal.crt";
    const kmen_conf_culprit *bad = kmen_conf_check(pool, c, KMEN_CONF_SP);
    ck_assert_str_eq(httpd_text(bad), "needs an https:// URL (http:// only with KmenAllowHTTP On)");
    c->idp_metadata_refresh = 0;
    assert_culprit(kmen_conf_check(pool, c, KMEN_CONF_SP), KMEN_FIELD_idp_metadata_refresh, 0, "0",
                   "must be 1 or more");
}
END_TEST

START_TEST(a_host_cookie_needs_secure)
{
    kmen_server_conf *c = good();
    c->cookie_secure = 0;
    c->cookie_name = "__Host-portal";
    ck_assert_ptr_null(check(c, KMEN_CONF_SP));
    const kmen_conf_culprit *bad = kmen_conf_check(pool, c, both);
    assert_culprit(bad, KMEN_FIELD_cookie_name, 0, "__Host-portal",
                   "a __Host- cookie needs {cookie_secure:on}");
    ck_assert_str_eq(httpd_text(bad), "a __Host- cookie needs KmenCookieSecure On");
}
END_TEST

START_TEST(a_header_prefix_is_the_start_of_a_header_name)
{
    static const char *const bad_ones[] = {"", "Kmen Id-", "Kmen:", "Kmen@-", "Kmen-\xc3\xa9"};
    static const char *const good_ones[] = {"Kmen-", "X-Portal-", "x_portal.", "K"};
    for (size_t i = 0; i < sizeof(bad_ones) / sizeof(*bad_ones); i++) {
        kmen_server_conf *c = good();
        c->header_prefix = bad_ones[i];
        assert_culprit(kmen_conf_check(pool, c, both), KMEN_FIELD_header_prefix, 0, bad_ones[i],
                       "expected the start of a header name: letters, digits and "
                       "!#$%&'*+-.^_`|~, at least one");
    }
    for (size_t i = 0; i < sizeof(good_ones) / sizeof(*good_ones); i++) {
        kmen_server_conf *c = good();
        c->header_prefix = good_ones[i];
        ck_assert_ptr_null(check(c, both));
    }
}
END_TEST

START_TEST(a_malformed_connection_string_is_not_repeated)
{
    kmen_server_conf *c = good();
    c->db_conninfo = "dbname=kmen password";
    const kmen_conf_culprit *bad = check(c, both);
    ck_assert_ptr_nonnull(bad);
    ck_assert_int_eq(bad->field, KMEN_FIELD_db_conninfo);
    ck_assert_ptr_null(bad->value);
    ck_assert_msg(strncmp(bad->problem, "libpq cannot parse the connection string: ", 42) == 0,
                  "%s", bad->problem);
}
END_TEST

START_TEST(a_gateway_without_https)
{
    kmen_server_conf *c = good();
    c->translator_url = "http://gateway.example/";
    assert_culprit(check(c, both), KMEN_FIELD_translator_url, 0, "http://gateway.example/",
                   "the translation gateway needs an https:// URL");
}
END_TEST

START_TEST(an_evidence_ca_needs_its_pin)
{
    kmen_server_conf *c = good();
    c->evidence_ca_file = "/etc/kmen/evidence-ca.crt";
    const kmen_conf_culprit *bad = check(c, both);
    assert_culprit(bad, KMEN_FIELD_evidence_ca_file, 0, "/etc/kmen/evidence-ca.crt",
                   "needs {evidence_pins} sha256/<base64>, the pin of the evidence service's "
                   "certificate");
    ck_assert_str_eq(nginx_text(bad), "needs kmen_evidence_callback_certificate sha256/<base64>, "
                                      "the pin of the evidence service's certificate");
}
END_TEST

START_TEST(an_unreadable_sp_key_is_kmen_sp_setups_culprit)
{
    kmen_server_conf *c = good();
    c->sp_key_file = "/nonexistent/sp.key";
    kmen_server_conf_defaults(c);
    kmen_sp *sp = NULL;
    const kmen_conf_culprit *bad = kmen_sp_setup(pool, c, "public", &sp);
    ck_assert_ptr_nonnull(bad);
    ck_assert_int_eq(bad->field, KMEN_FIELD_sp_key_file);
    ck_assert_int_eq(bad->second, 0);
    ck_assert_str_eq(bad->value, "/nonexistent/sp.key");
    ck_assert_msg(strncmp(bad->problem, "cannot read: ", 13) == 0, "%s", bad->problem);
}
END_TEST

START_TEST(text_spells_references_and_keeps_other_braces)
{
    ck_assert_str_eq(
        kmen_conf_problem_text(pool, "{sp_key_file} and {sp_type} {x", KMEN_SPELL_NGINX),
        "kmen_sp_private_key_file and {sp_type} {x");
    ck_assert_str_eq(kmen_conf_problem_text(pool, "{} {allow_http:off}", KMEN_SPELL_HTTPD),
                     "{} {allow_http:off}");
    ck_assert_str_eq(kmen_conf_problem_text(pool, "", KMEN_SPELL_HTTPD), "");
}
END_TEST

START_TEST(where_finds_the_second_occurrence_under_its_own_key)
{
    kmen_server_conf *c = good();
    apr_table_set(c->where, "KmenSPCertificateFile", "a.conf:3");
    apr_table_set(c->where, kmen_conf_where_key(pool, "KmenSPCertificateFile", 1), "a.conf:7");
    ck_assert_str_eq(kmen_conf_where(pool, c, KMEN_FIELD_sp_cert_file, 0), "a.conf:3");
    ck_assert_str_eq(kmen_conf_where(pool, c, KMEN_FIELD_sp_cert_file, 1), "a.conf:7");
    ck_assert_ptr_null(kmen_conf_where(pool, c, KMEN_FIELD_sp_key_file, 0));
}
END_TEST

/* Every setting a directive sets has an nginx spelling: kmen_ and lower case. */
START_TEST(every_directive_has_an_nginx_spelling)
{
    for (int f = 0; f < KMEN_FIELD_COUNT; f++) {
        const char *httpd = kmen_conf_field_name((kmen_conf_field)f, KMEN_SPELL_HTTPD);
        const char *nginx = kmen_conf_field_name((kmen_conf_field)f, KMEN_SPELL_NGINX);
        if (strncmp(httpd, "Kmen", 4) != 0) { /* the second pair's fields: no directive */
            ck_assert_str_eq(nginx, httpd);
            continue;
        }
        ck_assert_msg(strncmp(nginx, "kmen_", 5) == 0 &&
                          strspn(nginx, "abcdefghijklmnopqrstuvwxyz_") == strlen(nginx),
                      "%s: %s", httpd, nginx);
    }
}
END_TEST

/* The core's texts name a setting as the server C belongs to spells it:
 * httpd's unless the adapter chose nginx's, which a merge keeps; a context
 * without a server reads httpd's. */
START_TEST(a_setting_is_named_in_its_servers_spelling)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    ck_assert_str_eq(kmen_conf_spelling(c, KMEN_FIELD_translator_url), "KmenTranslatorURL");
    c->spelling = KMEN_SPELL_NGINX;
    ck_assert_str_eq(kmen_conf_spelling(c, KMEN_FIELD_translator_url), "kmen_translator_url");
    const kmen_server_conf *merged = kmen_server_conf_merge(pool, kmen_server_conf_new(pool), c);
    ck_assert_str_eq(kmen_conf_spelling(merged, KMEN_FIELD_db_pool_size),
                     "kmen_database_pool_size");
    ck_assert_str_eq(kmen_conf_spelling(NULL, KMEN_FIELD_db_pool_size), "KmenDatabasePoolSize");
}
END_TEST

START_TEST(a_location_setting_is_named_in_its_servers_spelling)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    ck_assert_str_eq(kmen_dir_spelling(c, KMEN_DIR_FIELD_verify_path), "KmenVerifyPath");
    ck_assert_str_eq(kmen_dir_switched_off(pool, c, KMEN_DIR_FIELD_accept_contact),
                     "KmenAcceptContact is Off");
    c->spelling = KMEN_SPELL_NGINX;
    ck_assert_str_eq(kmen_dir_spelling(c, KMEN_DIR_FIELD_verify_path), "kmen_verify_path");
    ck_assert_str_eq(kmen_dir_switched_off(pool, c, KMEN_DIR_FIELD_accept_contact),
                     "kmen_accept_contact is off");
    ck_assert_str_eq(kmen_dir_spelling(NULL, KMEN_DIR_FIELD_allow_link), "KmenAllowLink");
}
END_TEST

static TCase *checks_case(void)
{
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, a_good_configuration_passes_both_parts);
    tcase_add_test(tc, a_header_prefix_is_the_start_of_a_header_name);
    tcase_add_test(tc, a_missing_required_setting_is_the_culprit_without_a_value);
    tcase_add_test(tc, the_register_settings_are_required_of_the_login_part_only);
    tcase_add_test(tc, a_key_without_its_certificate);
    tcase_add_test(tc, a_second_certificate_without_its_key_is_the_second_occurrence);
    tcase_add_test(tc, an_http_entity_id_needs_the_demo_switch);
    tcase_add_test(tc, an_acs_base_url_with_a_query_is_no_base);
    tcase_add_test(tc, an_acs_base_url_must_be_absolute);
    tcase_add_test(tc, a_metadata_url_needs_its_pin_and_https);
    tcase_add_test(tc, a_host_cookie_needs_secure);
    tcase_add_test(tc, a_malformed_connection_string_is_not_repeated);
    tcase_add_test(tc, a_gateway_without_https);
    tcase_add_test(tc, an_evidence_ca_needs_its_pin);
    tcase_add_test(tc, an_unreadable_sp_key_is_kmen_sp_setups_culprit);
    return tc;
}

static TCase *spelling_case(void)
{
    TCase *tc = tcase_create("spelling");
    tcase_add_test(tc, text_spells_references_and_keeps_other_braces);
    tcase_add_test(tc, where_finds_the_second_occurrence_under_its_own_key);
    tcase_add_test(tc, every_directive_has_an_nginx_spelling);
    tcase_add_test(tc, a_setting_is_named_in_its_servers_spelling);
    tcase_add_test(tc, a_location_setting_is_named_in_its_servers_spelling);
    return tc;
}

Suite *unit_suite(void)
{
    Suite *s = suite_create("conf_check");
    suite_add_tcase(s, checks_case());
    suite_add_tcase(s, spelling_case());
    return s;
}
