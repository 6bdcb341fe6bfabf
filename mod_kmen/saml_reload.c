/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new IdP metadata file, picked up by every child without a restart.
 *
 * NIA rotates its signing certificate about once a year; the file changes
 * (a webmaster's download, or the fetcher of KmenIdPMetadataURL, which
 * renames a verified copy into place). Each child notices by a stat at most
 * once a second, verifies the file as at startup, and swaps it in under a
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

static int same_file(const kmen_idp_file *a, const kmen_idp_file *b)
{
    return a->mtime == b->mtime && a->size == b->size;
}

/* The file read, verified and loaded into a new pool; swapped in on success. */
static const char *reload(kmen_sp *sp, const kmen_idp_file *seen)
{
    apr_pool_t *pool;
    const char *xml, *err;
    kmen_idp_facts facts;
    if (apr_pool_create(&pool, sp->pchild) != APR_SUCCESS)
        return "no memory";
    err = kmen_read_text_file(pool, "KmenIdPMetadataFile", sp->params.idp_metadata_file, &xml);
    if (!err && sp->params.idp_metadata_cert_pem &&
        (err = kmen_idp_metadata_verify(pool, xml, sp->params.idp_metadata_cert_pem)))
        err = apr_pstrcat(pool, "the IdP metadata ", err, NULL);
    if (!err)
        err = kmen_idp_load(pool, sp, xml, &facts);
    sp->idp_file = *seen; /* a refused file is not read again until it changes */
    if (err) {
        err = apr_pstrdup(sp->pchild, err);
        apr_pool_destroy(pool);
        return err;
    }
    apr_reslist_destroy(sp->servers);
    apr_pool_destroy(sp->idp_pool);
    sp->idp_pool = pool;
    sp->idp = facts;
    sp->params.idp_metadata = xml;
    return kmen_sp_servers_create(sp, pool);
}

kmen_idp_refresh_status kmen_sp_idp_refresh(kmen_sp *sp, apr_pool_t *p, const char **err)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    kmen_idp_file seen;
    *err = NULL;
    if (!sp->lock || apr_atomic_xchg32(&sp->checked_at, now) == now)
        return KMEN_IDP_UNCHANGED;
    kmen_idp_file_stat(sp->params.idp_metadata_file, &seen);
    if (!seen.mtime || same_file(&seen, &sp->idp_file))
        return KMEN_IDP_UNCHANGED;
    apr_thread_rwlock_wrlock(sp->lock);
    const char *why = same_file(&seen, &sp->idp_file) ? "" : reload(sp, &seen);
    apr_thread_rwlock_unlock(sp->lock);
    if (why && !*why)
        return KMEN_IDP_UNCHANGED; /* another thread got there first */
    *err = why ? apr_pstrdup(p, why) : NULL;
    return why ? KMEN_IDP_REFUSED : KMEN_IDP_RELOADED;
}
