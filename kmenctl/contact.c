/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Contact data checks and normal form (see contact.h). Written for the C
 * locale the module runs in: only ASCII is white space or has a case. */
#include "contact.h"
#include "validate.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether c, met when o characters are already kept, is kept in kind's
 * normal form. */
static int kept(kmen_id_kind kind, char c, size_t o)
{
    if (kind == KMEN_ID_PHONE)
        return is_digit(c) || (c == '+' && o == 0);
    return !is_space(c);
}

char *kmenctl_contact_normalise(kmen_id_kind kind, const char *value, char *out)
{
    size_t o = 0;
    for (const char *c = value; *c; c++)
        if (kept(kind, *c, o))
            out[o++] = kind == KMEN_ID_EMAIL ? ascii_lower(*c) : *c;
    out[o] = '\0';
    return out;
}

static int has_control(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

const char *kmenctl_contact_problem(kmen_id_kind kind, const char *value, size_t len)
{
    size_t kept_chars = 0;
    int digits = 0;
    if (len == 0)
        return "is empty";
    if (len > KMENCTL_CONTACT_MAX)
        return "is longer than 1000 bytes";
    if (has_control(value, len))
        return "holds a control character";
    if (!kmenctl_utf8_valid(value, len))
        return "is not valid UTF-8";
    for (size_t i = 0; i < len; i++) {
        kept_chars += kept(kind, value[i], kept_chars);
        digits |= is_digit(value[i]);
    }
    if (kept_chars == 0)
        return kind == KMEN_ID_PHONE ? "holds no digits" : "holds only white space";
    if (kind == KMEN_ID_PHONE && !digits)
        return "holds no digits";
    return NULL;
}
