/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The evidence callback's checks in the core, with no server around them:
 * the signature, the delivery refused before the store, the allowlist of
 * document types, and the answer when the database cannot be reached (the
 * store here is one that never connects). The body buffer the callback and
 * the HTTP client read into, too. */
#include <check.h>
#include <string.h>

#include "apr_strings.h"

#include "check_main.h"
#include "logged_ctx.h"

#include "body_buffer.h"
#include "evidence_delivery.h"

static void setup(void)
{
    logged_ctx_setup("kmen-evidence-test");
}

/* ---- the evidence callback */

START_TEST(signature_header_is_checked_for_form_and_age)
{
    static const unsigned char secret[] = "evidence-secret";
    const char *mac = "eb0cb19dbe22b0ff2c6d3583d6b6172a94626680dd5b9662ef96d9e294a553fc";
    const char *header = apr_pstrcat(pool, "t=1700000000, v1=", mac, NULL);
    kmen_evidence_signature sig;
    ck_assert(
        !kmen_evidence_signature_fresh(&logged_conf, header, 1700000000, &sig)); /* no secret */
    logged_conf.evidence_secret = secret;
    logged_conf.evidence_secret_len = sizeof(secret) - 1;
    ck_assert(!kmen_evidence_signature_fresh(&logged_conf, NULL, 1700000000, &sig));
    ck_assert(
        !kmen_evidence_signature_fresh(&logged_conf, "t=1700000000, v1=abc", 1700000000, &sig));
    ck_assert(!kmen_evidence_signature_fresh(&logged_conf, header, 1700000301, &sig));
    ck_assert(!kmen_evidence_signature_fresh(&logged_conf, header, 1699999699, &sig));
    ck_assert(kmen_evidence_signature_fresh(&logged_conf, header, 1700000300, &sig));
    ck_assert(kmen_evidence_signature_matches(pool, &logged_conf, &sig, "{\"request\":\"x\"}", 15));
    ck_assert(
        !kmen_evidence_signature_matches(pool, &logged_conf, &sig, "{\"request\":\"y\"}", 15));
    sig.t++;
    ck_assert(
        !kmen_evidence_signature_matches(pool, &logged_conf, &sig, "{\"request\":\"x\"}", 15));
}
END_TEST

static kmen_evidence_answer delivered(const char *json)
{
    return kmen_evidence_deliver(&logged_ctx, json, strlen(json));
}

START_TEST(delivery_is_refused_before_the_store_when_malformed_or_of_another_type)
{
    const char *id = "0a1b2c3d-0000-4000-8000-00000000abcd";
    ck_assert_int_eq(delivered("not json"), KMEN_EVIDENCE_MALFORMED);
    ck_assert_int_eq(delivered("{\"request\":\"nope\",\"state\":\"refused\"}"),
                     KMEN_EVIDENCE_MALFORMED);
    ck_assert_int_eq(delivered(apr_psprintf(pool, "{\"request\":\"%s\",\"state\":\"lost\"}", id)),
                     KMEN_EVIDENCE_MALFORMED);
    ck_assert_int_eq(delivered(apr_psprintf(pool,
                                            "{\"request\":\"%s\",\"state\":\"received\","
                                            "\"content_type\":\"application/pdf\"}",
                                            id)),
                     KMEN_EVIDENCE_MALFORMED);
    ck_assert_int_eq(logged_lines->nelts, 0);
    ck_assert_int_eq(delivered(apr_psprintf(pool,
                                            "{\"request\":\"%s\",\"state\":\"received\","
                                            "\"content_type\":\"text/html\\\"\\n\","
                                            "\"document\":\"PGgxPg==\"}",
                                            id)),
                     KMEN_EVIDENCE_TYPE_REFUSED);
    logged_once("KMEN0684: evidence callback refused: document type \"text/html\\\"\\n\" is not "
                "allowed");
    ck_assert_int_eq(
        delivered(apr_psprintf(pool, "{\"request\":\"%s\",\"state\":\"refused\"}", id)),
        KMEN_EVIDENCE_UNAVAILABLE);
}
END_TEST

START_TEST(document_types_are_an_allowlist)
{
    const char *ext = "none";
    ck_assert_str_eq(kmen_evidence_document_type(pool, " Application/PDF ; charset=x", &ext),
                     "application/pdf");
    ck_assert_str_eq(ext, "pdf");
    ck_assert_str_eq(kmen_evidence_document_type(pool, "text/xml", &ext), "text/xml");
    ck_assert_str_eq(ext, "xml");
    ext = "bin";
    ck_assert_ptr_null(kmen_evidence_document_type(pool, "text/html", &ext));
    ck_assert_ptr_null(kmen_evidence_document_type(pool, NULL, &ext));
    ck_assert_str_eq(ext, "bin");
    ck_assert(kmen_evidence_id_is_valid("0a1b2c3d-0000-4000-8000-00000000abcd"));
    ck_assert(!kmen_evidence_id_is_valid("0A1B2C3D-0000-4000-8000-00000000ABCD"));
    ck_assert(!kmen_evidence_id_is_valid(NULL));
}
END_TEST

/* ---- the body buffer */

START_TEST(appended_body_stops_at_its_limit)
{
    kmen_body_buffer b;
    kmen_body_buffer_init(&b, pool, 4, 10);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(kmen_body_buffer_append(&b, "hello", 5), 0);
    ck_assert_int_eq(kmen_body_buffer_append(&b, "world", 5), 0);
    ck_assert_str_eq(b.data, "helloworld");
    ck_assert_int_eq(kmen_body_buffer_append(&b, "!", 1), -1);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_str_eq(b.data, "helloworld");
}
END_TEST

START_TEST(a_reader_sees_a_body_one_byte_over_the_limit)
{
    kmen_body_buffer b;
    apr_size_t room;
    kmen_body_buffer_init(&b, pool, 2, 5);
    while (b.len <= 5) {
        char *at = kmen_body_buffer_room(&b, &room);
        ck_assert_uint_ge(room, 1);
        memset(at, 'x', room);
        kmen_body_buffer_filled(&b, room);
    }
    ck_assert_uint_eq(b.len, 6);
    ck_assert_uint_le(b.cap, 7);
    ck_assert_str_eq(b.data, "xxxxxx");
}
END_TEST

Suite *unit_suite(void)
{
    Suite *s = suite_create("evidence");
    TCase *tc = tcase_create("callback");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, signature_header_is_checked_for_form_and_age);
    tcase_add_test(tc, delivery_is_refused_before_the_store_when_malformed_or_of_another_type);
    tcase_add_test(tc, document_types_are_an_allowlist);
    suite_add_tcase(s, tc);
    tc = tcase_create("body buffer");
    tcase_add_test(tc, appended_body_stops_at_its_limit);
    tcase_add_test(tc, a_reader_sees_a_body_one_byte_over_the_limit);
    suite_add_tcase(s, tc);
    return s;
}
