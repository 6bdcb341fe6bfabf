/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Session cookie and record: socache in front, database behind. */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "apr_escape.h"
#include "apr_strings.h"
#include "http_log.h"
#include "util_mutex.h"

#include "config.h"
#include "identifiers.h"
#include "memo.h"
#include "pairs.h"
#include "request.h"
#include "session.h"

APLOG_USE_MODULE(kmen);

#define SESSION_ID_BYTES 32
#define SESSION_ID_CHARS 43 /* unpadded base64url of 32 bytes */
#define CACHE_MUTEX "kmen-session-cache"
/* How long a child reuses a session it opened without looking at the
 * cache again: a logout on this node ends it at once (kmen_memo_invalidate),
 * one on another node sharing the cache (memcache, redis) within this. */
#define MEMO_SECONDS 1

static ap_socache_provider_t *cache_provider;
static ap_socache_instance_t *cache;
static apr_global_mutex_t *cache_mutex;

void kmen_session_pre_config(apr_pool_t *pconf)
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

const char *kmen_session_cache_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                    const char *spec)
{
    const char *colon = strchr(spec, ':');
    const char *err = NULL;
    static struct ap_socache_hints hints = {SESSION_ID_BYTES, 1024, 30};
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
    kmen_memo_post_config(pconf);
    return NULL;
}

void kmen_session_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (cache_mutex &&
        apr_global_mutex_child_init(&cache_mutex, apr_global_mutex_lockfile(cache_mutex), pchild) !=
            APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     KMEN_LOGNO(0611) "cannot attach to the session cache mutex");
    kmen_memo_child_init(pchild);
}

/* The cache is an optimisation: any failure falls through to the database.
 * Providers not safe across processes (shmcb) are used under the mutex. */
static int cache_lock(void)
{
    return cache && (!cache_mutex || apr_global_mutex_lock(cache_mutex) == APR_SUCCESS);
}

static void cache_unlock(void)
{
    if (cache_mutex)
        apr_global_mutex_unlock(cache_mutex);
}

/* A cached record is its deadline, then the sealed record: whoever reads
 * it learns how long it may be trusted (a child keeps what it opened no
 * longer than that). */
static void cache_store(request_rec *r, const unsigned char *key, const unsigned char *sealed,
                        apr_size_t len, apr_time_t until)
{
    unsigned char *value = apr_palloc(r->pool, sizeof(until) + len);
    memcpy(value, &until, sizeof(until));
    memcpy(value + sizeof(until), sealed, len);
    if (!cache_lock())
        return;
    cache_provider->store(cache, r->server, key, KMEN_HASH_LEN, until, value,
                          (unsigned int)(sizeof(until) + len), r->pool);
    cache_unlock();
}

/* The sealed record and, in *until, its deadline; NULL when not cached. */
static unsigned char *cache_fetch(request_rec *r, const unsigned char *key, apr_size_t *len,
                                  apr_time_t *until)
{
    unsigned int n = 16384;
    unsigned char *buf = apr_palloc(r->pool, n);
    if (!cache_lock())
        return NULL;
    apr_status_t rv =
        cache_provider->retrieve(cache, r->server, key, KMEN_HASH_LEN, buf, &n, r->pool);
    cache_unlock();
    if (rv != APR_SUCCESS || n < sizeof(*until))
        return NULL;
    memcpy(until, buf, sizeof(*until));
    *len = n - sizeof(*until);
    return buf + sizeof(*until);
}

/* Every child of this node forgets what it opened too. */
static void cache_remove(request_rec *r, const unsigned char *key)
{
    kmen_memo_invalidate();
    if (!cache_lock())
        return;
    cache_provider->remove(cache, r->server, key, KMEN_HASH_LEN, r->pool);
    cache_unlock();
}

/* ---- counters: "<window start> <count>" under a key of their own */

/* The window a stored counter is in, and its count; a fresh window when
 * there is none, it is unreadable, or it has ended. */
static void counter_read(request_rec *r, const unsigned char *key, apr_time_t window,
                         apr_time_t *start, int *count)
{
    unsigned char buf[64];
    unsigned int len = sizeof(buf) - 1;
    apr_time_t now = apr_time_now();
    if (cache_provider->retrieve(cache, r->server, key, KMEN_HASH_LEN, buf, &len, r->pool) !=
        APR_SUCCESS)
        len = 0;
    buf[len] = '\0';
    if (sscanf((const char *)buf, "%" APR_TIME_T_FMT " %d", start, count) != 2 ||
        *start + window <= now || *start > now) {
        *start = now;
        *count = 0;
    }
}

int kmen_cache_count(request_rec *r, const unsigned char *key, int window_sec, int *resets_in)
{
    apr_time_t window = apr_time_from_sec(window_sec), start = 0;
    int count = 0;
    if (!cache_lock())
        return 0;
    /* Read and write under one lock: two children counting at once would
     * otherwise both write count + 1. */
    counter_read(r, key, window, &start, &count);
    const char *value = apr_psprintf(r->pool, "%" APR_TIME_T_FMT " %d", start, ++count);
    cache_provider->store(cache, r->server, key, KMEN_HASH_LEN, start + window,
                          (unsigned char *)value, (unsigned int)strlen(value), r->pool);
    cache_unlock();
    *resets_in = (int)apr_time_sec(start + window - apr_time_now() + APR_USEC_PER_SEC - 1);
    return count;
}

/* ---- cookies */

/* NULL when NAME is absent, or present twice with different values. mod_kmen
 * sets each of its cookies host-only with Path=/, so a browser holds one; a
 * second was planted beside it (a sibling subdomain's Domain cookie, or a
 * longer Path, which browsers send first). Taking the first would let
 * whoever planted it pick the session or login state of the request, their
 * own included; with neither, the person only logs in again. */
const char *kmen_cookie_get(request_rec *r, const char *name)
{
    int conflict = 0;
    const char *value = kmen_pair_single_value(r->pool, apr_table_get(r->headers_in, "Cookie"), ';',
                                               name, &conflict);
    if (conflict)
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0683) "two different %s cookies: both ignored", name);
    return value;
}

void kmen_cookie_set(request_rec *r, const char *name, const char *value, int max_age,
                     int cross_site)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *same_site =
        cross_site ? (c->cookie_secure ? "; SameSite=None" : "") : "; SameSite=Lax";
    const char *age = max_age < 0   ? "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
                      : max_age > 0 ? apr_psprintf(r->pool, "; Max-Age=%d", max_age)
                                    : "";
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_pstrcat(r->pool, name, "=", max_age < 0 ? "" : value, "; Path=/; HttpOnly",
                              c->cookie_secure ? "; Secure" : "", same_site, age, NULL));
}

/* ---- the record */

#define REF_FIELD(k, member)                                                                       \
    {                                                                                              \
        k, offsetof(kmen_login_ref, member)                                                        \
    }
static const struct {
    const char *key;
    size_t offset;
} ref_fields[] = {REF_FIELD("name_id", name_id),
                  REF_FIELD("name_id_format", name_id_format),
                  REF_FIELD("name_qualifier", name_qualifier),
                  REF_FIELD("sp_name_qualifier", sp_name_qualifier),
                  REF_FIELD("session_index", session_index),
                  {NULL, 0}};

/* The session record: "kmen2" (a "kmen1" record, from before the Age and address
 * fields, is refused: its person logs in again) then every string of the session in a fixed
 * order, each as "<length>:<bytes>" or "-" when absent, then origin, LoA,
 * expiry and the evidence flag as numbers. Read on every request from the
 * cache, so it is parsed by position, not as JSON. */
#define RECORD_MAGIC "kmen2"
#define MAX_SLOTS 40

/* Pointers to the session's strings, in record order; both ways use it. */
static int record_slots(kmen_session *s, const char **slots[MAX_SLOTS])
{
    int n = 0;
    for (const kmen_identity_field *f = kmen_identity_fields; f->key; f++)
        slots[n++] = kmen_identity_field_slot(&s->identity, f);
    for (int i = 0; ref_fields[i].key; i++)
        slots[n++] = (const char **)((char *)&s->ref + ref_fields[i].offset);
    slots[n++] = &s->identity.pseudonym;
    slots[n++] = &s->identity.released;
    slots[n++] = &s->pending_id;
    return n;
}

static char *serialize(apr_pool_t *p, const kmen_session *session)
{
    kmen_session copy = *session;
    const char **slots[MAX_SLOTS];
    int n = record_slots(&copy, slots);
    apr_array_header_t *parts = apr_array_make(p, n + 2, sizeof(const char *));
    APR_ARRAY_PUSH(parts, const char *) = RECORD_MAGIC;
    for (int i = 0; i < n; i++) {
        const char *v = *slots[i];
        APR_ARRAY_PUSH(parts, const char *) =
            v ? apr_psprintf(p, "%" APR_SIZE_T_FMT ":%s", strlen(v), v) : "-";
    }
    APR_ARRAY_PUSH(parts, const char *) =
        apr_psprintf(p, "%d %d %" APR_TIME_T_FMT " %d", (int)session->identity.origin,
                     (int)session->identity.loa, apr_time_sec(session->expires), session->evidence);
    return apr_array_pstrcat(p, parts, 0);
}

/* One "<length>:<bytes>" or "-" item at *pos; NULL *out for "-". */
static int read_item(apr_pool_t *p, const char **pos, const char *end, const char **out)
{
    const char *c = *pos;
    char *colon = NULL;
    if (c < end && *c == '-') {
        *out = NULL;
        *pos = c + 1;
        return 1;
    }
    apr_int64_t len = apr_strtoi64(c, &colon, 10);
    if (colon == c || *colon != ':' || len < 0 || len > end - colon - 1)
        return 0;
    *out = apr_pstrmemdup(p, colon + 1, (apr_size_t)len);
    *pos = colon + 1 + len;
    return 1;
}

static int deserialize(apr_pool_t *p, const char *text, apr_size_t len, kmen_session *s)
{
    const char **slots[MAX_SLOTS];
    const char *pos = text + strlen(RECORD_MAGIC), *end = text + len;
    int n = record_slots(s, slots), origin, loa, evidence;
    apr_time_t exp;
    if (len < strlen(RECORD_MAGIC) || strncmp(text, RECORD_MAGIC, strlen(RECORD_MAGIC)) != 0)
        return 0;
    for (int i = 0; i < n; i++) {
        if (!read_item(p, &pos, end, slots[i]))
            return 0;
    }
    if (sscanf(pos, "%d %d %" APR_TIME_T_FMT " %d", &origin, &loa, &exp, &evidence) != 4)
        return 0;
    s->identity.origin = (kmen_origin)origin;
    s->identity.loa = (kmen_loa)loa;
    s->expires = apr_time_from_sec(exp);
    s->evidence = evidence;
    return 1;
}

/* What a record is sealed to: its session's ID hash and this SP's entity ID,
 * so that virtual hosts sharing the database and the register key do not
 * accept each other's sessions. */
static const unsigned char *session_aad(request_rec *r, const kmen_server_conf *c,
                                        const unsigned char *id_hash, apr_size_t *len)
{
    apr_size_t entity_len = strlen(c->sp_entity_id);
    unsigned char *aad = apr_palloc(r->pool, KMEN_HASH_LEN + entity_len);
    memcpy(aad, id_hash, KMEN_HASH_LEN);
    memcpy(aad + KMEN_HASH_LEN, c->sp_entity_id, entity_len);
    *len = KMEN_HASH_LEN + entity_len;
    return aad;
}

static int session_open(request_rec *r, const unsigned char *sealed, apr_size_t len,
                        kmen_session *s)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    apr_size_t text_len = 0, aad_len = 0;
    const unsigned char *aad = session_aad(r, c, s->id_hash, &aad_len);
    char *text = kmen_open(r->pool, c->session_key, aad, aad_len, sealed, len, &text_len);
    return text && deserialize(r->pool, text, text_len, s) && s->expires > apr_time_now();
}

static int cookie_is_well_formed(const char *v)
{
    return v && strlen(v) == SESSION_ID_CHARS &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                     "opqrstuvwxyz0123456789-_") == SESSION_ID_CHARS;
}

static apr_time_t cache_until(const kmen_server_conf *c, apr_time_t expires)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(c->session_cache_ttl);
    return until < expires ? until : expires;
}

/* This browser's session cookie, when it sends a well-formed one. */
static const char *session_cookie(request_rec *r, const kmen_server_conf *c)
{
    const char *cookie = kmen_cookie_get(r, c->cookie_name);
    return cookie_is_well_formed(cookie) ? cookie : NULL;
}

/* The session S->id_hash names, opened from the cache or the database into
 * S; in *until, how long this node may trust it without asking again. */
static kmen_store_status session_read(request_rec *r, const kmen_server_conf *c, kmen_session *s,
                                      apr_time_t *until)
{
    apr_size_t len = 0;
    const unsigned char *sealed = cache_fetch(r, s->id_hash, &len, until);
    if (sealed && session_open(r, sealed, len, s))
        return KMEN_STORE_OK;
    int remaining = 0;
    kmen_store_status st = kmen_store_session_fetch(kmen_request_ctx(r), c->store, s->id_hash,
                                                    c->session_idle, &sealed, &len, &remaining);
    if (st != KMEN_STORE_OK)
        return st;
    if (!session_open(r, sealed, len, s))
        return KMEN_STORE_NOT_FOUND;
    *until = cache_until(c, s->expires);
    cache_store(r, s->id_hash, sealed, len, *until);
    return KMEN_STORE_OK;
}

typedef struct {
    const kmen_server_conf *conf;
    kmen_session *session;
} memo_source;

/* What a child keeps of an opened session: a copy in the memo entry's pool,
 * with its headers encoded once. */
static const void *session_keep(apr_pool_t *p, const void *source)
{
    const memo_source *src = source;
    kmen_session *copy = apr_pmemdup(p, src->session, sizeof(*copy));
    const char **slots[MAX_SLOTS];
    int n = record_slots(copy, slots);
    for (int i = 0; i < n; i++)
        *slots[i] = *slots[i] ? apr_pstrdup(p, *slots[i]) : NULL;
    copy->headers = kmen_headers_prepare(p, src->conf, &copy->identity);
    return copy;
}

/* Opened in this child within the last MEMO_SECONDS (and no longer than the
 * cache may be trusted): no cache lookup, no decryption, no hashing. */
kmen_store_status kmen_session_load(request_rec *r, const kmen_session **out)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *cookie = session_cookie(r, c);
    if (!cookie)
        return KMEN_STORE_NOT_FOUND;
    if ((*out = kmen_memo_get(r, c, cookie, SESSION_ID_CHARS)))
        return KMEN_STORE_OK;
    apr_uint32_t generation = kmen_memo_generation();
    kmen_session *s = apr_pcalloc(r->pool, sizeof(*s));
    apr_time_t until = 0, memo_until = apr_time_now() + apr_time_from_sec(MEMO_SECONDS);
    kmen_sha256(cookie, SESSION_ID_CHARS, s->id_hash);
    kmen_store_status st = session_read(r, c, s, &until);
    if (st != KMEN_STORE_OK)
        return st;
    *out =
        kmen_memo_put(r, c, cookie, SESSION_ID_CHARS, generation,
                      until < memo_until ? until : memo_until, session_keep, &(memo_source){c, s});
    if (!*out)
        *out = s;
    return KMEN_STORE_OK;
}

static unsigned char *session_seal(request_rec *r, const kmen_server_conf *c, const kmen_session *s,
                                   apr_size_t *len)
{
    char *text = serialize(r->pool, s);
    apr_size_t aad_len = 0;
    const unsigned char *aad = session_aad(r, c, s->id_hash, &aad_len);
    return kmen_seal(r->pool, c->session_key, aad, aad_len, text, strlen(text), len);
}

/* Gone from the cache and the database: the cookie opens nothing any more. */
static kmen_store_status forget(request_rec *r, const kmen_server_conf *c,
                                const unsigned char *id_hash)
{
    cache_remove(r, id_hash);
    return kmen_store_session_delete(kmen_request_ctx(r), c->store, id_hash);
}

const char *kmen_session_login_state(request_rec *r, const char *state)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    const char *cookie = session_cookie(r, c);
    unsigned char id_hash[KMEN_HASH_LEN];
    if (!cookie)
        return state;
    kmen_sha256(cookie, SESSION_ID_CHARS, id_hash);
    return apr_pstrcat(r->pool, state, ".", kmen_hex(r->pool, id_hash, KMEN_HASH_LEN), NULL);
}

const char *kmen_session_login_state_of(request_rec *r, const char *cookie, const char **previous)
{
    const char *dot = cookie ? strchr(cookie, '.') : NULL;
    *previous = dot && strlen(dot + 1) == 2 * KMEN_HASH_LEN ? dot + 1 : NULL;
    return dot ? apr_pstrndup(r->pool, cookie, (apr_size_t)(dot - cookie)) : cookie;
}

/* The session this browser held when the login started ends with it: after
 * a step-up to a higher LoA the weaker one would stay valid for whoever
 * copied its cookie, after another person's login on a shared computer the
 * first person's would. (NIA's POST to the ACS is cross-site: the Lax
 * session cookie is not sent with it, so the login state names it.) */
static kmen_store_status end_previous(request_rec *r, const kmen_server_conf *c,
                                      const char *previous_hex)
{
    unsigned char id_hash[KMEN_HASH_LEN];
    apr_size_t len = 0;
    if (!previous_hex ||
        apr_unescape_hex(id_hash, previous_hex, 2 * KMEN_HASH_LEN, 0, &len) != APR_SUCCESS ||
        len != KMEN_HASH_LEN)
        return KMEN_STORE_OK;
    kmen_store_status st = forget(r, c, id_hash);
    return st == KMEN_STORE_DOWN ? st : KMEN_STORE_OK;
}

kmen_store_status kmen_session_create(request_rec *r, const kmen_identity *identity,
                                      const kmen_login_ref *ref, const char *pending_id,
                                      const char *previous, kmen_new_session *out)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    kmen_session s = {*identity,
                      *ref,
                      pending_id,
                      identity->has_evidence,
                      apr_time_now() + apr_time_from_sec(c->session_lifetime),
                      {0},
                      NULL};
    unsigned char subject[KMEN_HASH_LEN];
    out->cookie = kmen_random_token(r->pool, SESSION_ID_BYTES);
    if (!out->cookie)
        return KMEN_STORE_DOWN;
    kmen_sha256(out->cookie, SESSION_ID_CHARS, s.id_hash);
    memcpy(out->id_hash, s.id_hash, KMEN_HASH_LEN);
    kmen_id_index(r->pool, &c->id_keys, KMEN_ID_NAMEID, NULL, ref->name_id, subject);
    out->sealed = session_seal(r, c, &s, &out->len);
    if (!out->sealed)
        return KMEN_STORE_DOWN;
    out->cache_until = cache_until(c, s.expires);
    kmen_store_status st =
        kmen_store_session_create(kmen_request_ctx(r), c->store, s.id_hash, subject,
                                  ref->session_index, out->sealed, out->len, c->session_lifetime);
    return st == KMEN_STORE_OK ? end_previous(r, c, previous) : st;
}

void kmen_session_issue(request_rec *r, const kmen_new_session *session)
{
    cache_store(r, session->id_hash, session->sealed, session->len, session->cache_until);
    kmen_cookie_set(r, kmen_server_conf_get(r->server)->cookie_name, session->cookie, 0, 0);
}

kmen_store_status kmen_session_update(request_rec *r, const kmen_session *session)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    apr_size_t len = 0;
    unsigned char *sealed = session_seal(r, c, session, &len);
    if (!sealed)
        return KMEN_STORE_DOWN;
    kmen_store_status st =
        kmen_store_session_update(kmen_request_ctx(r), c->store, session->id_hash, sealed, len);
    if (st == KMEN_STORE_OK) {
        kmen_memo_invalidate(); /* other children hold the session as it was */
        cache_store(r, session->id_hash, sealed, len, cache_until(c, session->expires));
    } else {
        cache_remove(r, session->id_hash);
    }
    return st;
}

kmen_store_status kmen_session_destroy(request_rec *r, const kmen_session *session)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    kmen_cookie_set(r, c->cookie_name, "", -1, 0);
    return forget(r, c, session->id_hash);
}

/* Bound to the session and to its purpose; nobody without the session's
 * cookie (hashed in) and this server's session key can make one. */
const char *kmen_session_logout_token(request_rec *r, const kmen_session *session)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    unsigned char text[KMEN_HASH_LEN + 7], mac[KMEN_HASH_LEN];
    memcpy(text, "logout:", 7);
    memcpy(text + 7, session->id_hash, KMEN_HASH_LEN);
    kmen_hmac_sha256(c->session_key, KMEN_KEY_LEN, text, sizeof(text), mac);
    return kmen_hex(r->pool, mac, KMEN_HASH_LEN);
}

kmen_store_status kmen_session_destroy_login(request_rec *r, const kmen_login_ref *ref)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    unsigned char subject[KMEN_HASH_LEN];
    apr_array_header_t *hashes = NULL;
    kmen_id_index(r->pool, &c->id_keys, KMEN_ID_NAMEID, NULL, ref->name_id, subject);
    kmen_store_status st = kmen_store_session_delete_subject(kmen_request_ctx(r), c->store, subject,
                                                             ref->session_index, &hashes);
    for (int i = 0; st == KMEN_STORE_OK && i < hashes->nelts; i++)
        cache_remove(r, APR_ARRAY_IDX(hashes, i, const unsigned char *));
    return st;
}
