/* SPDX-License-Identifier: GPL-2.0-or-later */
/* name=value lists: the Cookie header and query strings. */
#include <string.h>

#include "apr_strings.h"

#include "pairs.h"

const char *kmen_pair_value(apr_pool_t *p, const char *list, char sep, const char *name)
{
    const char seps[] = {sep, '\0'};
    size_t name_len = strlen(name);
    if (!list)
        return NULL;
    for (const char *item = list; *item;) {
        while (*item == ' ' || *item == sep)
            item++;
        size_t len = strcspn(item, seps);
        if (len > name_len && strncmp(item, name, name_len) == 0 && item[name_len] == '=')
            return apr_pstrndup(p, item + name_len + 1, len - name_len - 1);
        item += len;
    }
    return NULL;
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
