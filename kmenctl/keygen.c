/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keygen: the key files a portal needs before httpd starts with mod_kmen: the
 * SP's private key and self-signed certificate (NIA reads the certificate from
 * /kmen/metadata and encrypts to it) and the register key. Each is created
 * only when missing and never overwritten: a new register key loses every
 * blind index of the register, a new SP key every login until NIA has read
 * the new certificate. A file is created with its final mode before anything
 * is written to it, so no key is ever readable by others, not even for a
 * moment; a file left half-written is removed. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "apr_strings.h"

#include "kmenctl.h"

#define STR_(x) #x
#define STR(x) STR_(x) /* a number as a string literal */
#define SP_KEY_BITS 3072
#define SERIAL_BITS 127 /* positive, as RFC 5280 wants, and random */
#define DIR_MODE 0750
#define SECRET_MODE 0400
#define CERT_MODE 0644
#define DEFAULT_DIR "/etc/apache2/kmen"
#define DEFAULT_DAYS 3650
#define DEFAULT_GROUP "root"

typedef struct {
    const char *host; /* HOST or HOST:PORT: the entity ID's authority */
    const char *cn;   /* HOST alone: the certificate's subject */
    const char *dir;
    long days;
    gid_t gid;
    int next;       /* --next: the next SP key pair of a rollover, and no register key */
    int encryption; /* --encryption: a separate encryption pair, and no register key */
    const char *sp_key, *sp_cert, *register_key;
} keygen_plan;

/* A host name as DNS writes it (letters, digits, '-', dots between labels),
 * optionally :PORT. *port_at points at the ':' or the terminating NUL. */
static int host_valid(const char *host, const char **port_at)
{
    size_t len = strcspn(host, ":");
    if (len == 0 || len > 253 ||
        strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "abcdefghijklmnopqrstuvwxyz0123456789-.") != len)
        return 0;
    if (host[0] == '-' || host[0] == '.' || host[len - 1] == '.' || strstr(host, ".."))
        return 0;
    *port_at = host + len;
    if (!**port_at)
        return 1;
    const char *digits = *port_at + 1;
    size_t n = strspn(digits, "0123456789");
    long port = n >= 1 && n <= 5 && digits[n] == '\0' ? strtol(digits, NULL, 10) : 0;
    return port >= 1 && port <= 65535;
}

/* httpd reads a directive's file name up to white space, and quotes would need
 * escaping: a DIR the printed lines could not name as it is is refused. */
static int dir_printable(const char *dir)
{
    if (dir[0] != '/')
        return 0;
    for (const char *c = dir; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\'' || *c == '\\' || *c == 0x7f)
            return 0;
    return 1;
}

static const char *without_trailing_slashes(apr_pool_t *p, const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return apr_pstrndup(p, dir, len);
}

/* The arguments, checked: 0, or KMENCTL_USAGE after saying what is wrong. */
static int check_usage(const kmenctl_args *args, const char **port_at, gid_t *gid)
{
    if (!args->host)
        return kmenctl_usage_error("keygen", "--host is required");
    if (!host_valid(args->host, port_at))
        return kmenctl_usage_error("keygen", "--host takes a host name, optionally HOST:PORT");
    if (args->dir && !dir_printable(args->dir))
        return kmenctl_usage_error("keygen", "--dir takes an absolute path without white space, "
                                             "quotes or backslashes");
    if (args->days && kmenctl_days(args->days) < 0)
        return kmenctl_usage_error("keygen", "--days takes a number of days from 1 to 36500");
    const char *group = args->group ? args->group : DEFAULT_GROUP;
    const struct group *g = getgrnam(group);
    if (!g)
        return kmenctl_usage_error("keygen", "--group %s: no such group", group);
    *gid = g->gr_gid;
    return 0;
}

static int plan_keygen(apr_pool_t *p, const kmenctl_args *args, keygen_plan *plan)
{
    const char *port_at = NULL;
    int rc = check_usage(args, &port_at, &plan->gid);
    if (rc)
        return rc;
    plan->days = args->days ? kmenctl_days(args->days) : DEFAULT_DAYS;
    plan->host = args->host;
    plan->cn = apr_pstrndup(p, args->host, (apr_size_t)(port_at - args->host));
    plan->dir = without_trailing_slashes(p, args->dir ? args->dir : DEFAULT_DIR);
    plan->next = args->next != NULL;
    plan->encryption = args->encryption != NULL;
    const char *name = apr_pstrcat(p, plan->dir, plan->encryption ? "/sp-enc" : "/sp",
                                   plan->next ? "-next" : "", NULL);
    plan->sp_key = apr_pstrcat(p, name, ".key", NULL);
    plan->sp_cert = apr_pstrcat(p, name, ".crt", NULL);
    plan->register_key = apr_pstrcat(p, plan->dir, "/register.key", NULL);
    return 0;
}

/* "VERB PATH (WHAT; mode 0400, root:root)", as the file system has it now. */
static void report(const char *verb, const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) != 0)
        st.st_mode = 0, st.st_uid = (uid_t)-1, st.st_gid = (gid_t)-1;
    const struct passwd *pw = getpwuid(st.st_uid);
    const struct group *gr = getgrgid(st.st_gid);
    printf("%-7s %s (%s; mode %04o, %s:%s)\n", verb, path, what, (unsigned)(st.st_mode & 07777),
           pw ? pw->pw_name : "?", gr ? gr->gr_name : "?");
}

static void report_kept(const char *path)
{
    report("kept", path, "exists");
}

/* OpenSSL's first queued error, for a message naming the file. */
static const char *openssl_reason(void)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return reason ? reason : "unknown OpenSSL error";
}

/* DIR as it is, or created 0750 root:GROUP (root: the user running kmenctl). */
static int ensure_dir(const keygen_plan *plan)
{
    struct stat st;
    if (stat(plan->dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            report_kept(plan->dir);
            return 0;
        }
        kmenctl_fail("%s: exists and is not a directory", plan->dir);
        return -1;
    }
    if (mkdir(plan->dir, DIR_MODE) != 0) {
        kmenctl_fail("%s: %s", plan->dir, strerror(errno));
        return -1;
    }
    /* chmod: mkdir's mode passes through the umask, and may inherit a setgid bit */
    if (chown(plan->dir, geteuid(), plan->gid) != 0 || chmod(plan->dir, DIR_MODE) != 0) {
        int saved = errno;
        rmdir(plan->dir);
        kmenctl_fail("%s: cannot give it group %ld and mode %04o: %s", plan->dir, (long)plan->gid,
                     DIR_MODE, strerror(saved));
        return -1;
    }
    report("created", plan->dir, "directory");
    return 0;
}

/* The content of a new file: writes it to f; 0 on success. */
typedef int (*file_writer)(FILE *f, const void *content);

/* Owner, mode and content of the file just created as fd, which is closed:
 * NULL, or why not. */
static const char *fill_new_file(int fd, mode_t mode, file_writer fill, const void *content)
{
    /* the user's own group, not a setgid directory's; the mode whatever the umask */
    FILE *f = NULL;
    if (fchown(fd, geteuid(), getegid()) != 0 || fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
        const char *why = strerror(errno);
        close(fd);
        return why;
    }
    errno = 0;
    int failed = fill(f, content) != 0 || fflush(f) != 0 || fsync(fd) != 0;
    const char *why = failed ? (errno ? strerror(errno) : openssl_reason()) : NULL;
    if (fclose(f) != 0 && !why)
        why = strerror(errno);
    return why;
}

/* PATH, which must not exist yet, owned by the user running kmenctl, with
 * MODE before FILL writes it; removed again when anything fails. */
static int write_new_file(const char *path, mode_t mode, file_writer fill, const void *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    const char *why = fd < 0 ? strerror(errno) : fill_new_file(fd, mode, fill, content);
    if (!why)
        return 0;
    if (fd >= 0)
        unlink(path);
    kmenctl_fail("%s: %s", path, why);
    return -1;
}

static int write_private_key(FILE *f, const void *key)
{
    return PEM_write_PrivateKey(f, (EVP_PKEY *)key, NULL, NULL, 0, NULL, NULL) ? 0 : -1;
}

static int write_certificate(FILE *f, const void *cert)
{
    return PEM_write_X509(f, (X509 *)cert) ? 0 : -1;
}

static int write_register_key(FILE *f, const void *bytes)
{
    return fwrite(bytes, 1, KMEN_HASH_LEN, f) == KMEN_HASH_LEN ? 0 : -1;
}

/* An encrypted key is refused rather than prompted for: httpd cannot ask either. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static EVP_PKEY *read_sp_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        kmenctl_fail("%s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!key)
        kmenctl_fail("%s: not an unencrypted PEM private key (an encrypted one: openssl pkey "
                     "-in %s -out NEWFILE decrypts it)",
                     path, path);
    ERR_clear_error();
    return key;
}

/* The SP key as it is, or a new RSA key; NULL after saying why not. */
static EVP_PKEY *sp_key_step(const keygen_plan *plan)
{
    struct stat st;
    if (stat(plan->sp_key, &st) == 0) {
        EVP_PKEY *key = read_sp_key(plan->sp_key);
        if (key)
            report_kept(plan->sp_key);
        return key;
    }
    if (stat(plan->sp_cert, &st) == 0) {
        kmenctl_fail("%s: missing, but %s exists: a new key would not belong to it (move the "
                     "certificate away to make both)",
                     plan->sp_key, plan->sp_cert);
        return NULL;
    }
    EVP_PKEY *key = EVP_RSA_gen(SP_KEY_BITS);
    if (!key)
        kmenctl_fail("%s: cannot generate an RSA key: %s", plan->sp_key, openssl_reason());
    else if (write_new_file(plan->sp_key, SECRET_MODE, write_private_key, key) == 0)
        report("created", plan->sp_key, "RSA " STR(SP_KEY_BITS) " private key");
    else
        EVP_PKEY_free(key), key = NULL;
    return key;
}

static int add_extension(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int random_serial(X509 *cert)
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    return ok;
}

/* Self-signed: NIA takes the certificate from the metadata as it is, and no
 * chain is built to it. Subject and issuer CN=HOST, the name as SAN too. */
static X509 *make_certificate(apr_pool_t *p, const keygen_plan *plan, EVP_PKEY *key)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    time_t now = time(NULL); /* one instant: exactly --days between the two dates */
    int ok = cert && name && X509_set_version(cert, 2) && random_serial(cert) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)plan->cn,
                                        -1, -1, 0) &&
             X509_set_subject_name(cert, name) && X509_set_issuer_name(cert, name) &&
             X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &now) &&
             X509_time_adj_ex(X509_getm_notAfter(cert), (int)plan->days, 0, &now) &&
             X509_set_pubkey(cert, key) &&
             add_extension(cert, NID_subject_key_identifier, "hash") &&
             add_extension(cert, NID_subject_alt_name, apr_pstrcat(p, "DNS:", plan->cn, NULL)) &&
             X509_sign(cert, key, EVP_sha256());
    X509_NAME_free(name);
    if (!ok) {
        kmenctl_fail("%s: cannot make the certificate: %s", plan->sp_cert, openssl_reason());
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* A certificate that is there must belong to the key that is there. */
static int check_kept_certificate(const keygen_plan *plan, EVP_PKEY *key)
{
    FILE *f = fopen(plan->sp_cert, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    int ok = cert && X509_check_private_key(cert, key);
    if (!f)
        kmenctl_fail("%s: %s", plan->sp_cert, strerror(errno));
    else if (!cert)
        kmenctl_fail("%s: not a PEM certificate (%s)", plan->sp_cert, openssl_reason());
    else if (!ok)
        kmenctl_fail("%s: does not belong to %s", plan->sp_cert, plan->sp_key);
    else
        report_kept(plan->sp_cert);
    ERR_clear_error();
    X509_free(cert);
    return ok ? 0 : -1;
}

static int sp_cert_step(apr_pool_t *p, const keygen_plan *plan, EVP_PKEY *key)
{
    struct stat st;
    if (stat(plan->sp_cert, &st) == 0)
        return check_kept_certificate(plan, key);
    X509 *cert = make_certificate(p, plan, key);
    if (!cert || write_new_file(plan->sp_cert, CERT_MODE, write_certificate, cert) != 0) {
        X509_free(cert);
        return -1;
    }
    char until[16];
    time_t end = time(NULL) + (time_t)plan->days * 86400;
    strftime(until, sizeof(until), "%Y-%m-%d", gmtime(&end));
    printf("created %s (self-signed, CN=%s, SHA-256, valid until %s; mode %04o)\n", plan->sp_cert,
           plan->cn, until, CERT_MODE);
    X509_free(cert);
    return 0;
}

/* A register key that is there is kept, whatever it holds: but one httpd would
 * refuse (not 32 bytes) is a failure to fix now, not at the next start. */
static int register_key_step(const keygen_plan *plan)
{
    struct stat st;
    unsigned char key[KMEN_HASH_LEN];
    if (stat(plan->register_key, &st) == 0) {
        report_kept(plan->register_key);
        if (st.st_size == KMEN_HASH_LEN)
            return 0;
        kmenctl_fail("%s: holds %lld bytes, not %d: httpd refuses it (it is kept: mind the "
                     "identifiers it protects)",
                     plan->register_key, (long long)st.st_size, KMEN_HASH_LEN);
        return -1;
    }
    if (RAND_bytes(key, sizeof(key)) != 1) {
        kmenctl_fail("%s: no random bytes: %s", plan->register_key, openssl_reason());
        return -1;
    }
    int rc = write_new_file(plan->register_key, SECRET_MODE, write_register_key, key);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == 0)
        report("created", plan->register_key, STR(KMEN_HASH_LEN) " random bytes");
    return rc;
}

/* --next: the pair goes second, beside the current one, until it takes over
 * (docs/operations.md, "SP key rollover"). */
static void print_rollover_steps(const keygen_plan *plan)
{
    const char *key = plan->encryption ? "KmenSPEncryptionKeyFile" : "KmenSPPrivateKeyFile";
    const char *cert =
        plan->encryption ? "KmenSPEncryptionCertificateFile" : "KmenSPCertificateFile";
    printf("\nAdd these lines after the portal's current %s\n"
           "and its %s lines\n(%s):\n\n%s %s\n%s %s\n",
           key, cert,
           plan->encryption ? "both decrypt: NIA may encrypt to either"
                            : "the pair given first keeps signing",
           key, plan->sp_key, cert, plan->sp_cert);
    printf("\nThen apachectl graceful, have NIA read https://%s/kmen/metadata again,\n"
           "and put this pair first once it has (\"SP key rollover\" in mod_kmen's\n"
           "operations guide).\n",
           plan->host);
}

/* --encryption: the current pair goes on decrypting, as the first encryption
 * pair, until NIA encrypts to the new one (docs/operations.md, "Separate
 * signing and encryption keys"). */
static void print_separation_steps(const keygen_plan *plan)
{
    printf("\nAdd these lines after the portal's KmenSPPrivateKeyFile and its\n"
           "certificate's line. The first two name the current pair (%s/sp.key\n"
           "as keygen made it; name the portal's own if it is another): from now on\n"
           "it only signs, and it decrypts as an encryption pair until NIA encrypts\n"
           "to the new one:\n\n"
           "KmenSPEncryptionKeyFile %s/sp.key\n"
           "KmenSPEncryptionCertificateFile %s/sp.crt\n"
           "KmenSPEncryptionKeyFile %s\n"
           "KmenSPEncryptionCertificateFile %s\n",
           plan->dir, plan->dir, plan->dir, plan->sp_key, plan->sp_cert);
    printf("\nThen apachectl graceful, have NIA read https://%s/kmen/metadata again,\n"
           "and remove the first two of these lines once it encrypts to the new\n"
           "certificate (\"Separate signing and encryption keys\" in mod_kmen's\n"
           "operations guide).\n",
           plan->host);
}

/* The endpoints are built from the entity ID's scheme, host and port, below
 * the default KmenEndpointPath /kmen (conf/kmen.conf, "Registering the portal"). */
static void print_next_steps(const keygen_plan *plan)
{
    printf("\nPut these lines into the portal's <VirtualHost>:\n\n"
           "KmenSPEntityID https://%s/\n"
           "KmenSPPrivateKeyFile %s\n"
           "KmenSPCertificateFile %s\n"
           "KmenRegisterKeyFile %s\n",
           plan->host, plan->sp_key, plan->sp_cert, plan->register_key);
    printf("\nRegister the SeP at NIA with (the default KmenEndpointPath /kmen):\n\n"
           "  SeP URL       https://%s/\n"
           "  ACS URL       https://%s/kmen/acs\n"
           "  logout URL    https://%s/kmen/slo\n"
           "  metadata URL  https://%s/kmen/metadata\n",
           plan->host, plan->host, plan->host, plan->host);
    printf("\nBack up %s now, apart from the database's backups (offline, in two\n"
           "places): without it no identifier in the register can be found again.\n",
           plan->register_key);
}

int kmenctl_keygen(apr_pool_t *p, const kmenctl_args *args)
{
    keygen_plan plan = {0};
    int rc = plan_keygen(p, args, &plan);
    if (rc)
        return rc;
    if (ensure_dir(&plan) != 0)
        return KMENCTL_FAILURE;
    EVP_PKEY *key = sp_key_step(&plan);
    int pair_only = plan.next || plan.encryption;
    rc = !key || sp_cert_step(p, &plan, key) != 0 || (!pair_only && register_key_step(&plan) != 0);
    EVP_PKEY_free(key);
    if (rc)
        return KMENCTL_FAILURE;
    if (plan.next)
        print_rollover_steps(&plan);
    else if (plan.encryption)
        print_separation_steps(&plan);
    else
        print_next_steps(&plan);
    return KMENCTL_OK;
}
