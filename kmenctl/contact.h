/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Contact data of a potential client (e-mail, phone, name): checks and the
 * normal form whose blind index finds a contact however it was typed. Pure
 * functions; no answer quotes the value. */
#ifndef KMENCTL_CONTACT_H
#define KMENCTL_CONTACT_H

#include <stddef.h>

#include "identifiers.h"

#define KMENCTL_CONTACT_MAX 1000

/* The normal form of value, written into out (capacity strlen(value) + 1),
 * the same as the module's for Kmen-Potential-Contact (register.c):
 *   KMEN_ID_EMAIL  white space dropped, ASCII letters in lower case
 *   KMEN_ID_PHONE  digits only, and a '+' that comes before every digit
 *   KMEN_ID_NAME   white space dropped
 * White space is ASCII's: space, \t, \n, \v, \f, \r. Returns out. */
char *kmenctl_contact_normalise(kmen_id_kind kind, const char *value, char *out);

/* NULL when value (len bytes, no NUL among them) is usable as contact data of
 * that kind, else what is wrong with it: empty, too long, a control
 * character, not UTF-8, or nothing left once normalised (a phone without
 * digits would find every other phone without digits). */
const char *kmenctl_contact_problem(kmen_id_kind kind, const char *value, size_t len);

#endif
