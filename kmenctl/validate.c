/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Field checks for import-essl and notify (see validate.h). */
#include <string.h>

#include "validate.h"

const char *kmenctl_aifo_problem(const char *s, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > KMENCTL_AIFO_MAX)
        return "is longer than 64 characters";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f)
            return "holds a space or a character that is not printable ASCII";
    }
    return NULL;
}

const char *kmenctl_name_problem(const char *s, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > KMENCTL_NAME_MAX)
        return "is longer than 1000 bytes";
    if (!kmenctl_utf8_valid(s, len))
        return "is not valid UTF-8";
    /* Control characters (NUL, line breaks, tabs) have no place in a name and
     * would break the headers the module later sets from it. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return "holds a control character";
    }
    return NULL;
}

/* The usual causes are spreadsheet exports: Czech Excel separates fields with ';' and may
 * save in Windows-1250. */
const char *kmenctl_header_hint(const char *line, size_t len)
{
    const char *end = memchr(line, '\n', len);
    if (end)
        len = (size_t)(end - line);
    if (!kmenctl_utf8_valid(line, len))
        return "the file is not UTF-8 (Windows-1250?): convert it with "
               "iconv -f cp1250 -t utf-8 FILE > FILE.utf8";
    if (memchr(line, ';', len))
        return "the header line is separated by ';': save the file as CSV with ',' between "
               "fields (in Excel \"CSV UTF-8\", in LibreOffice field delimiter ',')";
    return NULL;
}

/* Length of the UTF-8 sequence starting at s[0..len), 0 when malformed. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    size_t need;
    unsigned long cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

int kmenctl_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(u + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

static int digits(const char *s, size_t n, int *value)
{
    *value = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *value = *value * 10 + (s[i] - '0');
    }
    return 1;
}

int kmenctl_date_valid(const char *s, size_t len)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
        !digits(s + 8, 2, &d))
        return 0;
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

int kmenctl_system_valid(const char *s, size_t len)
{
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int kmenctl_agenda_valid(const char *s)
{
    size_t len = strlen(s);
    if (len < 2 || len > 7 || s[0] != 'A')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}
