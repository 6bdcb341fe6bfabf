/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The filing service's name register, one CSV record at a time (the header
 * aifo,family_name,given_name,birth_date[,system…] of kmenctl import-essl,
 * docs/operations.md). Pure functions. */
#ifndef KMENCTL_ESSL_ROW_H
#define KMENCTL_ESSL_ROW_H

#include "csv.h"

enum { ESSL_AIFO, ESSL_FAMILY_NAME, ESSL_GIVEN_NAME, ESSL_BIRTH_DATE, ESSL_FIRST_SYSTEM };

/* The number of columns the header names, or 0 when it is not an ESSL
 * header: the four fixed names, then any number of `system` or `systemN`. */
int kmenctl_essl_header_fields(const kmen_csv_record *header);

/* NULL when the record is a good row of a file whose header has `fields`
 * columns, else why not (written into buf when it needs a number). Empty
 * system columns are allowed: not every person is in every system. */
const char *kmenctl_essl_row_problem(const kmen_csv_record *row, int fields, char *buf, size_t cap);

#endif
