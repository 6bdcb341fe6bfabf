/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The filing service's name register, one CSV record at a time (the header
 * aifo,family_name,given_name,birth_date[,address][,source_id][,system…] of
 * kmenctl import-essl, docs/operations.md). Pure functions. */
#ifndef KMENCTL_ESSL_ROW_H
#define KMENCTL_ESSL_ROW_H

#include "csv.h"

enum { ESSL_AIFO, ESSL_FAMILY_NAME, ESSL_GIVEN_NAME, ESSL_BIRTH_DATE, ESSL_FIXED };

/* Where a header put its columns; address and source_id are -1 when absent. */
typedef struct {
    int fields;
    int address;
    int source_id;
    int first_system;
} kmenctl_essl_columns;

/* 1 when the record is an ESSL header (the four fixed names, then optionally
 * address and source_id in this order, then any number of `system` or
 * `systemN`), and cols says where each column is; 0 when it is not. */
int kmenctl_essl_header(const kmen_csv_record *header, kmenctl_essl_columns *cols);

/* NULL when the record is a good row, else why not (written into buf when it
 * needs a number). Empty system columns are allowed: not every person is in
 * every system. An empty aifo is a person to identify: such a row needs a
 * source_id, the name register's own key of the row, so that importing the
 * file again finds it again. */
const char *kmenctl_essl_row_problem(const kmen_csv_record *row, const kmenctl_essl_columns *cols,
                                     char *buf, size_t cap);

#endif
