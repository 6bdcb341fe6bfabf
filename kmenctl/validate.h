/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks of the values kmenctl reads from files. Pure functions; none of the
 * answers quotes the value, since it may be an AIFO. */
#ifndef KMENCTL_VALIDATE_H
#define KMENCTL_VALIDATE_H

#include <stddef.h>

#define KMENCTL_AIFO_MAX 64
#define KMENCTL_NAME_MAX 1000

/* NULL when s is a plausible AIFO, else what is wrong with it. */
const char *kmenctl_aifo_problem(const char *s, size_t len);
/* NULL when s is a usable person's name, else what is wrong with it. */
const char *kmenctl_name_problem(const char *s, size_t len);
/* Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
int kmenctl_utf8_valid(const char *s, size_t len);
/* What to do about a file whose first line (raw, from line[0]; the line ends at the first
 * LF or at len) is not the header expected; NULL when none of the usual causes shows. */
const char *kmenctl_header_hint(const char *line, size_t len);
/* YYYY-MM-DD naming a day of the Gregorian calendar, year 0001 to 9999. */
int kmenctl_date_valid(const char *s, size_t len);
/* ^[A-Za-z0-9._:-]{1,64}$, as kmen.client_system requires. */
int kmenctl_system_valid(const char *s, size_t len);
/* ^A[0-9]{1,6}$, as kmen.client_aifo requires. */
int kmenctl_agenda_valid(const char *s);

#endif
