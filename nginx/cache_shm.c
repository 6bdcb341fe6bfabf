/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A shared-memory zone holding a red-black tree of entries, each in a slab
 * of the zone: the cache key, the deadline, the value. The tree is ordered
 * by the key's first bytes (a SHA-256: evenly spread), then by the whole
 * key. An entry past its deadline is dropped when a lookup meets it, and
 * every such entry when the zone has no room for a new one; a zone full of
 * live entries keeps no more, and the session store asks the database.
 * Beside the tree, the node's memo generation: each worker's memo of the
 * sessions it opened (core/memo.h) is a copy of what the zone held, and
 * every removal drops it in every worker. */
#include <string.h>

#include "apr_strings.h"

#include "cache_shm.h"

extern ngx_module_t ngx_http_kmen_module;

typedef struct {
    ngx_rbtree_t rbtree;
    ngx_rbtree_node_t sentinel;
    kmen_memo_counter generation; /* every worker's memo's */
} shm_tree;

static kmen_memo *worker_memo;

typedef struct {
    ngx_rbtree_node_t node; /* first: a tree node is its entry */
    u_char key[KMEN_CACHE_KEY_LEN];
    apr_time_t until;
    size_t len;
    u_char value[];
} shm_entry;

static ngx_rbtree_key_t tree_key(const u_char *key)
{
    ngx_rbtree_key_t k;
    memcpy(&k, key, sizeof(k));
    return k;
}

/* <0, 0, >0 as KEY comes before, is, or comes after NODE's. */
static int key_order(ngx_rbtree_key_t k, const u_char *key, const ngx_rbtree_node_t *node)
{
    if (k != node->key)
        return k < node->key ? -1 : 1;
    return memcmp(key, ((const shm_entry *)node)->key, KMEN_CACHE_KEY_LEN);
}

static void entry_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
                         ngx_rbtree_node_t *sentinel)
{
    const u_char *key = ((shm_entry *)node)->key;
    for (;;) {
        ngx_rbtree_node_t **next = key_order(node->key, key, temp) < 0 ? &temp->left : &temp->right;
        if (*next == sentinel) {
            *next = node;
            break;
        }
        temp = *next;
    }
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}

static ngx_slab_pool_t *zone_pool(void *handle)
{
    return (ngx_slab_pool_t *)((ngx_shm_zone_t *)handle)->shm.addr;
}

static shm_tree *zone_tree(void *handle)
{
    return ((ngx_shm_zone_t *)handle)->data;
}

static void entry_delete(void *handle, shm_entry *e)
{
    ngx_rbtree_delete(&zone_tree(handle)->rbtree, &e->node);
    ngx_slab_free_locked(zone_pool(handle), e);
}

/* The live entry under KEY, the zone locked; one past its deadline is
 * dropped. */
static shm_entry *entry_find(void *handle, const u_char *key)
{
    shm_tree *t = zone_tree(handle);
    ngx_rbtree_key_t k = tree_key(key);
    ngx_rbtree_node_t *n = t->rbtree.root;
    while (n != t->rbtree.sentinel) {
        int order = key_order(k, key, n);
        if (order == 0)
            break;
        n = order < 0 ? n->left : n->right;
    }
    if (n == t->rbtree.sentinel)
        return NULL;
    if (((shm_entry *)n)->until > apr_time_now())
        return (shm_entry *)n;
    entry_delete(handle, (shm_entry *)n);
    return NULL;
}

/* Every entry past its deadline, the zone locked: room for a new one. */
static void sweep_expired(void *handle)
{
    shm_tree *t = zone_tree(handle);
    apr_time_t now = apr_time_now();
    if (t->rbtree.root == t->rbtree.sentinel)
        return;
    ngx_rbtree_node_t *n = ngx_rbtree_min(t->rbtree.root, t->rbtree.sentinel);
    while (n) {
        ngx_rbtree_node_t *next = ngx_rbtree_next(&t->rbtree, n);
        if (((shm_entry *)n)->until <= now)
            entry_delete(handle, (shm_entry *)n);
        n = next;
    }
}

static void store_locked(void *handle, const u_char *key, const u_char *value, apr_size_t len,
                         apr_time_t until)
{
    shm_entry *e = entry_find(handle, key);
    if (e)
        entry_delete(handle, e);
    size_t size = offsetof(shm_entry, value) + len;
    if (!(e = ngx_slab_alloc_locked(zone_pool(handle), size))) {
        sweep_expired(handle);
        if (!(e = ngx_slab_alloc_locked(zone_pool(handle), size)))
            return;
    }
    memcpy(e->key, key, KMEN_CACHE_KEY_LEN);
    memcpy(e->value, value, len);
    e->len = len;
    e->until = until;
    e->node.key = tree_key(key);
    ngx_rbtree_insert(&zone_tree(handle)->rbtree, &e->node);
}

/* ---- the interface: every operation under the zone's own lock */

static int shm_fetch(void *handle, kmen_ctx *ctx, const unsigned char *key, unsigned char **value,
                     apr_size_t *len)
{
    ngx_shmtx_lock(&zone_pool(handle)->mutex);
    shm_entry *e = entry_find(handle, key);
    if (e) {
        *value = apr_pmemdup(ctx->pool, e->value, e->len);
        *len = e->len;
    }
    ngx_shmtx_unlock(&zone_pool(handle)->mutex);
    return e != NULL;
}

static void shm_store(void *handle, kmen_ctx *ctx, const unsigned char *key,
                      const unsigned char *value, apr_size_t len, apr_time_t until)
{
    ngx_shmtx_lock(&zone_pool(handle)->mutex);
    store_locked(handle, key, value, len, until);
    ngx_shmtx_unlock(&zone_pool(handle)->mutex);
}

/* Every worker of this node forgets what it opened too. */
static void shm_remove(void *handle, kmen_ctx *ctx, const unsigned char *key)
{
    kmen_memo_invalidate(&zone_tree(handle)->generation);
    ngx_shmtx_lock(&zone_pool(handle)->mutex);
    shm_entry *e = entry_find(handle, key);
    if (e)
        entry_delete(handle, e);
    ngx_shmtx_unlock(&zone_pool(handle)->mutex);
}

/* CHANGE answers in ctx->pool: its value is copied before the old entry goes. */
static int shm_update(void *handle, kmen_ctx *ctx, const unsigned char *key,
                      kmen_cache_change *change, void *baton)
{
    const unsigned char *value = NULL;
    apr_size_t len = 0;
    apr_time_t until = 0;
    ngx_shmtx_lock(&zone_pool(handle)->mutex);
    shm_entry *e = entry_find(handle, key);
    if (change(baton, ctx, e ? e->value : NULL, e ? e->len : 0, &value, &len, &until))
        store_locked(handle, key, value, len, until);
    ngx_shmtx_unlock(&zone_pool(handle)->mutex);
    return 1;
}

/* ---- the zone and its directive */

/* DATA: the zone's tree before a reload, when nginx kept the zone (same
 * name and size): the sessions cached stay. */
static ngx_int_t zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t *pool = (ngx_slab_pool_t *)zone->shm.addr;
    static const char what[] = " in kmen_session_zone \"\"";
    if (data || zone->shm.exists) {
        zone->data = data ? data : pool->data;
        return NGX_OK;
    }
    shm_tree *t = ngx_slab_alloc(pool, sizeof(*t));
    pool->log_ctx = ngx_slab_alloc(pool, sizeof(what) + zone->shm.name.len);
    if (!t || !pool->log_ctx)
        return NGX_ERROR;
    ngx_sprintf(pool->log_ctx, " in kmen_session_zone \"%V\"%Z", &zone->shm.name);
    ngx_rbtree_init(&t->rbtree, &t->sentinel, entry_insert);
    t->generation = 0;
    pool->data = t;
    zone->data = t;
    return NGX_OK;
}

void *kmen_ngx_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(kmen_ngx_main_conf));
}

char *kmen_ngx_set_session_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_main_conf *m = conf;
    ngx_str_t *value = cf->args->elts;
    ssize_t size = ngx_parse_size(&value[2]), least = (ssize_t)(8 * ngx_pagesize);
    if (m->zone)
        return "is duplicate";
    if (size == NGX_ERROR)
        return "expects a size such as 10m";
    if (size < least) {
        u_char *why = ngx_pnalloc(cf->pool, 64);
        if (why)
            ngx_sprintf(why, "expects a size of at least %zk%Z", least / 1024);
        return why ? (char *)why : NGX_CONF_ERROR;
    }
    m->zone = ngx_shared_memory_add(cf, &value[1], (size_t)size, &ngx_http_kmen_module);
    if (!m->zone)
        return NGX_CONF_ERROR;
    m->zone->init = zone_init;
    m->cache = (kmen_cache){m->zone, shm_fetch, shm_store, shm_remove, shm_update};
    return NGX_CONF_OK;
}

void kmen_ngx_session_memo_init(ngx_cycle_t *cycle, apr_pool_t *p)
{
    const kmen_ngx_main_conf *m = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kmen_module);
    /* a worker serves its requests on one thread: no lock */
    worker_memo = kmen_memo_create(p, m && m->zone ? &zone_tree(m->zone)->generation : NULL, 0);
}

kmen_memo *kmen_ngx_session_memo(void)
{
    return worker_memo;
}
