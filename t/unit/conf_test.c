/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration's life in the core alone (core/conf.c, no server header):
 * creation leaves every field of the lists (core/conf_fields.h) unset, a
 * merge takes the child's value over the parent's field by field, the key
 * pairs travel together, and the defaults fill what is left. The directive
 * handlers that fill the structs are httpd's: t/unit/logic_test.c. */
#include <check.h>

#include "apr_strings.h"
#include "apr_tables.h"

#include "check_main.h"
#include "conf.h"

/* A value of each base type (KMEN_TYPE) that tells TAG's conf apart. */
#define KMEN_SAMPLE_STR apr_itoa(pool, tag)
#define KMEN_SAMPLE_INT tag
#define KMEN_SAMPLE_ARRAY apr_array_make(pool, 1, 1)

/* Every field whose MERGE rule is OWN (each context's own value), set. */
static kmen_server_conf *server_with_own_fields(int tag)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
#define SET_OWN(type, field) c->field = KMEN_TYPE(type, SAMPLE);
#define SET_WITH_KEY(type, field)
#define SET_WITH_CERT(type, field)
#define SET_WITH_ENC(type, field)
#define SET_FIELD(type, field, default_value, merge, ...) SET_##merge(type, field)
    KMEN_SERVER_FIELDS(SET_FIELD)
    return c;
}

static kmen_dir_conf *dir_with_every_field(int tag)
{
    kmen_dir_conf *c = kmen_dir_conf_new(pool);
    KMEN_DIR_FIELDS(SET_FIELD)
    return c;
}

#define SAME_OWN(type, field) ck_assert_msg(m->field == want->field, #field " not merged");
#define SAME_WITH_KEY(type, field)
#define SAME_WITH_CERT(type, field)
#define SAME_WITH_ENC(type, field)
#define SAME_FIELD(type, field, default_value, merge, ...) SAME_##merge(type, field)
#define UNSET_FIELD(type, field, ...) ck_assert_msg(!KMEN_IS_SET(type, c->field), #field " is set");

START_TEST(creation_leaves_every_server_field_unset)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    KMEN_SERVER_FIELDS(UNSET_FIELD)
    ck_assert_ptr_nonnull(c->where);
}
END_TEST

START_TEST(creation_leaves_every_dir_field_unset)
{
    kmen_dir_conf *c = kmen_dir_conf_new(pool);
    KMEN_DIR_FIELDS(UNSET_FIELD)
}
END_TEST

START_TEST(merge_takes_a_virtual_hosts_own_values_else_the_main_servers)
{
    kmen_server_conf *main_server = server_with_own_fields(1), *vhost = kmen_server_conf_new(pool);
    const kmen_server_conf *m = kmen_server_conf_merge(pool, main_server, vhost),
                           *want = main_server;
    KMEN_SERVER_FIELDS(SAME_FIELD)
    vhost = server_with_own_fields(2);
    m = kmen_server_conf_merge(pool, main_server, vhost);
    want = vhost;
    KMEN_SERVER_FIELDS(SAME_FIELD)
    want = kmen_server_conf_new(pool);
    m = kmen_server_conf_merge(pool, want, kmen_server_conf_new(pool));
    KMEN_SERVER_FIELDS(SAME_FIELD)
}
END_TEST

START_TEST(merge_takes_a_locations_own_values_else_its_parents)
{
    kmen_dir_conf *parent = dir_with_every_field(1), *location = kmen_dir_conf_new(pool);
    const kmen_dir_conf *m = kmen_dir_conf_merge(pool, parent, location), *want = parent;
    KMEN_DIR_FIELDS(SAME_FIELD)
    location = dir_with_every_field(2);
    m = kmen_dir_conf_merge(pool, parent, location);
    want = location;
    KMEN_DIR_FIELDS(SAME_FIELD)
}
END_TEST

/* Where a directive was written: the virtual host's line over the main server's. */
START_TEST(merge_overlays_where_directives_were_written)
{
    kmen_server_conf *main_server = kmen_server_conf_new(pool), *vhost = kmen_server_conf_new(pool);
    apr_table_set(main_server->where, "KmenSPEntityID", "main.conf:1");
    apr_table_set(main_server->where, "KmenDatabase", "main.conf:2");
    apr_table_set(vhost->where, "KmenSPEntityID", "vhost.conf:3");
    kmen_server_conf *m = kmen_server_conf_merge(pool, main_server, vhost);
    ck_assert_str_eq(apr_table_get(m->where, "KmenSPEntityID"), "vhost.conf:3");
    ck_assert_str_eq(apr_table_get(m->where, "KmenDatabase"), "main.conf:2");
}
END_TEST

static kmen_server_conf *main_with_every_key(void)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    c->sp_key_file = "/m/sp.key";
    c->sp_cert_file = "/m/sp.crt";
    c->sp_next_key_file = "/m/next.key";
    c->sp_next_cert_file = "/m/next.crt";
    c->sp_enc_key_file = "/m/enc.key";
    c->sp_enc_cert_file = "/m/enc.crt";
    c->sp_next_enc_key_file = "/m/enc-next.key";
    c->sp_next_enc_cert_file = "/m/enc-next.crt";
    return c;
}

/* A virtual host without keys of its own takes all of the main server's. */
START_TEST(merge_gives_a_virtual_host_without_keys_every_key_of_the_main_server)
{
    kmen_server_conf *main_server = main_with_every_key();
    kmen_server_conf *m = kmen_server_conf_merge(pool, main_server, kmen_server_conf_new(pool));
    ck_assert_str_eq(m->sp_next_key_file, "/m/next.key");
    ck_assert_str_eq(m->sp_next_cert_file, "/m/next.crt");
    ck_assert_str_eq(m->sp_enc_key_file, "/m/enc.key");
    ck_assert_str_eq(m->sp_enc_cert_file, "/m/enc.crt");
    ck_assert_str_eq(m->sp_next_enc_key_file, "/m/enc-next.key");
    ck_assert_str_eq(m->sp_next_enc_cert_file, "/m/enc-next.crt");
}
END_TEST

/* A virtual host's one key is not followed by the main server's second, nor
 * paired with the main server's encryption keys; its certificate comes with
 * its own second certificate only. */
START_TEST(merge_keeps_a_virtual_hosts_own_signing_key_apart)
{
    kmen_server_conf *main_server = main_with_every_key(), *vhost = kmen_server_conf_new(pool);
    vhost->sp_key_file = "/v/sp.key";
    kmen_server_conf *m = kmen_server_conf_merge(pool, main_server, vhost);
    ck_assert_str_eq(m->sp_key_file, "/v/sp.key");
    ck_assert_ptr_null(m->sp_next_key_file);
    ck_assert_str_eq(m->sp_next_cert_file, "/m/next.crt"); /* its certificate is the main's */
    ck_assert_ptr_null(m->sp_enc_key_file);
    ck_assert_ptr_null(m->sp_enc_cert_file);
    ck_assert_ptr_null(m->sp_next_enc_key_file);
    ck_assert_ptr_null(m->sp_next_enc_cert_file);
    vhost->sp_cert_file = "/v/sp.crt";
    ck_assert_ptr_null(kmen_server_conf_merge(pool, main_server, vhost)->sp_next_cert_file);
}
END_TEST

/* Its own encryption key or certificate alone replaces all four encryption files. */
START_TEST(merge_takes_a_virtual_hosts_encryption_files_together)
{
    kmen_server_conf *main_server = main_with_every_key(), *vhost = kmen_server_conf_new(pool);
    vhost->sp_enc_cert_file = "/v/enc.crt";
    kmen_server_conf *m = kmen_server_conf_merge(pool, main_server, vhost);
    ck_assert_str_eq(m->sp_enc_cert_file, "/v/enc.crt");
    ck_assert_ptr_null(m->sp_enc_key_file);
    ck_assert_ptr_null(m->sp_next_enc_key_file);
    ck_assert_ptr_null(m->sp_next_enc_cert_file);
    ck_assert_str_eq(m->sp_key_file, "/m/sp.key"); /* signing stays the main server's */
    ck_assert_str_eq(m->sp_next_key_file, "/m/next.key");
}
END_TEST

START_TEST(server_merge_inherits_unset_and_overrides_set)
{
    kmen_server_conf *base = kmen_server_conf_new(pool), *vhost = kmen_server_conf_new(pool);
    base->sp_entity_id = "https://portal.example.cz/";
    base->session_lifetime = 3600;
    base->cookie_secure = 0;
    base->cookie_name = "base_cookie";
    vhost->session_lifetime = 600;
    vhost->cookie_name = "vhost_cookie";
    kmen_server_conf *m = kmen_server_conf_merge(pool, base, vhost);
    ck_assert_str_eq(m->sp_entity_id, "https://portal.example.cz/");
    ck_assert_int_eq(m->session_lifetime, 600);
    ck_assert_int_eq(m->cookie_secure, 0);
    ck_assert_str_eq(m->cookie_name, "vhost_cookie");
    ck_assert_int_eq(m->session_idle, KMEN_UNSET);
    ck_assert_ptr_null(m->header_prefix);
}
END_TEST

/* Unset is not a mode of its own: it fails first logins (KMEN0694 says so);
 * "none" is, in any case, and inherits into virtual hosts like a URL. */
START_TEST(translator_mode_tells_unset_none_and_gateway)
{
    kmen_server_conf *base = kmen_server_conf_new(pool), *vhost = kmen_server_conf_new(pool);
    ck_assert_int_eq(kmen_translator_mode_of(base), KMEN_TRANSLATOR_UNSET);
    base->translator_url = "None";
    ck_assert_int_eq(kmen_translator_mode_of(base), KMEN_TRANSLATOR_NONE);
    ck_assert_int_eq(kmen_translator_mode_of(kmen_server_conf_merge(pool, base, vhost)),
                     KMEN_TRANSLATOR_NONE);
    vhost->translator_url = "https://gateway.example.cz/v1";
    ck_assert_int_eq(kmen_translator_mode_of(kmen_server_conf_merge(pool, base, vhost)),
                     KMEN_TRANSLATOR_GATEWAY);
    base->translator_url = "https://none.example.cz";
    ck_assert_int_eq(kmen_translator_mode_of(base), KMEN_TRANSLATOR_GATEWAY);
}
END_TEST

START_TEST(server_defaults_fill_unset_values)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    kmen_server_conf_defaults(c);
    ck_assert_str_eq(c->endpoint_path, "/kmen");
    ck_assert_int_eq(c->db_pool_size, 4);
    ck_assert_int_eq(c->session_lifetime, 28800);
    ck_assert_int_eq(c->session_idle, 1800);
    ck_assert_str_eq(c->cookie_name, "__Host-kmen_session");
    ck_assert_int_eq(c->cookie_secure, 1);
    ck_assert_int_eq(c->clock_skew, 180);
    ck_assert_str_eq(c->home_country, "CZ");
    ck_assert_str_eq(c->header_prefix, "Kmen-");
    ck_assert_int_eq(c->header_encoding, KMEN_ENCODING_PERCENT);
    ck_assert_int_eq(c->nameid_policy, KMEN_NAMEID_PERSISTENT);
    ck_assert_int_eq(c->allow_http, 0);
    ck_assert_ptr_null(c->sp_entity_id);
    ck_assert_ptr_null(c->evidence_pins);
}
END_TEST

START_TEST(server_defaults_cookie_without_secure_has_no_host_prefix)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    c->cookie_secure = 0;
    kmen_server_conf_defaults(c);
    ck_assert_str_eq(c->cookie_name, "kmen_session");
}
END_TEST

START_TEST(server_defaults_keep_explicit_values)
{
    kmen_server_conf *c = kmen_server_conf_new(pool);
    c->endpoint_path = "/login";
    c->session_lifetime = 60;
    c->cookie_secure = 0;
    c->clock_skew = 0;
    c->header_prefix = "X-Portal-";
    c->header_encoding = KMEN_ENCODING_RAW;
    kmen_server_conf_defaults(c);
    ck_assert_str_eq(c->endpoint_path, "/login");
    ck_assert_int_eq(c->session_lifetime, 60);
    ck_assert_int_eq(c->cookie_secure, 0);
    ck_assert_int_eq(c->clock_skew, 0);
    ck_assert_str_eq(c->header_prefix, "X-Portal-");
    ck_assert_int_eq(c->header_encoding, KMEN_ENCODING_RAW);
}
END_TEST

/* Defaults after merging: a vhost that says nothing keeps the main server's
 * explicit value instead of falling back to the default. */
START_TEST(server_vhost_inherits_explicit_base_over_default)
{
    kmen_server_conf *base = kmen_server_conf_new(pool), *vhost = kmen_server_conf_new(pool);
    base->cookie_secure = 0;
    base->header_encoding = KMEN_ENCODING_BASE64URL;
    kmen_server_conf *m = kmen_server_conf_merge(pool, base, vhost);
    kmen_server_conf_defaults(m);
    ck_assert_int_eq(m->cookie_secure, 0);
    ck_assert_str_eq(m->cookie_name, "kmen_session");
    ck_assert_int_eq(m->header_encoding, KMEN_ENCODING_BASE64URL);
    ck_assert_int_eq(m->session_idle, 1800);
}
END_TEST

START_TEST(dir_defaults_substantial_public_minimal_set)
{
    kmen_dir_conf *d = kmen_dir_conf_new(pool);
    static const char *const minimal[] = {"PersonIdentifier", "CurrentGivenName",
                                          "CurrentFamilyName", "DateOfBirth"};
    ck_assert_int_eq(kmen_dir_min_loa(d), KMEN_LOA_SUBSTANTIAL);
    ck_assert_str_eq(kmen_dir_sp_type(d), "public");
    const apr_array_header_t *req = kmen_dir_requested(d);
    ck_assert_int_eq(req->nelts, 4);
    for (int i = 0; i < 4; i++) {
        const kmen_requested_attr *a = &APR_ARRAY_IDX(req, i, kmen_requested_attr);
        ck_assert_str_eq(a->name, apr_pstrcat(pool, KMEN_EIDAS_NP, minimal[i], NULL));
        ck_assert_int_eq(a->required, 1);
    }
}
END_TEST

/* Off but KmenCacheControlPrivate; verify; no agenda or verification page. */
START_TEST(dir_defaults_of_the_switches)
{
    kmen_dir_conf *d = kmen_dir_conf_new(pool);
    ck_assert_int_eq(kmen_dir_eidas_accept(d), 0);
    ck_assert_int_eq(kmen_dir_accept_contact(d), 0);
    ck_assert_int_eq(kmen_dir_allow_link(d), 0);
    ck_assert_int_eq(kmen_dir_accept_link_system(d), 0);
    ck_assert_int_eq(kmen_dir_accept_evidence_request(d), 0);
    ck_assert_int_eq(kmen_dir_force_authn(d), 0);
    ck_assert_int_eq(kmen_dir_cache_private(d), 1);
    ck_assert_ptr_null(kmen_dir_agenda(d));
    ck_assert_ptr_null(kmen_dir_verify_path(d));
    d->cache_private = 0;
    d->force_authn = 1;
    d->eidas_accept = 1;
    ck_assert_int_eq(kmen_dir_cache_private(d), 0);
    ck_assert_int_eq(kmen_dir_force_authn(d), 1);
    ck_assert_int_eq(kmen_dir_eidas_accept(d), 1);
}
END_TEST

START_TEST(dir_merge_inherits_unset_and_overrides_set)
{
    kmen_dir_conf *base = kmen_dir_conf_new(pool), *sub = kmen_dir_conf_new(pool);
    base->min_loa = KMEN_LOA_HIGH;
    base->sp_type = "private";
    base->requested = apr_array_make(pool, 1, sizeof(kmen_requested_attr));
    kmen_dir_conf *m = kmen_dir_conf_merge(pool, base, sub);
    ck_assert_int_eq(kmen_dir_min_loa(m), KMEN_LOA_HIGH);
    ck_assert_str_eq(kmen_dir_sp_type(m), "private");
    ck_assert_ptr_eq(m->requested, base->requested);

    sub->min_loa = KMEN_LOA_LOW;
    sub->sp_type = "public";
    sub->requested = apr_array_make(pool, 1, sizeof(kmen_requested_attr));
    m = kmen_dir_conf_merge(pool, base, sub);
    ck_assert_int_eq(kmen_dir_min_loa(m), KMEN_LOA_LOW);
    ck_assert_str_eq(kmen_dir_sp_type(m), "public");
    ck_assert_ptr_eq(kmen_dir_requested(m), sub->requested);
}
END_TEST

static TCase *lists_case(void)
{
    TCase *tc = tcase_create("lists");
    tcase_add_test(tc, creation_leaves_every_server_field_unset);
    tcase_add_test(tc, creation_leaves_every_dir_field_unset);
    tcase_add_test(tc, merge_takes_a_virtual_hosts_own_values_else_the_main_servers);
    tcase_add_test(tc, merge_takes_a_locations_own_values_else_its_parents);
    tcase_add_test(tc, merge_overlays_where_directives_were_written);
    tcase_add_test(tc, merge_gives_a_virtual_host_without_keys_every_key_of_the_main_server);
    tcase_add_test(tc, merge_keeps_a_virtual_hosts_own_signing_key_apart);
    tcase_add_test(tc, merge_takes_a_virtual_hosts_encryption_files_together);
    return tc;
}

static TCase *values_case(void)
{
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, server_merge_inherits_unset_and_overrides_set);
    tcase_add_test(tc, translator_mode_tells_unset_none_and_gateway);
    tcase_add_test(tc, server_defaults_fill_unset_values);
    tcase_add_test(tc, server_defaults_cookie_without_secure_has_no_host_prefix);
    tcase_add_test(tc, server_defaults_keep_explicit_values);
    tcase_add_test(tc, server_vhost_inherits_explicit_base_over_default);
    tcase_add_test(tc, dir_defaults_substantial_public_minimal_set);
    tcase_add_test(tc, dir_defaults_of_the_switches);
    tcase_add_test(tc, dir_merge_inherits_unset_and_overrides_set);
    return tc;
}

Suite *unit_suite(void)
{
    Suite *s = suite_create("conf");
    suite_add_tcase(s, lists_case());
    suite_add_tcase(s, values_case());
    return s;
}
