/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main() of every libcheck unit test: one copy, linked into each program
 * (Makefile), so that how a suite is run and judged is the same for all. */
#include <stdlib.h>

#include "apr_general.h"

#include "check_main.h"

apr_pool_t *pool;
const char *unit_program;

int main(int argc, char **argv)
{
    unit_program = argc > 0 ? argv[0] : "";
    apr_initialize();
    apr_pool_create(&pool, NULL);
    Suite *suite = unit_suite();
    int failed = 1;
    if (suite) {
        SRunner *runner = srunner_create(suite);
        srunner_run_all(runner, CK_NORMAL);
        failed = srunner_ntests_failed(runner);
        srunner_free(runner);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
