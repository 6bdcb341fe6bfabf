/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmenctl: the operator CLI of the mod_kmen register (docs/operations.md).
 * What the command files share: arguments, the key file, the database. */
#ifndef KMENCTL_H
#define KMENCTL_H

#include <stdio.h>

#include <libpq-fe.h>

#include "apr_pools.h"

#include "identifiers.h"

/* Exit codes. */
#define KMENCTL_OK 0
#define KMENCTL_FAILURE 1 /* runtime failure, message on stderr */
#define KMENCTL_USAGE 2

#define KMENCTL_DEFAULT_AGENDA "A8566"
#define KMENCTL_ANY_NUMBER (-1) /* positional_max: no upper limit */

/* Options are looked up by name; a command accepts only those it lists. */
#define KMENCTL_OPT_KEY_FILE "--key-file"
#define KMENCTL_OPT_AGENDA "--agenda"
#define KMENCTL_OPT_SQL_DIR "--sql-dir"
#define KMENCTL_OPT_AUDIT_DAYS "--audit-days"
#define KMENCTL_OPT_INTO "--into"
#define KMENCTL_OPT_EMAIL "--email"
#define KMENCTL_OPT_PHONE "--phone"
#define KMENCTL_OPT_NAME "--name"
#define KMENCTL_OPT_DRY_RUN "--dry-run"
#define KMENCTL_OPT_HOST "--host"
#define KMENCTL_OPT_DIR "--dir"
#define KMENCTL_OPT_DAYS "--days"
#define KMENCTL_OPT_GROUP "--group"
#define KMENCTL_OPT_NEXT "--next"
#define KMENCTL_OPT_ENCRYPTION "--encryption"
#define KMENCTL_OPT_GATEWAY "--gateway"
#define KMENCTL_OPT_GATEWAY_CERT "--gateway-cert"
#define KMENCTL_OPT_GATEWAY_KEY "--gateway-key"
#define KMENCTL_OPT_GATEWAY_CA "--gateway-ca"
#define KMENCTL_OPTS_GATEWAY                                                                       \
    KMENCTL_OPT_GATEWAY " " KMENCTL_OPT_GATEWAY_CERT " " KMENCTL_OPT_GATEWAY_KEY                   \
                        " " KMENCTL_OPT_GATEWAY_CA

typedef struct {
    const char **positional; /* npositional of them, in the order given */
    int npositional;
    const char *key_file;
    const char *agenda;
    const char *sql_dir;
    const char *audit_days;
    const char *into;
    const char *email;
    const char *phone;
    const char *name;
    const char *dry_run; /* a flag: non-NULL when given */
    const char *host;
    const char *dir;
    const char *days;
    const char *group;
    const char *next;       /* a flag: non-NULL when given */
    const char *encryption; /* a flag: non-NULL when given */
    const char *gateway;    /* the translation gateway's base URL */
    const char *gateway_cert;
    const char *gateway_key;
    const char *gateway_ca;
} kmenctl_args;

typedef struct {
    const char *name;
    const char *summary; /* one line for `kmenctl --help` */
    const char *help;    /* `kmenctl NAME --help` */
    const char *options; /* accepted options, space separated */
    int positional;      /* required positional arguments */
    int positional_max;  /* accepted at most, or KMENCTL_ANY_NUMBER */
    int (*run)(apr_pool_t *p, const kmenctl_args *args);
} kmenctl_command;

/* args.c: 0 when argv (the arguments after the command's name) fits cmd;
 * KMENCTL_USAGE after printing what does not; KMENCTL_HELP_SHOWN when --help
 * was asked for and printed. out's arrays are allocated from p. */
#define KMENCTL_HELP_SHOWN (-1)
int kmenctl_parse_args(apr_pool_t *p, const kmenctl_command *cmd, int argc, char **argv,
                       kmenctl_args *out);
int kmenctl_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kmenctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A number of days from 1 to 36500 (--audit-days, --days), or -1. */
long kmenctl_days(const char *s);

/* keyfile.c: reads the KmenRegisterKeyFile and derives the identifier keys;
 * 0 on success, else a message is printed. */
int kmenctl_load_keys(const char *path, kmen_id_keys *keys);

/* file.c: a whole file, NUL-terminated; NULL after printing why not. */
char *kmenctl_read_file(apr_pool_t *p, const char *path, apr_size_t *len);
/* After a refused header: prints "kmenctl: hint: ..." when the first line, raw bytes from
 * line[0] (len of them at most), shows a common cause (kmenctl_header_hint). */
void kmenctl_hint_header(const char *line, size_t len);

/* db.c */
#define KMENCTL_MAX_PARAMS 8

typedef struct {
    int n;
    const char *values[KMENCTL_MAX_PARAMS];
    int lengths[KMENCTL_MAX_PARAMS];
    int formats[KMENCTL_MAX_PARAMS];
} kmenctl_params;

PGconn *kmenctl_connect(const char *conninfo);
/* The server's primary message only: DETAIL lines may quote column values. */
const char *kmenctl_pg_message(const PGresult *res, PGconn *conn);
/* Runs sql; 0 when it succeeded, else prints "kmenctl: what: message". */
int kmenctl_exec(PGconn *conn, const char *what, const char *sql);
/* Runs sql with parameters (params may be NULL); the result, whatever its
 * status: the caller decides what a failure means. */
PGresult *kmenctl_try(PGconn *conn, const char *sql, const kmenctl_params *params);
/* Whether res is a success (command or rows). */
int kmenctl_succeeded(const PGresult *res);
/* kmenctl_try, but a failure is printed as "kmenctl: what: message" and
 * answered with NULL. */
PGresult *kmenctl_query(PGconn *conn, const char *what, const char *sql,
                        const kmenctl_params *params);
void kmenctl_param_text(kmenctl_params *ps, const char *value);
void kmenctl_param_bytes(kmenctl_params *ps, const unsigned char *value, apr_size_t len);
void kmenctl_param_null(kmenctl_params *ps);
long kmenctl_count(const PGresult *res, int row, int col);

/* The commands. */
int kmenctl_keygen(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_migrate(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_import_essl(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_notify(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_stats(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_purge(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_merge(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_add_potential(apr_pool_t *p, const kmenctl_args *args);
int kmenctl_sync(apr_pool_t *p, const kmenctl_args *args);

#endif
