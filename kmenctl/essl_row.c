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

/* Whether column i of the header names an optional column: i is advanced past it. */
static int optional_column(const kmen_csv_record *h, int *i, const char *name)
{
    if (*i >= h->count || !field_is(h, *i, name))
        return -1;
    return (*i)++;
}

int kmenctl_essl_header(const kmen_csv_record *header, kmenctl_essl_columns *cols)
{
    if (header->count < ESSL_FIXED || header->count > KMEN_CSV_MAX_FIELDS ||
        !field_is(header, ESSL_AIFO, "aifo") ||
        !field_is(header, ESSL_FAMILY_NAME, "family_name") ||
        !field_is(header, ESSL_GIVEN_NAME, "given_name") ||
        !field_is(header, ESSL_BIRTH_DATE, "birth_date"))
        return 0;
    int i = ESSL_FIXED;
    cols->address = optional_column(header, &i, "address");
    cols->source_id = optional_column(header, &i, "source_id");
    cols->first_system = i;
    for (; i < header->count; i++)
        if (!system_column_name(header->field[i], header->len[i]))
            return 0;
    cols->fields = header->count;
    return 1;
}

static const char *prefixed(char *buf, size_t cap, const char *column, const char *problem)
{
    snprintf(buf, cap, "%s %s", column, problem);
    return buf;
}

static const char *person_problem(const kmen_csv_record *row, const kmenctl_essl_columns *cols,
                                  char *buf, size_t cap)
{
    const char *why;
    size_t id_len = cols->source_id >= 0 ? row->len[cols->source_id] : 0;
    if (row->len[ESSL_AIFO] == 0 && id_len == 0)
        return "aifo is empty and there is no source_id to find the row again";
    if (row->len[ESSL_AIFO] > 0 &&
        (why = kmenctl_aifo_problem(row->field[ESSL_AIFO], row->len[ESSL_AIFO])))
        return prefixed(buf, cap, "aifo", why);
    if (id_len > 0 && !kmenctl_system_valid(row->field[cols->source_id], id_len))
        return "source_id is not [A-Za-z0-9._:-], 1 to 64";
    why = kmenctl_name_problem(row->field[ESSL_FAMILY_NAME], row->len[ESSL_FAMILY_NAME]);
    if (why)
        return prefixed(buf, cap, "family_name", why);
    why = kmenctl_name_problem(row->field[ESSL_GIVEN_NAME], row->len[ESSL_GIVEN_NAME]);
    if (why)
        return prefixed(buf, cap, "given_name", why);
    if (cols->address >= 0 && row->len[cols->address] > 0 &&
        (why = kmenctl_name_problem(row->field[cols->address], row->len[cols->address])))
        return prefixed(buf, cap, "address", why);
    if (!kmenctl_date_valid(row->field[ESSL_BIRTH_DATE], row->len[ESSL_BIRTH_DATE]))
        return "birth_date is not a real YYYY-MM-DD date";
    return NULL;
}

const char *kmenctl_essl_row_problem(const kmen_csv_record *row, const kmenctl_essl_columns *cols,
                                     char *buf, size_t cap)
{
    if (row->count != cols->fields) {
        snprintf(buf, cap, "%d fields, the header has %d", row->count, cols->fields);
        return buf;
    }
    const char *why = person_problem(row, cols, buf, cap);
    if (why)
        return why;
    for (int i = cols->first_system; i < cols->fields; i++) {
        if (row->len[i] > 0 && !kmenctl_system_valid(row->field[i], row->len[i])) {
            snprintf(buf, cap, "column %d is not a system name ([A-Za-z0-9._:-], 1 to 64)", i + 1);
            return buf;
        }
    }
    return NULL;
}
