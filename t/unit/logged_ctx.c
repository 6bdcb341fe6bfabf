/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A context whose log lines are kept, over a database that cannot be
 * reached (logged_ctx.h). */
#include <check.h>
#include <string.h>

#include "apr_strings.h"

#include "check_main.h"
#include "logged_ctx.h"
#include "store_pg.h"

kmen_server_conf logged_conf;
apr_array_header_t *logged_lines;

static void keep_line(void *baton, const char *file, int line, kmen_log_level level,
                      const char *message)
{
    APR_ARRAY_PUSH(logged_lines, const char *) = apr_pstrdup(pool, message);
}

static const char *request_id(void *baton)
{
    return "req-unit-test";
}

kmen_ctx logged_ctx = {NULL, &logged_conf, keep_line, request_id, NULL, KMEN_LOG_INFO, NULL};

void logged_ctx_setup(const char *name)
{
    memset(&logged_conf, 0, sizeof(logged_conf));
    const char *conninfo = apr_pstrcat(pool, "host=/nonexistent/", name, " dbname=kmen", NULL);
    logged_conf.store = kmen_store_create(pool, conninfo, 1);
    ck_assert_int_eq(kmen_store_child_init(logged_conf.store, pool), APR_SUCCESS);
    logged_ctx.pool = pool;
    logged_lines = apr_array_make(pool, 4, sizeof(const char *));
}

void logged_once(const char *want)
{
    ck_assert_int_eq(logged_lines->nelts, 1);
    const char *line = APR_ARRAY_IDX(logged_lines, 0, const char *);
    ck_assert_msg(strstr(line, want), "logged \"%s\", not \"%s\"", line, want);
}
