/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fetcher of KmenIdPMetadataURL.
 *
 * One thread in httpd's parent process (root, like the start that read the
 * file first) per URL: the children need no network access, no write access
 * to the file's directory, and do not fetch N times. What a fetch does is
 * the core's (idp_metadata.h): verified, written over the file, its outcome
 * recorded beside it for the children's /kmen/health and status page. */
#include <pthread.h>

#include "httpd.h"
#include "apr_hash.h"
#include "http_core.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_proc.h"
#include "http_log.h"

#include "log.h"
#include "metadata_fetch.h"

APLOG_USE_MODULE(kmen);

typedef struct {
    server_rec *s;
    const kmen_server_conf *c;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    int stop;
} fetcher;

/* httpd's parent forks its children while a fetcher may be inside libcurl,
 * OpenSSL, libxml2, xmlsec or lasso: a child forked while the fetcher holds
 * one of their locks would wait on it forever. fork() waits until no fetch
 * is under way (at most a fetch's 30 s timeout, once an hour). The handlers are
 * registered once per process; the module stays loaded (-z nodelete). */
static pthread_mutex_t fetching = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

static void fork_wait(void)
{
    pthread_mutex_lock(&fetching);
}

static void fork_done(void)
{
    pthread_mutex_unlock(&fetching);
}

static void fork_guard(void)
{
    pthread_atfork(fork_wait, fork_done, fork_done);
}

static void fetch_and_log(fetcher *f)
{
    pthread_mutex_lock(&fetching);
    kmen_metadata_fetch(f->c, kmen_log_to_server, f->s);
    pthread_mutex_unlock(&fetching);
}

static void *APR_THREAD_FUNC fetcher_run(apr_thread_t *thread, void *data)
{
    fetcher *f = data;
    apr_thread_mutex_lock(f->mutex);
    while (!f->stop) {
        apr_thread_mutex_unlock(f->mutex);
        fetch_and_log(f);
        apr_thread_mutex_lock(f->mutex);
        if (!f->stop)
            apr_thread_cond_timedwait(f->wake, f->mutex,
                                      apr_time_from_sec(f->c->idp_metadata_refresh));
    }
    apr_thread_mutex_unlock(f->mutex);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Before pconf's subpools go (the thread's among them): stop and join. */
static apr_status_t fetcher_stop(void *data)
{
    fetcher *f = data;
    apr_status_t rv;
    apr_thread_mutex_lock(f->mutex);
    f->stop = 1;
    apr_thread_cond_signal(f->wake);
    apr_thread_mutex_unlock(f->mutex);
    apr_thread_join(&rv, f->thread);
    return APR_SUCCESS;
}

static void fetcher_start(apr_pool_t *pconf, server_rec *s, const kmen_server_conf *c)
{
    fetcher *f = apr_pcalloc(pconf, sizeof(*f));
    f->s = s;
    f->c = c;
    pthread_once(&fork_guard_once, fork_guard);
    if (apr_thread_mutex_create(&f->mutex, APR_THREAD_MUTEX_DEFAULT, pconf) != APR_SUCCESS ||
        apr_thread_cond_create(&f->wake, pconf) != APR_SUCCESS ||
        apr_thread_create(&f->thread, NULL, fetcher_run, f, pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     KMEN_LOGNO(0649) "mod_kmen: cannot start the fetcher of KmenIdPMetadataURL");
        return;
    }
    apr_pool_pre_cleanup_register(pconf, f, fetcher_stop);
}

void kmen_metadata_fetchers_start(apr_pool_t *pconf, server_rec *s)
{
    apr_hash_t *started = apr_hash_make(pconf);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    for (server_rec *vs = s; vs; vs = vs->next) {
        const kmen_server_conf *c = kmen_server_conf_get(vs);
        if (!c->sp || !c->idp_metadata_url ||
            apr_hash_get(started, c->idp_metadata_file, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(started, c->idp_metadata_file, APR_HASH_KEY_STRING, c);
        fetcher_start(pconf, vs, c);
    }
}
