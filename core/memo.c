/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-process memo: a fixed table of reference-counted entries, each in a
 * pool of its own, so that a request keeps using an entry another thread
 * has just replaced. */
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "crypto.h"
#include "memo.h"

/* Enough for the sessions one process serves within an entry's short life;
 * a collision only costs the slower path. */
#define MEMO_SLOTS 256

typedef struct memo_entry memo_entry;

struct kmen_memo {
    kmen_memo_counter *generation; /* the node's, in shared memory */
    apr_thread_mutex_t *lock;      /* NULL: the process has one thread */
    memo_entry *slots[MEMO_SLOTS];
};

struct memo_entry {
    kmen_memo *memo;
    apr_pool_t *pool; /* the entry's own: destroyed with its last reference */
    const char *key;
    apr_size_t len;
    const void *owner;
    apr_uint32_t generation;
    apr_time_t until;
    int refs; /* one for the table, one for each request using it */
    const void *value;
};

kmen_memo *kmen_memo_create(apr_pool_t *p, kmen_memo_counter *counter, int threaded)
{
    if (!counter)
        return NULL;
    kmen_memo *m = apr_pcalloc(p, sizeof(*m));
    m->generation = counter;
    if (threaded && apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    return m;
}

void kmen_memo_invalidate(kmen_memo_counter *counter)
{
    if (counter)
        apr_atomic_inc32(counter);
}

apr_uint32_t kmen_memo_generation(const kmen_memo *memo)
{
    return memo ? apr_atomic_read32(memo->generation) : 0;
}

static void memo_lock(kmen_memo *m)
{
    if (m->lock)
        apr_thread_mutex_lock(m->lock);
}

static void memo_unlock(kmen_memo *m)
{
    if (m->lock)
        apr_thread_mutex_unlock(m->lock);
}

static memo_entry **slot_of(kmen_memo *m, const char *key, apr_size_t len)
{
    apr_ssize_t klen = (apr_ssize_t)len;
    return &m->slots[apr_hashfunc_default(key, &klen) % MEMO_SLOTS];
}

/* Drops one reference; the last one frees the entry. */
static void entry_release(memo_entry *e)
{
    memo_lock(e->memo);
    int last = --e->refs == 0;
    memo_unlock(e->memo);
    if (last)
        apr_pool_destroy(e->pool);
}

static apr_status_t entry_release_cleanup(void *data)
{
    entry_release(data);
    return APR_SUCCESS;
}

static int entry_matches(const memo_entry *e, const void *owner, const char *key, apr_size_t len)
{
    return e && e->owner == owner && e->len == len && e->until > apr_time_now() &&
           e->generation == kmen_memo_generation(e->memo) &&
           kmen_equal_const_time(e->key, key, len);
}

const void *kmen_memo_get(kmen_memo *memo, apr_pool_t *pool, const void *owner, const char *key,
                          apr_size_t len)
{
    memo_entry *found = NULL;
    if (!memo)
        return NULL;
    memo_lock(memo);
    memo_entry *e = *slot_of(memo, key, len);
    if (entry_matches(e, owner, key, len)) {
        found = e;
        found->refs++;
    }
    memo_unlock(memo);
    if (!found)
        return NULL;
    apr_pool_cleanup_register(pool, found, entry_release_cleanup, apr_pool_cleanup_null);
    return found->value;
}

static memo_entry *entry_create(kmen_memo *memo, const void *owner, const char *key, apr_size_t len,
                                apr_uint32_t gen, apr_time_t until)
{
    apr_pool_t *p = NULL;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return NULL;
    memo_entry *e = apr_pcalloc(p, sizeof(*e));
    e->memo = memo;
    e->pool = p;
    e->key = apr_pmemdup(p, key, len);
    e->len = len;
    e->owner = owner;
    e->generation = gen;
    e->until = until;
    e->refs = 2; /* the table's and the caller's request's */
    return e;
}

const void *kmen_memo_put(kmen_memo *memo, apr_pool_t *pool, const void *owner, const char *key,
                          apr_size_t len, apr_uint32_t gen, apr_time_t until, kmen_memo_build build,
                          const void *source)
{
    if (!memo || until <= apr_time_now() || gen != kmen_memo_generation(memo))
        return NULL;
    memo_entry *e = entry_create(memo, owner, key, len, gen, until), *replaced = NULL;
    if (!e)
        return NULL;
    e->value = build(e->pool, source);
    memo_lock(memo);
    memo_entry **slot = slot_of(memo, key, len);
    replaced = *slot;
    *slot = e;
    memo_unlock(memo);
    if (replaced)
        entry_release(replaced);
    apr_pool_cleanup_register(pool, e, entry_release_cleanup, apr_pool_cleanup_null);
    return e->value;
}
