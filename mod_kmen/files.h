/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole files read into a pool. */
#ifndef KMEN_FILES_H
#define KMEN_FILES_H

#include "apr_pools.h"

/* PATH's bytes (*LEN, NUL-terminated) in P; NULL, or "DIRECTIVE PATH:
 * cannot read: why". */
const char *kmen_read_file(apr_pool_t *p, const char *directive, const char *path, char **data,
                           apr_size_t *len);
/* The same as text. */
const char *kmen_read_text_file(apr_pool_t *p, const char *directive, const char *path,
                                const char **text);

#endif
