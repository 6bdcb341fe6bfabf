/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login sequence (core/login.c) with no server around it, against a
 * throwaway PostgreSQL with sql/ applied: t/integration/test_login_core.py
 * starts it and passes KMEN_TEST_PG (the module's role) and
 * KMEN_TEST_PG_ADMIN (a superuser, to read the tables the module may only
 * reach through functions). Each outcome is checked in what the database
 * kept, what the log said, and that the cache was left alone: the session
 * goes into the cache only when the adapter hands it out, after the commit. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "libpq-fe.h"

#include "check_main.h"
#include "identity.h"
#include "login.h"

static kmen_server_conf conf;

/* ---- the log, and a cache that must not be used */

static int log_lines;
static const char *last_line;

static void keep_line(void *baton, const char *file, int line, kmen_log_level level,
                      const char *message)
{
    log_lines++;
    last_line = apr_pstrdup(pool, message);
}

static const char *request_id(void *baton)
{
    return baton;
}

static kmen_ctx ctx = {NULL, &conf, keep_line, request_id, NULL, KMEN_LOG_INFO, NULL};

static int cache_calls;

static int no_fetch(void *handle, kmen_ctx *c, const unsigned char *key, unsigned char **value,
                    apr_size_t *len)
{
    cache_calls++;
    return 0;
}

static void no_store(void *handle, kmen_ctx *c, const unsigned char *key,
                     const unsigned char *value, apr_size_t len, apr_time_t until)
{
    cache_calls++;
}

static void no_remove(void *handle, kmen_ctx *c, const unsigned char *key)
{
    cache_calls++;
}

static int no_update(void *handle, kmen_ctx *c, const unsigned char *key, kmen_cache_change *change,
                     void *baton)
{
    cache_calls++;
    return 0;
}

static const kmen_cache cache = {NULL, no_fetch, no_store, no_remove, no_update};

/* ---- the database as the test sees it */

/* The one number SQL answers, with N text parameters. */
static long scalar(const char *sql, int n, const char *const *params)
{
    PGconn *db = PQconnectdb(getenv("KMEN_TEST_PG_ADMIN"));
    ck_assert_int_eq(PQstatus(db), CONNECTION_OK);
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    long value = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(db);
    return value;
}

static long rows(const char *table)
{
    return scalar(apr_pstrcat(pool, "SELECT count(*) FROM ", table, NULL), 0, NULL);
}

/* The test's request ID: its audit rows carry it. */
static const char *baton(void)
{
    return ctx.baton;
}

/* The audit rows of this login with EVENT and OUTCOME. */
static long audited(const char *event, const char *outcome)
{
    return scalar("SELECT count(*) FROM kmen.audit WHERE request_id = $1 AND event = $2 "
                  "AND outcome = $3",
                  3, (const char *[]){baton(), event, outcome});
}

/* In how many transactions the rows of the login that made SESSION were
 * written: its session, its client, its consumed assertion, its audit rows. */
static long transactions_of(const kmen_login_result *login, const char *assertion_id)
{
    char hex[2 * KMEN_HASH_LEN + 1];
    for (int i = 0; i < KMEN_HASH_LEN; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", login->session.id_hash[i]);
    return scalar("SELECT count(DISTINCT x) FROM ("
                  " SELECT xmin::text AS x FROM kmen.session WHERE encode(id_hash, 'hex') = $1"
                  " UNION ALL SELECT xmin::text FROM kmen.audit WHERE request_id = $2"
                  " UNION ALL SELECT xmin::text FROM kmen.replay WHERE assertion_id = $3"
                  " UNION ALL SELECT c.xmin::text FROM kmen.client c"
                  "  JOIN kmen.audit a ON a.client_id = c.client_id WHERE a.request_id = $2) t",
                  3, (const char *[]){hex, baton(), assertion_id});
}

/* ---- a login: the outstanding request, NIA's assertion */

static void setup(void)
{
    memset(&conf, 0, sizeof(conf));
    conf.sp_entity_id = "https://portal-a.example/kmen/metadata";
    conf.home_country = "CZ";
    conf.clock_skew = 180;
    conf.pending_timeout = 3600;
    conf.session_lifetime = 28800;
    conf.session_idle = 1800;
    conf.session_cache_ttl = 10;
    memset(conf.session_key, 0x5a, sizeof(conf.session_key));
    unsigned char master[KMEN_HASH_LEN];
    memset(master, 0x3c, sizeof(master));
    kmen_id_keys_derive(master, &conf.id_keys);
    conf.store = kmen_store_create(pool, getenv("KMEN_TEST_PG"), 1);
    ck_assert_int_eq(kmen_store_child_init(conf.store, pool), APR_SUCCESS);
    ctx.pool = pool;
    ctx.request_id = NULL;
    ctx.baton = apr_pstrcat(pool, "login-test-", kmen_random_token(pool, 8), NULL);
    log_lines = cache_calls = 0;
    last_line = NULL;
}

/* An outstanding request of this test, as /login issues it. */
static const char *issued(int min_loa, const char *return_to)
{
    unsigned char state_hash[KMEN_HASH_LEN];
    const char *id = apr_pstrcat(pool, "_req-", baton(), NULL);
    kmen_sha256(id, strlen(id), state_hash);
    ck_assert_int_eq(
        kmen_store_request_issue(&ctx, conf.store, id, state_hash, return_to, min_loa, 300, 1),
        KMEN_STORE_OK);
    return id;
}

static void attribute(apr_array_header_t *attrs, const char *name, const char *value)
{
    kmen_attr *attr = apr_array_push(attrs);
    attr->name = name;
    attr->value = value;
}

/* A verified assertion about a foreigner of this test (KmenEidasPolicy
 * accept: a first login makes a client, no gateway asked). */
static kmen_assertion assertion(const char *assertion_id, kmen_loa loa)
{
    kmen_assertion a;
    memset(&a, 0, sizeof(a));
    a.assertion_id = assertion_id;
    a.not_on_or_after = apr_time_now() + apr_time_from_sec(300);
    a.ref.name_id = apr_pstrcat(pool, "DE/CZ/", baton(), NULL);
    a.ref.session_index = "_idx-1";
    a.loa = loa;
    a.authn_instant = "2026-12-06T10:00:00Z";
    a.attrs = apr_array_make(pool, 4, sizeof(kmen_attr));
    attribute(a.attrs, KMEN_EIDAS_NP "PersonIdentifier", a.ref.name_id);
    attribute(a.attrs, KMEN_EIDAS_NP "CurrentGivenName", "Anna");
    attribute(a.attrs, KMEN_EIDAS_NP "CurrentFamilyName", "Schmidt");
    attribute(a.attrs, KMEN_EIDAS_NP "DateOfBirth", "1980-02-03");
    return a;
}

/* ---- the outcomes */

START_TEST(login_creates_client_and_session_in_one_commit)
{
    const char *req = issued(KMEN_LOA_SUBSTANTIAL, "/portal/forms");
    kmen_assertion a = assertion("_a-ok", KMEN_LOA_HIGH);
    long sessions = rows("kmen.session"), clients = rows("kmen.client");
    kmen_login_result login;
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, req, NULL, &a, &login), KMEN_LOGIN_OK);
    ck_assert_str_eq(login.return_to, "/portal/forms");
    ck_assert_str_eq(login.who, "origin eidas, LoA high");
    ck_assert(kmen_session_cookie_is_well_formed(login.session.cookie));
    ck_assert_int_eq(rows("kmen.session"), sessions + 1);
    ck_assert_int_eq(rows("kmen.client"), clients + 1);
    ck_assert_int_eq(audited("login", "ok"), 1);
    ck_assert_int_eq(transactions_of(&login, "_a-ok"), 1);
    ck_assert_int_eq(cache_calls, 0);
}
END_TEST

START_TEST(login_below_the_location_loa_makes_no_session)
{
    const char *req = issued(KMEN_LOA_HIGH, "/portal/tax");
    kmen_assertion a = assertion("_a-low", KMEN_LOA_SUBSTANTIAL);
    long sessions = rows("kmen.session"), clients = rows("kmen.client");
    kmen_login_result login;
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, req, NULL, &a, &login),
                     KMEN_LOGIN_LOA_TOO_LOW);
    ck_assert_str_eq(login.return_to, "/portal/tax"); /* the retry comes back here */
    ck_assert_ptr_null(login.who);
    ck_assert_str_eq(last_line,
                     "KMEN0633: login at LoA substantial, below the high its location asks for");
    ck_assert_int_eq(audited("login", "loa_too_low"), 1);
    ck_assert_int_eq(rows("kmen.session"), sessions);
    ck_assert_int_eq(rows("kmen.client"), clients);
}
END_TEST

START_TEST(unknown_or_consumed_request_is_refused_and_writes_nothing)
{
    const char *req = issued(KMEN_LOA_SUBSTANTIAL, "/");
    kmen_assertion first = assertion("_a-first", KMEN_LOA_HIGH);
    kmen_assertion again = assertion("_a-again", KMEN_LOA_HIGH);
    kmen_assertion unknown = assertion("_a-unknown", KMEN_LOA_HIGH);
    kmen_login_result login;
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, req, NULL, &first, &login), KMEN_LOGIN_OK);
    long sessions = rows("kmen.session"), clients = rows("kmen.client");
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, req, NULL, &again, &login),
                     KMEN_LOGIN_INVALID);
    ck_assert_str_eq(last_line, "KMEN0624: SAML response refused: unknown_request");
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, "_never-issued", NULL, &unknown, &login),
                     KMEN_LOGIN_INVALID);
    ck_assert_ptr_null(login.who);
    ck_assert_int_eq(audited("login", "refused"), 2);
    ck_assert_int_eq(rows("kmen.session"), sessions);
    ck_assert_int_eq(rows("kmen.client"), clients);
}
END_TEST

START_TEST(replayed_assertion_is_refused)
{
    kmen_assertion a = assertion("_a-replayed", KMEN_LOA_HIGH);
    kmen_login_result login;
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, issued(KMEN_LOA_LOW, "/"), NULL, &a, &login),
                     KMEN_LOGIN_OK);
    long sessions = rows("kmen.session");
    ctx.baton = apr_pstrcat(pool, baton(), "-2", NULL); /* a second request, one assertion */
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, issued(KMEN_LOA_LOW, "/"), NULL, &a, &login),
                     KMEN_LOGIN_INVALID);
    ck_assert_str_eq(last_line, "KMEN0624: SAML response refused: replay");
    ck_assert_int_eq(rows("kmen.session"), sessions);
}
END_TEST

START_TEST(authn_failed_inside_the_assertion_is_failed)
{
    const char *req = issued(KMEN_LOA_LOW, "/");
    kmen_assertion a = assertion("_a-failed", KMEN_LOA_HIGH);
    attribute(a.attrs, KMEN_ATTR_STATUSCODE, "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed");
    kmen_login_result login;
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, req, NULL, &a, &login), KMEN_LOGIN_FAILED);
    ck_assert_int_eq(audited("login", "failed"), 1);
}
END_TEST

START_TEST(database_down_is_unavailable)
{
    conf.store = kmen_store_create(pool, "host=/nonexistent/kmen-login-test dbname=kmen", 1);
    ck_assert_int_eq(kmen_store_child_init(conf.store, pool), APR_SUCCESS);
    kmen_assertion a = assertion("_a-down", KMEN_LOA_HIGH);
    kmen_login_result login;
    ck_assert_int_eq(kmen_login_complete(&ctx, &cache, "_req-down", NULL, &a, &login),
                     KMEN_LOGIN_UNAVAILABLE);
    ck_assert_ptr_null(login.who);
    ck_assert_int_gt(log_lines, 0); /* the store says why */
    ck_assert_int_eq(cache_calls, 0);
}
END_TEST

Suite *unit_suite(void)
{
    if (!getenv("KMEN_TEST_PG") || !getenv("KMEN_TEST_PG_ADMIN")) {
        fputs("login_test: run by t/integration/test_login_core.py, which starts the "
              "database\n",
              stderr);
        return NULL;
    }
    Suite *suite = suite_create("login");
    TCase *tc = tcase_create("outcomes");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, login_creates_client_and_session_in_one_commit);
    tcase_add_test(tc, login_below_the_location_loa_makes_no_session);
    tcase_add_test(tc, unknown_or_consumed_request_is_refused_and_writes_nothing);
    tcase_add_test(tc, replayed_assertion_is_refused);
    tcase_add_test(tc, authn_failed_inside_the_assertion_is_failed);
    tcase_add_test(tc, database_down_is_unavailable);
    suite_add_tcase(suite, tc);
    return suite;
}
