/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Startup checks of values httpd takes as plain text and mod_kmen would only
 * trip over later: at the next graceful restart, or at every login, that
 * need httpd itself (its socache providers, its children's user); those that
 * need no server are the core's (conf_check.c, run by kmen_server_conf_load).
 * They run in check_config, so `apachectl configtest` refuses them; each
 * message names the directive, its value and where it was set. */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "unixd.h"

#include "configcheck.h"
#include "log.h"
#include "socache.h"

APLOG_USE_MODULE(kmen);

static const char *check_session_cache(apr_pool_t *p, const server_rec *s,
                                       const kmen_server_conf *c)
{
    const char *err = kmen_session_cache_check(p, c->session_cache);
    return err ? kmen_config_problem(p, s, c, "KmenSessionCache", c->session_cache, err) : NULL;
}

/* Whether httpd's children are in group GID: their primary group (Group), or
 * a supplementary one the group database lists their user in, so that a key
 * of group ssl-cert, mode 0640, is not refused when www-data is a member. */
static int children_in_group(gid_t gid)
{
    if (gid == ap_unixd_config.group_id)
        return 1;
    const struct group *g = getgrgid(gid);
    for (char **member = g ? g->gr_mem : NULL; member && *member; member++) {
        if (strcmp(*member, ap_unixd_config.user_name) == 0)
            return 1;
    }
    return 0;
}

/* The kernel's rule for a process that is not root: the owner bits for the
 * owner, else the group bits for a member of the file's group, else the
 * other bits. (The check runs as root, so access() would answer for root.)
 * ACLs are not read: a file only an ACL opens to www-data is refused. */
static int children_can_read(const struct stat *st)
{
    if (ap_unixd_config.user_id == 0)
        return 1;
    if (st->st_uid == ap_unixd_config.user_id)
        return (st->st_mode & S_IRUSR) != 0;
    if (children_in_group(st->st_gid))
        return (st->st_mode & S_IRGRP) != 0;
    return (st->st_mode & S_IROTH) != 0;
}

/* curl opens the translator's files in the children, at every call: one they
 * cannot read would fail every first login (KMEN0652), not the start. This
 * check stays httpd's, not the core's (conf_check.c): who the children run
 * as (User, Group) is httpd's to tell, and nginx's workers are another user
 * with another directive. */
static const char *check_child_readable(apr_pool_t *p, const server_rec *s,
                                        const kmen_server_conf *c, const char *directive,
                                        const char *path)
{
    struct stat st;
    char buf[120];
    if (!path)
        return NULL;
    if (stat(path, &st) != 0)
        return kmen_config_problem(
            p, s, c, directive, path,
            apr_pstrcat(p, "cannot read: ",
                        apr_strerror(APR_FROM_OS_ERROR(errno), buf, sizeof(buf)), NULL));
    if (children_can_read(&st))
        return NULL;
    return kmen_config_problem(
        p, s, c, directive, path,
        apr_psprintf(p,
                     "httpd's children (user %s) cannot read it (owner uid %ld, group gid %ld, "
                     "mode %04o)",
                     ap_unixd_config.user_name, (long)st.st_uid, (long)st.st_gid,
                     (unsigned)(st.st_mode & 07777)));
}

/* Anyone who reads the register key can open every identifier the register
 * holds. Only "other" is checked: which groups are trusted is the site's. */
static void warn_register_key(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    struct stat st;
    if (stat(c->register_key_file, &st) == 0 && (st.st_mode & S_IROTH))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KMEN_LOGNO(0692) "mod_kmen: %s",
                     kmen_config_problem(p, s, c, "KmenRegisterKeyFile", c->register_key_file,
                                         apr_psprintf(p,
                                                      "every local user can read it (mode "
                                                      "%04o): chmod o-r it",
                                                      (unsigned)(st.st_mode & 07777))));
}

/* Unset is not a mode: every first login would answer 503. Said at the start
 * (and by /kmen/health) rather than at the first person who tries. */
static void warn_translator_unset(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    if (kmen_translator_mode_of(c) == KMEN_TRANSLATOR_UNSET)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KMEN_LOGNO(0694) "mod_kmen: %s",
                     kmen_config_problem(p, s, c, "KmenTranslatorURL", NULL,
                                         "not set, so the first NIA login of everyone the "
                                         "register does not know answers 503: set the "
                                         "gateway's URL, or KmenTranslatorURL none to keep "
                                         "them by BSI alone"));
}

static void warn_allow_http(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    if (c->allow_http == 1)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KMEN_LOGNO(0693) "mod_kmen: %s",
                     kmen_config_problem(p, s, c, "KmenAllowHTTP", "On",
                                         "only for a demo: cookies and SAML messages travel in "
                                         "clear text"));
}

/* Kept accepted (NIA may honour it one day; a configuration that says it
 * must not stop httpd), but the operator should know it changes nothing. */
static void warn_transient_nameid(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    if (c->nameid_policy == KMEN_NAMEID_TRANSIENT)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KMEN_LOGNO(0696) "mod_kmen: %s",
                     kmen_config_problem(p, s, c, "KmenNameIDFormat", "transient",
                                         "NIA answers with a persistent NameID all the same: "
                                         "transient is not honoured"));
}

const char *kmen_server_conf_check(apr_pool_t *p, const server_rec *s, const kmen_server_conf *c)
{
    const char *err;
    if ((err = check_session_cache(p, s, c)) ||
        (err = check_child_readable(p, s, c, "KmenTranslatorCertificateFile",
                                    c->translator_cert_file)) ||
        (err = check_child_readable(p, s, c, "KmenTranslatorKeyFile", c->translator_key_file)) ||
        (err = check_child_readable(p, s, c, "KmenTranslatorCAFile", c->translator_ca_file)))
        return err;
    warn_register_key(p, s, c);
    warn_allow_http(p, s, c);
    warn_transient_nameid(p, s, c);
    warn_translator_unset(p, s, c);
    return NULL;
}
