/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Encoding of header values, and the spoofing test on header names. */
#include <string.h>
#include <strings.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "conf.h"
#include "crypto.h"
#include "headers_encode.h"
#include "pairs.h"

static const char *percent_encode(apr_pool_t *p, const char *value)
{
    static const char digits[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(value) * 3 + 1), *o = out;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c > 0x20 && *c < 0x7f && *c != '%') {
            *o++ = (char)*c;
        } else {
            *o++ = '%';
            *o++ = digits[*c >> 4];
            *o++ = digits[*c & 15];
        }
    }
    *o = '\0';
    return out;
}

static const char *strip_controls(apr_pool_t *p, const char *value)
{
    char *out = apr_pstrdup(p, value), *o = out;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c >= 0x20 && *c != 0x7f)
            *o++ = (char)*c;
    }
    *o = '\0';
    return out;
}

const char *kmen_header_encode(apr_pool_t *p, const char *value, int encoding)
{
    switch (encoding) {
    case KMEN_ENCODING_RAW:
        return strip_controls(p, value);
    case KMEN_ENCODING_BASE64URL:
        return kmen_base64url(p, (const unsigned char *)value, strlen(value));
    default:
        return percent_encode(p, value);
    }
}

static int fold(int c)
{
    return c == '_' ? '-' : apr_tolower(c);
}

int kmen_header_is_spoofable(const char *name, const char *prefix)
{
    for (; *prefix; prefix++, name++) {
        if (!*name || fold((unsigned char)*name) != fold((unsigned char)*prefix))
            return 0;
    }
    return 1;
}

int kmen_header_table_has_prefix(const apr_table_t *t, const char *prefix)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_size_t len = strlen(prefix);
    int first = apr_tolower((unsigned char)prefix[0]);
    /* the first letter alone sets most names aside: this runs on every response */
    for (int i = 0; i < arr->nelts; i++) {
        if (e[i].key && (!len || apr_tolower((unsigned char)e[i].key[0]) == first) &&
            strncasecmp(e[i].key, prefix, len) == 0)
            return 1;
    }
    return 0;
}

/* Does TEXT hold WORD, case aside? */
static int holds(const char *text, const char *word)
{
    size_t len = strlen(word);
    for (; *text; text++) {
        if (strncasecmp(text, word, len) == 0)
            return 1;
    }
    return 0;
}

const char *kmen_cache_control_private(apr_pool_t *p, const char *cc)
{
    if (cc && (holds(cc, "private") || holds(cc, "no-store")))
        return NULL;
    const char *out = "private";
    char *list = apr_pstrdup(p, cc ? cc : ""), *last = NULL;
    for (char *d = apr_strtok(list, ",", &last); d; d = apr_strtok(NULL, ",", &last)) {
        d = kmen_trim(d);
        if (*d && strcasecmp(d, "public") != 0 && strncasecmp(d, "s-maxage", 8) != 0)
            out = apr_pstrcat(p, out, ", ", d, NULL);
    }
    return out;
}
