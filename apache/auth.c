/* SPDX-License-Identifier: GPL-2.0-or-later */
/* AuthType Kmen (check_authn), headers at fixups, and the authz providers
 * kmen-loa, kmen-origin and kmen-status. */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "authz.h"
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
    const char *location = NULL;
    switch (kmen_pending_route(kmen_request_ctx(r), dir, r->uri, r->method,
                               !r->main && r->method_number == M_GET, return_to_of(r), &location)) {
    case KMEN_PENDING_PASS:
        return OK;
    case KMEN_PENDING_REDIRECT:
        return kmen_page_redirect(r, location);
    default:
        return kmen_page_send(r, KMEN_PAGE_NOT_VERIFIED, NULL);
    }
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
    const char *aifo = NULL, *evidence = NULL;
    if (!s)
        return DECLINED;
    /* KmenAgenda: only here, the client's AIFO in the location's agenda. */
    if (kmen_register_location_aifo(kmen_request_ctx(r), &s->identity,
                                    kmen_dir_agenda(kmen_dir_conf_get(r)),
                                    &aifo) != KMEN_REGISTER_OK ||
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

/* Require kmen-origin nia|eidas …, Require kmen-status new|linked|returning|pending …:
 * the words are the core's (authz.h), nginx's kmen_require's too. */
static authz_status words_check(request_rec *r, kmen_require_kind kind, const char *line)
{
    const kmen_session *s = kmen_request_session(r);
    if (!r->user || !s)
        return AUTHZ_DENIED_NO_USER;
    return kmen_require_met(r->pool, kind, line, &s->identity) ? AUTHZ_GRANTED : AUTHZ_DENIED;
}

static const char *words_parse(cmd_parms *cmd, kmen_require_kind kind, const char *line)
{
    const char *usage = kmen_require_words_check(cmd->temp_pool, kind, line);
    return usage ? apr_pstrcat(cmd->pool, "Require kmen-", kmen_require_name(kind), ": expected ",
                               usage, NULL)
                 : NULL;
}

static authz_status origin_check(request_rec *r, const char *line, const void *parsed)
{
    (void)parsed;
    return words_check(r, KMEN_REQUIRE_ORIGIN, line);
}

static const char *origin_parse(cmd_parms *cmd, const char *line, const void **parsed)
{
    (void)parsed;
    return words_parse(cmd, KMEN_REQUIRE_ORIGIN, line);
}

static authz_status status_check(request_rec *r, const char *line, const void *parsed)
{
    (void)parsed;
    return words_check(r, KMEN_REQUIRE_STATUS, line);
}

static const char *status_parse(cmd_parms *cmd, const char *line, const void **parsed)
{
    (void)parsed;
    return words_parse(cmd, KMEN_REQUIRE_STATUS, line);
}

const authz_provider kmen_authz_loa_provider = {loa_check, loa_parse};
const authz_provider kmen_authz_origin_provider = {origin_check, origin_parse};
const authz_provider kmen_authz_status_provider = {status_check, status_parse};
