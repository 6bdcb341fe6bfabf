/* SPDX-License-Identifier: GPL-2.0-or-later */
/* For the unit tests of core code that logs and may reach the store: a
 * request context whose log lines are kept in order to be read back, over a
 * configuration whose database cannot be reached (t/unit/logged_ctx.c). */
#ifndef KMEN_LOGGED_CTX_H
#define KMEN_LOGGED_CTX_H

#include "apr_tables.h"

#include "context.h"

/* The configuration LOGGED_CTX serves: zeroed by logged_ctx_setup but for
 * its store; a test sets what else it needs after it. */
extern kmen_server_conf logged_conf;
/* The context, at info level, and the lines it logged since the setup. */
extern kmen_ctx logged_ctx;
extern apr_array_header_t *logged_lines;

/* A checked fixture's setup: LOGGED_CONF zeroed, its store at a socket
 * that does not exist (NAME tells whose in a failure), no line logged. */
void logged_ctx_setup(const char *name);
/* Fails unless exactly one line was logged, and it contains WANT. */
void logged_once(const char *want);

#endif
