/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA's metadata kept current (idp_metadata.h). A fetch is verified and
 * loaded as at startup before it is written beside the file and renamed over
 * it, so the file is always a complete, verified copy; one that fails or does
 * not verify leaves the last good copy in place. */
#include <string.h>

#include "apr_file_io.h"
#include "apr_strings.h"

#include "conf_check.h"
#include "files.h"
#include "http_client.h"
#include "idp_metadata.h"
#include "saml.h"

#define MAX_METADATA (4 * 1024 * 1024) /* NIA's is ~40 KiB */
#define FETCH_TIMEOUT 30L              /* seconds */

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

/* Downloaded, checked, and written if it is new. */
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

/* httpd's lines about a server rather than a request say whose they are
 * (as its KMEN0644 and KMEN0649, apache/mod_kmen.c); nginx's do not. */
static const char *server_line_prefix(const kmen_server_conf *c)
{
    return c->spelling == KMEN_SPELL_HTTPD ? "mod_kmen: " : "";
}

static void fetch_in(kmen_ctx *ctx)
{
    const kmen_server_conf *c = ctx->conf;
    int changed = 0;
    const char *err = fetch_once(ctx->pool, c, &changed);
    const char *url = kmen_http_url_for_log(ctx->pool, c->idp_metadata_url);
    const char *directive = kmen_conf_spelling(c, KMEN_FIELD_idp_metadata_url);
    record(ctx->pool, c, err);
    if (err)
        kmen_log(ctx, KMEN_LOG_ERR,
                 KMEN_LOGNO(0647) "%s%s %s: %s; the last good copy in %s stays in use",
                 server_line_prefix(c), directive, url, err, c->idp_metadata_file);
    else
        kmen_log(ctx, changed ? KMEN_LOG_NOTICE : KMEN_LOG_INFO,
                 KMEN_LOGNO(0648) "%s%s %s: verified, %s", server_line_prefix(c), directive, url,
                 changed ? "new metadata written" : "unchanged");
}

void kmen_metadata_fetch(const kmen_server_conf *c, kmen_log_sink *sink, void *baton)
{
    /* every level the fetch logs at: the server decides what its log writes */
    kmen_ctx ctx = {.conf = c, .sink = sink, .baton = baton, .max_level = KMEN_LOG_INFO};
    if (apr_pool_create(&ctx.pool, NULL) != APR_SUCCESS)
        return;
    fetch_in(&ctx);
    apr_pool_destroy(ctx.pool);
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

void kmen_idp_refresh(kmen_ctx *ctx)
{
    const kmen_server_conf *c = ctx->conf;
    const char *err = NULL;
    const char *file = kmen_conf_spelling(c, KMEN_FIELD_idp_metadata_file);
    switch (kmen_sp_idp_refresh(c->sp, ctx->pool, &err)) {
    case KMEN_IDP_RELOADED:
        kmen_log(ctx, KMEN_LOG_NOTICE, KMEN_LOGNO(0645) "%s %s changed: this process uses it now",
                 file, c->idp_metadata_file);
        break;
    case KMEN_IDP_REFUSED:
        kmen_log(ctx, KMEN_LOG_ERR,
                 KMEN_LOGNO(0646) "%s %s changed but is refused, the previous metadata stays "
                                  "in use: %s",
                 file, c->idp_metadata_file, err);
        break;
    case KMEN_IDP_UNCHANGED:
        break;
    }
}
