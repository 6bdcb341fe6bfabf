/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's context for a request on nginx, made on first use: a request
 * the module has nothing to do with costs nothing. */
#include <string.h>

#include "apr_pools.h"
#include "apr_strings.h"

#include "cache_shm.h"
#include "crypto.h"
#include "directives.h"
#include "request.h"

/* nginx numbers its levels as syslog's plus one (0 is its stderr): a build
 * where they differ otherwise fails here (an array of size -1). */
#define ONE_APART                                                                                  \
    (NGX_LOG_EMERG == KMEN_LOG_EMERG + 1 && NGX_LOG_ERR == KMEN_LOG_ERR + 1 &&                     \
     NGX_LOG_WARN == KMEN_LOG_WARNING + 1 && NGX_LOG_INFO == KMEN_LOG_INFO + 1 &&                  \
     NGX_LOG_DEBUG == KMEN_LOG_DEBUG + 1)
typedef char kmen_ngx_log_levels_are_syslogs[ONE_APART ? 1 : -1];

typedef struct {
    kmen_ctx ctx;
    kmen_ngx_answer *answer; /* once the body is read (body.c) */
    /* the session the access phase let it through for, or NULL */
    const kmen_session *session;
    int replaced;      /* the backend's answer is replaced (nginx/backend_commands.h) */
    const char *error; /* the page kmen_error_document stands for */
    /* the ReturnTo of the login kmen_ngx_login redirected it to start at
     * the location it lands in, until that location takes it */
    const char *login_return_to;
} request_record;

/* The record's pool cleanup: also how a record is found again after an
 * internal redirect, which clears the request ctx but keeps the pool (as
 * nginx's realip module finds its own). */
static void record_destroy(void *data)
{
    apr_pool_destroy(((request_record *)data)->ctx.pool);
}

static request_record *record_of(ngx_http_request_t *r)
{
    request_record *rec = ngx_http_get_module_ctx(r, ngx_http_kmen_module);
    for (ngx_pool_cleanup_t *c = r->pool->cleanup; !rec && c; c = c->next) {
        if (c->handler == record_destroy) {
            rec = c->data;
            ngx_http_set_ctx(r, rec, ngx_http_kmen_module);
        }
    }
    return rec;
}

static ngx_uint_t ngx_level(kmen_log_level level)
{
    return level >= KMEN_LOG_DEBUG ? NGX_LOG_DEBUG : (ngx_uint_t)level + 1;
}

/* The most verbose level R's log writes now (error_log, per location), as
 * the core's: nginx's debug (a level or a mask above it) is all of them. */
static kmen_log_level request_level(ngx_http_request_t *r)
{
    ngx_uint_t level = r->connection->log->log_level;
    if (level >= NGX_LOG_DEBUG)
        return KMEN_LOG_TRACE1;
    return level <= NGX_LOG_EMERG ? KMEN_LOG_EMERG : (kmen_log_level)(level - 1);
}

static void log_to_connection(void *baton, const char *file, int line, kmen_log_level level,
                              const char *message)
{
    ngx_http_request_t *r = baton;
    ngx_log_error(ngx_level(level), r->connection->log, 0, "%s [req %s]", message,
                  kmen_ctx_request_id(&record_of(r)->ctx));
}

void kmen_ngx_log_to_cycle(void *baton, const char *file, int line, kmen_log_level level,
                           const char *message)
{
    ngx_log_error(ngx_level(level), (ngx_log_t *)baton, 0, "%s", message);
}

/* nginx's $request_id, which an access log or an upstream can be given too;
 * a token of our own when the variable is missing. */
static const char *request_id_of(void *baton)
{
    static ngx_str_t name = ngx_string("request_id");
    ngx_http_request_t *r = baton;
    apr_pool_t *p = record_of(r)->ctx.pool;
    ngx_http_variable_value_t *v =
        ngx_http_get_variable(r->main, &name, ngx_hash_key(name.data, name.len));
    if (!v || v->not_found || !v->len)
        return kmen_random_token(p, 9);
    return apr_pstrmemdup(p, (const char *)v->data, v->len);
}

static request_record *record_new(ngx_http_request_t *r)
{
    request_record *rec = ngx_pcalloc(r->pool, sizeof(*rec));
    ngx_pool_cleanup_t *cleanup = ngx_pool_cleanup_add(r->pool, 0);
    if (!rec || !cleanup || apr_pool_create(&rec->ctx.pool, NULL) != APR_SUCCESS)
        return NULL;
    cleanup->handler = record_destroy;
    cleanup->data = rec;
    const kmen_ngx_srv_conf *s = ngx_http_get_module_srv_conf(r, ngx_http_kmen_module);
    rec->ctx.conf = &s->core;
    rec->ctx.sink = log_to_connection;
    rec->ctx.make_request_id = request_id_of;
    rec->ctx.baton = r;
    ngx_http_set_ctx(r, rec, ngx_http_kmen_module);
    return rec;
}

/* R's record, made on first use. */
static request_record *record_made(ngx_http_request_t *r)
{
    request_record *rec = record_of(r);
    return rec ? rec : record_new(r);
}

kmen_ctx *kmen_ngx_request_ctx(ngx_http_request_t *r)
{
    request_record *rec = record_made(r);
    if (!rec)
        return NULL;
    /* A location's error_log applies once nginx has found the location,
     * after a context may have been made: the level that applies now. */
    rec->ctx.max_level = request_level(r);
    return &rec->ctx;
}

int kmen_ngx_request_keep_answer(ngx_http_request_t *r, kmen_ngx_answer *answer)
{
    request_record *rec = record_made(r);
    if (!rec)
        return 0;
    rec->answer = answer;
    return 1;
}

kmen_ngx_answer *kmen_ngx_request_answer(ngx_http_request_t *r)
{
    return record_of(r)->answer;
}

int kmen_ngx_request_authenticated(ngx_http_request_t *r, const kmen_session *s)
{
    request_record *rec = record_made(r);
    if (!rec)
        return 0;
    rec->session = s;
    return 1;
}

int kmen_ngx_request_is_authenticated(ngx_http_request_t *r)
{
    return kmen_ngx_request_session(r) != NULL;
}

const kmen_session *kmen_ngx_request_session(ngx_http_request_t *r)
{
    const request_record *rec = record_of(r);
    return rec ? rec->session : NULL;
}

void kmen_ngx_request_replaced(ngx_http_request_t *r)
{
    request_record *rec = record_of(r);
    if (rec)
        rec->replaced = 1;
}

/* The request ctx alone, without record_of's search: the body filter asks
 * for every buffer of every response, and a response is replaced in its
 * own request, whose ctx the replacement made. */
int kmen_ngx_request_is_replaced(ngx_http_request_t *r)
{
    const request_record *rec = ngx_http_get_module_ctx(r, ngx_http_kmen_module);
    return rec && rec->replaced;
}

int kmen_ngx_request_keep_error(ngx_http_request_t *r, const char *name)
{
    request_record *rec = record_made(r);
    if (!rec)
        return 0;
    rec->error = name;
    return 1;
}

int kmen_ngx_request_login_at(ngx_http_request_t *r, const char *return_to)
{
    request_record *rec = record_made(r);
    if (!rec)
        return 0;
    rec->login_return_to = return_to;
    return 1;
}

/* Only a request redirected internally can hold the mark: the others never
 * search the pool's cleanups for a record. */
const char *kmen_ngx_request_take_login(ngx_http_request_t *r)
{
    request_record *rec = r->internal ? record_of(r) : NULL;
    const char *return_to = rec ? rec->login_return_to : NULL;
    if (rec)
        rec->login_return_to = NULL;
    return return_to;
}

static ngx_int_t error_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    const request_record *rec = record_of(r);
    const char *name = rec && rec->error ? rec->error : "";
    v->data = (u_char *)name;
    v->len = strlen(name);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}

ngx_int_t kmen_ngx_request_variables(ngx_conf_t *cf)
{
    static ngx_str_t name = ngx_string("kmen_error");
    ngx_http_variable_t *var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (!var)
        return NGX_ERROR;
    var->get_handler = error_variable;
    return NGX_OK;
}

const kmen_cache *kmen_ngx_session_cache(ngx_http_request_t *r)
{
    const kmen_ngx_main_conf *m = ngx_http_get_module_main_conf(r, ngx_http_kmen_module);
    return m->zone ? &m->cache : &kmen_cache_none;
}

const char *kmen_ngx_header_in(ngx_http_request_t *r, kmen_ctx *ctx, const char *name)
{
    for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
        ngx_table_elt_t *h = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++)
            if (h[i].key.len == strlen(name) &&
                ngx_strncasecmp(h[i].key.data, (u_char *)name, h[i].key.len) == 0)
                return apr_pstrmemdup(ctx->pool, (const char *)h[i].value.data, h[i].value.len);
    }
    return NULL;
}
