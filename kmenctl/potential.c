/* SPDX-License-Identifier: GPL-2.0-or-later */
/* add-potential: potential (unverified) clients from unofficial contacts, one
 * given with --email/--phone/--name or many from a CSV file (header
 * email,phone,name). Each contact is one call of kmen.potential_create, so
 * one transaction with its audit row: a new potential client, or the one the
 * register already knows by that e-mail or phone.
 *
 * Every value reaches the database only as the blind index of its normal form
 * (contact.c, the module's too) and the ciphertext of the value as given;
 * nothing printed quotes a value. */
#include <string.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "contact.h"
#include "csv.h"
#include "kmenctl.h"

enum { CONTACT_EMAIL, CONTACT_PHONE, CONTACT_NAME, CONTACT_FIELDS };

static const kmen_id_kind kinds[CONTACT_FIELDS] = {KMEN_ID_EMAIL, KMEN_ID_PHONE, KMEN_ID_NAME};
static const char *const labels[CONTACT_FIELDS] = {"email", "phone", "name"};

/* One contact; a value NULL is not given. */
typedef struct {
    const char *value[CONTACT_FIELDS];
    size_t len[CONTACT_FIELDS];
} contact;

typedef struct {
    PGconn *conn;
    const kmen_id_keys *keys;
    const char *request_id; /* "kmenctl-add-potential RUN", ":LINE" added per row */
    apr_pool_t *pool;       /* the current contact's, cleared after it */
    long created, existing, refused;
} potential_run;

/* NULL when the contact may be recorded, else why not (naming the field). */
static const char *contact_problem(apr_pool_t *p, const contact *c)
{
    for (int i = 0; i < CONTACT_FIELDS; i++) {
        const char *why =
            c->value[i] ? kmenctl_contact_problem(kinds[i], c->value[i], c->len[i]) : NULL;
        if (why)
            return apr_pstrcat(p, labels[i], " ", why, NULL);
    }
    if (!c->value[CONTACT_EMAIL] && !c->value[CONTACT_PHONE])
        return "neither e-mail nor phone (a name alone identifies nobody)";
    return NULL;
}

/* The blind index and the ciphertext of one value, or two NULLs. */
static int add_value(potential_run *run, kmenctl_params *ps, const contact *c, int i)
{
    if (!c->value[i]) {
        kmenctl_param_null(ps);
        kmenctl_param_null(ps);
        return 0;
    }
    char *normal = apr_palloc(run->pool, c->len[i] + 1);
    unsigned char *index = apr_palloc(run->pool, KMEN_HASH_LEN);
    apr_size_t sealed_len;
    kmen_id_index(run->pool, run->keys, kinds[i], NULL,
                  kmenctl_contact_normalise(kinds[i], c->value[i], normal), index);
    unsigned char *sealed =
        kmen_id_seal(run->pool, run->keys, kinds[i], NULL, c->value[i], &sealed_len);
    if (!sealed)
        return -1;
    kmenctl_param_bytes(ps, index, KMEN_HASH_LEN);
    kmenctl_param_bytes(ps, sealed, sealed_len);
    return 0;
}

/* Records c; prints "PREFIXCLIENT_ID new|existing". -1 after printing why not. */
static int record(potential_run *run, const contact *c, const char *request_id, const char *prefix)
{
    kmenctl_params ps = {0};
    for (int i = 0; i < CONTACT_FIELDS; i++) {
        if (add_value(run, &ps, c, i)) {
            kmenctl_fail("add-potential: encryption failed");
            return -1;
        }
    }
    kmenctl_param_text(&ps, request_id);
    PGresult *res = kmenctl_query(run->conn, "add-potential",
                                  "SELECT client_id, outcome FROM kmen.potential_create("
                                  "$1::bytea, $2::bytea, $3::bytea, $4::bytea, $5::bytea, "
                                  "$6::bytea, $7)",
                                  &ps);
    if (!res)
        return -1;
    const char *outcome = PQgetvalue(res, 0, 1);
    if (strcmp(outcome, "new") == 0)
        run->created++;
    else
        run->existing++;
    printf("%s%s %s\n", prefix, PQgetvalue(res, 0, 0), outcome);
    PQclear(res);
    return 0;
}

/* --- a CSV file ---------------------------------------------------------------------------- */

static int is_header(const kmen_csv_record *r)
{
    return r->count == CONTACT_FIELDS && strcmp(r->field[CONTACT_EMAIL], "email") == 0 &&
           strcmp(r->field[CONTACT_PHONE], "phone") == 0 &&
           strcmp(r->field[CONTACT_NAME], "name") == 0;
}

static void refuse(potential_run *run, long line, const char *why)
{
    fprintf(stderr, "line %ld: %s\n", line, why);
    run->refused++;
}

/* One row after the header: 0 to go on (recorded or refused), -1 to stop. */
static int take_row(potential_run *run, const kmen_csv_record *r, long line)
{
    contact c;
    if (r->count != CONTACT_FIELDS) {
        refuse(run, line,
               apr_psprintf(run->pool, "%d fields, expected 3 (email,phone,name)", r->count));
        return 0;
    }
    for (int i = 0; i < CONTACT_FIELDS; i++) {
        c.value[i] = r->len[i] ? r->field[i] : NULL; /* an empty field is not given */
        c.len[i] = r->len[i];
    }
    const char *why = contact_problem(run->pool, &c);
    if (why) {
        refuse(run, line, why);
        return 0;
    }
    return record(run, &c, apr_psprintf(run->pool, "%s:%ld", run->request_id, line),
                  apr_psprintf(run->pool, "line %ld: ", line));
}

/* One record of the file: 0 to go on, -1 to stop; *header once it was read. */
static int take_record(potential_run *run, kmen_csv_status st, const kmen_csv_record *r,
                       const char *why, long line, int *header)
{
    if (st == KMEN_CSV_RECORD && r->count == 0)
        return 0; /* an empty line */
    if (!*header && (st != KMEN_CSV_RECORD || !is_header(r))) {
        kmenctl_fail("line %ld: the header must be email,phone,name", line);
        return -1;
    }
    if (!*header) {
        *header = 1;
        return 0;
    }
    if (st == KMEN_CSV_BAD) {
        refuse(run, line, why);
        return 0;
    }
    return take_row(run, r, line);
}

static int add_file(potential_run *run, const char *data, apr_size_t len)
{
    kmen_csv_record rec = {.out = apr_palloc(run->pool, len + 1), .out_cap = len + 1};
    size_t pos = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0, used;
    int header = 0, rc = 0;
    long line = 1;
    const char *why = NULL;
    kmen_csv_status st;
    apr_pool_t *row_pool, *parent = run->pool;
    apr_pool_create(&row_pool, parent);
    run->pool = row_pool;
    while (!rc &&
           (st = kmen_csv_next(data + pos, len - pos, 1, &rec, &used, &why)) != KMEN_CSV_END) {
        rc = take_record(run, st, &rec, why, line, &header);
        if (rc && !header) /* only the header can fail before it was read */
            kmenctl_hint_header(data + pos, used);
        apr_pool_clear(row_pool);
        line += rec.newlines;
        pos += used;
    }
    run->pool = parent;
    if (!rc && !header) {
        kmenctl_fail("empty file, no header row");
        return -1;
    }
    if (!rc)
        printf("new %ld, existing %ld, refused %ld\n", run->created, run->existing, run->refused);
    return rc;
}

/* --- the command ----------------------------------------------------------------------------- */

static void contact_from_options(const kmenctl_args *args, contact *c)
{
    const char *given[CONTACT_FIELDS] = {args->email, args->phone, args->name};
    for (int i = 0; i < CONTACT_FIELDS; i++) {
        c->value[i] = given[i];
        c->len[i] = given[i] ? strlen(given[i]) : 0;
    }
}

/* Usage errors, before anything is read or connected. */
static int check_usage(apr_pool_t *p, const kmenctl_args *args, const contact *c)
{
    int from_file = args->npositional == 2;
    const char *why;
    if (!args->key_file)
        return kmenctl_usage_error("add-potential", "--key-file is required");
    if (from_file && (args->email || args->phone || args->name))
        return kmenctl_usage_error("add-potential",
                                   "give FILE.csv or --email/--phone/--name, not both");
    if (!from_file && (why = contact_problem(p, c)))
        return kmenctl_usage_error("add-potential", "%s", why);
    return 0;
}

static int add_given(potential_run *run, const kmenctl_args *args, const contact *c)
{
    if (args->npositional == 1)
        return record(run, c, run->request_id, "");
    apr_size_t len;
    const char *data = kmenctl_read_file(run->pool, args->positional[1], &len);
    return data ? add_file(run, data, len) : -1;
}

int kmenctl_add_potential(apr_pool_t *p, const kmenctl_args *args)
{
    kmen_id_keys keys;
    contact c;
    potential_run run = {.keys = &keys, .pool = p};
    contact_from_options(args, &c);
    int rc = check_usage(p, args, &c);
    if (rc)
        return rc;
    if (kmenctl_load_keys(args->key_file, &keys))
        return KMENCTL_FAILURE;
    const char *token = kmen_random_token(p, 6);
    run.request_id = token ? apr_pstrcat(p, "kmenctl-add-potential ", token, NULL) : NULL;
    run.conn = run.request_id ? kmenctl_connect(args->positional[0]) : NULL;
    rc = run.conn ? add_given(&run, args, &c) : -1;
    PQfinish(run.conn);
    OPENSSL_cleanse(&keys, sizeof(keys));
    return rc ? KMENCTL_FAILURE : KMENCTL_OK;
}
