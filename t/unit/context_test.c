/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's request context without any server: kmen_log formats nothing
 * above the sink's level and hands the rest to the sink; the request ID is
 * made once; and the store and the translator log through the context when
 * the database or the gateway cannot be reached. */
#include <check.h>
#include <string.h>

#include "apr_strings.h"

#include "check_main.h"
#include "context.h"
#include "http_client.h"
#include "store_pg.h"
#include "translate.h"

/* ---- a sink that keeps what it is given */

typedef struct {
    int lines;
    kmen_log_level level;
    const char *file, *message, *all; /* all: every message, one per line */
    int ids_made;
} sink_record;

static void record_line(void *baton, const char *file, int line, kmen_log_level level,
                        const char *message)
{
    sink_record *rec = baton;
    ck_assert_int_gt(line, 0);
    rec->lines++;
    rec->level = level;
    rec->file = file;
    rec->message = apr_pstrdup(pool, message);
    rec->all = apr_pstrcat(pool, rec->all ? rec->all : "", message, "\n", NULL);
}

static const char *make_id(void *baton)
{
    sink_record *rec = baton;
    rec->ids_made++;
    return "req-1";
}

static kmen_ctx context(sink_record *rec, const kmen_server_conf *conf, kmen_log_level max)
{
    memset(rec, 0, sizeof(*rec));
    kmen_ctx ctx = {pool, conf, record_line, make_id, rec, max, NULL};
    return ctx;
}

static int evaluated;

static const char *counted(const char *s)
{
    evaluated++;
    return s;
}

/* ---- kmen_log */

START_TEST(log_hands_a_logged_level_to_the_sink_formatted)
{
    sink_record rec;
    kmen_ctx ctx = context(&rec, NULL, KMEN_LOG_INFO);
    kmen_log(&ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0999) "%s has %d", "it", 3);
    ck_assert_int_eq(rec.lines, 1);
    ck_assert_int_eq(rec.level, KMEN_LOG_WARNING);
    ck_assert_str_eq(rec.message, "KMEN0999: it has 3");
    ck_assert_ptr_nonnull(strstr(rec.file, "context_test.c"));
    kmen_log(&ctx, KMEN_LOG_INFO, "at the level itself");
    ck_assert_int_eq(rec.lines, 2);
}
END_TEST

START_TEST(log_above_the_level_evaluates_and_formats_nothing)
{
    sink_record rec;
    kmen_ctx ctx = context(&rec, NULL, KMEN_LOG_NOTICE);
    evaluated = 0;
    kmen_log(&ctx, KMEN_LOG_INFO, "%s", counted("not logged"));
    kmen_log(&ctx, KMEN_LOG_DEBUG, "%s", counted("not logged"));
    ck_assert_int_eq(evaluated, 0);
    ck_assert_int_eq(rec.lines, 0);
    kmen_log(&ctx, KMEN_LOG_ERR, "%s", counted("logged"));
    ck_assert_int_eq(evaluated, 1);
    ck_assert_int_eq(rec.lines, 1);
}
END_TEST

START_TEST(request_id_is_made_once_and_only_when_asked)
{
    sink_record rec;
    kmen_ctx ctx = context(&rec, NULL, KMEN_LOG_DEBUG);
    kmen_log(&ctx, KMEN_LOG_ERR, "a line makes no ID: the sink adds its own");
    ck_assert_int_eq(rec.ids_made, 0);
    ck_assert_str_eq(kmen_ctx_request_id(&ctx), "req-1");
    ck_assert_str_eq(kmen_ctx_request_id(&ctx), "req-1");
    ck_assert_int_eq(rec.ids_made, 1);
}
END_TEST

START_TEST(log_serving_nests_and_is_null_outside)
{
    sink_record rec1, rec2;
    kmen_ctx ctx1 = context(&rec1, NULL, KMEN_LOG_DEBUG),
             ctx2 = context(&rec2, NULL, KMEN_LOG_DEBUG);
    ck_assert_ptr_null(kmen_log_served());
    kmen_ctx *outer = kmen_log_serving(&ctx1);
    kmen_ctx *inner = kmen_log_serving(&ctx2);
    ck_assert_ptr_eq(kmen_log_served(), &ctx2);
    kmen_log_serving(inner);
    ck_assert_ptr_eq(kmen_log_served(), &ctx1);
    kmen_log_serving(outer);
    ck_assert_ptr_null(outer);
    ck_assert_ptr_null(kmen_log_served());
}
END_TEST

/* ---- the store and the translator, no server around them */

START_TEST(store_without_database_answers_down_and_logs_through_the_context)
{
    kmen_store *store =
        kmen_store_create(pool, "host=/nonexistent/kmen-context-test dbname=kmen", 1);
    ck_assert_int_eq(kmen_store_child_init(store, pool), APR_SUCCESS);
    sink_record rec;
    kmen_ctx ctx = context(&rec, NULL, KMEN_LOG_ERR);
    ck_assert_int_eq(kmen_store_ping(&ctx, store), KMEN_STORE_DOWN);
    ck_assert_int_ge(rec.lines, 1);
    ck_assert_int_eq(rec.level, KMEN_LOG_ERR);
    ck_assert_ptr_nonnull(strstr(rec.all, "KMEN0601: database connection failed: "));
    /* one entry, one line: libpq's line breaks are gone */
    ck_assert_ptr_null(strchr(rec.message, '\n'));
}
END_TEST

START_TEST(translator_unreachable_fails_and_logs_no_bsi)
{
    static const char bsi[] = "CZ/CZ/ff70c9dd-6a05-4068-aaa2-b57be4f328e9";
    kmen_server_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.translator_url = "https://127.0.0.1:1"; /* nothing listens on port 1 */
    conf.translator_timeout = 2;
    sink_record rec;
    kmen_ctx ctx = context(&rec, &conf, KMEN_LOG_DEBUG);
    const char *aifo = "unchanged";
    ck_assert_int_eq(kmen_translate_bsi(&ctx, bsi, "A8566", &aifo), KMEN_TRANSLATE_FAILED);
    ck_assert_ptr_null(aifo);
    ck_assert_int_eq(rec.lines, 1);
    ck_assert_int_eq(rec.level, KMEN_LOG_ERR);
    ck_assert_ptr_nonnull(strstr(rec.message, "KMEN0652: translation gateway /bsi-to-aifo failed"));
    ck_assert_ptr_null(strstr(rec.all, "ff70c9dd"));
}
END_TEST

Suite *unit_suite(void)
{
    kmen_http_library_init();
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, log_hands_a_logged_level_to_the_sink_formatted);
    tcase_add_test(tc, log_above_the_level_evaluates_and_formats_nothing);
    tcase_add_test(tc, request_id_is_made_once_and_only_when_asked);
    tcase_add_test(tc, log_serving_nests_and_is_null_outside);
    suite_add_tcase(s, tc);
    tc = tcase_create("without a server");
    tcase_add_test(tc, store_without_database_answers_down_and_logs_through_the_context);
    tcase_add_test(tc, translator_unreachable_fails_and_logs_no_bsi);
    suite_add_tcase(s, tc);
    return s;
}
