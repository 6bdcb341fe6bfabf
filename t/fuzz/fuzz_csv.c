/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmenctl's CSV record parser (kmenctl/csv.c) and the import-essl row checks
 * (kmenctl/essl_row.c) on arbitrary bytes.
 *
 * Input: byte 0 seeds where the input is cut into reads; the rest is the file.
 * The file is parsed twice: all at once (eof set), and as kmenctl reads it, in
 * pieces, calling again with more input whenever the answer is KMEN_CSV_MORE.
 * Invariants: both readings give the same records, statuses, consumed byte
 * counts and line counts (csv.h promises the result never depends on where a
 * read stopped); every call makes progress; `newlines` is the number of LF in
 * the consumed bytes; every kept field lies inside the output buffer and is
 * NUL-terminated at its length. The first record is offered as the ESSL header,
 * the others as rows; a row problem is a NUL-terminated string. */
#include "fuzz.h"

#include "csv.h"
#include "essl_row.h"

#define MAX_RECORDS 4096

typedef struct {
    kmen_csv_status st;
    size_t used;
    int count, newlines;
    unsigned long hash; /* of the kept fields */
} outcome;

static unsigned long fields_hash(const kmen_csv_record *r)
{
    unsigned long h = 5381;
    int kept = r->count < KMEN_CSV_MAX_FIELDS ? r->count : KMEN_CSV_MAX_FIELDS;
    for (int i = 0; i < kept; i++) {
        for (size_t j = 0; j < r->len[i]; j++)
            h = h * 33 + (unsigned char)r->field[i][j];
        h = h * 33 + 0x100 + r->len[i];
    }
    return h;
}

static void check_record(const kmen_csv_record *r, const char *in, size_t used)
{
    int lf = 0;
    for (size_t i = 0; i < used; i++)
        lf += in[i] == '\n';
    INVARIANT(r->newlines == lf, "newlines %d, but %d LF consumed", r->newlines, lf);
    int kept = r->count < KMEN_CSV_MAX_FIELDS ? r->count : KMEN_CSV_MAX_FIELDS;
    INVARIANT(r->count >= 0, "negative field count");
    for (int i = 0; i < kept; i++) {
        INVARIANT(r->field[i] >= r->out && r->field[i] + r->len[i] < r->out + r->out_cap,
                  "field %d outside the buffer", i);
        INVARIANT(r->field[i][r->len[i]] == '\0', "field %d not terminated at its length", i);
    }
}

/* The whole file at once. */
static int parse_whole(const char *in, size_t len, outcome *out, char *buf, size_t cap)
{
    kmen_csv_record rec;
    size_t pos = 0;
    int n = 0;
    for (; n < MAX_RECORDS; n++) {
        memset(&rec, 0, sizeof(rec));
        rec.out = buf;
        rec.out_cap = cap;
        size_t used = 0;
        const char *why = NULL;
        kmen_csv_status st = kmen_csv_next(in + pos, len - pos, 1, &rec, &used, &why);
        INVARIANT(st != KMEN_CSV_MORE, "MORE at end of input");
        if (st == KMEN_CSV_END)
            break;
        INVARIANT(used > 0 && used <= len - pos, "used %zu of %zu", used, len - pos);
        if (st == KMEN_CSV_BAD)
            INVARIANT(why && *why, "BAD without a reason");
        check_record(&rec, in + pos, used);
        out[n] = (outcome){st, used, st == KMEN_CSV_RECORD ? rec.count : -1, rec.newlines,
                           st == KMEN_CSV_RECORD ? fields_hash(&rec) : 0};
        pos += used;
    }
    return n;
}

/* In pieces: the reader holds bytes [pos, have) and gets more in steps. */
static int parse_pieces(const char *in, size_t len, unsigned seed, outcome *out, char *buf,
                        size_t cap)
{
    kmen_csv_record rec;
    size_t pos = 0, have = 0;
    unsigned x = seed * 2654435761u + 1;
    int n = 0;
    while (n < MAX_RECORDS) {
        if (have == pos && have < len) {
            x = x * 1103515245u + 12345u;
            have += 1 + (x >> 16) % 7;
            if (have > len)
                have = len;
        }
        memset(&rec, 0, sizeof(rec));
        rec.out = buf;
        rec.out_cap = cap;
        size_t used = 0;
        const char *why = NULL;
        int eof = have == len;
        kmen_csv_status st = kmen_csv_next(in + pos, have - pos, eof, &rec, &used, &why);
        if (st == KMEN_CSV_MORE) {
            INVARIANT(!eof, "MORE with eof set");
            x = x * 1103515245u + 12345u;
            have += 1 + (x >> 16) % 7;
            if (have > len)
                have = len;
            continue;
        }
        if (st == KMEN_CSV_END)
            break;
        INVARIANT(used > 0 && used <= have - pos, "used %zu of %zu", used, have - pos);
        out[n++] = (outcome){st, used, st == KMEN_CSV_RECORD ? rec.count : -1, rec.newlines,
                             st == KMEN_CSV_RECORD ? fields_hash(&rec) : 0};
        pos += used;
    }
    return n;
}

static void essl(const char *in, size_t len, char *buf, size_t cap)
{
    kmen_csv_record rec;
    size_t pos = 0;
    int header = 0;
    kmenctl_essl_columns cols;
    char why_buf[128];
    for (int n = 0; n < MAX_RECORDS; n++) {
        memset(&rec, 0, sizeof(rec));
        rec.out = buf;
        rec.out_cap = cap;
        size_t used = 0;
        kmen_csv_status st = kmen_csv_next(in + pos, len - pos, 1, &rec, &used, NULL);
        if (st == KMEN_CSV_END)
            break;
        pos += used;
        if (st != KMEN_CSV_RECORD)
            continue;
        if (!header) {
            header = 1;
            if (kmenctl_essl_header(&rec, &cols))
                INVARIANT(cols.fields >= ESSL_FIXED && cols.fields <= KMEN_CSV_MAX_FIELDS &&
                              cols.first_system >= ESSL_FIXED && cols.first_system <= cols.fields,
                          "header of %d fields, systems from %d", cols.fields, cols.first_system);
            else /* go on as if it were the four-column header */
                cols = (kmenctl_essl_columns){4, -1, -1, 4};
            continue;
        }
        memset(why_buf, 'x', sizeof(why_buf));
        const char *why = kmenctl_essl_row_problem(&rec, &cols, why_buf, sizeof(why_buf));
        if (why)
            INVARIANT(strnlen(why, 4096) < 4096, "row problem not terminated");
        if (why == why_buf)
            INVARIANT(memchr(why_buf, '\0', sizeof(why_buf)), "row problem overflows its buffer");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    size_t cap = len + 1; /* csv.h: at least len + 1 always suffices */
    char *buf = malloc(cap);
    outcome *a = malloc(MAX_RECORDS * sizeof(*a)), *b = malloc(MAX_RECORDS * sizeof(*b));
    int na = parse_whole(in, len, a, buf, cap);
    int nb = parse_pieces(in, len, data[0], b, buf, cap);
    INVARIANT(na == nb, "%d records at once, %d in pieces", na, nb);
    for (int i = 0; i < na; i++)
        INVARIANT(a[i].st == b[i].st && a[i].used == b[i].used && a[i].count == b[i].count &&
                      a[i].newlines == b[i].newlines && a[i].hash == b[i].hash,
                  "record %d differs: status %d/%d used %zu/%zu fields %d/%d lines %d/%d", i,
                  a[i].st, b[i].st, a[i].used, b[i].used, a[i].count, b[i].count, a[i].newlines,
                  b[i].newlines);
    essl(in, len, buf, cap);
    free(a);
    free(b);
    free(buf);
    return 0;
}
