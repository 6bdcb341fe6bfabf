/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole files read into a pool. */
#ifndef KMEN_FILES_H
#define KMEN_FILES_H

#include "apr_pools.h"

/* PATH's bytes (*LEN, NUL-terminated) in P; NULL, or "cannot read: why",
 * for a message that names the file first. */
const char *kmen_file_read(apr_pool_t *p, const char *path, char **data, apr_size_t *len);

#endif
