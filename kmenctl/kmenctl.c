/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmenctl: operator CLI of the mod_kmen client register. main() finds the
 * command, parses its arguments and runs it; each command lives in its own
 * file. Exit codes: 0 ok, 1 runtime failure (message on stderr), 2 usage. */
#include <string.h>

#include "apr_general.h"

#include "kmenctl.h"

#define CONNINFO_HELP                                                                              \
    "  CONNINFO is a libpq connection string or URI, e.g. \"host=/run/postgresql dbname=kmen\".\n" \
    "  kmenctl connects as the register's owner or operator, not as kmen_module.\n"

#define KEY_FILE_HELP                                                                              \
    "  --key-file FILE   the KmenRegisterKeyFile (exactly 32 bytes), required\n"                   \
    "  --agenda A        the register agenda (KmenRegisterAgenda), default A8566\n"

static const char migrate_help[] =
    "usage: kmenctl migrate CONNINFO [--sql-dir DIR]\n\n"
    "Applies the numbered migrations DIR/NNN_*.sql above the database's highest\n"
    "kmen.schema_migration version (an empty database: all of them), in order, each in\n"
    "one transaction, and prints what it applied. Running it again applies nothing.\n"
    "Connect as a superuser: the migrations create roles and a schema.\n\n"
    "  --sql-dir DIR     default /usr/share/mod-kmen/sql, or ./sql when that is "
    "missing\n" CONNINFO_HELP;

static const char import_help[] =
    "usage: kmenctl import-essl CONNINFO FILE.csv --key-file FILE [--agenda A]\n\n"
    "FILE.csv: UTF-8 CSV (RFC 4180 quoting, LF or CRLF), header\n"
    "  aifo,family_name,given_name,birth_date[,system[,system2...]]\n"
    "aifo is the person's AIFO in the register agenda; birth_date is YYYY-MM-DD; each\n"
    "system column names one system that holds data about the person (may be empty).\n\n"
    "A new AIFO becomes a client (source essl); a known one is matched and only its\n"
    "systems are added. A bad row is reported on stderr as \"line N: reason\" and\n"
    "skipped. An AIFO on several lines counts once: later lines are reported as\n"
    "duplicates, counted as matched, and add their systems. Empty lines are ignored.\n"
    "Everything is written in one transaction; importing a file again adds nothing.\n"
    "Prints \"added N, matched N, rejected N\"; shows progress when stderr is a terminal.\n"
    "\n" KEY_FILE_HELP CONNINFO_HELP;

static const char notify_help[] =
    "usage: kmenctl notify CONNINFO FILE --key-file FILE [--agenda A]\n\n"
    "FILE: CSV with the header event,aifo,value and one event per line:\n"
    "  change,OLD_AIFO,NEW_AIFO   the client's AIFO changed\n"
    "  merge,SURVIVING_AIFO,MERGED_AIFO\n"
    "                            two AIFO were one person: the merged client's BSI,\n"
    "                            pseudonyms, systems, evidence and other agendas' AIFO\n"
    "                            move to the surviving client; the merged client is\n"
    "                            deleted (skipped when both clients have an AIFO in one\n"
    "                            agenda)\n"
    "  death,AIFO,YYYY-MM-DD      the person died\n"
    "Every AIFO is in the register agenda. Each line is one transaction with an audit\n"
    "row; a bad line, an unknown AIFO or a conflict is reported on stderr as\n"
    "\"line N: reason\" and skipped. Prints \"applied N, skipped N\".\n"
    "\n" KEY_FILE_HELP CONNINFO_HELP;

static const char stats_help[] =
    "usage: kmenctl stats CONNINFO\n\n"
    "Prints the register's counts: clients by source, with a linked BSI, deceased;\n"
    "pseudonyms, AIFO and system links; live and expired sessions and requests; pending\n"
    "verifications; evidence requests; replay entries; audit rows.\n\n" CONNINFO_HELP;

static const char purge_help[] =
    "usage: kmenctl purge CONNINFO [--audit-days N]\n\n"
    "Deletes sessions past their expiry, expired replay entries, AuthnRequests and\n"
    "pending verifications, and with --audit-days audit rows older than N days; prints\n"
    "the counts and leaves an audit row.\n\n" CONNINFO_HELP;

static const kmenctl_command commands[] = {
    {"migrate", "bring a database to the current schema", migrate_help, KMENCTL_OPT_SQL_DIR, 1,
     kmenctl_migrate},
    {"import-essl", "seed the register from the filing service's name register", import_help,
     KMENCTL_OPT_KEY_FILE " " KMENCTL_OPT_AGENDA, 2, kmenctl_import_essl},
    {"notify", "apply base-register change notifications", notify_help,
     KMENCTL_OPT_KEY_FILE " " KMENCTL_OPT_AGENDA, 2, kmenctl_notify},
    {"stats", "count clients, links, sessions and audit rows", stats_help, "", 1, kmenctl_stats},
    {"purge", "delete expired sessions, replay entries and requests, old audit rows", purge_help,
     KMENCTL_OPT_AUDIT_DAYS, 1, kmenctl_purge},
};
#define COMMANDS (int)(sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fputs("usage: kmenctl COMMAND ARGS...   (kmenctl COMMAND --help for details)\n\n"
          "Operator CLI of the mod_kmen client register.\n\ncommands:\n",
          out);
    for (int i = 0; i < COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs("\nexit status: 0 ok, 1 failure (message on stderr), 2 usage error\n", out);
}

static const kmenctl_command *find_command(const char *name)
{
    for (int i = 0; i < COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int run_command(const kmenctl_command *cmd, int argc, char **argv)
{
    kmenctl_args args;
    apr_pool_t *pool;
    int rc = kmenctl_parse_args(cmd, argc, argv, &args);
    if (rc == KMENCTL_HELP_SHOWN)
        return KMENCTL_OK;
    if (rc)
        return rc;
    apr_pool_create(&pool, NULL);
    rc = cmd->run(pool, &args);
    apr_pool_destroy(pool);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return KMENCTL_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return KMENCTL_OK;
    }
    const kmenctl_command *cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "kmenctl: unknown command %s\n", argv[1]);
        usage(stderr);
        return KMENCTL_USAGE;
    }
    if (apr_initialize() != APR_SUCCESS) {
        fputs("kmenctl: cannot initialise APR\n", stderr);
        return KMENCTL_FAILURE;
    }
    int rc = run_command(cmd, argc - 2, argv + 2);
    fflush(stdout);
    apr_terminate();
    return rc;
}
