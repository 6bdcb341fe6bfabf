/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_pair_value (core/pairs.c): the Cookie header and query strings.
 *
 * Input: byte 0 picks the separator (';' or '&'), then the name up to the first
 * '\n', then the list (up to a NUL). The answer is compared with a second,
 * independent reading of the same rule (items split at the separator, leading
 * spaces and separators skipped, the first item "NAME=..." wins, its value runs
 * to the next separator), and must be a slice of the list that holds no
 * separator. The session and state cookie names are looked up as well.
 * kmen_pair_single_value must give the same value, or NULL with a conflict
 * exactly when the reference finds the name again with another value. */
#include "fuzz.h"

#include "fuzz_apr.h"

#include "pairs.h"

/* The reference reading: returns the offset of the value in LIST and its
 * length, or -1. */
static long reference(const char *list, char sep, const char *name, size_t *len)
{
    size_t n = strlen(name), L = strlen(list), i = 0;
    while (i < L) {
        while (i < L && (list[i] == ' ' || list[i] == sep))
            i++;
        size_t j = i;
        while (j < L && list[j] != sep)
            j++;
        if (j - i > n && memcmp(list + i, name, n) == 0 && list[i + n] == '=') {
            *len = j - i - n - 1;
            return (long)(i + n + 1);
        }
        i = j;
    }
    return -1;
}

static void check(apr_pool_t *p, const char *list, char sep, const char *name)
{
    const char *got = kmen_pair_value(p, list, sep, name);
    size_t len = 0;
    long at = reference(list, sep, name, &len);
    if (at < 0) {
        INVARIANT(got == NULL, "found a value for \"%.40s\" that the reference does not", name);
        return;
    }
    INVARIANT(got != NULL, "missed the value of \"%.40s\" at %ld", name, at);
    INVARIANT(strlen(got) == len && memcmp(got, list + at, len) == 0,
              "value of \"%.40s\" differs from the reference", name);
    INVARIANT(!strchr(got, sep), "value holds the separator");
    int conflict = 0, differs = 0;
    const char *single = kmen_pair_single_value(p, list, sep, name, &conflict);
    for (size_t from = (size_t)at + len, more_len = 0; !differs;) {
        long more = reference(list + from, sep, name, &more_len);
        if (more < 0)
            break;
        differs = more_len != len || memcmp(list + from + more, got, len) != 0;
        from += (size_t)more + more_len;
    }
    INVARIANT(conflict == differs, "conflict %d for \"%.40s\", the reference says %d", conflict,
              name, differs);
    INVARIANT(conflict ? single == NULL : single && strcmp(single, got) == 0,
              "the single value of \"%.40s\" differs from the first", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char sep = data[0] & 1 ? '&' : ';';
    char *s = fuzz_cstr(data + 1, size - 1);
    char *nl = strchr(s, '\n');
    const char *name = s, *list = "";
    if (nl) {
        *nl = '\0';
        list = nl + 1;
    }
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_apr_root());
    check(p, list, sep, name);
    check(p, list, sep, "kmen_session");
    check(p, list, sep, "kmen_session_state");
    check(p, list, sep, "ReturnTo");
    check(p, list, sep, "");
    INVARIANT(kmen_pair_value(p, NULL, sep, name) == NULL, "a value from no list");
    apr_pool_destroy(p);
    free(s);
    return 0;
}
