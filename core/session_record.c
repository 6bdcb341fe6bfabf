/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session record: its text, and that text sealed to its session. */
#include <stdio.h>
#include <string.h>

#include "apr_strings.h"

#include "session_record.h"

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
static const unsigned char *session_aad(kmen_ctx *ctx, const unsigned char *id_hash,
                                        apr_size_t *len)
{
    apr_size_t entity_len = strlen(ctx->conf->sp_entity_id);
    unsigned char *aad = apr_palloc(ctx->pool, KMEN_HASH_LEN + entity_len);
    memcpy(aad, id_hash, KMEN_HASH_LEN);
    memcpy(aad + KMEN_HASH_LEN, ctx->conf->sp_entity_id, entity_len);
    *len = KMEN_HASH_LEN + entity_len;
    return aad;
}

unsigned char *kmen_session_seal(kmen_ctx *ctx, const kmen_session *s, apr_size_t *len)
{
    char *text = serialize(ctx->pool, s);
    apr_size_t aad_len = 0;
    const unsigned char *aad = session_aad(ctx, s->id_hash, &aad_len);
    return kmen_seal(ctx->pool, ctx->conf->session_key, aad, aad_len, text, strlen(text), len);
}

int kmen_session_unseal(kmen_ctx *ctx, const unsigned char *sealed, apr_size_t len, kmen_session *s)
{
    apr_size_t text_len = 0, aad_len = 0;
    const unsigned char *aad = session_aad(ctx, s->id_hash, &aad_len);
    char *text = kmen_open(ctx->pool, ctx->conf->session_key, aad, aad_len, sealed, len, &text_len);
    return text && deserialize(ctx->pool, text, text_len, s) && s->expires > apr_time_now();
}

kmen_session *kmen_session_copy(apr_pool_t *p, const kmen_session *s)
{
    kmen_session *copy = apr_pmemdup(p, s, sizeof(*copy));
    const char **slots[MAX_SLOTS];
    int n = record_slots(copy, slots);
    for (int i = 0; i < n; i++)
        *slots[i] = *slots[i] ? apr_pstrdup(p, *slots[i]) : NULL;
    copy->headers = NULL;
    return copy;
}
