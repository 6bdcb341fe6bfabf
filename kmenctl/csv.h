/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RFC 4180 records, one at a time, from a caller's buffer. A pure function:
 * no allocation, no I/O, no global state, so it can be fuzzed on its own. */
#ifndef KMENCTL_CSV_H
#define KMENCTL_CSV_H

#include <stddef.h>

#define KMEN_CSV_MAX_FIELDS 64

typedef struct {
    /* Caller's storage for the unescaped fields, each NUL-terminated. A
     * capacity of at least len + 1 (see kmen_csv_next) always suffices. */
    char *out;
    size_t out_cap;
    const char *field[KMEN_CSV_MAX_FIELDS];
    size_t len[KMEN_CSV_MAX_FIELDS];
    /* Fields in the record; may exceed KMEN_CSV_MAX_FIELDS, then only the
     * first KMEN_CSV_MAX_FIELDS are kept. 0 for an empty line. */
    int count;
    /* Line breaks consumed, those inside quoted fields included: the caller
     * adds it to its line counter to number the next record. */
    int newlines;
} kmen_csv_record;

typedef enum {
    KMEN_CSV_RECORD, /* a record was parsed */
    KMEN_CSV_BAD,    /* malformed record, skipped up to the end of its line */
    KMEN_CSV_MORE,   /* the record continues past len: call again with more input */
    KMEN_CSV_END     /* no input left */
} kmen_csv_status;

/* Parses the record at the start of in[0, len); eof says no input follows
 * in[len - 1]. Fields are separated by ',', records end with LF or CRLF (or
 * at eof); a field in double quotes may hold ',', line breaks and doubled
 * quotes. On KMEN_CSV_RECORD and KMEN_CSV_BAD, *used is how many bytes were
 * consumed; on KMEN_CSV_BAD, *why says what is wrong (never quoting input). */
kmen_csv_status kmen_csv_next(const char *in, size_t len, int eof, kmen_csv_record *rec,
                              size_t *used, const char **why);

#endif
