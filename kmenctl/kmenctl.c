/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmenctl: operator CLI of the mod_kmen client register. main() finds the
 * command, parses its arguments and runs it; each command lives in its own
 * file. Exit codes: 0 ok, 1 runtime failure (message on stderr), 2 usage. */
#include <string.h>

#include "apr_general.h"

#include "kmenctl.h"

#ifndef KMENCTL_VERSION
#error "KMENCTL_VERSION is defined by the Makefile, from debian/changelog"
#endif

#define CONNINFO_HELP                                                                              \
    "  CONNINFO is a libpq connection string or URI, e.g. \"host=/run/postgresql dbname=kmen\".\n" \
    "  kmenctl connects as the register's owner or operator, not as kmen_module.\n"                \
    "  With PGHOST, PGDATABASE or PGSERVICE set, CONNINFO may be left out: libpq then\n"           \
    "  connects as its environment says (a CONNINFO holds '=' or is a postgres:// URI).\n"

#define KEY_FILE_HELP                                                                              \
    "  --key-file FILE   the KmenRegisterKeyFile (exactly 32 bytes), required\n"                   \
    "  --agenda A        the register agenda (KmenRegisterAgenda), default A8566\n"

static const char keygen_help[] =
    "usage: kmenctl keygen --host HOST [--dir DIR] [--days N] [--group GROUP] [--next]\n"
    "                      [--encryption]\n\n"
    "Makes the key files a portal needs before httpd starts with mod_kmen, each only\n"
    "when it is missing: an existing file is kept (\"kept\"), never overwritten.\n"
    "  DIR/sp.key        the SP's private key: RSA 3072, PEM, unencrypted, mode 0400\n"
    "  DIR/sp.crt        its self-signed certificate: CN=HOST, SHA-256, mode 0644\n"
    "  DIR/register.key  the register key: 32 random bytes, mode 0400\n"
    "A missing DIR is created with mode 0750 and group GROUP. The files belong to the\n"
    "user running kmenctl: run it as root (httpd reads them at startup, as root).\n"
    "Then prints the lines for the portal's <VirtualHost> (KmenSPEntityID\n"
    "https://HOST/ and the three files) and the URLs to register at NIA.\n"
    "Back up register.key apart from the database: whoever loses it loses the\n"
    "register's identifiers, and a new one does not bring them back.\n\n"
    "  --host HOST    the portal's public host name, optionally HOST:PORT\n"
    "  --dir DIR      an absolute path, default /etc/apache2/kmen\n"
    "  --days N       the certificate's validity, 1 to 36500 days, default 3650\n"
    "  --group GROUP  the group of a new DIR, default root; httpd's Group\n"
    "                 (www-data) when its children must read files below DIR\n"
    "                 (KmenTranslatorCertificateFile, KmenTranslatorKeyFile)\n"
    "  --next         the next SP key pair of a key rollover instead: DIR/sp-next.key\n"
    "                 and DIR/sp-next.crt, given second beside the current pair\n"
    "                 (register.key is left alone)\n"
    "  --encryption   a separate encryption key pair instead: DIR/sp-enc.key and\n"
    "                 DIR/sp-enc.crt (with --next: DIR/sp-enc-next.key and .crt) for\n"
    "                 KmenSPEncryptionKeyFile and KmenSPEncryptionCertificateFile; the\n"
    "                 KmenSPPrivateKeyFile pair then only signs (register.key is left\n"
    "                 alone)\n";

static const char migrate_help[] =
    "usage: kmenctl migrate CONNINFO [--sql-dir DIR]\n\n"
    "Applies the numbered migrations DIR/NNN_*.sql above the database's highest\n"
    "kmen.schema_migration version (an empty database: all of them), in order, each in\n"
    "one transaction, and prints what it applied. Running it again applies nothing.\n"
    "Connect as a superuser: the migrations create roles and a schema.\n\n"
    "  --sql-dir DIR     default /usr/share/mod-kmen/sql, or ./sql when that is "
    "missing\n" CONNINFO_HELP;

#define GATEWAY_HELP                                                                               \
    "  --gateway URL        the translation gateway's base URL (https://, as\n"                    \
    "                       KmenTranslatorURL; docs/gateway.md)\n"                                 \
    "  --gateway-cert FILE  the client certificate (PEM) it accepts, required with --gateway\n"    \
    "  --gateway-key FILE   its key (PEM), when not in the certificate file\n"                     \
    "  --gateway-ca FILE    the CA certificates of the gateway's server certificate\n"

static const char import_help[] =
    "usage: kmenctl import-essl CONNINFO FILE.csv --key-file FILE [--agenda A]\n"
    "       [--gateway URL --gateway-cert FILE [--gateway-key FILE] [--gateway-ca FILE]]\n\n"
    "FILE.csv: UTF-8 CSV (RFC 4180 quoting, LF or CRLF), header\n"
    "  aifo,family_name,given_name,birth_date[,address][,source_id][,system[,system2...]]\n"
    "aifo is the person's AIFO in the register agenda; birth_date is YYYY-MM-DD; each\n"
    "system column names one system that holds data about the person (may be empty).\n\n"
    "A new AIFO becomes a client (source essl); a known one is matched and only its\n"
    "systems are added. A bad row is reported on stderr as \"line N: reason\" and\n"
    "skipped. An AIFO on several lines counts once: later lines are reported as\n"
    "duplicates, counted as matched, and add their systems. Empty lines are ignored.\n\n"
    "A row with an empty aifo needs a source_id (the name register's key of the row) and\n"
    "--gateway: the gateway identifies the person by names, birth date and address\n"
    "(POST /identify, 8 calls at a time). A unique match is imported as a row with that\n"
    "AIFO; none or several make a potential client, which a later import finds again by\n"
    "its source_id without asking the gateway. A gateway failure stops the import.\n\n"
    "Everything is written in one transaction; importing a file again adds nothing.\n"
    "Prints \"added N, matched N, rejected N\" (with rows to identify, then \", identified\n"
    "N, potential N\"); shows progress when stderr is a terminal.\n"
    "Exit status 1 when any row was rejected (the others are imported all the same).\n"
    "\n" KEY_FILE_HELP GATEWAY_HELP CONNINFO_HELP;

static const char notify_help[] =
    "usage: kmenctl notify CONNINFO FILE --key-file FILE [--agenda A]\n\n"
    "FILE: CSV with the header event,aifo,value and one event per line:\n"
    "  change,OLD_AIFO,NEW_AIFO   the client's AIFO changed\n"
    "  merge,SURVIVING_AIFO,MERGED_AIFO\n"
    "                            two AIFO were one person: the merged AIFO is dropped\n"
    "                            (the base register cancelled it) and the merged client\n"
    "                            is merged into the surviving one (kmen.merge_clients):\n"
    "                            its BSI, pseudonyms, systems, evidence, contacts and\n"
    "                            other agendas' AIFO move over, and its client identifier\n"
    "                            becomes an alias that still resolves to the survivor\n"
    "                            (skipped when both clients have an AIFO in one agenda)\n"
    "  death,AIFO,YYYY-MM-DD      the person died\n"
    "Every AIFO is in the register agenda. Each line is one transaction with an audit\n"
    "row; a bad line, an unknown AIFO or a conflict is reported on stderr as\n"
    "\"line N: reason\" and skipped. Prints \"applied N, skipped N\"; exit status 1 when any\n"
    "line was skipped (the others are applied all the same).\n"
    "\n" KEY_FILE_HELP CONNINFO_HELP;

static const char sync_help[] =
    "usage: kmenctl sync CONNINFO --key-file FILE [--agenda A] --gateway URL\n"
    "       --gateway-cert FILE [--gateway-key FILE] [--gateway-ca FILE]\n\n"
    "Follows the base registers through the translation gateway (docs/gateway.md):\n"
    "first subscribes every AIFO of the register agenda not subscribed yet (POST\n"
    "/subscribe) and records it; then reads the change feed (GET /changes) from the\n"
    "cursor the register keeps and applies each event as notify does:\n"
    "  change, merge, death   as in kmenctl notify\n"
    "  data                   a name or birth-date correction of the stored client\n"
    "Each event is one transaction with its audit row and the cursor, so a run that is\n"
    "killed or loses the gateway applies no event twice and skips none when run again.\n"
    "An event that cannot apply (an unknown AIFO, a conflict) is reported on stderr as\n"
    "\"seq S: reason\", audited and passed over. Prints \"subscribed N, not known N,\n"
    "applied N, skipped N\"; exit status 1 when the gateway failed (the message says so)\n"
    "or an event was skipped. The package's mod-kmen-sync.timer runs it.\n"
    "\n" KEY_FILE_HELP GATEWAY_HELP CONNINFO_HELP;

static const char merge_help[] =
    "usage: kmenctl merge CONNINFO --into CLIENT_ID CLIENT_ID...\n\n"
    "Merges each listed client into the surviving client --into (kmen.merge_clients),\n"
    "one transaction per listed client: its BSI, pseudonyms, AIFO, systems, evidence and\n"
    "contacts move to the survivor, a verified one makes the survivor verified, and its\n"
    "client identifier becomes an alias that still resolves to the survivor (backends\n"
    "may keep using it; the survivor's next login announces it once in\n"
    "Kmen-Client-Id-Merged-From). A client identifier may also be such an alias.\n"
    "Prints one line per listed client: \"CLIENT_ID: merged\" on stdout, or on stderr\n"
    "the reason it was refused, which changes nothing:\n"
    "  CLIENT_ID: unknown    it or the survivor is no client identifier in the register\n"
    "  CLIENT_ID: same       it already is the survivor (or an alias of it)\n"
    "  CLIENT_ID: conflict: both hold an AIFO in the same agenda\n"
    "                        which of the two AIFO is right is for a person to decide\n"
    "Every merge and conflict leaves an audit row (event merge). Exit status 1 when any\n"
    "merge was refused.\n\n" CONNINFO_HELP;

static const char potential_help[] =
    "usage: kmenctl add-potential CONNINFO --key-file FILE (--email E | --phone P) [--name N]\n"
    "       kmenctl add-potential CONNINFO FILE.csv --key-file FILE\n\n"
    "Records potential (unverified) clients known only from an unofficial contact, as\n"
    "Kmen-Potential-Contact does (kmen.potential_create): a contact whose e-mail or phone\n"
    "the register already holds is that client (existing), any other is a new potential\n"
    "client. At least an e-mail or a phone is needed: a name alone identifies nobody.\n"
    "The register stores each value only as a blind index of its normalised form\n"
    "(e-mail: white space dropped, ASCII lower case; phone: digits and a leading '+';\n"
    "name: white space dropped) and as ciphertext of the value as given.\n\n"
    "FILE.csv: UTF-8 CSV (RFC 4180 quoting, LF or CRLF), header email,phone,name; an\n"
    "empty field is not given. Each row is its own transaction; a bad row, or one with\n"
    "neither e-mail nor phone, is reported on stderr as \"line N: reason\" and skipped.\n\n"
    "Prints \"CLIENT_ID new\" or \"CLIENT_ID existing\" (from a file: \"line N: CLIENT_ID\n"
    "new|existing\" per row, then \"new N, existing N, refused N\"); never prints contact\n"
    "data. Every contact leaves an audit row (event potential).\n\n"
    "  --key-file FILE   the KmenRegisterKeyFile (exactly 32 bytes), required\n"
    "  --email E, --phone P, --name N   one contact (instead of FILE.csv)\n" CONNINFO_HELP;

static const char stats_help[] =
    "usage: kmenctl stats CONNINFO\n\n"
    "Prints the register's counts: clients by source, potential (known only from an\n"
    "unofficial contact) and verified, with a linked BSI, deceased; merged identifiers\n"
    "(aliases of merged clients); pseudonyms, AIFO and system links; live and expired\n"
    "sessions and requests; pending verifications; evidence requests; replay entries;\n"
    "audit rows.\n\n" CONNINFO_HELP;

static const char purge_help[] =
    "usage: kmenctl purge CONNINFO [--audit-days N] [--dry-run]\n\n"
    "Deletes sessions past their expiry, expired replay entries, AuthnRequests and\n"
    "pending verifications, and with --audit-days audit rows older than N days; prints\n"
    "the counts and leaves an audit row.\n\n"
    "  --audit-days N    1 to 36500; without it no audit row is deleted\n"
    "  --dry-run         prints the counts a purge would delete now, deletes nothing\n"
    "\n" CONNINFO_HELP;

static const kmenctl_command commands[] = {
    {"keygen", "make the SP key and certificate and the register key", keygen_help,
     KMENCTL_OPT_HOST " " KMENCTL_OPT_DIR " " KMENCTL_OPT_DAYS " " KMENCTL_OPT_GROUP
                      " " KMENCTL_OPT_NEXT " " KMENCTL_OPT_ENCRYPTION,
     0, 0, kmenctl_keygen},
    {"migrate", "bring a database to the current schema", migrate_help, KMENCTL_OPT_SQL_DIR, 1, 1,
     kmenctl_migrate},
    {"import-essl", "seed the register from the filing service's name register", import_help,
     KMENCTL_OPT_KEY_FILE " " KMENCTL_OPT_AGENDA " " KMENCTL_OPTS_GATEWAY, 2, 2,
     kmenctl_import_essl},
    {"notify", "apply base-register change notifications", notify_help,
     KMENCTL_OPT_KEY_FILE " " KMENCTL_OPT_AGENDA, 2, 2, kmenctl_notify},
    {"sync", "follow the base registers' changes through the gateway", sync_help,
     KMENCTL_OPT_KEY_FILE " " KMENCTL_OPT_AGENDA " " KMENCTL_OPTS_GATEWAY, 1, 1, kmenctl_sync},
    {"merge", "merge clients into one survivor; their identifiers keep resolving", merge_help,
     KMENCTL_OPT_INTO, 2, KMENCTL_ANY_NUMBER, kmenctl_merge},
    {"add-potential", "record potential clients from unofficial contacts", potential_help,
     KMENCTL_OPT_KEY_FILE " " KMENCTL_OPT_EMAIL " " KMENCTL_OPT_PHONE " " KMENCTL_OPT_NAME, 1, 2,
     kmenctl_add_potential},
    {"stats", "count clients, links, sessions and audit rows", stats_help, "", 1, 1, kmenctl_stats},
    {"purge", "delete expired sessions, replay entries and requests, old audit rows", purge_help,
     KMENCTL_OPT_AUDIT_DAYS " " KMENCTL_OPT_DRY_RUN, 1, 1, kmenctl_purge},
};
#define COMMANDS (int)(sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fputs("usage: kmenctl COMMAND ARGS...   (kmenctl COMMAND --help for details)\n"
          "       kmenctl --version\n\n"
          "Operator CLI of the mod_kmen client register.\n\ncommands:\n",
          out);
    for (int i = 0; i < COMMANDS; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fputs("\nexit status: 0 ok, 1 failure (message on stderr), 2 usage error\n", out);
}

/* kmenctl --help and --version, which need no command: KMENCTL_OK once answered, -1 when arg is
 * neither. */
static int answer_without_command(const char *arg)
{
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0) {
        usage(stdout);
        return KMENCTL_OK;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("kmenctl %s\n", KMENCTL_VERSION);
        return KMENCTL_OK;
    }
    return -1;
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
    apr_pool_create(&pool, NULL);
    int rc = kmenctl_parse_args(pool, cmd, argc, argv, &args);
    if (rc == KMENCTL_HELP_SHOWN)
        rc = KMENCTL_OK;
    else if (rc == 0)
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
    int answered = answer_without_command(argv[1]);
    if (answered != -1)
        return answered;
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
