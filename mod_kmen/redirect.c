/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ReturnTo validation: no open redirects. */
#include <string.h>

#include "redirect.h"

#define RETURN_TO_MAX 2048

int kmen_return_to_is_local(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || strlen(path) > RETURN_TO_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (*c < 0x21 || *c > 0x7e || *c == '\\')
            return 0;
    }
    return 1;
}
