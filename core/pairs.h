/* SPDX-License-Identifier: GPL-2.0-or-later */
/* name=value lists: the Cookie header ("; "), query strings ("&") and the
 * "key=value; …" headers backends send. */
#ifndef KMEN_PAIRS_H
#define KMEN_PAIRS_H

#include "apr_pools.h"

/* The raw (undecoded) value of the first NAME in LIST, whose items are
 * separated by SEP and optional spaces; NULL when absent. */
const char *kmen_pair_value(apr_pool_t *p, const char *list, char sep, const char *name);

/* As kmen_pair_value, but NAME may appear more than once only with one and
 * the same value: two different values give NULL and *CONFLICT = 1. */
const char *kmen_pair_single_value(apr_pool_t *p, const char *list, char sep, const char *name,
                                   int *conflict);

/* The decoded value of NAME in QUERY (a query string or an
 * application/x-www-form-urlencoded body: '+' is a space); NULL when
 * absent; "" for a value that does not decode or would decode to an
 * embedded NUL, which no caller accepts. */
const char *kmen_query_value(apr_pool_t *p, const char *query, const char *name);

/* s without leading and trailing blanks (in place). */
char *kmen_trim(char *s);

/* s in lower case (in place, ASCII). */
char *kmen_lower(char *s);

#endif
