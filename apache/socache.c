/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's cache over a mod_socache provider. Each child's memo of the
 * sessions it opened (core/memo.h) is a copy of what this cache held: it is
 * made with the cache, and every removal drops it in every child of the
 * node. */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "apr_strings.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "apr_shm.h"
#include "util_mutex.h"

#include "socache.h"

APLOG_USE_MODULE(kmen);

#define CACHE_MUTEX "kmen-session-cache"
/* The largest value a fetch reads: a session record with every field full. */
#define VALUE_MAX 16384

static ap_socache_provider_t *cache_provider;
static ap_socache_instance_t *cache;
static apr_global_mutex_t *cache_mutex;
/* The node's memo generation, in shared memory every child inherits, and
 * this child's memo over it. */
static kmen_memo_counter *memo_generation;
static kmen_memo *memo;

void kmen_session_cache_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t cache_destroy(void *data)
{
    (void)data;
    if (cache)
        cache_provider->destroy(cache, NULL);
    cache = NULL;
    return APR_SUCCESS;
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the socache providers httpd has loaded, "a, b", sorted: httpd
 * keeps them in a hash, whose order changes from one run to the next. */
static const char *loaded_providers(apr_pool_t *p)
{
    apr_array_header_t *found =
        ap_list_provider_names(p, AP_SOCACHE_PROVIDER_GROUP, AP_SOCACHE_PROVIDER_VERSION);
    if (!found || found->nelts == 0)
        return "none";
    const char **names = apr_palloc(p, sizeof(*names) * (apr_size_t)found->nelts);
    for (int i = 0; i < found->nelts; i++)
        names[i] = APR_ARRAY_IDX(found, i, ap_list_provider_names_t).provider_name;
    qsort(names, (size_t)found->nelts, sizeof(*names), name_order);
    const char *list = names[0];
    for (int i = 1; i < found->nelts; i++)
        list = apr_pstrcat(p, list, ", ", names[i], NULL);
    return list;
}

/* The provider SPEC ("name[:args]") names; NULL and *ERR otherwise. */
static ap_socache_provider_t *provider_lookup(apr_pool_t *p, const char *spec, const char **err)
{
    const char *colon = strchr(spec, ':');
    const char *name = colon ? apr_pstrndup(p, spec, (apr_size_t)(colon - spec)) : spec;
    ap_socache_provider_t *provider =
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (!provider)
        *err =
            apr_psprintf(p, "no socache provider '%s' (LoadModule socache_%s_module?); loaded: %s",
                         name, name, loaded_providers(p));
    return provider;
}

/* At configtest already: a wrong name would otherwise pass it, and the next
 * graceful restart would fail in post_config and stop the live server. */
const char *kmen_session_cache_check(apr_pool_t *p, const char *spec)
{
    const char *err = NULL;
    provider_lookup(p, spec, &err);
    return err;
}

/* Without it (no shared memory) no child keeps what it opened. */
static void memo_generation_create(apr_pool_t *pconf)
{
    apr_shm_t *shm = NULL;
    memo_generation = NULL;
    if (apr_shm_create(&shm, sizeof(*memo_generation), NULL, pconf) == APR_SUCCESS) {
        memo_generation = apr_shm_baseaddr_get(shm);
        *memo_generation = 0;
    }
}

const char *kmen_session_cache_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                    const char *spec)
{
    const char *colon = strchr(spec, ':');
    const char *err = NULL;
    static struct ap_socache_hints hints = {KMEN_CACHE_KEY_LEN, 1024, 30};
    if (!(cache_provider = provider_lookup(ptemp, spec, &err)))
        return err;
    if ((err = cache_provider->create(&cache, colon ? colon + 1 : NULL, ptemp, pconf)))
        return err;
    if ((cache_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) &&
        ap_global_mutex_create(&cache_mutex, NULL, CACHE_MUTEX, NULL, s, pconf, 0) != APR_SUCCESS)
        return "cannot create its mutex";
    if (cache_provider->init(cache, "kmen-session", &hints, s, pconf) != APR_SUCCESS)
        return "cannot initialise the cache";
    apr_pool_cleanup_register(pconf, NULL, cache_destroy, apr_pool_cleanup_null);
    memo_generation_create(pconf);
    return NULL;
}

void kmen_session_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (cache_mutex &&
        apr_global_mutex_child_init(&cache_mutex, apr_global_mutex_lockfile(cache_mutex), pchild) !=
            APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     KMEN_LOGNO(0611) "cannot attach to the session cache mutex");
    int threaded = 0;
    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    memo = kmen_memo_create(pchild, memo_generation, threaded != AP_MPMQ_NOT_SUPPORTED);
}

kmen_memo *kmen_session_memo(void)
{
    return memo;
}

/* ---- the interface. Providers not safe across processes (shmcb) are used
 * under the mutex; a cache that cannot be locked answers nothing. */

static int cache_lock(void)
{
    return cache && (!cache_mutex || apr_global_mutex_lock(cache_mutex) == APR_SUCCESS);
}

static void cache_unlock(void)
{
    if (cache_mutex)
        apr_global_mutex_unlock(cache_mutex);
}

/* What KEY holds, the lock held: 1 with it in *value (in P), *len; 0 and
 * neither touched when nothing. */
static int retrieve_locked(request_rec *r, apr_pool_t *p, const unsigned char *key,
                           unsigned char **value, apr_size_t *len)
{
    unsigned int n = VALUE_MAX;
    unsigned char *buf = apr_palloc(p, n);
    if (cache_provider->retrieve(cache, r->server, key, KMEN_CACHE_KEY_LEN, buf, &n, p) !=
        APR_SUCCESS)
        return 0;
    *value = buf;
    *len = n;
    return 1;
}

static int socache_fetch(void *handle, kmen_ctx *ctx, const unsigned char *key,
                         unsigned char **value, apr_size_t *len)
{
    (void)handle;
    if (!cache_lock())
        return 0;
    int found = retrieve_locked(ctx->baton, ctx->pool, key, value, len);
    cache_unlock();
    return found;
}

static void store_locked(request_rec *r, apr_pool_t *p, const unsigned char *key,
                         const unsigned char *value, apr_size_t len, apr_time_t until)
{
    cache_provider->store(cache, r->server, key, KMEN_CACHE_KEY_LEN, until, (unsigned char *)value,
                          (unsigned int)len, p);
}

static void socache_store(void *handle, kmen_ctx *ctx, const unsigned char *key,
                          const unsigned char *value, apr_size_t len, apr_time_t until)
{
    (void)handle;
    if (!cache_lock())
        return;
    store_locked(ctx->baton, ctx->pool, key, value, len, until);
    cache_unlock();
}

/* Every child of this node forgets what it opened too. */
static void socache_remove(void *handle, kmen_ctx *ctx, const unsigned char *key)
{
    request_rec *r = ctx->baton;
    (void)handle;
    kmen_memo_invalidate(memo_generation);
    if (!cache_lock())
        return;
    cache_provider->remove(cache, r->server, key, KMEN_CACHE_KEY_LEN, ctx->pool);
    cache_unlock();
}

static int socache_update(void *handle, kmen_ctx *ctx, const unsigned char *key,
                          kmen_cache_change *change, void *baton)
{
    unsigned char *old = NULL;
    const unsigned char *value = NULL;
    apr_size_t old_len = 0, len = 0;
    apr_time_t until = 0;
    (void)handle;
    if (!cache_lock())
        return 0;
    retrieve_locked(ctx->baton, ctx->pool, key, &old, &old_len);
    if (change(baton, ctx, old, old_len, &value, &len, &until))
        store_locked(ctx->baton, ctx->pool, key, value, len, until);
    cache_unlock();
    return 1;
}

static const kmen_cache session_cache = {NULL, socache_fetch, socache_store, socache_remove,
                                         socache_update};

const kmen_cache *kmen_session_cache(void)
{
    return &session_cache;
}
