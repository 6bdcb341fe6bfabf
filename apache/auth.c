/* SPDX-License-Identifier: GPL-2.0-or-later */
/* AuthType Kmen (check_authn), headers at fixups, and the authz providers
 * kmen-loa and kmen-origin. */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_escape.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "handlers.h"
#include "evidence_request.h"
#include "headers.h"
#include "page.h"
#include "redirect.h"
#include "register.h"
#include "request.h"

static const char *return_to_of(request_rec *r)
{
    const char *uri = r->unparsed_uri;
    return kmen_return_to_is_local(uri) ? uri : "/";
}

/* No usable session: a GET starts the login (the location's LoA is what is
 * asked for); anything else cannot survive the round trip through NIA, and
 * its page offers a login that returns to the same URL. */
static int unauthenticated(request_rec *r)
{
    if (r->main)
        return HTTP_UNAUTHORIZED;
    if (r->method_number == M_GET)
        return kmen_login_start(r, kmen_dir_conf_get(r), return_to_of(r));
    kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO,
             KMEN_LOGNO(0634) "login needed: a %s without a session cannot go through NIA",
             r->method);
    return kmen_page_send(r, KMEN_PAGE_LOGIN_NEEDED, kmen_login_url(r, return_to_of(r)));
}

/* KmenEidasPolicy verify: a foreigner not verified yet goes to the
 * location's KmenVerifyPath (the backend's verification page) and nowhere
 * else; where the policy is accept the minimal data set suffices. */
static int pending_elsewhere(request_rec *r, const kmen_dir_conf *dir)
{
    const char *verify_path = kmen_dir_verify_path(dir);
    if (kmen_path_is_under(r->uri, verify_path))
        return OK;
    if (!verify_path) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0632) "a pending foreigner at %s, which has no KmenVerifyPath", r->uri);
        return kmen_page_send(r, KMEN_PAGE_NOT_VERIFIED, NULL);
    }
    if (r->main || r->method_number != M_GET) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO,
                 KMEN_LOGNO(0635) "a pending foreigner at %s: a %s is not sent on to "
                                  "KmenVerifyPath",
                 r->uri, r->method);
        return kmen_page_send(r, KMEN_PAGE_NOT_VERIFIED, NULL);
    }
    const char *back = return_to_of(r);
    return kmen_page_redirect(
        r, apr_pstrcat(r->pool, verify_path, strchr(verify_path, '?') ? "&" : "?",
                       "ReturnTo=", apr_pescape_urlencoded(r->pool, back), NULL));
}

int kmen_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    if (!type || strcasecmp(type, "Kmen") != 0)
        return DECLINED;
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    if (!c->sp) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_ERR,
                 KMEN_LOGNO(0631) "AuthType Kmen here, but KmenSPEntityID is not set");
        return kmen_page_send(r, KMEN_PAGE_INTERNAL_ERROR, NULL);
    }
    const kmen_session *s = kmen_request_session(r);
    const kmen_session *loaded = NULL;
    if (!s) {
        kmen_store_status st = kmen_session_load(r, &loaded);
        if (st == KMEN_STORE_DOWN)
            return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
        if (st == KMEN_STORE_NOT_FOUND)
            return unauthenticated(r);
        s = loaded;
    }
    const kmen_dir_conf *dir = kmen_dir_conf_get(r);
    /* A session weaker than this location wants: log in again, stronger. */
    if ((int)s->identity.loa < kmen_dir_min_loa(dir))
        return unauthenticated(r);
    if (s->pending_id && !kmen_dir_eidas_accept(dir)) {
        int status = pending_elsewhere(r, dir);
        if (status != OK)
            return status;
    }
    kmen_request_set_session(r, s);
    /* The public client identifier; a login the register does not hold
     * (a foreigner, for now) is named by a handle of its session, which says
     * nothing about the person. */
    r->user = s->identity.client_id
                  ? apr_pstrdup(r->pool, s->identity.client_id)
                  : apr_pstrcat(r->pool, "kmen-", kmen_hex(r->pool, s->id_hash, 8), NULL);
    r->ap_auth_type = "Kmen";
    return OK;
}

int kmen_fixups(request_rec *r)
{
    const kmen_session *s = kmen_request_session(r);
    const char *agenda = kmen_dir_agenda(kmen_dir_conf_get(r)), *aifo = NULL;
    if (!s)
        return DECLINED;
    /* KmenAgenda: only here, the client's AIFO in the location's agenda. */
    const char *evidence = NULL;
    /* A foreigner has no AIFO in any agenda: no Kmen-Aifo for them. */
    if ((agenda && s->identity.client_id && s->identity.origin == KMEN_ORIGIN_NIA &&
         kmen_register_agenda_aifo(kmen_request_ctx(r), s->identity.client_id, agenda, &aifo) !=
             KMEN_REGISTER_OK) ||
        kmen_evidence_states(kmen_request_ctx(r), s, &evidence) != KMEN_STORE_OK)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    const kmen_header_set *set =
        s->headers ? s->headers
                   : kmen_headers_prepare(r->pool, kmen_server_conf_get(r->server), &s->identity);
    kmen_headers_set(r, set, aifo, evidence);
    return DECLINED;
}

/* ---- authz providers */

static authz_status loa_check(request_rec *r, const char *line, const void *parsed)
{
    const kmen_session *s = kmen_request_session(r);
    (void)line;
    if (!r->user || !s)
        return AUTHZ_DENIED_NO_USER;
    return (int)s->identity.loa >= *(const int *)parsed ? AUTHZ_GRANTED : AUTHZ_DENIED;
}

static const char *loa_parse(cmd_parms *cmd, const char *line, const void **parsed)
{
    int *loa = apr_palloc(cmd->pool, sizeof(*loa));
    *loa = kmen_loa_from_name(line);
    if (*loa == KMEN_LOA_NONE)
        return "Require kmen-loa: expected low, substantial or high";
    *parsed = loa;
    return NULL;
}

/* Require kmen-origin nia|eidas …, Require kmen-status new|linked|returning|pending … */
static authz_status one_of(request_rec *r, const char *line, const char *value)
{
    for (const char *word; value && *(word = ap_getword_white(r->pool, &line));) {
        if (strcasecmp(word, value) == 0)
            return AUTHZ_GRANTED;
    }
    return AUTHZ_DENIED;
}

static const char *check_words(cmd_parms *cmd, const char *line, const char *const *allowed,
                               const char *usage)
{
    for (const char *word; *(word = ap_getword_white(cmd->temp_pool, &line));) {
        const char *const *a = allowed;
        while (*a && strcasecmp(word, *a) != 0)
            a++;
        if (!*a)
            return usage;
    }
    return NULL;
}

static authz_status origin_check(request_rec *r, const char *line, const void *parsed)
{
    const kmen_session *s = kmen_request_session(r);
    (void)parsed;
    if (!r->user || !s)
        return AUTHZ_DENIED_NO_USER;
    return one_of(r, line, kmen_origin_name(s->identity.origin));
}

static const char *origin_parse(cmd_parms *cmd, const char *line, const void **parsed)
{
    static const char *const origins[] = {"nia", "eidas", NULL};
    (void)parsed;
    return check_words(cmd, line, origins, "Require kmen-origin: expected nia and/or eidas");
}

static authz_status status_check(request_rec *r, const char *line, const void *parsed)
{
    const kmen_session *s = kmen_request_session(r);
    (void)parsed;
    if (!r->user || !s)
        return AUTHZ_DENIED_NO_USER;
    return one_of(r, line, s->identity.client_status);
}

static const char *status_parse(cmd_parms *cmd, const char *line, const void **parsed)
{
    static const char *const statuses[] = {"new", "linked", "returning", "pending", NULL};
    (void)parsed;
    return check_words(cmd, line, statuses,
                       "Require kmen-status: expected new, linked, returning and/or pending");
}

const authz_provider kmen_authz_loa_provider = {loa_check, loa_parse};
const authz_provider kmen_authz_origin_provider = {origin_check, origin_parse};
const authz_provider kmen_authz_status_provider = {status_check, status_parse};
