/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The small shared cache the session store keeps in front of the database:
 * a server fills it (httpd: an mod_socache provider, apache/socache.c; nginx:
 * a shared-memory zone). Keys are KMEN_CACHE_KEY_LEN bytes (a SHA-256), values
 * bytes with a deadline after which the cache no longer answers them. The
 * cache is an optimisation: an implementation that cannot reach its store
 * answers "nothing", and the session store falls through to the database. */
#ifndef KMEN_CACHE_H
#define KMEN_CACHE_H

#include "apr_time.h"

#include "context.h"
#include "crypto.h"

#define KMEN_CACHE_KEY_LEN KMEN_HASH_LEN

/* What a cache holds under a key becomes what this answers, given what it
 * held (NULL, 0: nothing, or past its deadline): 1 with the new value (in
 * ctx->pool) and its deadline in *value, *len, *until, or 0 to leave it. */
typedef int kmen_cache_change(void *baton, kmen_ctx *ctx, const unsigned char *old,
                              apr_size_t old_len, const unsigned char **value, apr_size_t *len,
                              apr_time_t *until);

/* Every operation takes the request's context: its pool for what an answer
 * needs, its log for a failure, and its adapter's request (ctx->baton) for
 * an implementation that needs the server's request (httpd's socache does). */
typedef struct {
    void *handle; /* the implementation's own */
    /* 1 with what KEY holds (in ctx->pool) in *value, *len; 0 when nothing. */
    int (*fetch)(void *handle, kmen_ctx *ctx, const unsigned char *key, unsigned char **value,
                 apr_size_t *len);
    void (*store)(void *handle, kmen_ctx *ctx, const unsigned char *key, const unsigned char *value,
                  apr_size_t len, apr_time_t until);
    void (*remove)(void *handle, kmen_ctx *ctx, const unsigned char *key);
    /* A fetch and a store no other change to KEY comes between, in every
     * process sharing the cache: a counter read and written by two
     * processes at once would otherwise count one event for two. 1 when
     * CHANGE was asked, 0 when the cache cannot be used. Kept to one more
     * operation rather than a lock and an unlock in the interface: each
     * implementation has its own lock (a global mutex, the zone's), and a
     * lock the core could leave held is one it cannot forget to release. */
    int (*update)(void *handle, kmen_ctx *ctx, const unsigned char *key, kmen_cache_change *change,
                  void *baton);
} kmen_cache;

/* A cache that holds nothing: every fetch misses, every update is refused,
 * and the session store asks the database (a server with no cache set up). */
extern const kmen_cache kmen_cache_none;

/* One more event under KEY (distinct from any session's) in the current
 * window of WINDOW_SEC seconds, counted in CACHE so that every process
 * sharing it sees it: the count with this one, and in *resets_in the
 * seconds until the window ends. 0 when the cache cannot be used. */
int kmen_cache_count(kmen_ctx *ctx, const kmen_cache *cache, const unsigned char *key,
                     int window_sec, int *resets_in);

#endif
