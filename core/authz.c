/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A foreigner's verification and the origin and status words (authz.h). */
#include <string.h>
#include <strings.h>

#include "apr_escape.h"
#include "apr_strings.h"

#include "authz.h"
#include "conf_check.h"
#include "redirect.h"

kmen_pending_outcome kmen_pending_route(kmen_ctx *ctx, const kmen_dir_conf *dir, const char *uri,
                                        const char *method, int can_redirect, const char *return_to,
                                        const char **location)
{
    const char *verify_path = kmen_dir_verify_path(dir);
    const char *setting = kmen_dir_spelling(ctx->conf, KMEN_DIR_FIELD_verify_path);
    if (kmen_path_is_under(uri, verify_path))
        return KMEN_PENDING_PASS;
    if (!verify_path) {
        kmen_log(ctx, KMEN_LOG_WARNING,
                 KMEN_LOGNO(0632) "a pending foreigner at %s, which has no %s", uri, setting);
        return KMEN_PENDING_REFUSED;
    }
    if (!can_redirect) {
        kmen_log(ctx, KMEN_LOG_INFO,
                 KMEN_LOGNO(0635) "a pending foreigner at %s: a %s is not sent on to %s", uri,
                 method, setting);
        return KMEN_PENDING_REFUSED;
    }
    *location = apr_pstrcat(ctx->pool, verify_path, strchr(verify_path, '?') ? "&" : "?",
                            "ReturnTo=", apr_pescape_urlencoded(ctx->pool, return_to), NULL);
    return KMEN_PENDING_REDIRECT;
}

static const struct {
    const char *name;
    const char *const words[5]; /* NULL-terminated */
    const char *usage;
} kinds[KMEN_REQUIRE_KINDS] = {
    {"origin", {"nia", "eidas", NULL}, "nia and/or eidas"},
    {"status",
     {"new", "linked", "returning", "pending", NULL},
     "new, linked, returning and/or pending"},
};

const char *kmen_require_name(kmen_require_kind kind)
{
    return kinds[kind].name;
}

int kmen_require_kind_of(const char *name)
{
    for (int i = 0; i < KMEN_REQUIRE_KINDS; i++) {
        if (strcmp(name, kinds[i].name) == 0)
            return i;
    }
    return -1;
}

/* 1 when WORD is one of WORDS (NULL-terminated), case aside. */
static int among(const char *word, const char *const *words)
{
    while (*words && strcasecmp(word, *words) != 0)
        words++;
    return *words != NULL;
}

/* The white-space separated words of LINE, NULL-terminated. */
static const char **words_of(apr_pool_t *p, const char *line)
{
    char *copy = apr_pstrdup(p, line), *last = NULL;
    const char **out = apr_pcalloc(p, (strlen(line) / 2 + 2) * sizeof(*out));
    int n = 0;
    for (char *w = apr_strtok(copy, " \t", &last); w; w = apr_strtok(NULL, " \t", &last))
        out[n++] = w;
    return out;
}

const char *kmen_require_words_check(apr_pool_t *p, kmen_require_kind kind, const char *words)
{
    for (const char **w = words_of(p, words); *w; w++) {
        if (!among(*w, kinds[kind].words))
            return kinds[kind].usage;
    }
    return NULL;
}

int kmen_require_met(apr_pool_t *p, kmen_require_kind kind, const char *words,
                     const kmen_identity *id)
{
    const char *value =
        kind == KMEN_REQUIRE_ORIGIN ? kmen_origin_name(id->origin) : id->client_status;
    const char *one[] = {value, NULL};
    for (const char **w = words_of(p, words); value && *w; w++) {
        if (among(*w, one))
            return 1;
    }
    return 0;
}
