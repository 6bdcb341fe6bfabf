/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command-line arguments: positional ones in order, options as `--name
 * VALUE` or `--name=VALUE` anywhere, each accepted only by the commands that
 * list it. Hand-written rather than getopt_long, which is not POSIX. */
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "kmenctl.h"
#include "progress.h"

static const struct {
    const char *name;
    size_t offset;
} option_slots[] = {
    {KMENCTL_OPT_KEY_FILE, offsetof(kmenctl_args, key_file)},
    {KMENCTL_OPT_AGENDA, offsetof(kmenctl_args, agenda)},
    {KMENCTL_OPT_SQL_DIR, offsetof(kmenctl_args, sql_dir)},
    {KMENCTL_OPT_AUDIT_DAYS, offsetof(kmenctl_args, audit_days)},
    {KMENCTL_OPT_INTO, offsetof(kmenctl_args, into)},
    {KMENCTL_OPT_EMAIL, offsetof(kmenctl_args, email)},
    {KMENCTL_OPT_PHONE, offsetof(kmenctl_args, phone)},
    {KMENCTL_OPT_NAME, offsetof(kmenctl_args, name)},
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

/* Whether the space-separated list names option (a whole word). */
static int listed(const char *list, const char *option, size_t len)
{
    for (const char *s = strstr(list, option); s; s = strstr(s + 1, option))
        if ((s == list || s[-1] == ' ') && (s[len] == ' ' || s[len] == '\0'))
            return 1;
    return 0;
}

static const char **option_slot(kmenctl_args *out, const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(option_slots) / sizeof(option_slots[0]); i++)
        if (strlen(option_slots[i].name) == len && strncmp(option_slots[i].name, name, len) == 0)
            return (const char **)((char *)out + option_slots[i].offset);
    return NULL;
}

/* argv[*i] is an option: stores its value, advancing *i past a separate one. */
static int take_option(const kmenctl_command *cmd, int argc, char **argv, int *i, kmenctl_args *out)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const char **slot = option_slot(out, arg, len);
    if (!slot || !listed(cmd->options, arg, len))
        return kmenctl_usage_error(cmd->name, "unknown option %.*s", (int)len, arg);
    if (*slot)
        return kmenctl_usage_error(cmd->name, "%.*s given twice", (int)len, arg);
    if (eq)
        *slot = eq + 1;
    else if (*i + 1 < argc)
        *slot = argv[++*i];
    else
        return kmenctl_usage_error(cmd->name, "%s needs a value", arg);
    return 0;
}

static int room_for_positional(const kmenctl_command *cmd, int taken)
{
    return cmd->positional_max == KMENCTL_ANY_NUMBER || taken < cmd->positional_max;
}

int kmenctl_parse_args(apr_pool_t *p, const kmenctl_command *cmd, int argc, char **argv,
                       kmenctl_args *out)
{
    memset(out, 0, sizeof(*out));
    out->positional = apr_pcalloc(p, sizeof(const char *) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(cmd->help, stdout);
            return KMENCTL_HELP_SHOWN;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            int rc = take_option(cmd, argc, argv, &i, out);
            if (rc)
                return rc;
        } else if (room_for_positional(cmd, out->npositional)) {
            out->positional[out->npositional++] = argv[i];
        } else {
            /* The extra argument is not echoed: it might be a secret. */
            return kmenctl_usage_error(cmd->name, "too many arguments");
        }
    }
    if (out->npositional < cmd->positional)
        return kmenctl_usage_error(cmd->name, "missing arguments");
    return 0;
}
