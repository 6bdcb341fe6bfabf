/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ReturnTo validation: no open redirects. */
#include <string.h>

#include "redirect.h"

/* "/./" or "/../" segments: a portal's own links never need them, and
 * after normalisation "/.//host" starts with "//". */
/* How many "." a segment is made of, counting "%2e" (any case) as one, as
 * browsers do in paths; -1 when it holds anything else. */
static int dots_in_segment(const char *s, size_t len)
{
    int dots = 0;
    for (size_t i = 0; i < len; dots++) {
        if (s[i] == '.')
            i += 1;
        else if (len - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e')
            i += 3;
        else
            return -1;
    }
    return dots;
}

static int has_dot_segment(const char *path)
{
    for (const char *s = path; s; s = strchr(s + 1, '/')) {
        int dots = dots_in_segment(s + 1, strcspn(s + 1, "/?#"));
        if (dots == 1 || dots == 2)
            return 1;
    }
    return 0;
}

int kmen_return_to_is_local(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || strlen(path) > KMEN_RETURN_TO_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (*c < 0x21 || *c > 0x7e || *c == '\\')
            return 0;
    }
    return !has_dot_segment(path);
}

/* Whole path segments: /app/verify is under /app/verify and /app/verify/x,
 * not /app/verifyX (a page of someone else's that happens to share the
 * prefix). A query in PATH is not part of the path. */
int kmen_path_is_under(const char *uri, const char *path)
{
    size_t n = path ? strcspn(path, "?") : 0;
    return path && strncmp(uri, path, n) == 0 &&
           (uri[n] == '\0' || uri[n] == '/' || (n > 0 && path[n - 1] == '/'));
}
