/* SPDX-License-Identifier: GPL-2.0-or-later */
/* name=value lists: the Cookie header and query strings. */
#include <string.h>

#include "apr_escape.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "pairs.h"

/* The value of the next NAME at or after *ITEM (its length in *LEN), *ITEM
 * moved past it; NULL when there is none. */
static const char *next_value(const char **item, char sep, const char *name, size_t *len)
{
    const char seps[] = {sep, '\0'};
    size_t name_len = strlen(name);
    while (**item) {
        while (**item == ' ' || **item == sep)
            (*item)++;
        const char *at = *item;
        size_t item_len = strcspn(at, seps);
        *item += item_len;
        if (item_len > name_len && strncmp(at, name, name_len) == 0 && at[name_len] == '=') {
            *len = item_len - name_len - 1;
            return at + name_len + 1;
        }
    }
    return NULL;
}

const char *kmen_pair_value(apr_pool_t *p, const char *list, char sep, const char *name)
{
    size_t len = 0;
    const char *value = list ? next_value(&list, sep, name, &len) : NULL;
    return value ? apr_pstrndup(p, value, len) : NULL;
}

const char *kmen_pair_single_value(apr_pool_t *p, const char *list, char sep, const char *name,
                                   int *conflict)
{
    size_t len = 0, other_len = 0;
    const char *value = list ? next_value(&list, sep, name, &len) : NULL, *other;
    *conflict = 0;
    while (value && (other = next_value(&list, sep, name, &other_len))) {
        if (other_len != len || memcmp(other, value, len) != 0) {
            *conflict = 1;
            return NULL;
        }
    }
    return value ? apr_pstrndup(p, value, len) : NULL;
}

char *kmen_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    return s;
}

char *kmen_lower(char *s)
{
    for (char *c = s; *c; c++)
        *c = (char)apr_tolower(*c);
    return s;
}

const char *kmen_query_value(apr_pool_t *p, const char *query, const char *name)
{
    const char *raw = kmen_pair_value(p, query, '&', name);
    if (!raw)
        return NULL;
    const char *value = strstr(raw, "%00") ? NULL : apr_punescape_url(p, raw, NULL, NULL, 1);
    return value ? value : "";
}
