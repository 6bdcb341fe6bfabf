/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ReturnTo validation: no open redirects. */
#include <string.h>

#include "redirect.h"

#define RETURN_TO_MAX 2048

/* "/./" or "/../" segments: a portal's own links never need them, and
 * after normalisation "/.//host" starts with "//". */
static int has_dot_segment(const char *path)
{
    for (const char *s = path; s; s = strchr(s + 1, '/')) {
        size_t len = strcspn(s + 1, "/?#");
        if ((len == 1 && s[1] == '.') || (len == 2 && s[1] == '.' && s[2] == '.'))
            return 1;
    }
    return 0;
}

int kmen_return_to_is_local(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || strlen(path) > RETURN_TO_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (*c < 0x21 || *c > 0x7e || *c == '\\')
            return 0;
    }
    return !has_dot_segment(path);
}
