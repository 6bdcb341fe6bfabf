/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A per-process memo of values built from a secret key (opened sessions
 * under their cookie), shared by the threads of one process (an httpd
 * child, an nginx worker). An entry lives until its own deadline, and every
 * entry of every process of this node is dropped at once when any of them
 * calls kmen_memo_invalidate (a logout, a changed session): the node's
 * generation counter says so. The counter is a word of memory every process
 * of the node maps, which the adapter makes before they start (httpd: an
 * apr_shm segment in post_config, apache/socache.c; nginx: a word of the
 * kmen_session_zone, nginx/cache_shm.c). */
#ifndef KMEN_MEMO_H
#define KMEN_MEMO_H

#include "apr_pools.h"
#include "apr_time.h"

/* The node's generation counter, in shared memory. */
typedef volatile apr_uint32_t kmen_memo_counter;

typedef struct kmen_memo kmen_memo;

/* This process's table, in P, over the node's COUNTER; THREADED: the
 * process's threads share it (a lock). NULL, a memo that keeps nothing,
 * without a counter or when memory ran out: every call below takes it. */
kmen_memo *kmen_memo_create(apr_pool_t *p, kmen_memo_counter *counter, int threaded);

/* Every process over COUNTER (or none: NULL) drops every entry. */
void kmen_memo_invalidate(kmen_memo_counter *counter);

/* The generation to hand to kmen_memo_put: read it before reading what the
 * value is built from, so that an invalidation in between is not missed. */
apr_uint32_t kmen_memo_generation(const kmen_memo *memo);

/* Builds, in P (the entry's own pool), the value to keep from SOURCE. */
typedef const void *(*kmen_memo_build)(apr_pool_t *p, const void *source);

/* The value kept for KEY (LEN bytes, compared in constant time) and OWNER
 * (what else the value depends on, e.g. the server configuration), if it is
 * of the current generation and before its deadline; NULL otherwise. The
 * value stays valid until POOL (the request's) is destroyed. */
const void *kmen_memo_get(kmen_memo *memo, apr_pool_t *pool, const void *owner, const char *key,
                          apr_size_t len);
/* Keeps BUILD(SOURCE) for KEY and OWNER until UNTIL, unless GENERATION is no
 * longer current; the kept value (valid until POOL is destroyed), or NULL
 * when nothing was kept. */
const void *kmen_memo_put(kmen_memo *memo, apr_pool_t *pool, const void *owner, const char *key,
                          apr_size_t len, apr_uint32_t generation, apr_time_t until,
                          kmen_memo_build build, const void *source);

#endif
