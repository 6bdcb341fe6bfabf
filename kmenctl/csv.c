/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RFC 4180 record parser (see csv.h). Input may arrive in pieces: whenever a
 * record could continue past the bytes at hand, the answer is KMEN_CSV_MORE
 * and the caller retries the same record with more input, so the result
 * never depends on where a read() happened to stop. */
#include <string.h>

#include "csv.h"

typedef enum { STEP_OK, STEP_BAD, STEP_MORE } step;

typedef struct {
    const char *in;
    size_t len;
    int eof;
    size_t pos; /* next input byte */
    size_t o;   /* next output byte in rec->out */
    kmen_csv_record *rec;
    const char *why;
} parser;

/* 1 for LF, 2 for CRLF, 0 for anything else (a lone CR is data), -1 when a CR
 * ends the input seen so far and the next byte decides. */
static int line_break(const parser *ps, size_t at)
{
    if (at >= ps->len)
        return 0;
    if (ps->in[at] == '\n')
        return 1;
    if (ps->in[at] != '\r')
        return 0;
    if (at + 1 < ps->len)
        return ps->in[at + 1] == '\n' ? 2 : 0;
    return ps->eof ? 0 : -1;
}

/* A malformed record is skipped up to the end of the physical line where the
 * problem was found, so one stray quote costs one line, not the rest. */
static step bad(parser *ps, const char *why)
{
    const char *nl = memchr(ps->in + ps->pos, '\n', ps->len - ps->pos);
    ps->why = why;
    if (nl) {
        ps->pos = (size_t)(nl - ps->in) + 1;
        ps->rec->newlines++;
        return STEP_BAD;
    }
    if (!ps->eof)
        return STEP_MORE;
    ps->pos = ps->len;
    return STEP_BAD;
}

static int put(parser *ps, char c)
{
    if (ps->o >= ps->rec->out_cap)
        return 0;
    ps->rec->out[ps->o++] = c;
    return 1;
}

static step plain_field(parser *ps)
{
    for (;;) {
        if (ps->pos == ps->len)
            return ps->eof ? STEP_OK : STEP_MORE;
        char c = ps->in[ps->pos];
        if (c == ',' || c == '\n')
            return STEP_OK;
        if (c == '\r') {
            int lb = line_break(ps, ps->pos);
            if (lb < 0)
                return STEP_MORE;
            if (lb == 2)
                return STEP_OK;
        }
        if (c == '"')
            return bad(ps, "a quote inside an unquoted field");
        if (!put(ps, c))
            return bad(ps, "record too long");
        ps->pos++;
    }
}

/* After a closing quote only a separator or the end of the record may follow. */
static step after_closing_quote(parser *ps)
{
    if (ps->pos == ps->len)
        return ps->eof ? STEP_OK : STEP_MORE;
    char c = ps->in[ps->pos];
    if (c == ',' || c == '\n')
        return STEP_OK;
    int lb = line_break(ps, ps->pos);
    if (lb < 0)
        return STEP_MORE;
    return lb == 2 ? STEP_OK : bad(ps, "text after a closing quote");
}

static step quoted_field(parser *ps)
{
    ps->pos++; /* the opening quote */
    for (;;) {
        if (ps->pos == ps->len)
            return ps->eof ? bad(ps, "unterminated quoted field") : STEP_MORE;
        char c = ps->in[ps->pos];
        if (c == '"') {
            if (ps->pos + 1 == ps->len && !ps->eof)
                return STEP_MORE; /* "" or the closing quote: the next byte decides */
            if (ps->pos + 1 < ps->len && ps->in[ps->pos + 1] == '"') {
                if (!put(ps, '"'))
                    return bad(ps, "record too long");
                ps->pos += 2;
                continue;
            }
            ps->pos++;
            return after_closing_quote(ps);
        }
        if (c == '\n')
            ps->rec->newlines++;
        if (!put(ps, c))
            return bad(ps, "record too long");
        ps->pos++;
    }
}

static void keep_field(kmen_csv_record *rec, size_t start, size_t len)
{
    if (rec->count < KMEN_CSV_MAX_FIELDS) {
        rec->field[rec->count] = rec->out + start;
        rec->len[rec->count] = len;
    }
    rec->count++;
}

static kmen_csv_status finish(const parser *ps, kmen_csv_status status, size_t *used,
                              const char **why)
{
    *used = ps->pos;
    if (why)
        *why = ps->why;
    return status;
}

kmen_csv_status kmen_csv_next(const char *in, size_t len, int eof, kmen_csv_record *rec,
                              size_t *used, const char **why)
{
    parser ps = {in, len, eof, 0, 0, rec, NULL};
    rec->count = 0;
    rec->newlines = 0;
    if (len == 0)
        return eof ? KMEN_CSV_END : KMEN_CSV_MORE;
    int lb = line_break(&ps, 0);
    if (lb < 0)
        return KMEN_CSV_MORE;
    if (lb > 0) { /* an empty line: a record of no fields */
        rec->newlines = 1;
        ps.pos = (size_t)lb;
        return finish(&ps, KMEN_CSV_RECORD, used, why);
    }
    for (;;) {
        size_t start = ps.o;
        step st = ps.pos < len && in[ps.pos] == '"' ? quoted_field(&ps) : plain_field(&ps);
        if (st == STEP_OK && !put(&ps, '\0'))
            st = bad(&ps, "record too long");
        if (st == STEP_MORE)
            return KMEN_CSV_MORE;
        if (st == STEP_BAD)
            return finish(&ps, KMEN_CSV_BAD, used, why);
        keep_field(rec, start, ps.o - start - 1);
        if (ps.pos == len) /* the last record of the input, without a line break */
            return finish(&ps, KMEN_CSV_RECORD, used, why);
        if (in[ps.pos] == ',') {
            ps.pos++;
            continue;
        }
        ps.pos += (size_t)line_break(&ps, ps.pos); /* fields stop only at ',', LF or CRLF */
        rec->newlines++;
        return finish(&ps, KMEN_CSV_RECORD, used, why);
    }
}
