/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Header and row checks of the import-essl CSV (see essl_row.h). */
#include <stdio.h>
#include <string.h>

#include "essl_row.h"
#include "validate.h"

static int field_is(const kmen_csv_record *r, int i, const char *name)
{
    return r->len[i] == strlen(name) && memcmp(r->field[i], name, r->len[i]) == 0;
}

static int system_column_name(const char *s, size_t len)
{
    if (len < 6 || memcmp(s, "system", 6) != 0)
        return 0;
    for (size_t i = 6; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int kmenctl_essl_header_fields(const kmen_csv_record *header)
{
    if (header->count < ESSL_FIRST_SYSTEM || header->count > KMEN_CSV_MAX_FIELDS ||
        !field_is(header, ESSL_AIFO, "aifo") ||
        !field_is(header, ESSL_FAMILY_NAME, "family_name") ||
        !field_is(header, ESSL_GIVEN_NAME, "given_name") ||
        !field_is(header, ESSL_BIRTH_DATE, "birth_date"))
        return 0;
    for (int i = ESSL_FIRST_SYSTEM; i < header->count; i++)
        if (!system_column_name(header->field[i], header->len[i]))
            return 0;
    return header->count;
}

static const char *prefixed(char *buf, size_t cap, const char *column, const char *problem)
{
    snprintf(buf, cap, "%s %s", column, problem);
    return buf;
}

const char *kmenctl_essl_row_problem(const kmen_csv_record *row, int fields, char *buf, size_t cap)
{
    const char *why;
    if (row->count != fields) {
        snprintf(buf, cap, "%d fields, the header has %d", row->count, fields);
        return buf;
    }
    if ((why = kmenctl_aifo_problem(row->field[ESSL_AIFO], row->len[ESSL_AIFO])))
        return prefixed(buf, cap, "aifo", why);
    why = kmenctl_name_problem(row->field[ESSL_FAMILY_NAME], row->len[ESSL_FAMILY_NAME]);
    if (why)
        return prefixed(buf, cap, "family_name", why);
    why = kmenctl_name_problem(row->field[ESSL_GIVEN_NAME], row->len[ESSL_GIVEN_NAME]);
    if (why)
        return prefixed(buf, cap, "given_name", why);
    if (!kmenctl_date_valid(row->field[ESSL_BIRTH_DATE], row->len[ESSL_BIRTH_DATE]))
        return "birth_date is not a real YYYY-MM-DD date";
    for (int i = ESSL_FIRST_SYSTEM; i < fields; i++) {
        if (row->len[i] > 0 && !kmenctl_system_valid(row->field[i], row->len[i])) {
            snprintf(buf, cap, "column %d is not a system name ([A-Za-z0-9._:-], 1 to 64)", i + 1);
            return buf;
        }
    }
    return NULL;
}
