/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/http_client.c against a real local server (t/unit/http_server.py, HTTP and HTTPS),
 * started here once for every test: the answer's status and body, each way a call fails
 * and what its error says, TLS verification, redirects, and the kept connections of a
 * client. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apr_strings.h"

#include "check_main.h"
#include "http_client.h"

static pid_t server;
static int http_port, https_port;
static char cert[4096];
static char dir[] = "/tmp/kmen-http-test-XXXXXX";

/* http_server.py beside this program, its certificate in dir; its ports and
 * certificate from the one line it prints. */
static int server_start(const char *program)
{
    const char *slash = strrchr(program, '/');
    const char *script = apr_pstrcat(
        pool, slash ? apr_pstrndup(pool, program, (apr_size_t)(slash - program + 1)) : "",
        "http_server.py", NULL);
    int out[2];
    if (!mkdtemp(dir) || pipe(out) != 0 || (server = fork()) < 0)
        return -1;
    if (server == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl("/usr/bin/python3", "python3", script, dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    int read = fscanf(f, "%d %d %4095s", &http_port, &https_port, cert);
    fclose(f);
    return read == 3 ? 0 : -1;
}

static apr_status_t server_stop(void *unused)
{
    (void)unused;
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    unlink(cert);
    unlink(apr_pstrcat(pool, dir, "/key.pem", NULL));
    rmdir(dir);
    return APR_SUCCESS;
}

/* A GET of PATH at the plain HTTP port, with limits no test reaches unless it means to. */
static kmen_http_request get(const char *path)
{
    kmen_http_request req = {.url = apr_psprintf(pool, "http://127.0.0.1:%d%s", http_port, path),
                             .timeout_ms = 10000,
                             .max_bytes = 1 << 20,
                             .allow_http = 1};
    return req;
}

START_TEST(a_200_answer_gives_its_body)
{
    kmen_http_request req = get("/ok");
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "hello");
    ck_assert_uint_eq(resp.len, 5);
    ck_assert_ptr_null(resp.reason);
    ck_assert_ptr_null(resp.error);
}
END_TEST

START_TEST(a_post_sends_its_body_and_content_type)
{
    kmen_http_request req = get("/echo");
    req.body = "{\"bsi\":\"x\"}";
    req.content_type = "application/json";
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "application/json;{\"bsi\":\"x\"}");
}
END_TEST

START_TEST(a_status_other_than_2xx_is_reported_with_the_url)
{
    kmen_http_request req = get("/status/503");
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_STATUS);
    ck_assert_int_eq(resp.status, 503);
    ck_assert_str_eq(resp.body, "status 503");
    ck_assert_str_eq(resp.reason, "HTTP status 503");
    ck_assert_str_eq(
        resp.error,
        apr_psprintf(pool, "http://127.0.0.1:%d/status/503: HTTP status 503", http_port));
}
END_TEST

/* By the Content-Length before the body, and while a body without one arrives. */
START_TEST(an_answer_over_the_limit_fails)
{
    const char *paths[] = {"/big?n=1001", "/stream?n=300000"};
    kmen_http_request req = get(paths[_i]);
    req.max_bytes = _i ? 100000 : 1000;
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_TOO_LARGE);
    ck_assert_int_eq(resp.status, 0);
    ck_assert_str_eq(resp.body, "");
    ck_assert_str_eq(resp.reason,
                     apr_psprintf(pool, "the answer exceeds %s bytes", _i ? "100000" : "1000"));
    ck_assert_ptr_nonnull(strstr(resp.error, resp.reason));
}
END_TEST

START_TEST(an_answer_of_exactly_the_limit_is_whole)
{
    const char *paths[] = {"/big?n=1000", "/stream?n=100000"};
    kmen_http_request req = get(paths[_i]);
    req.max_bytes = _i ? 100000 : 1000;
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_OK);
    ck_assert_uint_eq(resp.len, req.max_bytes);
    ck_assert_uint_eq(strlen(resp.body), req.max_bytes);
}
END_TEST

START_TEST(no_answer_within_the_timeout_is_reported)
{
    kmen_http_request req = get("/slow");
    req.timeout_ms = 300;
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_TIMEOUT);
    ck_assert_int_eq(resp.status, 0);
    ck_assert_str_eq(resp.reason, "Timeout was reached");
    ck_assert_ptr_nonnull(strstr(resp.error, apr_psprintf(pool, ":%d/slow: ", http_port)));
}
END_TEST

START_TEST(a_refused_connection_is_reported)
{
    kmen_http_request req = get("/ok");
    req.url = "http://127.0.0.1:1/ok"; /* nothing listens on port 1 */
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_CONNECT);
    ck_assert_int_eq(resp.status, 0);
    ck_assert_str_eq(resp.reason, "Couldn't connect to server");
    ck_assert_ptr_eq(strstr(resp.error, "http://127.0.0.1:1/ok: "), resp.error);
}
END_TEST

START_TEST(the_error_names_the_url_without_its_credentials_or_query)
{
    kmen_http_request req = get("/status/404");
    req.url = apr_psprintf(pool, "http://operator:s3cret@127.0.0.1:%d/status/404?token=t0ps3cret#x",
                           http_port);
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.status, 404);
    ck_assert_str_eq(
        resp.error,
        apr_psprintf(pool, "http://127.0.0.1:%d/status/404: HTTP status 404", http_port));
}
END_TEST

START_TEST(url_for_log_keeps_scheme_host_port_and_path)
{
    static const char *const cases[][2] = {
        {"https://u:p@gw.example:8443/v1/changes?after=abc", "https://gw.example:8443/v1/changes"},
        {"https://gw.example/a@b?x=1", "https://gw.example/a@b"},
        {"https://a@b@gw.example#frag", "https://gw.example"},
        {"https://[::1]:8443/p", "https://[::1]:8443/p"},
        {"gw.example/p?q", "gw.example/p"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(kmen_http_url_for_log(pool, cases[i][0]), cases[i][1]);
}
END_TEST

START_TEST(plain_http_is_refused_unless_allowed)
{
    kmen_http_request req = get("/ok");
    req.allow_http = 0;
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_FAILED);
    ck_assert_int_eq(resp.status, 0);
}
END_TEST

START_TEST(a_redirect_is_the_answer_unless_followed)
{
    kmen_http_request req = get("/redirect");
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_STATUS);
    ck_assert_int_eq(resp.status, 302);
    req.max_redirects = 3;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "hello");
}
END_TEST

/* The server's certificate is self-signed: refused unless it is the CA file. */
START_TEST(tls_verifies_the_server_against_the_ca_file)
{
    kmen_http_request req = get("/ok");
    req.url = apr_psprintf(pool, "https://127.0.0.1:%d/ok", https_port);
    req.allow_http = 0;
    kmen_http_response resp;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_TLS);
    ck_assert_int_eq(resp.status, 0);
    req.ca_file = cert;
    kmen_http_call(pool, &req, &resp);
    ck_assert_int_eq(resp.outcome, KMEN_HTTP_OK);
    ck_assert_str_eq(resp.body, "hello");
}
END_TEST

START_TEST(a_client_answers_each_request_of_a_run)
{
    kmen_http_client *client = kmen_http_client_create(pool, 2);
    kmen_http_request reqs[] = {get("/ok"), get("/status/404"), get("/big?n=3"), get("/ok")};
    reqs[3].url = "http://127.0.0.1:1/ok";
    kmen_http_response resps[4];
    kmen_http_client_run(client, pool, reqs, resps, 4);
    ck_assert_str_eq(resps[0].body, "hello");
    ck_assert_int_eq(resps[1].status, 404);
    ck_assert_str_eq(resps[2].body, "xxx");
    ck_assert_int_eq(resps[3].outcome, KMEN_HTTP_CONNECT);
}
END_TEST

/* The server sees the same client port on both runs: one connection, kept. */
START_TEST(a_client_keeps_its_connection_between_runs)
{
    kmen_http_client *client = kmen_http_client_create(pool, 1);
    kmen_http_request req = get("/peer");
    kmen_http_response first, second, fresh;
    kmen_http_client_run(client, pool, &req, &first, 1);
    kmen_http_client_run(client, pool, &req, &second, 1);
    kmen_http_call(pool, &req, &fresh);
    ck_assert_int_eq(first.status, 200);
    ck_assert_str_eq(second.body, first.body);
    ck_assert_str_ne(fresh.body, first.body);
}
END_TEST

/* The local server, for the whole run: stopped when the run's pool goes. */
Suite *unit_suite(void)
{
    kmen_http_library_init();
    if (server_start(unit_program) != 0) {
        if (server > 0)
            server_stop(NULL);
        fprintf(stderr, "http_test: the local server (http_server.py) did not start\n");
        return NULL;
    }
    apr_pool_cleanup_register(pool, NULL, server_stop, apr_pool_cleanup_null);
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("answers");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_200_answer_gives_its_body);
    tcase_add_test(tc, a_post_sends_its_body_and_content_type);
    tcase_add_test(tc, a_status_other_than_2xx_is_reported_with_the_url);
    tcase_add_loop_test(tc, an_answer_over_the_limit_fails, 0, 2);
    tcase_add_loop_test(tc, an_answer_of_exactly_the_limit_is_whole, 0, 2);
    tcase_add_test(tc, no_answer_within_the_timeout_is_reported);
    tcase_add_test(tc, a_refused_connection_is_reported);
    tcase_add_test(tc, the_error_names_the_url_without_its_credentials_or_query);
    tcase_add_test(tc, url_for_log_keeps_scheme_host_port_and_path);
    tcase_add_test(tc, plain_http_is_refused_unless_allowed);
    tcase_add_test(tc, a_redirect_is_the_answer_unless_followed);
    tcase_add_test(tc, tls_verifies_the_server_against_the_ca_file);
    tcase_add_test(tc, a_client_answers_each_request_of_a_run);
    tcase_add_test(tc, a_client_keeps_its_connection_between_runs);
    suite_add_tcase(s, tc);
    return s;
}
