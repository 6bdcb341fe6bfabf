/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import-essl, file side: reads the CSV in large chunks, checks each row,
 * computes the AIFO's blind index and ciphertext and streams the good rows
 * into the staging table with COPY. No per-row round trip: the register side
 * (import_apply.c) then works on the whole staging table at once. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "essl_row.h"
#include "import.h"
#include "validate.h"

#define READ_CHUNK ((size_t)4 << 20) /* also the longest record accepted */
#define COPY_BUFFER ((size_t)1 << 20)
#define COPY_ROW_MAX ((size_t)16 << 10) /* names ≤ 1000 bytes, ≤ 60 systems */
#define BATCH_ROWS 4096                 /* rows between clears of the batch pool */

typedef struct {
    kmenctl_essl_import *im;
    const kmen_id_keys *keys;
    apr_pool_t *batch; /* per-row crypto scratch, cleared every BATCH_ROWS rows */
    int batch_rows;
    int fields; /* columns of the header; 0 until it is read */
    char *copy; /* COPY text not yet sent */
    size_t copy_len;
} essl_reader;

static void reject(essl_reader *rd, long line, const char *why)
{
    kmenctl_progress_clear(&rd->im->progress);
    fprintf(stderr, "line %ld: %s\n", line, why);
    rd->im->rejected++;
}

static int flush_copy(essl_reader *rd)
{
    if (rd->copy_len > 0 && PQputCopyData(rd->im->conn, rd->copy, (int)rd->copy_len) != 1) {
        kmenctl_fail("copy: %s", PQerrorMessage(rd->im->conn));
        return -1;
    }
    rd->copy_len = 0;
    return 0;
}

static char *put_hex_bytea(char *o, const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    *o++ = '\\'; /* COPY text doubles the backslash of bytea's \x form */
    *o++ = '\\';
    *o++ = 'x';
    for (size_t i = 0; i < len; i++) {
        *o++ = digits[data[i] >> 4];
        *o++ = digits[data[i] & 15];
    }
    return o;
}

/* Names hold no control characters (checked), so only '\' needs escaping. */
static char *put_text(char *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\')
            *o++ = '\\';
        *o++ = s[i];
    }
    return o;
}

/* A text[] literal; elements quoted so that a system called NULL stays one. */
static char *put_systems(char *o, const kmen_csv_record *row, int fields)
{
    int first = 1;
    *o++ = '{';
    for (int i = ESSL_FIRST_SYSTEM; i < fields; i++) {
        if (row->len[i] == 0)
            continue;
        if (!first)
            *o++ = ',';
        *o++ = '"';
        memcpy(o, row->field[i], row->len[i]);
        o += row->len[i];
        *o++ = '"';
        first = 0;
    }
    *o++ = '}';
    return o;
}

static int stage_row(essl_reader *rd, const kmen_csv_record *row, long line)
{
    const char *aifo = row->field[ESSL_AIFO];
    unsigned char index[KMEN_HASH_LEN];
    apr_size_t sealed_len;
    kmen_id_index(rd->batch, rd->keys, KMEN_ID_AIFO, rd->im->agenda, aifo, index);
    unsigned char *sealed =
        kmen_id_seal(rd->batch, rd->keys, KMEN_ID_AIFO, rd->im->agenda, aifo, &sealed_len);
    if (!sealed) {
        kmenctl_fail("line %ld: encryption failed", line);
        return -1;
    }
    if (rd->copy_len + COPY_ROW_MAX > COPY_BUFFER && flush_copy(rd))
        return -1;
    char *o = rd->copy + rd->copy_len;
    o += snprintf(o, 24, "%ld\t", line);
    o = put_hex_bytea(o, index, sizeof(index));
    *o++ = '\t';
    o = put_hex_bytea(o, sealed, sealed_len);
    *o++ = '\t';
    o = put_text(o, row->field[ESSL_FAMILY_NAME], row->len[ESSL_FAMILY_NAME]);
    *o++ = '\t';
    o = put_text(o, row->field[ESSL_GIVEN_NAME], row->len[ESSL_GIVEN_NAME]);
    *o++ = '\t';
    memcpy(o, row->field[ESSL_BIRTH_DATE], 10);
    o += 10;
    *o++ = '\t';
    o = put_systems(o, row, rd->fields);
    *o++ = '\n';
    rd->copy_len = (size_t)(o - rd->copy);
    rd->im->good++;
    if (++rd->batch_rows == BATCH_ROWS) {
        apr_pool_clear(rd->batch);
        rd->batch_rows = 0;
    }
    return 0;
}

/* A record before the header was read: 0 when it is the header or an empty line, else -1
 * after saying why not (nothing below could be read). */
static int take_header(essl_reader *rd, kmen_csv_status st, const kmen_csv_record *rec,
                       const char *why, long line)
{
    if (st == KMEN_CSV_RECORD && rec->count == 0)
        return 0;
    if (st == KMEN_CSV_RECORD && (rd->fields = kmenctl_essl_header_fields(rec)))
        return 0;
    kmenctl_fail("line %ld: %s", line,
                 st == KMEN_CSV_BAD
                     ? why
                     : "the header must be aifo,family_name,given_name,birth_date[,system...]");
    return -1;
}

static int take_record(essl_reader *rd, const kmen_csv_record *rec, long line)
{
    char why[128];
    if (rec->count == 0) /* an empty line: nothing to import, nothing wrong */
        return 0;
    const char *problem = kmenctl_essl_row_problem(rec, rd->fields, why, sizeof(why));
    if (problem) {
        reject(rd, line, problem);
        return 0;
    }
    return stage_row(rd, rec, line);
}

typedef struct {
    int fd;
    char *buf;
    size_t start, have; /* unparsed input is buf[start, have) */
    long long read_total;
    int eof;
} chunk_input;

/* Keeps the unparsed tail and reads more after it. */
static int read_more(chunk_input *in, kmenctl_progress *progress, const char *path)
{
    memmove(in->buf, in->buf + in->start, in->have - in->start);
    in->have -= in->start;
    in->start = 0;
    ssize_t n;
    do
        n = read(in->fd, in->buf + in->have, READ_CHUNK - in->have);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        kmenctl_fail("%s: %s", path, strerror(errno));
        return -1;
    }
    in->eof = n == 0;
    in->have += (size_t)n;
    in->read_total += n;
    kmenctl_progress_update(progress, in->read_total);
    /* A byte order mark, as spreadsheet programs write, is not part of the header. */
    if (in->read_total == n && in->have >= 3 && memcmp(in->buf, "\xef\xbb\xbf", 3) == 0)
        in->start = 3;
    return 0;
}

static int stream_file(apr_pool_t *p, essl_reader *rd, chunk_input *in, const char *path)
{
    kmen_csv_record rec = {.out = apr_palloc(p, READ_CHUNK + 1), .out_cap = READ_CHUNK + 1};
    long line = 1;
    for (;;) {
        size_t used = 0;
        const char *why = NULL;
        kmen_csv_status st =
            kmen_csv_next(in->buf + in->start, in->have - in->start, in->eof, &rec, &used, &why);
        if (st == KMEN_CSV_END)
            return 0;
        if (st == KMEN_CSV_MORE) {
            if (in->start == 0 && in->have == READ_CHUNK) {
                kmenctl_fail("line %ld: a record longer than 4 MiB", line);
                return -1;
            }
            if (read_more(in, &rd->im->progress, path))
                return -1;
            continue;
        }
        if (!rd->fields) {
            if (take_header(rd, st, &rec, why, line)) {
                kmenctl_hint_header(in->buf + in->start, used);
                return -1;
            }
        } else if (st == KMEN_CSV_BAD) {
            reject(rd, line, why);
        } else if (take_record(rd, &rec, line)) {
            return -1;
        }
        line += rec.newlines;
        in->start += used;
    }
}

/* Ends the COPY; its result says whether the server took every row. */
static int end_copy(PGconn *conn, const char *abort_reason)
{
    int ok = PQputCopyEnd(conn, abort_reason) == 1;
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        if (!abort_reason && PQresultStatus(res) != PGRES_COMMAND_OK) {
            kmenctl_fail("copy: %s", kmenctl_pg_message(res, conn));
            ok = 0;
        }
        PQclear(res);
    }
    return ok && !abort_reason ? 0 : -1;
}

static int import_file(apr_pool_t *p, kmenctl_essl_import *im, const kmen_id_keys *keys, int fd,
                       const char *path, long long size)
{
    essl_reader rd = {.im = im, .keys = keys, .copy = apr_palloc(p, COPY_BUFFER)};
    chunk_input in = {.fd = fd, .buf = apr_palloc(p, READ_CHUNK)};
    apr_pool_create(&rd.batch, p);
    kmenctl_progress_start(&im->progress, "import-essl", size);
    if (kmenctl_essl_stage_open(im))
        return -1;
    int rc = stream_file(p, &rd, &in, path);
    if (!rc && !rd.fields) {
        kmenctl_fail("%s: empty file, no header row", path);
        rc = -1;
    }
    if (!rc)
        rc = flush_copy(&rd);
    if (end_copy(im->conn, rc ? "kmenctl stopped" : NULL) || rc)
        return -1;
    return kmenctl_essl_apply(im);
}

static int open_input(const char *path, long long *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        kmenctl_fail("%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *size = S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
    return fd;
}

int kmenctl_import_essl(apr_pool_t *p, const kmenctl_args *args)
{
    const char *path = args->positional[1];
    kmenctl_essl_import im = {.agenda = args->agenda ? args->agenda : KMENCTL_DEFAULT_AGENDA};
    kmen_id_keys keys;
    long long size;
    if (!args->key_file)
        return kmenctl_usage_error("import-essl", "--key-file is required");
    if (!kmenctl_agenda_valid(im.agenda))
        return kmenctl_usage_error("import-essl", "--agenda must look like A8566");
    if (kmenctl_load_keys(args->key_file, &keys))
        return KMENCTL_FAILURE;
    int rc = -1, fd = open_input(path, &size);
    if (fd >= 0) {
        im.conn = kmenctl_connect(args->positional[0]);
        if (im.conn)
            rc = import_file(p, &im, &keys, fd, path, size);
        kmenctl_progress_end(&im.progress);
        PQfinish(im.conn);
        close(fd);
    }
    OPENSSL_cleanse(&keys, sizeof(keys));
    if (rc)
        return KMENCTL_FAILURE;
    printf("added %ld, matched %ld, rejected %ld\n", im.added, im.good - im.added, im.rejected);
    /* A script (cron, a pipeline) must notice rows left out, not only a failed run. */
    return im.rejected ? KMENCTL_FAILURE : KMENCTL_OK;
}
