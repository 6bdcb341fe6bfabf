/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_return_to_is_local (core/redirect.c): whatever it accepts must be a
 * path a browser keeps on this site.
 *
 * Invariants of an accepted value: starts with one '/', never "//"; no '\',
 * no control, space or non-ASCII byte; at most KMEN_RETURN_TO_MAX (1024) bytes; no "." or ".."
 * path segment; and, read as a browser reads a path (WHATWG: "%2e" is a dot
 * in a path segment too), it does not normalise to a path starting with "//"
 * either, which is what redirect.c's dot-segment rule is for. Set
 * KMEN_FUZZ_LITERAL_DOTS=1 in the environment to check literal dots only. */
#include "fuzz.h"
#include "redirect.h"

#include <ctype.h>
#include <strings.h>

static int literal_dots_only;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *v = getenv("KMEN_FUZZ_LITERAL_DOTS");
    literal_dots_only = v && *v == '1';
    return 0;
}

static int seg_is(const char *seg, size_t len, const char *const *spellings)
{
    for (; *spellings; spellings++) {
        if (strlen(*spellings) == len && strncasecmp(seg, *spellings, len) == 0)
            return 1;
    }
    return 0;
}

static const char *const single_dot[] = {".", NULL};
static const char *const double_dot[] = {"..", NULL};
static const char *const single_dot_url[] = {".", "%2e", NULL};
static const char *const double_dot_url[] = {"..", ".%2e", "%2e.", "%2e%2e", NULL};

/* 1 if a segment of the path part is one of SPELLINGS. */
static int has_segment(const char *path, const char *const *spellings)
{
    size_t end = strcspn(path, "?#");
    for (size_t i = 0; i < end;) {
        size_t len = strcspn(path + i + 1, "/?#");
        if (i + 1 + len > end)
            len = end - i - 1;
        if (seg_is(path + i + 1, len, spellings))
            return 1;
        i += len + 1;
    }
    return 0;
}

/* 1 if the path part normalises (RFC 3986 / WHATWG remove-dot-segments) to
 * something that starts with "//". */
static int normalises_to_double_slash(const char *path, const char *const *one,
                                      const char *const *two)
{
    size_t end = strcspn(path, "?#");
    /* A stack of segment lengths is enough: only whether the first kept
     * segment is empty (and more follow) matters. */
    size_t kept = 0, cap = end + 1;
    size_t *lens = malloc(cap * sizeof(*lens));
    const char *s = path + 1; /* after the leading '/' */
    for (;;) {
        size_t len = strcspn(s, "/?#");
        if ((size_t)(s - path) + len > end)
            len = end - (size_t)(s - path);
        int last = (size_t)(s - path) + len >= end;
        if (seg_is(s, len, two)) {
            if (kept)
                kept--;
            if (last)
                lens[kept++] = 0; /* "/a/.." -> "/" : a trailing empty segment */
        } else if (seg_is(s, len, one)) {
            if (last)
                lens[kept++] = 0;
        } else {
            lens[kept++] = len;
        }
        if (last)
            break;
        s += len + 1;
    }
    int bad = kept >= 2 && lens[0] == 0;
    free(lens);
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    if (kmen_return_to_is_local(s)) {
        size_t n = strlen(s);
        INVARIANT(n >= 1 && s[0] == '/', "accepted %zu bytes not starting with '/'", n);
        INVARIANT(n < 2 || s[1] != '/', "accepted a scheme-relative value: %.80s", s);
        INVARIANT(n <= KMEN_RETURN_TO_MAX, "accepted %zu bytes", n);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            INVARIANT(c > 0x20 && c < 0x7f && c != '\\', "accepted byte 0x%02x at %zu", c, i);
        }
        INVARIANT(!has_segment(s, single_dot) && !has_segment(s, double_dot),
                  "accepted a \".\" or \"..\" path segment: %.200s", s);
        if (!literal_dots_only)
            INVARIANT(!normalises_to_double_slash(s, single_dot_url, double_dot_url),
                      "accepted a path a browser normalises to \"//...\" (%%2e is a dot in "
                      "URL paths): %.200s",
                      s);
    }
    free(s);
    return 0;
}
