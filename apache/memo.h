/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A per-process memo of values built from a secret key (opened sessions
 * under their cookie), shared by the threads of one httpd child. An entry
 * lives until its own deadline, and every entry of every child of this node
 * is dropped at once when any child calls kmen_memo_invalidate (a logout, a
 * changed session): a generation counter in shared memory says so. */
#ifndef KMEN_MEMO_H
#define KMEN_MEMO_H

#include "httpd.h"

/* In post_config: the node's generation counter, inherited by every child. */
void kmen_memo_post_config(apr_pool_t *pconf);
/* In child_init: this child's table and its lock. Without both the memo
 * keeps nothing. */
void kmen_memo_child_init(apr_pool_t *pchild);

/* The generation to hand to kmen_memo_put: read it before reading what the
 * value is built from, so that an invalidation in between is not missed. */
apr_uint32_t kmen_memo_generation(void);
/* Every child of this node drops every entry. */
void kmen_memo_invalidate(void);

/* Builds, in P (the entry's own pool), the value to keep from SOURCE. */
typedef const void *(*kmen_memo_build)(apr_pool_t *p, const void *source);

/* The value kept for KEY (LEN bytes, compared in constant time) and OWNER
 * (what else the value depends on, e.g. the server configuration), if it is
 * of the current generation and before its deadline; NULL otherwise. The
 * value stays valid until r->pool is destroyed. */
const void *kmen_memo_get(request_rec *r, const void *owner, const char *key, apr_size_t len);
/* Keeps BUILD(SOURCE) for KEY and OWNER until UNTIL, unless GENERATION is no
 * longer current; the kept value (valid until r->pool is destroyed), or
 * NULL when nothing was kept. */
const void *kmen_memo_put(request_rec *r, const void *owner, const char *key, apr_size_t len,
                          apr_uint32_t generation, apr_time_t until, kmen_memo_build build,
                          const void *source);

#endif
