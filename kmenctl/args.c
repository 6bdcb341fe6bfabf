/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command-line arguments: positional ones in order, options as `--name
 * VALUE` or `--name=VALUE` anywhere, each accepted only by the commands that
 * list it. Hand-written rather than getopt_long, which is not POSIX. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kmenctl.h"
#include "progress.h"

typedef struct {
    const char *name;
    size_t offset;
    int is_flag; /* takes no value: its slot is set to the option itself */
} option_def;

static const option_def option_slots[] = {
    {KMENCTL_OPT_KEY_FILE, offsetof(kmenctl_args, key_file), 0},
    {KMENCTL_OPT_AGENDA, offsetof(kmenctl_args, agenda), 0},
    {KMENCTL_OPT_SQL_DIR, offsetof(kmenctl_args, sql_dir), 0},
    {KMENCTL_OPT_AUDIT_DAYS, offsetof(kmenctl_args, audit_days), 0},
    {KMENCTL_OPT_INTO, offsetof(kmenctl_args, into), 0},
    {KMENCTL_OPT_EMAIL, offsetof(kmenctl_args, email), 0},
    {KMENCTL_OPT_PHONE, offsetof(kmenctl_args, phone), 0},
    {KMENCTL_OPT_NAME, offsetof(kmenctl_args, name), 0},
    {KMENCTL_OPT_DRY_RUN, offsetof(kmenctl_args, dry_run), 1},
    {KMENCTL_OPT_HOST, offsetof(kmenctl_args, host), 0},
    {KMENCTL_OPT_DIR, offsetof(kmenctl_args, dir), 0},
    {KMENCTL_OPT_DAYS, offsetof(kmenctl_args, days), 0},
    {KMENCTL_OPT_GROUP, offsetof(kmenctl_args, group), 0},
    {KMENCTL_OPT_NEXT, offsetof(kmenctl_args, next), 1},
    {KMENCTL_OPT_ENCRYPTION, offsetof(kmenctl_args, encryption), 1},
    {KMENCTL_OPT_GATEWAY, offsetof(kmenctl_args, gateway), 0},
    {KMENCTL_OPT_GATEWAY_CERT, offsetof(kmenctl_args, gateway_cert), 0},
    {KMENCTL_OPT_GATEWAY_KEY, offsetof(kmenctl_args, gateway_key), 0},
    {KMENCTL_OPT_GATEWAY_CA, offsetof(kmenctl_args, gateway_ca), 0},
};

static void trimmed_line(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = '\0'; /* libpq's messages end with a line break */
    fprintf(out, "%s%s\n", prefix, msg);
}

void kmenctl_fail(const char *fmt, ...)
{
    va_list ap;
    kmenctl_progress_interrupt();
    va_start(ap, fmt);
    trimmed_line(stderr, "kmenctl: ", fmt, ap);
    va_end(ap);
}

int kmenctl_usage_error(const char *cmd, const char *fmt, ...)
{
    char prefix[64];
    va_list ap;
    snprintf(prefix, sizeof(prefix), "kmenctl %s: ", cmd);
    va_start(ap, fmt);
    trimmed_line(stderr, prefix, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'kmenctl %s --help'.\n", cmd);
    return KMENCTL_USAGE;
}

/* Whether the space-separated list names the option name[0, len) (a whole word): name may
 * go on with "=VALUE". */
static int listed(const char *list, const char *name, size_t len)
{
    while (*list) {
        size_t word = strcspn(list, " ");
        if (word == len && strncmp(list, name, len) == 0)
            return 1;
        list += word;
        list += strspn(list, " ");
    }
    return 0;
}

static const option_def *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(option_slots) / sizeof(option_slots[0]); i++)
        if (strlen(option_slots[i].name) == len && strncmp(option_slots[i].name, name, len) == 0)
            return &option_slots[i];
    return NULL;
}

/* argv[*i] is an option: stores its value, advancing *i past a separate one. */
static int take_option(const kmenctl_command *cmd, int argc, char **argv, int *i, kmenctl_args *out)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const option_def *option = find_option(arg, len);
    if (!option || !listed(cmd->options, arg, len))
        return kmenctl_usage_error(cmd->name, "unknown option %.*s", (int)len, arg);
    const char **slot = (const char **)((char *)out + option->offset);
    if (*slot)
        return kmenctl_usage_error(cmd->name, "%.*s given twice", (int)len, arg);
    if (option->is_flag && eq)
        return kmenctl_usage_error(cmd->name, "%.*s takes no value", (int)len, arg);
    if (option->is_flag)
        *slot = arg;
    else if (eq)
        *slot = eq + 1;
    else if (*i + 1 < argc)
        *slot = argv[++*i];
    else
        return kmenctl_usage_error(cmd->name, "%s needs a value", arg);
    return 0;
}

long kmenctl_days(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    int valid = *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 && n >= 1 && n <= 36500;
    return valid ? n : -1;
}

static int too_many_positional(const kmenctl_command *cmd, int taken)
{
    return cmd->positional_max != KMENCTL_ANY_NUMBER && taken > cmd->positional_max;
}

/* Whether s is a connection string rather than a file or a client identifier: what libpq
 * itself asks of a dbname that is one (recognized_connection_string): an '=' or a URI. */
static int looks_like_conninfo(const char *s)
{
    return *s == '\0' || strchr(s, '=') || strncmp(s, "postgresql://", 13) == 0 ||
           strncmp(s, "postgres://", 11) == 0;
}

/* Every command's first argument is CONNINFO, but for keygen's, which takes none. Where
 * libpq's environment names the database, it may be left out: "" then lets libpq take PGHOST,
 * PGDATABASE, PGSERVICE and the rest. */
static void default_conninfo(const kmenctl_command *cmd, kmenctl_args *out)
{
    if (cmd->positional_max == 0)
        return;
    if (!getenv("PGHOST") && !getenv("PGDATABASE") && !getenv("PGSERVICE"))
        return;
    if (out->npositional > 0 && looks_like_conninfo(out->positional[0]))
        return;
    memmove(out->positional + 1, out->positional, sizeof(const char *) * (size_t)out->npositional);
    out->positional[0] = "";
    out->npositional++;
}

int kmenctl_parse_args(apr_pool_t *p, const kmenctl_command *cmd, int argc, char **argv,
                       kmenctl_args *out)
{
    memset(out, 0, sizeof(*out));
    /* room for every argument, a CONNINFO left out (default_conninfo) and a NULL */
    out->positional = apr_pcalloc(p, sizeof(const char *) * (size_t)(argc + 2));
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(cmd->help, stdout);
            return KMENCTL_HELP_SHOWN;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            int rc = take_option(cmd, argc, argv, &i, out);
            if (rc)
                return rc;
        } else {
            out->positional[out->npositional++] = argv[i];
        }
    }
    default_conninfo(cmd, out);
    /* The extra argument is not echoed: it might be a secret. */
    if (too_many_positional(cmd, out->npositional))
        return kmenctl_usage_error(cmd->name, "too many arguments");
    if (out->npositional < cmd->positional)
        return kmenctl_usage_error(cmd->name, "missing arguments");
    return 0;
}
