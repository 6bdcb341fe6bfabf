/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A windowed counter in the cache: "<window start> <count>" under a key of
 * its own, read and written in one update. */
#include <stdio.h>
#include <string.h>

#include "apr_strings.h"

#include "cache.h"

typedef struct {
    apr_time_t window, start;
    int count;
} counter;

/* The window a stored counter is in, and its count; a fresh window when
 * there is none, it is unreadable, or it has ended. */
static void counter_read(counter *c, const unsigned char *old, apr_size_t old_len, apr_time_t now)
{
    char text[64];
    apr_size_t len = old_len < sizeof(text) - 1 ? old_len : 0;
    memcpy(text, old ? (const char *)old : "", len);
    text[len] = '\0';
    if (sscanf(text, "%" APR_TIME_T_FMT " %d", &c->start, &c->count) != 2 ||
        c->start + c->window <= now || c->start > now) {
        c->start = now;
        c->count = 0;
    }
}

static int counter_increment(void *baton, kmen_ctx *ctx, const unsigned char *old,
                             apr_size_t old_len, const unsigned char **value, apr_size_t *len,
                             apr_time_t *until)
{
    counter *c = baton;
    counter_read(c, old, old_len, apr_time_now());
    const char *text = apr_psprintf(ctx->pool, "%" APR_TIME_T_FMT " %d", c->start, ++c->count);
    *value = (const unsigned char *)text;
    *len = strlen(text);
    *until = c->start + c->window;
    return 1;
}

int kmen_cache_count(kmen_ctx *ctx, const kmen_cache *cache, const unsigned char *key,
                     int window_sec, int *resets_in)
{
    counter c = {apr_time_from_sec(window_sec), 0, 0};
    if (!cache->update(cache->handle, ctx, key, counter_increment, &c))
        return 0;
    *resets_in = (int)apr_time_sec(c.start + c.window - apr_time_now() + APR_USEC_PER_SEC - 1);
    return c.count;
}

/* ---- the cache that holds nothing */

static int none_fetch(void *handle, kmen_ctx *ctx, const unsigned char *key, unsigned char **value,
                      apr_size_t *len)
{
    return 0;
}

static void none_store(void *handle, kmen_ctx *ctx, const unsigned char *key,
                       const unsigned char *value, apr_size_t len, apr_time_t until)
{
}

static void none_remove(void *handle, kmen_ctx *ctx, const unsigned char *key) {}

static int none_update(void *handle, kmen_ctx *ctx, const unsigned char *key,
                       kmen_cache_change *change, void *baton)
{
    return 0;
}

const kmen_cache kmen_cache_none = {NULL, none_fetch, none_store, none_remove, none_update};
