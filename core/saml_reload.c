/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new IdP metadata file, picked up by every child without a restart.
 *
 * NIA rotates its signing certificate about once a year; the file changes
 * (a webmaster's download, or the fetcher of KmenIdPMetadataURL, which
 * renames a verified copy into place). Each child notices by a stat at most
 * once a second, checks the file as at startup, and swaps it in under a
 * write lock that waits for the requests using the old one. A file that
 * does not verify or load is refused: the child keeps what it has. */
#include <string.h>

#include "apr_atomic.h"
#include "apr_file_info.h"
#include "apr_strings.h"

#include "files.h"
#include "saml_private.h"

void kmen_idp_file_stat(const char *path, kmen_idp_file *out)
{
    apr_finfo_t info;
    apr_pool_t *p;
    memset(out, 0, sizeof(*out));
    if (!path || apr_pool_create(&p, NULL) != APR_SUCCESS)
        return;
    if (apr_stat(&info, path, APR_FINFO_MTIME | APR_FINFO_SIZE, p) == APR_SUCCESS) {
        out->mtime = info.mtime;
        out->size = info.size;
    }
    apr_pool_destroy(p);
}

void kmen_sp_use_begin(kmen_sp *sp)
{
    if (sp->lock)
        apr_thread_rwlock_rdlock(sp->lock);
}

void kmen_sp_use_end(kmen_sp *sp)
{
    if (sp->lock)
        apr_thread_rwlock_unlock(sp->lock);
}

static apr_status_t idp_pool_destroy(void *data)
{
    kmen_sp *sp = data;
    apr_pool_destroy(sp->idp_pool);
    return APR_SUCCESS;
}

/* The metadata's pools are children of APR's global pool, whose allocator
 * has a mutex: a request thread creates the next one, and pchild is not
 * meant to be shared between threads. pchild's end destroys the last one. */
const char *kmen_sp_child_init(kmen_sp *sp, apr_pool_t *pchild, int max_servers)
{
    sp->max_servers = max_servers < KMEN_LASSO_SERVERS ? max_servers : KMEN_LASSO_SERVERS;
    if (apr_thread_rwlock_create(&sp->lock, pchild) != APR_SUCCESS ||
        apr_pool_create(&sp->idp_pool, NULL) != APR_SUCCESS)
        return "cannot create the IdP metadata's lock";
    apr_pool_cleanup_register(pchild, sp, idp_pool_destroy, apr_pool_cleanup_null);
    return kmen_sp_servers_create(sp, sp->idp_pool);
}

static int same_file(const kmen_idp_file *a, const kmen_idp_file *b)
{
    return a->mtime == b->mtime && a->size == b->size;
}

/* With the write lock held: the file read and checked in a new pool, and
 * swapped in on success; else why not (in P). */
static const char *reload(kmen_sp *sp, const kmen_idp_file *seen, apr_pool_t *p)
{
    apr_pool_t *pool;
    char *xml;
    apr_size_t len;
    kmen_idp_facts facts;
    kmen_sp_input culprit;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return "no memory";
    const char *err = kmen_file_read(pool, sp->params.idp_metadata_file, &xml, &len);
    if (!err)
        err = kmen_idp_load(pool, sp, xml, &facts, &culprit);
    sp->idp_file = *seen; /* a refused file is not read again until it changes */
    if (err) {
        err = apr_pstrdup(p, err);
        apr_pool_destroy(pool);
        return err;
    }
    apr_pool_destroy(sp->idp_pool); /* the old servers with it: no request holds one */
    sp->idp_pool = pool;
    sp->idp = facts;
    sp->params.idp_metadata = xml;
    return kmen_sp_servers_create(sp, pool);
}

/* Whether PATH differs from the file the metadata in use came from. */
static int file_changed(kmen_sp *sp, const kmen_idp_file *seen)
{
    kmen_sp_use_begin(sp);
    int changed = seen->mtime && !same_file(seen, &sp->idp_file);
    kmen_sp_use_end(sp);
    return changed;
}

kmen_idp_refresh_status kmen_sp_idp_refresh(kmen_sp *sp, apr_pool_t *p, const char **err)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    kmen_idp_file seen;
    *err = NULL;
    if (!sp->lock || apr_atomic_xchg32(&sp->checked_at, now) == now)
        return KMEN_IDP_UNCHANGED;
    kmen_idp_file_stat(sp->params.idp_metadata_file, &seen);
    if (!file_changed(sp, &seen))
        return KMEN_IDP_UNCHANGED;
    apr_thread_rwlock_wrlock(sp->lock);
    /* another thread may have got here first */
    const char *why = same_file(&seen, &sp->idp_file) ? "" : reload(sp, &seen, p);
    apr_thread_rwlock_unlock(sp->lock);
    if (why && !*why)
        return KMEN_IDP_UNCHANGED;
    *err = why;
    return why ? KMEN_IDP_REFUSED : KMEN_IDP_RELOADED;
}
