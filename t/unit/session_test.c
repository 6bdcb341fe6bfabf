/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's session operations with no server around them, over a cache
 * that lives in this file. That cache (an APR hash, one process, no lock
 * needed) is the reference behaviour of the interface in core/cache.h, not
 * a mock of code under test: what it answers is what httpd's socache
 * adapter and nginx's zone answer. The database is one that cannot be
 * reached, so every operation that gets past the cache answers DOWN: a
 * session refused from the cache shows as DOWN, one opened from it as OK. */
#include <check.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "cache.h"
#include "check_main.h"
#include "session.h"

/* ---- the reference cache */

typedef struct {
    unsigned char *value;
    apr_size_t len;
    apr_time_t until;
} entry;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *entries;
} hash_cache;

static int hash_fetch(void *handle, kmen_ctx *ctx, const unsigned char *key, unsigned char **value,
                      apr_size_t *len)
{
    hash_cache *h = handle;
    const entry *e = apr_hash_get(h->entries, key, KMEN_CACHE_KEY_LEN);
    if (!e || e->until <= apr_time_now())
        return 0;
    *value = apr_pmemdup(ctx->pool, e->value, e->len);
    *len = e->len;
    return 1;
}

static void hash_store(void *handle, kmen_ctx *ctx, const unsigned char *key,
                       const unsigned char *value, apr_size_t len, apr_time_t until)
{
    hash_cache *h = handle;
    entry *e = apr_palloc(h->pool, sizeof(*e));
    e->value = apr_pmemdup(h->pool, value, len);
    e->len = len;
    e->until = until;
    apr_hash_set(h->entries, apr_pmemdup(h->pool, key, KMEN_CACHE_KEY_LEN), KMEN_CACHE_KEY_LEN, e);
}

static void hash_remove(void *handle, kmen_ctx *ctx, const unsigned char *key)
{
    hash_cache *h = handle;
    apr_hash_set(h->entries, key, KMEN_CACHE_KEY_LEN, NULL);
}

static int hash_update(void *handle, kmen_ctx *ctx, const unsigned char *key,
                       kmen_cache_change *change, void *baton)
{
    unsigned char *old = NULL;
    const unsigned char *value = NULL;
    apr_size_t old_len = 0, len = 0;
    apr_time_t until = 0;
    hash_fetch(handle, ctx, key, &old, &old_len);
    if (change(baton, ctx, old, old_len, &value, &len, &until))
        hash_store(handle, ctx, key, value, len, until);
    return 1;
}

static hash_cache cache_data;
static const kmen_cache cache = {&cache_data, hash_fetch, hash_store, hash_remove, hash_update};

/* ---- a context: a configuration, a database that cannot be reached */

static kmen_server_conf conf;
static int log_lines;

static void count_line(void *baton, const char *file, int line, kmen_log_level level,
                       const char *message)
{
    log_lines++;
}

static const char *request_id(void *baton)
{
    return "req-session-test";
}

static kmen_ctx ctx = {NULL, &conf, count_line, request_id, NULL, KMEN_LOG_WARNING, NULL};

static void setup(void)
{
    cache_data.pool = pool;
    cache_data.entries = apr_hash_make(pool);
    memset(&conf, 0, sizeof(conf));
    conf.sp_entity_id = "https://portal-a.example/kmen/metadata";
    memset(conf.session_key, 0x5a, sizeof(conf.session_key));
    conf.session_lifetime = 28800;
    conf.session_idle = 1800;
    conf.session_cache_ttl = 10;
    conf.store = kmen_store_create(pool, "host=/nonexistent/kmen-session-test dbname=kmen", 1);
    ck_assert_int_eq(kmen_store_child_init(conf.store, pool), APR_SUCCESS);
    ctx.pool = pool;
    log_lines = 0;
}

/* A session as a login would make it, expiring at EXPIRES, sealed to COOKIE
 * and put in the cache as a login hands it out. */
static kmen_session issued(const char *cookie, apr_time_t expires)
{
    kmen_session s;
    memset(&s, 0, sizeof(s));
    s.identity.given_name = "Jan";
    s.identity.family_name = "Novák";
    s.identity.loa = KMEN_LOA_HIGH;
    s.identity.origin = KMEN_ORIGIN_NIA;
    s.ref.session_index = "idx-1";
    s.evidence = 1;
    s.expires = expires;
    kmen_sha256(cookie, KMEN_SESSION_COOKIE_LEN, s.id_hash);
    kmen_new_session n = {cookie, {0}, NULL, 0, apr_time_now() + apr_time_from_sec(10)};
    memcpy(n.id_hash, s.id_hash, KMEN_HASH_LEN);
    n.sealed = kmen_session_seal(&ctx, &s, &n.len);
    ck_assert_ptr_nonnull(n.sealed);
    kmen_session_issue(&ctx, &cache, &n);
    return s;
}

static const char *new_cookie(void)
{
    const char *cookie = kmen_random_token(pool, 32);
    ck_assert(kmen_session_cookie_is_well_formed(cookie));
    return cookie;
}

static apr_time_t in_an_hour(void)
{
    return apr_time_now() + apr_time_from_sec(3600);
}

static const entry *cached(const unsigned char *id_hash)
{
    return apr_hash_get(cache_data.entries, id_hash, KMEN_CACHE_KEY_LEN);
}

/* ---- opening */

START_TEST(issued_session_opens_from_the_cache_alone)
{
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, cookie, &opened, &until), KMEN_STORE_OK);
    ck_assert_str_eq(opened->identity.given_name, "Jan");
    ck_assert_str_eq(opened->identity.family_name, "Novák");
    ck_assert_ptr_null(opened->identity.email);
    ck_assert_int_eq(opened->identity.loa, KMEN_LOA_HIGH);
    ck_assert_str_eq(opened->ref.session_index, "idx-1");
    ck_assert_int_eq(opened->evidence, 1);
    ck_assert_int_eq(apr_time_sec(opened->expires), apr_time_sec(s.expires));
    ck_assert_mem_eq(opened->id_hash, s.id_hash, KMEN_HASH_LEN);
    ck_assert(until > apr_time_now() && until <= apr_time_now() + apr_time_from_sec(10));
    ck_assert_int_eq(log_lines, 0); /* the database was not asked */
}
END_TEST

START_TEST(malformed_or_absent_cookie_names_no_session)
{
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    const char *cookie = new_cookie();
    issued(cookie, in_an_hour());
    const char *shorter = apr_pstrndup(pool, cookie, KMEN_SESSION_COOKIE_LEN - 1);
    const char *odd = apr_pstrcat(pool, shorter, "=", NULL);
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, NULL, &opened, &until), KMEN_STORE_NOT_FOUND);
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, shorter, &opened, &until),
                     KMEN_STORE_NOT_FOUND);
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, odd, &opened, &until), KMEN_STORE_NOT_FOUND);
    ck_assert_ptr_null(opened);
}
END_TEST

/* Every character next to base64url's ranges and its two signs, and a byte
 * above ASCII, is refused at the first, a middle and the last place of a
 * cookie; so is a cookie one character longer than 43. */
START_TEST(cookie_outside_base64url_or_of_another_length_is_malformed)
{
    static const char near[] = "@[`{/:,.^+=\x7f \xc3";
    char cookie[KMEN_SESSION_COOKIE_LEN + 2];
    memset(cookie, 'A', KMEN_SESSION_COOKIE_LEN);
    cookie[KMEN_SESSION_COOKIE_LEN] = '\0';
    memcpy(cookie, "Zaz09-_", 7);
    ck_assert(kmen_session_cookie_is_well_formed(cookie));
    for (const char *c = near; *c; c++) {
        for (int at = 0; at < KMEN_SESSION_COOKIE_LEN; at += 21) {
            char saved = cookie[at];
            cookie[at] = *c;
            ck_assert_msg(!kmen_session_cookie_is_well_formed(cookie), "0x%02x at %d",
                          (unsigned char)*c, at);
            cookie[at] = saved;
        }
    }
    strcat(cookie, "A");
    ck_assert(!kmen_session_cookie_is_well_formed(cookie));
    ck_assert(!kmen_session_cookie_is_well_formed(""));
}
END_TEST

/* ---- sealing */

START_TEST(tampered_record_is_refused)
{
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    entry *e = (entry *)cached(s.id_hash);
    e->value[e->len - 1] ^= 0x01;
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, cookie, &opened, &until), KMEN_STORE_DOWN);
    ck_assert_ptr_null(opened);
}
END_TEST

/* A record moved under another session's key (a cache anyone can write to)
 * does not open there: it is sealed to its own session's ID hash. */
START_TEST(record_under_another_session_is_refused)
{
    const char *cookie = new_cookie(), *other = new_cookie();
    kmen_session s = issued(cookie, in_an_hour()), t = issued(other, in_an_hour());
    const entry *e = cached(s.id_hash);
    cache.store(cache.handle, &ctx, t.id_hash, e->value, e->len, e->until);
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, other, &opened, &until), KMEN_STORE_DOWN);
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, cookie, &opened, &until), KMEN_STORE_OK);
}
END_TEST

START_TEST(record_of_another_sp_or_key_is_refused)
{
    kmen_session s;
    memset(&s, 0, sizeof(s));
    s.identity.given_name = "Jan";
    s.expires = in_an_hour();
    kmen_sha256("some cookie", 11, s.id_hash);
    apr_size_t len = 0;
    unsigned char *sealed = kmen_session_seal(&ctx, &s, &len);
    kmen_session read;
    memset(&read, 0, sizeof(read));
    memcpy(read.id_hash, s.id_hash, KMEN_HASH_LEN);
    ck_assert_int_eq(kmen_session_unseal(&ctx, sealed, len, &read), 1);
    ck_assert_str_eq(read.identity.given_name, "Jan");
    /* another SP's entity ID of the same length: its bytes are sealed to, not only its length */
    conf.sp_entity_id = "https://portal-b.example/kmen/metadata";
    ck_assert_int_eq(kmen_session_unseal(&ctx, sealed, len, &read), 0);
    conf.sp_entity_id = "https://portal-a.example/kmen/metadata";
    conf.session_key[0] ^= 0x01;
    ck_assert_int_eq(kmen_session_unseal(&ctx, sealed, len, &read), 0);
    conf.session_key[0] ^= 0x01;
    ck_assert_int_eq(kmen_session_unseal(&ctx, sealed, len, &read), 1);
}
END_TEST

/* ---- expiry */

START_TEST(expired_session_is_refused_though_cached)
{
    const char *cookie = new_cookie();
    issued(cookie, apr_time_now() - apr_time_from_sec(1));
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, cookie, &opened, &until), KMEN_STORE_DOWN);
    ck_assert_ptr_null(opened);
}
END_TEST

START_TEST(cache_entry_past_its_deadline_is_not_used)
{
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    ((entry *)cached(s.id_hash))->until = apr_time_now() - 1;
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    ck_assert_int_eq(kmen_session_open(&ctx, &cache, cookie, &opened, &until), KMEN_STORE_DOWN);
    ck_assert_int_gt(log_lines, 0); /* it asked the database */
}
END_TEST

/* ---- ending and changing */

START_TEST(destroyed_session_leaves_the_cache)
{
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    ck_assert_ptr_nonnull(cached(s.id_hash));
    kmen_session_destroy(&ctx, &cache, &s);
    ck_assert_ptr_null(cached(s.id_hash));
    kmen_session *opened = NULL;
    apr_time_t until = 0;
    ck_assert_int_ne(kmen_session_open(&ctx, &cache, cookie, &opened, &until), KMEN_STORE_OK);
}
END_TEST

/* The database did not take the change: the cache must not serve the old
 * record as if it had, nor the new one. */
START_TEST(update_the_database_refused_leaves_the_cache_without_it)
{
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    s.pending_id = NULL;
    s.evidence = 0;
    ck_assert_int_eq(kmen_session_update(&ctx, &cache, &s), KMEN_STORE_DOWN);
    ck_assert_ptr_null(cached(s.id_hash));
}
END_TEST

START_TEST(copy_owns_its_strings_and_no_headers)
{
    apr_pool_t *p = NULL;
    apr_pool_create(&p, pool);
    kmen_session s;
    memset(&s, 0, sizeof(s));
    s.identity.given_name = apr_pstrdup(p, "Jan");
    s.headers = (const struct kmen_header_set *)&s;
    kmen_session *copy = kmen_session_copy(pool, &s);
    apr_pool_destroy(p);
    ck_assert_str_eq(copy->identity.given_name, "Jan");
    ck_assert_ptr_null(copy->headers);
}
END_TEST

/* ---- tokens */

START_TEST(login_state_names_the_session_the_browser_holds)
{
    const char *cookie = new_cookie(), *previous = "unchanged";
    unsigned char id_hash[KMEN_HASH_LEN];
    kmen_sha256(cookie, KMEN_SESSION_COOKIE_LEN, id_hash);
    const char *hex = kmen_hex(pool, id_hash, KMEN_HASH_LEN);
    const char *value = kmen_session_login_state(&ctx, "st4te", cookie);
    ck_assert_str_eq(value, apr_pstrcat(pool, "st4te.", hex, NULL));
    ck_assert_str_eq(kmen_session_login_state_of(&ctx, value, &previous), "st4te");
    ck_assert_str_eq(previous, hex);
    ck_assert_str_eq(kmen_session_login_state(&ctx, "st4te", NULL), "st4te");
    ck_assert_str_eq(kmen_session_login_state(&ctx, "st4te", "short"), "st4te");
    ck_assert_str_eq(kmen_session_login_state_of(&ctx, "st4te", &previous), "st4te");
    ck_assert_ptr_null(previous);
    ck_assert_str_eq(kmen_session_login_state_of(&ctx, "st4te.abc", &previous), "st4te");
    ck_assert_ptr_null(previous);
}
END_TEST

START_TEST(logout_token_is_bound_to_the_session_and_the_key)
{
    kmen_session s, t;
    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    kmen_sha256("one", 3, s.id_hash);
    kmen_sha256("two", 3, t.id_hash);
    const char *token = kmen_session_logout_token(&ctx, &s);
    ck_assert_uint_eq(strlen(token), 2 * KMEN_HASH_LEN);
    ck_assert_str_eq(kmen_session_logout_token(&ctx, &s), token);
    ck_assert_str_ne(kmen_session_logout_token(&ctx, &t), token);
    conf.session_key[0] ^= 0x01;
    ck_assert_str_ne(kmen_session_logout_token(&ctx, &s), token);
}
END_TEST

/* ---- the counter */

START_TEST(counter_counts_each_key_within_its_window)
{
    unsigned char key[KMEN_HASH_LEN], other[KMEN_HASH_LEN];
    int resets_in = -1;
    kmen_sha256("kmen-login-start 192.0.2.1", 26, key);
    kmen_sha256("kmen-login-start 192.0.2.2", 26, other);
    ck_assert_int_eq(kmen_cache_count(&ctx, &cache, key, 60, &resets_in), 1);
    ck_assert(resets_in > 0 && resets_in <= 60);
    ck_assert_int_eq(kmen_cache_count(&ctx, &cache, key, 60, &resets_in), 2);
    ck_assert_int_eq(kmen_cache_count(&ctx, &cache, key, 60, &resets_in), 3);
    ck_assert_int_eq(kmen_cache_count(&ctx, &cache, other, 60, &resets_in), 1);
    ck_assert(cached(key)->until <= apr_time_now() + apr_time_from_sec(60));
}
END_TEST

/* A window that has ended, one that starts in the future (a clock set
 * back), or a value that is no counter: counting starts again. */
START_TEST(counter_starts_again_after_its_window_or_on_garbage)
{
    unsigned char key[KMEN_HASH_LEN];
    int resets_in = 0;
    apr_time_t now = apr_time_now(), later = now + apr_time_from_sec(600);
    const char *values[] = {
        apr_psprintf(pool, "%" APR_TIME_T_FMT " 7", now - apr_time_from_sec(61)),
        apr_psprintf(pool, "%" APR_TIME_T_FMT " 7", now + apr_time_from_sec(30)), "garbage"};
    kmen_sha256("counter", 7, key);
    for (int i = 0; i < 3; i++) {
        cache.store(cache.handle, &ctx, key, (const unsigned char *)values[i], strlen(values[i]),
                    later);
        ck_assert_int_eq(kmen_cache_count(&ctx, &cache, key, 60, &resets_in), 1);
    }
    const char *running = apr_psprintf(pool, "%" APR_TIME_T_FMT " 7", now - apr_time_from_sec(10));
    cache.store(cache.handle, &ctx, key, (const unsigned char *)running, strlen(running), later);
    ck_assert_int_eq(kmen_cache_count(&ctx, &cache, key, 60, &resets_in), 8);
    ck_assert(resets_in > 0 && resets_in <= 50);
}
END_TEST

/* ---- a process's memo of the sessions it opened (session_kept.c) */

static kmen_memo_counter generation;

static kmen_memo *memo_new(void)
{
    generation = 0;
    conf.header_prefix = "Kmen-";
    kmen_memo *m = kmen_memo_create(pool, &generation, 1);
    ck_assert_ptr_nonnull(m);
    return m;
}

START_TEST(kept_session_opens_without_the_cache_until_invalidated)
{
    kmen_memo *m = memo_new();
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    const kmen_session *opened = NULL, *again = NULL;
    ck_assert_int_eq(kmen_session_open_kept(&ctx, &cache, m, cookie, &opened), KMEN_STORE_OK);
    ck_assert_ptr_nonnull(opened->headers); /* encoded once, kept with it */
    cache.remove(cache.handle, &ctx, s.id_hash);
    ck_assert_int_eq(kmen_session_open_kept(&ctx, &cache, m, cookie, &again), KMEN_STORE_OK);
    ck_assert_ptr_eq(again, opened);
    ck_assert_int_eq(log_lines, 0); /* the database was not asked */
    kmen_memo_invalidate(&generation);
    /* neither the cache nor the unreachable database has it now */
    ck_assert_int_eq(kmen_session_open_kept(&ctx, &cache, m, cookie, &again), KMEN_STORE_DOWN);
}
END_TEST

START_TEST(no_counter_no_memo)
{
    const char *cookie = new_cookie();
    kmen_session s = issued(cookie, in_an_hour());
    const kmen_session *opened = NULL;
    ck_assert_ptr_null(kmen_memo_create(pool, NULL, 1));
    ck_assert_int_eq(kmen_session_open_kept(&ctx, &cache, NULL, cookie, &opened), KMEN_STORE_OK);
    ck_assert_ptr_null(opened->headers);
    cache.remove(cache.handle, &ctx, s.id_hash);
    ck_assert_int_eq(kmen_session_open_kept(&ctx, &cache, NULL, cookie, &opened), KMEN_STORE_DOWN);
}
END_TEST

static const void *keep_string(apr_pool_t *p, const void *source)
{
    return apr_pstrdup(p, source);
}

START_TEST(memo_answers_only_its_owner_and_generation)
{
    kmen_memo *m = memo_new();
    static const char key[] = "key-1", other[] = "key-2";
    apr_time_t until = in_an_hour();
    apr_uint32_t gen = kmen_memo_generation(m);
    ck_assert_str_eq(kmen_memo_put(m, pool, &conf, key, 5, gen, until, keep_string, "v"), "v");
    ck_assert_str_eq(kmen_memo_get(m, pool, &conf, key, 5), "v");
    ck_assert_ptr_null(kmen_memo_get(m, pool, &ctx, key, 5));
    ck_assert_ptr_null(kmen_memo_get(m, pool, &conf, other, 5));
    kmen_memo_invalidate(&generation);
    ck_assert_ptr_null(kmen_memo_get(m, pool, &conf, key, 5));
    /* read before an invalidation: what it was built from may be stale */
    ck_assert_ptr_null(kmen_memo_put(m, pool, &conf, key, 5, gen, until, keep_string, "v"));
    ck_assert_ptr_null(
        kmen_memo_put(m, pool, &conf, key, 5, gen + 1, apr_time_now(), keep_string, "v"));
}
END_TEST

Suite *unit_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("sessions");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, issued_session_opens_from_the_cache_alone);
    tcase_add_test(tc, malformed_or_absent_cookie_names_no_session);
    tcase_add_test(tc, cookie_outside_base64url_or_of_another_length_is_malformed);
    tcase_add_test(tc, tampered_record_is_refused);
    tcase_add_test(tc, record_under_another_session_is_refused);
    tcase_add_test(tc, record_of_another_sp_or_key_is_refused);
    tcase_add_test(tc, expired_session_is_refused_though_cached);
    tcase_add_test(tc, cache_entry_past_its_deadline_is_not_used);
    tcase_add_test(tc, destroyed_session_leaves_the_cache);
    tcase_add_test(tc, update_the_database_refused_leaves_the_cache_without_it);
    tcase_add_test(tc, copy_owns_its_strings_and_no_headers);
    tcase_add_test(tc, login_state_names_the_session_the_browser_holds);
    tcase_add_test(tc, logout_token_is_bound_to_the_session_and_the_key);
    suite_add_tcase(s, tc);
    tc = tcase_create("counter");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, counter_counts_each_key_within_its_window);
    tcase_add_test(tc, counter_starts_again_after_its_window_or_on_garbage);
    suite_add_tcase(s, tc);
    tc = tcase_create("kept");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, kept_session_opens_without_the_cache_until_invalidated);
    tcase_add_test(tc, no_counter_no_memo);
    tcase_add_test(tc, memo_answers_only_its_owner_and_generation);
    suite_add_tcase(s, tc);
    return s;
}
