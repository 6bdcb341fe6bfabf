/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fetcher of KmenIdPMetadataURL.
 *
 * One thread in httpd's parent process (root, like the start that read the
 * file first) per URL: the children need no network access, no write access
 * to the file's directory, and do not fetch N times. Each fetch is verified
 * against KmenIdPMetadataCertificateFile and loaded as at startup; only then
 * is it written beside the file and renamed over it, so the file is always
 * a complete, verified copy. A fetch that fails or does not verify leaves
 * the last good copy in place. The outcome goes to FILE.fetch, which the
 * children read for /kmen/health and the status page. */
#include <pthread.h>
#include <string.h>

#include "httpd.h"
#include "apr_file_io.h"
#include "apr_hash.h"
#include "http_core.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_proc.h"
#include "http_log.h"

#include "files.h"
#include "http_client.h"
#include "log.h"
#include "metadata_fetch.h"
#include "saml.h"

APLOG_USE_MODULE(kmen);

#define MAX_METADATA (4 * 1024 * 1024) /* NIA's is ~40 KiB */
#define FETCH_TIMEOUT 30L              /* seconds; a restart waits for it at most */

typedef struct {
    server_rec *s;
    const kmen_server_conf *c;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    int stop;
} fetcher;

/* The body of a 200 answer at C's URL (in P), or NULL and *ERR. */
static const char *download(apr_pool_t *p, const kmen_server_conf *c, const char **err)
{
    kmen_http_request req = {.url = c->idp_metadata_url,
                             .timeout_ms = FETCH_TIMEOUT * 1000L,
                             .max_bytes = MAX_METADATA,
                             .allow_http = c->allow_http,
                             .max_redirects = 3};
    kmen_http_response answer;
    kmen_http_call(p, &req, &answer);
    *err = answer.outcome != KMEN_HTTP_OK ? answer.reason
           : answer.status != 200         ? apr_psprintf(p, "HTTP status %ld", answer.status)
                                          : NULL;
    return *err ? NULL : answer.body;
}

/* TEXT written to a new file beside PATH (mode 0644) and renamed over it:
 * a reader sees the old file or the new one, never a part. */
static const char *write_atomically(apr_pool_t *p, const char *path, const char *text)
{
    char *tmp = apr_pstrcat(p, path, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_size_t len = strlen(text);
    apr_status_t rv =
        apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot create a file beside %s", path);
    rv = apr_file_write_full(f, text, len, NULL);
    apr_file_close(f);
    if (rv == APR_SUCCESS)
        rv = apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD |
                                         APR_FPROT_WREAD);
    if (rv == APR_SUCCESS)
        rv = apr_file_rename(tmp, path, p);
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        return apr_psprintf(p, "cannot write %s", path);
    }
    return NULL;
}

static const char *state_path(apr_pool_t *p, const kmen_server_conf *c)
{
    return apr_pstrcat(p, c->idp_metadata_file, ".fetch", NULL);
}

/* One fetch: downloaded, checked as the children will check it (against the
 * certificates pinned at startup), and written if it is new. */
static const char *fetch_once(apr_pool_t *p, const kmen_server_conf *c, int *changed)
{
    const char *err = NULL;
    char *current = NULL;
    apr_size_t len;
    const char *xml = download(p, c, &err);
    *changed = 0;
    if (!xml)
        return err;
    if ((err = kmen_sp_idp_check(c->sp, p, xml)))
        return apr_pstrcat(p, "the fetched metadata ", err, NULL);
    if (!kmen_file_read(p, c->idp_metadata_file, &current, &len) && strcmp(current, xml) == 0)
        return NULL;
    *changed = 1;
    return write_atomically(p, c->idp_metadata_file, xml);
}

/* FILE.fetch: the attempt's time, the last success's, and the result. */
static void record(apr_pool_t *p, const kmen_server_conf *c, const char *err)
{
    kmen_fetch_state before;
    kmen_metadata_fetch_state(p, c, &before);
    apr_time_t now = apr_time_now();
    write_atomically(p, state_path(p, c),
                     apr_psprintf(p, "%" APR_TIME_T_FMT "\n%" APR_TIME_T_FMT "\n%s\n", now,
                                  err ? before.succeeded : now, err ? err : "ok"));
}

/* httpd's parent forks its children while a fetcher may be inside libcurl,
 * OpenSSL, libxml2, xmlsec or lasso: a child forked while the fetcher holds
 * one of their locks would wait on it forever. fork() waits until no fetch
 * is under way (at most FETCH_TIMEOUT, once an hour). The handlers are
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
    apr_pool_t *p;
    int changed = 0;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return;
    pthread_mutex_lock(&fetching);
    const char *err = fetch_once(p, f->c, &changed);
    const char *url = kmen_http_url_for_log(p, f->c->idp_metadata_url);
    record(p, f->c, err);
    if (err)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, f->s,
                     KMEN_LOGNO(0647) "mod_kmen: KmenIdPMetadataURL %s: %s; the last good copy "
                                      "in %s stays in use",
                     url, err, f->c->idp_metadata_file);
    else
        ap_log_error(APLOG_MARK, changed ? APLOG_NOTICE : APLOG_INFO, 0, f->s,
                     KMEN_LOGNO(0648) "mod_kmen: KmenIdPMetadataURL %s: verified, %s", url,
                     changed ? "new metadata written" : "unchanged");
    pthread_mutex_unlock(&fetching);
    apr_pool_destroy(p);
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

void kmen_metadata_fetch_state(apr_pool_t *p, const kmen_server_conf *c, kmen_fetch_state *out)
{
    char *text = NULL;
    apr_size_t len;
    char *rest;
    memset(out, 0, sizeof(*out));
    if (!c->idp_metadata_url || kmen_file_read(p, state_path(p, c), &text, &len) != NULL)
        return;
    out->attempted = (apr_time_t)apr_strtoi64(text, &rest, 10);
    out->succeeded = (apr_time_t)apr_strtoi64(rest, &rest, 10);
    out->result = apr_pstrdup(p, rest + strspn(rest, "\n"));
    out->result = apr_pstrndup(p, out->result, strcspn(out->result, "\n"));
}
