/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend's response commands in the core, with no server around them:
 * parsed from name and value pairs, the decisions that need no database,
 * and the answers when the database cannot be reached (the store here is
 * one that never connects). */
#include <check.h>
#include <string.h>

#include "apr_strings.h"

#include "check_main.h"
#include "logged_ctx.h"

#include "backend.h"
#include "evidence_request.h"

/* The session cache is never reached by the cases here: no operation. */
static const kmen_cache no_cache = {NULL, NULL, NULL, NULL, NULL};

static void setup(void)
{
    logged_ctx_setup("kmen-backend-test");
    logged_conf.header_prefix = "Kmen-";
}

static kmen_backend_commands parsed(const char *const *pairs)
{
    apr_table_t *t = apr_table_make(pool, 4);
    kmen_backend_commands cmds;
    for (; *pairs; pairs += 2)
        apr_table_add(t, pairs[0], pairs[1]);
    kmen_backend_parse(pool, "Kmen-", t, &cmds);
    return cmds;
}

/* ---- parsing */

START_TEST(no_command_parses_to_nothing)
{
    static const char *const pairs[] = {"Content-Type", "text/html", NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.links_sent, 0);
    ck_assert_int_eq(c.systems->nelts, 0);
    ck_assert_int_eq(c.complete, KMEN_COMPLETE_NONE);
    ck_assert_ptr_null(c.evidence_request);
    ck_assert_int_eq(c.contact_sent, 0);
}
END_TEST

START_TEST(every_command_parses)
{
    static const char *const pairs[] = {"Kmen-Link-System",
                                        "spisovka",
                                        "Kmen-Complete",
                                        "link=0a1b2c3d-0000-4000-8000-00000000abcd",
                                        "Kmen-Evidence-Request",
                                        "type=birth-certificate; country=DE",
                                        "Kmen-Potential-Contact",
                                        " email=a@example.cz ;phone= +420 123 ; name=Jan ",
                                        NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.links_sent, 1);
    ck_assert_int_eq(c.systems->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(c.systems, 0, const char *), "spisovka");
    ck_assert_int_eq(c.complete, KMEN_COMPLETE_LINK);
    ck_assert_str_eq(c.complete_link, "0a1b2c3d-0000-4000-8000-00000000abcd");
    ck_assert_str_eq(c.evidence_request, "type=birth-certificate; country=DE");
    ck_assert_int_eq(c.contact_sent, 1);
    ck_assert_str_eq(c.contact[0], "a@example.cz");
    ck_assert_str_eq(c.contact[1], "+420 123");
    ck_assert_str_eq(c.contact[2], "Jan");
}
END_TEST

START_TEST(names_are_read_without_regard_to_case)
{
    static const char *const pairs[] = {"KMEN-COMPLETE", "new", "kmen-link-system", "a", NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.complete, KMEN_COMPLETE_NEW);
    ck_assert_int_eq(c.systems->nelts, 1);
}
END_TEST

START_TEST(link_system_counts_every_item_of_every_value)
{
    static const char *const pairs[] = {"Kmen-Link-System", "ekonomika, dotace", "Kmen-Link-System",
                                        " bad name ,", NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.systems->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(c.systems, 0, const char *), "ekonomika");
    ck_assert_str_eq(APR_ARRAY_IDX(c.systems, 1, const char *), "dotace");
    /* taken whole: refused by the register, not read as "bad" */
    ck_assert_str_eq(APR_ARRAY_IDX(c.systems, 2, const char *), "bad name");
}
END_TEST

START_TEST(an_empty_link_system_is_still_sent)
{
    static const char *const pairs[] = {"Kmen-Link-System", "", NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.links_sent, 1);
    ck_assert_int_eq(c.systems->nelts, 0);
}
END_TEST

START_TEST(of_other_duplicated_commands_the_first_counts)
{
    static const char *const pairs[] = {"Kmen-Complete",
                                        "new",
                                        "Kmen-Complete",
                                        "bogus",
                                        "Kmen-Evidence-Request",
                                        "type=a; country=DE",
                                        "Kmen-Evidence-Request",
                                        "type=b; country=AT",
                                        "Kmen-Potential-Contact",
                                        "email=first@example.cz",
                                        "Kmen-Potential-Contact",
                                        "phone=1",
                                        NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.complete, KMEN_COMPLETE_NEW);
    ck_assert_str_eq(c.evidence_request, "type=a; country=DE");
    ck_assert_str_eq(c.contact[0], "first@example.cz");
    ck_assert_ptr_null(c.contact[1]);
}
END_TEST

START_TEST(malformed_complete_is_told_apart)
{
    static const char *const values[] = {"",
                                         "New",
                                         "link=",
                                         "link=not-a-uuid",
                                         "link=0a1b2c3d-0000-4000-8000-00000000abcdX",
                                         "link= 0a1b2c3d-0000-4000-8000-00000000abc"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *pairs[] = {"Kmen-Complete", values[i], NULL};
        ck_assert_msg(parsed(pairs).complete == KMEN_COMPLETE_MALFORMED, "%s", values[i]);
    }
}
END_TEST

START_TEST(unknown_names_under_the_prefix_are_no_commands)
{
    static const char *const pairs[] = {"Kmen-Anything-Else",
                                        "x",
                                        "Kmen-Link-Systems",
                                        "a",
                                        "X-Kmen-Complete",
                                        "new",
                                        "Kmen-Complete-",
                                        "new",
                                        NULL};
    kmen_backend_commands c = parsed(pairs);
    ck_assert_int_eq(c.links_sent, 0);
    ck_assert_int_eq(c.complete, KMEN_COMPLETE_NONE);
}
END_TEST

START_TEST(the_prefix_is_the_configured_one)
{
    apr_table_t *t = apr_table_make(pool, 2);
    kmen_backend_commands c;
    apr_table_add(t, "Kmen-Complete", "new");
    apr_table_add(t, "X-Portal-Complete", "link=0a1b2c3d-0000-4000-8000-00000000abcd");
    kmen_backend_parse(pool, "X-Portal-", t, &c);
    ck_assert_int_eq(c.complete, KMEN_COMPLETE_LINK);
    const char *const *names = kmen_backend_header_names(pool, "X-Portal-");
    ck_assert_str_eq(names[KMEN_BACKEND_LINK_SYSTEM], "X-Portal-Link-System");
    ck_assert_str_eq(names[KMEN_BACKEND_POTENTIAL_CONTACT], "X-Portal-Potential-Contact");
}
END_TEST

/* 65 characters: one too many */
#define LONG_TYPE "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

START_TEST(evidence_request_value_is_checked)
{
    const char *type, *country;
    ck_assert(
        kmen_evidence_request_parse(pool, "type=birth-certificate; country=DE", &type, &country));
    ck_assert_str_eq(type, "birth-certificate");
    ck_assert_str_eq(country, "DE");
    ck_assert(kmen_evidence_request_parse(pool, " country=AT ;type=a.b:c_d ", &type, &country));
    ck_assert(!kmen_evidence_request_parse(pool, "type=x", &type, &country));
    ck_assert(!kmen_evidence_request_parse(pool, "type=x; country=de", &type, &country));
    ck_assert(!kmen_evidence_request_parse(pool, "type=x; country=DEU", &type, &country));
    ck_assert(!kmen_evidence_request_parse(pool, "type=a b; country=DE", &type, &country));
    ck_assert(!kmen_evidence_request_parse(pool, "type=; country=DE", &type, &country));
    const char *long_type =
        apr_pstrcat(pool, "type=", apr_pstrndup(pool, LONG_TYPE, 65), "; country=DE", NULL);
    ck_assert(!kmen_evidence_request_parse(pool, long_type, &type, &country));
}
END_TEST

/* ---- deciding and applying */

static kmen_dir_conf *dir;

static kmen_backend_response at(const char *uri, const kmen_session *s)
{
    kmen_backend_response resp = {dir, uri, "/app/x?y=1", s, NULL};
    return resp;
}

static kmen_session *session_of(const char *client_id, const char *pending_id)
{
    kmen_session *s = apr_pcalloc(pool, sizeof(*s));
    s->identity.client_id = client_id;
    s->pending_id = pending_id;
    return s;
}

static kmen_backend_outcome applied(const char *const *pairs, kmen_backend_response *resp)
{
    kmen_backend_commands cmds = parsed(pairs);
    return kmen_backend_apply(&logged_ctx, &no_cache, &cmds, resp);
}

static void setup_dir(void)
{
    setup();
    dir = kmen_dir_conf_new(pool);
    dir->verify_path = "/verify";
}

START_TEST(complete_without_a_session_is_ignored)
{
    static const char *const pairs[] = {"Kmen-Complete", "new", NULL};
    kmen_backend_response resp = at("/verify", NULL);
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("KMEN0672: Kmen-Complete ignored: no session");
}
END_TEST

START_TEST(malformed_complete_is_ignored)
{
    static const char *const pairs[] = {"Kmen-Complete", "link=x", NULL};
    kmen_backend_response resp = at("/verify", session_of(NULL, "p-1"));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Complete ignored: expected 'new' or 'link=<client-id>'");
}
END_TEST

START_TEST(complete_new_needs_a_pending_verification)
{
    static const char *const pairs[] = {"Kmen-Complete", "new", NULL};
    kmen_backend_response resp = at("/verify", session_of("c-1", NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Complete ignored: the session awaits no verification");
}
END_TEST

START_TEST(a_pending_verification_completes_only_from_the_verify_path)
{
    static const char *const pairs[] = {"Kmen-Complete", "new", NULL};
    kmen_backend_response resp = at("/app/x", session_of(NULL, "p-1"));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Complete ignored: not sent from KmenVerifyPath");
}
END_TEST

START_TEST(a_completion_the_database_cannot_take_is_unavailable)
{
    static const char *const pairs[] = {"Kmen-Complete", "new", "Kmen-Link-System", "spis", NULL};
    const kmen_session *s = session_of(NULL, "p-1");
    kmen_backend_response resp = at("/verify/step", s);
    dir->accept_link_system = 1;
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_UNAVAILABLE);
    ck_assert_ptr_eq(resp.session, s);            /* not upgraded */
    for (int i = 0; i < logged_lines->nelts; i++) /* nothing after the refusal */
        ck_assert_ptr_null(strstr(APR_ARRAY_IDX(logged_lines, i, const char *), "Link-System"));
}
END_TEST

START_TEST(a_link_elsewhere_needs_allow_link)
{
    static const char *const pairs[] = {"Kmen-Complete",
                                        "link=0a1b2c3d-0000-4000-8000-00000000abcd", NULL};
    kmen_backend_response resp = at("/app/x", session_of("c-1", NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("link= not sent from KmenVerifyPath or a KmenAllowLink place");
    dir->allow_link = 1;
    logged_lines->nelts = 0;
    resp = at("/app/x", session_of(NULL, NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Complete ignored: the login has no client to link");
}
END_TEST

START_TEST(link_system_counts_only_where_opted_in)
{
    static const char *const pairs[] = {"Kmen-Link-System", "spisovka", NULL};
    kmen_backend_response resp = at("/app/x", session_of("c-1", NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("KMEN0690: Kmen-Link-System ignored: KmenAcceptLinkSystem is Off for /app/x");
    dir->accept_link_system = 1;
    logged_lines->nelts = 0;
    resp = at("/app/x", session_of(NULL, NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("KMEN0671: Kmen-Link-System without a registered client, ignored");
}
END_TEST

START_TEST(contact_counts_only_where_opted_in)
{
    static const char *const pairs[] = {"Kmen-Potential-Contact", "email=a@example.cz", NULL};
    kmen_backend_response resp = at("/desk", NULL);
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("KMEN0675: Kmen-Potential-Contact ignored: KmenAcceptContact is Off");
}
END_TEST

START_TEST(evidence_request_is_ignored_unless_it_can_be_served)
{
    static const char *const pairs[] = {"Kmen-Evidence-Request", "type=a; country=DE", NULL};
    static const char *const bad[] = {"Kmen-Evidence-Request", "type=a", NULL};
    kmen_backend_response resp = at("/account", session_of("c-1", NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Evidence-Request ignored: KmenAcceptEvidenceRequest is Off for /account");
    dir->accept_evidence_request = 1;
    logged_lines->nelts = 0;
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("KMEN0681: Kmen-Evidence-Request ignored: no KmenEvidenceURL");
    logged_conf.evidence_url = "https://evidence.example/start";
    logged_lines->nelts = 0;
    resp = at("/account", session_of(NULL, NULL));
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Evidence-Request ignored: no registered client");
    logged_lines->nelts = 0;
    resp = at("/account", session_of("c-1", NULL));
    ck_assert_int_eq(applied(bad, &resp), KMEN_BACKEND_PASS);
    logged_once("Kmen-Evidence-Request ignored: expected type=<type>; country=<CC>");
    /* well formed, but the database cannot record it: no redirect */
    ck_assert_int_eq(applied(pairs, &resp), KMEN_BACKEND_PASS);
    ck_assert_ptr_null(resp.location);
}
END_TEST

Suite *unit_suite(void)
{
    Suite *s = suite_create("backend");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, no_command_parses_to_nothing);
    tcase_add_test(tc, every_command_parses);
    tcase_add_test(tc, names_are_read_without_regard_to_case);
    tcase_add_test(tc, link_system_counts_every_item_of_every_value);
    tcase_add_test(tc, an_empty_link_system_is_still_sent);
    tcase_add_test(tc, of_other_duplicated_commands_the_first_counts);
    tcase_add_test(tc, malformed_complete_is_told_apart);
    tcase_add_test(tc, unknown_names_under_the_prefix_are_no_commands);
    tcase_add_test(tc, the_prefix_is_the_configured_one);
    tcase_add_test(tc, evidence_request_value_is_checked);
    suite_add_tcase(s, tc);
    tc = tcase_create("apply");
    tcase_add_checked_fixture(tc, setup_dir, NULL);
    tcase_add_test(tc, complete_without_a_session_is_ignored);
    tcase_add_test(tc, malformed_complete_is_ignored);
    tcase_add_test(tc, complete_new_needs_a_pending_verification);
    tcase_add_test(tc, a_pending_verification_completes_only_from_the_verify_path);
    tcase_add_test(tc, a_completion_the_database_cannot_take_is_unavailable);
    tcase_add_test(tc, a_link_elsewhere_needs_allow_link);
    tcase_add_test(tc, link_system_counts_only_where_opted_in);
    tcase_add_test(tc, contact_counts_only_where_opted_in);
    tcase_add_test(tc, evidence_request_is_ignored_unless_it_can_be_served);
    suite_add_tcase(s, tc);
    return s;
}
