/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one main() of the libcheck unit tests (t/unit/check_main.c): it
 * readies APR and POOL, runs the program's suite and exits with whether
 * any test failed. Each *_test.c says only what is its own: its suite and
 * what the suite needs readied first. */
#ifndef KMEN_CHECK_MAIN_H
#define KMEN_CHECK_MAIN_H

#include <check.h>

#include "apr_pools.h"

/* The run's pool, from before unit_suite to after the last test. */
extern apr_pool_t *pool;
/* The program's path (argv[0]): its helpers lie beside it. */
extern const char *unit_program;

/* The program's suite, once APR and POOL are ready; NULL, having said why
 * on stderr, when what the suite needs is missing. What it starts for the
 * whole run it stops in a cleanup of POOL, which is destroyed after the
 * last test. */
Suite *unit_suite(void);

#endif
