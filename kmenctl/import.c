/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import-essl, file side: reads the CSV in large chunks, checks each row,
 * computes the AIFO's blind index and ciphertext and streams the good rows
 * into the staging table with COPY. No per-row round trip: the register side
 * (import_apply.c) then works on the whole staging table at once.
 *
 * A row without an AIFO is identified through the gateway (POST /identify),
 * IDENTIFY_BATCH rows at a time with KMENCTL_GATEWAY_PARALLEL calls at once,
 * while the COPY waits: a unique match is staged as a row with that AIFO,
 * none or several as a potential client keyed by the row's source_id. A row
 * whose source_id already made a potential client is not sent again. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "apr_hash.h"

#include "essl_row.h"
#include "gateway.h"
#include "import.h"
#include "validate.h"

#define READ_CHUNK ((size_t)4 << 20) /* also the longest record accepted */
#define COPY_BUFFER ((size_t)1 << 20)
#define COPY_ROW_MAX ((size_t)16 << 10) /* names ≤ 1000 bytes, ≤ 60 systems */
#define BATCH_ROWS 4096                 /* rows between clears of the batch pool */
#define IDENTIFY_BATCH 512              /* rows identified together */

typedef struct {
    kmen_csv_record rec; /* its fields copied: the reader's buffer moves on */
    long line;
} pending_row;

typedef struct {
    kmenctl_essl_import *im;
    const kmen_id_keys *keys;
    apr_pool_t *batch; /* per-row crypto scratch, cleared every BATCH_ROWS rows */
    int batch_rows;
    kmenctl_essl_columns cols; /* cols.fields is 0 until the header is read */
    char *copy;                /* COPY text not yet sent */
    size_t copy_len;
    apr_hash_t *known_sources; /* source_id of the rows that made a potential client */
    pending_row *pending;      /* rows waiting for identification */
    int npending;
    apr_pool_t *pending_pool;
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
static char *put_systems(char *o, const kmen_csv_record *row, const kmenctl_essl_columns *cols)
{
    int first = 1;
    *o++ = '{';
    for (int i = cols->first_system; i < cols->fields; i++) {
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

/* The AIFO's blind index and ciphertext as COPY fields, or \N twice for a
 * potential client (aifo NULL). */
static char *put_aifo(essl_reader *rd, char *o, const char *aifo)
{
    if (!aifo)
        return memcpy(o, "\\N\t\\N", 5), o + 5;
    unsigned char index[KMEN_HASH_LEN];
    apr_size_t sealed_len;
    kmen_id_index(rd->batch, rd->keys, KMEN_ID_AIFO, rd->im->agenda, aifo, index);
    unsigned char *sealed =
        kmen_id_seal(rd->batch, rd->keys, KMEN_ID_AIFO, rd->im->agenda, aifo, &sealed_len);
    if (!sealed)
        return NULL;
    o = put_hex_bytea(o, index, sizeof(index));
    *o++ = '\t';
    return put_hex_bytea(o, sealed, sealed_len);
}

/* The public identifier of the client the row makes, if it makes one: a
 * random (version 4) UUID drawn here from a batch, where the server's
 * gen_random_uuid() default would call OpenSSL's generator once a row, which
 * cost a 10,000,000-row import a tenth of its time (bench/RESULTS.md). */
static char *put_client_id(char *o)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[16];
    if (!kmen_random_public(b, sizeof(b)))
        return NULL;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = digits[b[i] >> 4];
        *o++ = digits[b[i] & 15];
    }
    return o;
}

/* A good row into the staging table: with its AIFO, or (aifo NULL) as a
 * potential client, with its source_id. */
static int stage_row(essl_reader *rd, const kmen_csv_record *row, long line, const char *aifo)
{
    if (rd->copy_len + COPY_ROW_MAX > COPY_BUFFER && flush_copy(rd))
        return -1;
    char *o = rd->copy + rd->copy_len;
    o += snprintf(o, 24, "%ld\t", line);
    if (!(o = put_aifo(rd, o, aifo))) {
        kmenctl_fail("line %ld: encryption failed", line);
        return -1;
    }
    *o++ = '\t';
    o = put_text(o, row->field[ESSL_FAMILY_NAME], row->len[ESSL_FAMILY_NAME]);
    *o++ = '\t';
    o = put_text(o, row->field[ESSL_GIVEN_NAME], row->len[ESSL_GIVEN_NAME]);
    *o++ = '\t';
    memcpy(o, row->field[ESSL_BIRTH_DATE], 10);
    o += 10;
    *o++ = '\t';
    o = put_systems(o, row, &rd->cols);
    *o++ = '\t';
    o = aifo ? memcpy(o, "\\N", 2),
    o + 2    : put_text(o, row->field[rd->cols.source_id], row->len[rd->cols.source_id]);
    *o++ = '\t';
    if (!(o = put_client_id(o))) {
        kmenctl_fail("line %ld: no random bytes for its client identifier", line);
        return -1;
    }
    *o++ = '\n';
    rd->copy_len = (size_t)(o - rd->copy);
    if (aifo)
        rd->im->good++;
    else
        rd->im->potential_rows++;
    if (++rd->batch_rows == BATCH_ROWS) {
        apr_pool_clear(rd->batch);
        rd->batch_rows = 0;
    }
    return 0;
}

static kmenctl_person person_of(const essl_reader *rd, const kmen_csv_record *row)
{
    int a = rd->cols.address;
    kmenctl_person person = {row->field[ESSL_FAMILY_NAME], row->field[ESSL_GIVEN_NAME],
                             row->field[ESSL_BIRTH_DATE],
                             a >= 0 && row->len[a] > 0 ? row->field[a] : NULL};
    return person;
}

/* One identified row; -1 stops the import (an outage: nothing is committed,
 * so the next run starts again without duplicates). */
static int take_identity(essl_reader *rd, const pending_row *row, kmenctl_gateway_call *call)
{
    const char *aifo = NULL;
    kmenctl_identity outcome = kmenctl_identified(rd->pending_pool, call, &aifo);
    if (outcome == KMENCTL_OUTAGE) {
        kmenctl_fail("line %ld: %s; nothing was imported: run it again once the gateway "
                     "answers",
                     row->line, kmenctl_gateway_failure(rd->pending_pool, call));
        return -1;
    }
    if (outcome == KMENCTL_IDENTIFIED)
        rd->im->identified++;
    return stage_row(rd, &row->rec, row->line, aifo);
}

/* Identifies the waiting rows and stages each. */
static int identify_pending(essl_reader *rd)
{
    kmenctl_gateway_call *calls = apr_pcalloc(rd->pending_pool, sizeof(*calls) * IDENTIFY_BATCH);
    int rc = 0;
    for (int i = 0; i < rd->npending; i++) {
        kmenctl_person person = person_of(rd, &rd->pending[i].rec);
        calls[i] = kmenctl_identify_call(rd->im->agenda, &person);
    }
    kmenctl_gateway_run(rd->im->gateway, rd->pending_pool, calls, rd->npending);
    for (int i = 0; i < rd->npending; i++) {
        if (!rc)
            rc = take_identity(rd, &rd->pending[i], &calls[i]);
        kmenctl_gateway_call_clear(&calls[i]);
    }
    rd->npending = 0;
    apr_pool_clear(rd->pending_pool);
    return rc;
}

/* A good row without an AIFO: a known source_id is staged as it is, another
 * waits for identification. */
static int take_unidentified(essl_reader *rd, const kmen_csv_record *rec, long line)
{
    const kmen_csv_record *r = rec;
    int id = rd->cols.source_id;
    if (apr_hash_get(rd->known_sources, r->field[id], (apr_ssize_t)r->len[id]))
        return stage_row(rd, rec, line, NULL);
    if (!rd->im->gateway) {
        reject(rd, line, "aifo is empty and there is no --gateway to identify the person");
        return 0;
    }
    pending_row *p = &rd->pending[rd->npending++];
    p->rec = *rec;
    p->line = line;
    for (int i = 0; i < rec->count; i++)
        p->rec.field[i] = apr_pstrmemdup(rd->pending_pool, rec->field[i], rec->len[i]);
    return rd->npending == IDENTIFY_BATCH ? identify_pending(rd) : 0;
}

/* A record before the header was read: 0 when it is the header or an empty line, else -1
 * after saying why not (nothing below could be read). */
static int take_header(essl_reader *rd, kmen_csv_status st, const kmen_csv_record *rec,
                       const char *why, long line)
{
    if (st == KMEN_CSV_RECORD && rec->count == 0)
        return 0;
    if (st == KMEN_CSV_RECORD && kmenctl_essl_header(rec, &rd->cols))
        return 0;
    kmenctl_fail("line %ld: %s", line,
                 st == KMEN_CSV_BAD ? why
                                    : "the header must be aifo,family_name,given_name,birth_date"
                                      "[,address][,source_id][,system...]");
    return -1;
}

static int take_record(essl_reader *rd, const kmen_csv_record *rec, long line)
{
    char why[128];
    if (rec->count == 0) /* an empty line: nothing to import, nothing wrong */
        return 0;
    const char *problem = kmenctl_essl_row_problem(rec, &rd->cols, why, sizeof(why));
    if (problem) {
        reject(rd, line, problem);
        return 0;
    }
    if (rec->len[ESSL_AIFO] == 0)
        return take_unidentified(rd, rec, line);
    return stage_row(rd, rec, line, rec->field[ESSL_AIFO]);
}

typedef struct {
    int fd;
    char *buf;
    size_t start, have; /* unparsed input is buf[start, have) */
    long long read_total;
    int eof;
} chunk_input;

/* Keeps the unparsed tail and reads more after it. */
static int read_more(chunk_input *in, const char *path)
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
            return rd->npending ? identify_pending(rd) : 0;
        if (st == KMEN_CSV_MORE) {
            if (in->start == 0 && in->have == READ_CHUNK) {
                kmenctl_fail("line %ld: a record longer than 4 MiB", line);
                return -1;
            }
            if (read_more(in, path))
                return -1;
            continue;
        }
        if (!rd->cols.fields) {
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
        /* By the records taken, not the bytes read: identification of the rows without
         * an AIFO holds the reading back, batch by batch. */
        kmenctl_progress_update(&rd->im->progress,
                                in->read_total - (long long)(in->have - in->start));
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
    essl_reader rd = {.im = im,
                      .keys = keys,
                      .copy = apr_palloc(p, COPY_BUFFER),
                      .pending = apr_palloc(p, sizeof(pending_row) * IDENTIFY_BATCH)};
    chunk_input in = {.fd = fd, .buf = apr_palloc(p, READ_CHUNK)};
    apr_pool_create(&rd.batch, p);
    apr_pool_create(&rd.pending_pool, p);
    kmenctl_progress_start(&im->progress, "import-essl", size);
    if (!(rd.known_sources = kmenctl_essl_known_sources(p, im)) || kmenctl_essl_stage_open(im))
        return -1;
    int rc = stream_file(p, &rd, &in, path);
    if (!rc && !rd.cols.fields) {
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
    int usage;
    if (!args->key_file)
        return kmenctl_usage_error("import-essl", "--key-file is required");
    if (!kmenctl_agenda_valid(im.agenda))
        return kmenctl_usage_error("import-essl", "--agenda must look like A8566");
    im.gateway = kmenctl_gateway_open(p, "import-essl", args, &usage);
    if (usage || kmenctl_load_keys(args->key_file, &keys)) {
        kmenctl_gateway_close(im.gateway);
        return usage ? usage : KMENCTL_FAILURE;
    }
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
    kmenctl_gateway_close(im.gateway);
    if (rc)
        return KMENCTL_FAILURE;
    printf("%s\n", kmenctl_essl_summary(p, &im));
    /* A script (cron, a pipeline) must notice rows left out, not only a failed run. */
    return im.rejected ? KMENCTL_FAILURE : KMENCTL_OK;
}
