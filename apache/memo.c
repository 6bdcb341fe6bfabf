/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-process memo: a fixed table of reference-counted entries, each in a
 * pool of its own, so that a request keeps using an entry another thread
 * has just replaced. */
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "crypto.h"
#include "memo.h"

/* Enough for the sessions one child serves within an entry's short life; a
 * collision only costs the slower path. */
#define MEMO_SLOTS 256

typedef struct {
    apr_pool_t *pool; /* the entry's own: destroyed with its last reference */
    const char *key;
    apr_size_t len;
    const void *owner;
    apr_uint32_t generation;
    apr_time_t until;
    int refs; /* one for the table, one for each request using it */
    const void *value;
} memo_entry;

static apr_uint32_t *generation; /* in shared memory: every child of the node sees it */
static apr_thread_mutex_t *lock;
static memo_entry *slots[MEMO_SLOTS];

void kmen_memo_post_config(apr_pool_t *pconf)
{
    apr_shm_t *shm = NULL;
    generation = NULL;
    if (apr_shm_create(&shm, sizeof(*generation), NULL, pconf) == APR_SUCCESS) {
        generation = apr_shm_baseaddr_get(shm);
        apr_atomic_set32(generation, 0);
    }
}

void kmen_memo_child_init(apr_pool_t *pchild)
{
    lock = NULL;
    if (generation)
        apr_thread_mutex_create(&lock, APR_THREAD_MUTEX_DEFAULT, pchild);
}

apr_uint32_t kmen_memo_generation(void)
{
    return generation ? apr_atomic_read32(generation) : 0;
}

void kmen_memo_invalidate(void)
{
    if (generation)
        apr_atomic_inc32(generation);
}

static memo_entry **slot_of(const char *key, apr_size_t len)
{
    apr_ssize_t klen = (apr_ssize_t)len;
    return &slots[apr_hashfunc_default(key, &klen) % MEMO_SLOTS];
}

/* Drops one reference; the last one frees the entry. */
static void entry_release(memo_entry *e)
{
    apr_thread_mutex_lock(lock);
    int last = --e->refs == 0;
    apr_thread_mutex_unlock(lock);
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
           e->generation == apr_atomic_read32(generation) &&
           kmen_equal_const_time(e->key, key, len);
}

const void *kmen_memo_get(request_rec *r, const void *owner, const char *key, apr_size_t len)
{
    memo_entry *found = NULL;
    if (!lock)
        return NULL;
    apr_thread_mutex_lock(lock);
    memo_entry *e = *slot_of(key, len);
    if (entry_matches(e, owner, key, len)) {
        found = e;
        found->refs++;
    }
    apr_thread_mutex_unlock(lock);
    if (!found)
        return NULL;
    apr_pool_cleanup_register(r->pool, found, entry_release_cleanup, apr_pool_cleanup_null);
    return found->value;
}

static memo_entry *entry_create(const void *owner, const char *key, apr_size_t len,
                                apr_uint32_t gen, apr_time_t until)
{
    apr_pool_t *p = NULL;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return NULL;
    memo_entry *e = apr_pcalloc(p, sizeof(*e));
    e->pool = p;
    e->key = apr_pmemdup(p, key, len);
    e->len = len;
    e->owner = owner;
    e->generation = gen;
    e->until = until;
    e->refs = 2; /* the table's and the caller's request's */
    return e;
}

const void *kmen_memo_put(request_rec *r, const void *owner, const char *key, apr_size_t len,
                          apr_uint32_t gen, apr_time_t until, kmen_memo_build build,
                          const void *source)
{
    if (!lock || until <= apr_time_now() || gen != kmen_memo_generation())
        return NULL;
    memo_entry *e = entry_create(owner, key, len, gen, until), *replaced = NULL;
    if (!e)
        return NULL;
    e->value = build(e->pool, source);
    apr_thread_mutex_lock(lock);
    memo_entry **slot = slot_of(key, len);
    replaced = *slot;
    *slot = e;
    apr_thread_mutex_unlock(lock);
    if (replaced)
        entry_release(replaced);
    apr_pool_cleanup_register(r->pool, e, entry_release_cleanup, apr_pool_cleanup_null);
    return e->value;
}
