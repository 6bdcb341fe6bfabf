/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The endpoints under KmenEndpointPath: login, acs, logout, slo, metadata, health. */
#include <string.h>

#include "httpd.h"
#include "apr_escape.h"
#include "apr_strings.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "handlers.h"
#include "evidence.h"
#include "health.h"
#include "idp_metadata.h"
#include "login.h"
#include "login_start.h"
#include "login_state.h"
#include "logout.h"
#include "page.h"
#include "pairs.h"
#include "redirect.h"
#include "request.h"
#include "saml.h"
#include "socache.h"
#include "store_pg.h"

#define ACS_BODY_LIMIT (512 * 1024) /* NIA's Responses are ~20 KiB */
#define SLO_BODY_LIMIT (64 * 1024)  /* NIA's LogoutResponses are under 4 KiB */

const char *kmen_login_url(request_rec *r, const char *return_to)
{
    return kmen_login_path(r->pool, kmen_server_conf_get(r->server), return_to);
}

/* KmenLoginStartLimit (core/login_start.h): 1 when this client's start is
 * refused, its Retry-After set. */
static int login_start_refused(request_rec *r)
{
    int retry_after = 0;
    if (!kmen_login_start_limited(kmen_request_ctx(r), kmen_session_cache(), r->useragent_ip,
                                  &retry_after))
        return 0;
    apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, retry_after));
    return 1;
}

int kmen_login_start(request_rec *r, const kmen_dir_conf *dir, const char *return_to)
{
    kmen_login_started started;
    if (login_start_refused(r))
        return kmen_page_send(r, KMEN_PAGE_TOO_MANY_LOGINS, NULL);
    kmen_idp_refresh(kmen_request_ctx(r));
    switch (kmen_login_begin(kmen_request_ctx(r), dir, return_to, &started)) {
    case KMEN_LOGIN_START_ERROR:
        return kmen_page_send(r, KMEN_PAGE_INTERNAL_ERROR, NULL);
    case KMEN_LOGIN_START_UNAVAILABLE:
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    case KMEN_LOGIN_START_OK:
        break;
    }
    kmen_login_state_set(r, started.request_id, started.state);
    return kmen_page_redirect(r, started.url);
}

/* The decoded value of a query parameter (kmen_query_value). */
static const char *query_param(request_rec *r, const char *name)
{
    return kmen_query_value(r->pool, r->args, name);
}

/* A request to an endpoint in none of the forms it takes. */
static int bad_request(request_rec *r, const char *why)
{
    kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING, KMEN_LOGNO(0636) "%s %s refused: %s", r->method,
             r->uri, why);
    return kmen_page_send(r, KMEN_PAGE_BAD_REQUEST, NULL);
}

static int refuse_return_to(request_rec *r)
{
    kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
             KMEN_LOGNO(0623) "ReturnTo is not a local path, refused");
    return kmen_page_send(r, KMEN_PAGE_BAD_REQUEST, NULL);
}

/* GET /login?ReturnTo=/path: the login takes the LoA, SPType and attributes
 * configured for /path, found by a lookup subrequest. */
static int handle_login(request_rec *r)
{
    const char *return_to = query_param(r, "ReturnTo");
    if (!return_to)
        return_to = "/";
    if (!kmen_return_to_is_local(return_to))
        return refuse_return_to(r);
    request_rec *rr = ap_sub_req_lookup_uri(return_to, r, NULL);
    int status = kmen_login_start(r, kmen_dir_conf_get(rr), return_to);
    ap_destroy_sub_req(rr);
    return status;
}

static const char *form_field(request_rec *r, apr_array_header_t *pairs, const char *name)
{
    for (int i = 0; pairs && i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        if (strcmp(pair->name, name) != 0)
            continue;
        apr_off_t len = 0;
        apr_brigade_length(pair->value, 1, &len);
        apr_size_t size = (apr_size_t)len;
        char *buf = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, buf, &size);
        buf[size] = '\0';
        return buf;
    }
    return NULL;
}

/* The page of a refused login, and the link on it to log in again. */
static int refusal_page(request_rec *r, kmen_login_outcome outcome)
{
    return kmen_page_send(
        r, outcome == KMEN_LOGIN_FAILED ? KMEN_PAGE_LOGIN_FAILED : KMEN_PAGE_LOGIN_INVALID,
        kmen_login_url(r, "/"));
}

/* A form that carries no Response. */
static int acs_refuse(request_rec *r, const char *why, kmen_login_outcome outcome)
{
    kmen_login_refused(kmen_request_ctx(r), why, outcome);
    return refusal_page(r, outcome);
}

/* The login sequence from NIA's Response on (core/login.c), whose
 * transaction has ended when it returns; then its answer, a page (503 unless
 * the login decided another), or, when a session was made, its cookie and a
 * redirect to where the login started. */
static int acs_answer(request_rec *r, const char *b64)
{
    kmen_login_result login;
    kmen_login_outcome outcome = kmen_login_response(kmen_request_ctx(r), kmen_session_cache(), b64,
                                                     kmen_login_state_take, r, &login);
    switch (outcome) {
    case KMEN_LOGIN_OK:
        kmen_session_hand_out(r, &login.session);
        kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO, KMEN_LOGNO(0625) "login: %s", login.who);
        return kmen_page_redirect(r, login.return_to);
    case KMEN_LOGIN_LOA_TOO_LOW:
        return kmen_page_send(r, KMEN_PAGE_LOA_TOO_LOW, kmen_login_url(r, login.return_to));
    case KMEN_LOGIN_INVALID:
    case KMEN_LOGIN_FAILED:
        return refusal_page(r, outcome);
    default:
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    }
}

/* POST /acs: the IdP's Response, by HTTP-POST. */
static int handle_acs(request_rec *r)
{
    apr_array_header_t *pairs = NULL;
    if (ap_parse_form_data(r, NULL, &pairs, 16, ACS_BODY_LIMIT) != OK)
        return acs_refuse(r, "unreadable or oversized form body", KMEN_LOGIN_INVALID);
    const char *b64 = form_field(r, pairs, "SAMLResponse");
    if (!b64)
        return acs_refuse(r, "no SAMLResponse", KMEN_LOGIN_INVALID);
    return acs_answer(r, b64);
}

/* The person asked for this logout (kmen_logout_asked_by_person). */
static int logout_asked_by_person(request_rec *r, const kmen_session *s, const char *token)
{
    return kmen_logout_asked_by_person(kmen_request_ctx(r), s, r->method_number == M_POST, token,
                                       apr_table_get(r->headers_in, "Sec-Fetch-Site"));
}

/* Ends the session here, then at NIA. */
static int log_out(request_rec *r, kmen_server_conf *c, const kmen_session *s,
                   const char *return_to)
{
    kmen_logout_started started;
    kmen_session_cookie_clear(r);
    if (kmen_logout_begin(kmen_request_ctx(r), kmen_session_cache(), s, return_to, &started) !=
        KMEN_STORE_OK)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    if (started.state)
        kmen_cookie_set(r, kmen_logout_state_cookie_name(r->pool, c), started.state,
                        KMEN_LOGOUT_STATE_TTL, 1);
    return kmen_page_redirect(r, started.url);
}

/* GET /logout?ReturnTo=, or POST /logout (token, ReturnTo) from the page that
 * confirms a logout another site started: no other site can end a session. */
static int handle_logout(request_rec *r)
{
    kmen_server_conf *c = kmen_server_conf_get(r->server);
    apr_array_header_t *form = NULL;
    if (r->method_number == M_POST && ap_parse_form_data(r, NULL, &form, 4, 8192) != OK)
        return bad_request(r, "the form does not parse");
    const char *return_to = form ? form_field(r, form, "ReturnTo") : query_param(r, "ReturnTo");
    if (!return_to)
        return_to = "/";
    if (!kmen_return_to_is_local(return_to))
        return refuse_return_to(r);
    const kmen_session *s = NULL;
    kmen_store_status st = kmen_session_load(r, &s);
    if (st == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    if (st == KMEN_STORE_NOT_FOUND)
        return kmen_page_redirect(r, return_to);
    if (logout_asked_by_person(r, s, form ? form_field(r, form, "token") : NULL))
        return log_out(r, c, s, return_to);
    kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO,
             KMEN_LOGNO(0691) "logout from another site: asked to confirm");
    return kmen_page_send_logout_confirm(r, apr_pstrcat(r->pool, c->endpoint_path, "/logout", NULL),
                                         kmen_session_logout_token(kmen_request_ctx(r), s),
                                         return_to);
}

/* NIA's answer to the logout this browser started: by HTTP-Redirect (QUERY)
 * or HTTP-POST (POST_B64), signed or not; see core/logout.h. */
static int slo_response(request_rec *r, kmen_server_conf *c, const char *query,
                        const char *post_b64)
{
    const char *state_cookie = kmen_logout_state_cookie_name(r->pool, c), *to = NULL;
    int clear_state = 0;
    kmen_logout_outcome outcome = kmen_logout_response(
        kmen_request_ctx(r), query, post_b64, kmen_cookie_get(r, state_cookie), &to, &clear_state);
    if (clear_state)
        kmen_cookie_set(r, state_cookie, "", -1, 1);
    switch (outcome) {
    case KMEN_LOGOUT_DONE:
    case KMEN_LOGOUT_REFUSED:
        return kmen_page_redirect(r, to);
    case KMEN_LOGOUT_INCOMPLETE:
        return kmen_page_send(r, KMEN_PAGE_LOGOUT_INCOMPLETE, NULL);
    default:
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    }
}

/* GET /slo with NIA's LogoutRequest: every session of that login ended. */
static int slo_request(request_rec *r)
{
    const char *url = NULL;
    switch (kmen_logout_idp_request(kmen_request_ctx(r), kmen_session_cache(), r->args, &url)) {
    case KMEN_STORE_OK:
        kmen_session_cookie_clear(r);
        return kmen_page_redirect(r, url);
    case KMEN_STORE_NOT_FOUND:
        return kmen_page_send(r, KMEN_PAGE_BAD_REQUEST, NULL);
    default:
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    }
}

/* GET /slo with no SAML message: the local session ends, if this site or
 * the person asked (another site cannot log anyone out), and the person
 * goes home. */
static int slo_bare(request_rec *r)
{
    const kmen_session *s = NULL;
    kmen_store_status st = kmen_session_load(r, &s);
    if (st == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    if (st == KMEN_STORE_OK && logout_asked_by_person(r, s, NULL)) {
        kmen_session_cookie_clear(r);
        if (kmen_logout_local(kmen_request_ctx(r), kmen_session_cache(), s) != KMEN_STORE_OK)
            return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    }
    return kmen_page_redirect(r, "/");
}

/* POST /slo: NIA's LogoutResponse by HTTP-POST. */
static int slo_post(request_rec *r, kmen_server_conf *c)
{
    apr_array_header_t *pairs = NULL;
    if (ap_parse_form_data(r, NULL, &pairs, 4, SLO_BODY_LIMIT) != OK) {
        kmen_logout_response_refused(kmen_request_ctx(r), "unreadable or oversized form body");
        return kmen_page_redirect(r, "/");
    }
    const char *b64 = form_field(r, pairs, "SAMLResponse");
    if (!b64)
        return bad_request(r, "no SAMLResponse (LogoutRequests come by HTTP-Redirect)");
    return slo_response(r, c, NULL, b64);
}

/* /slo: NIA's LogoutResponse (HTTP-Redirect or HTTP-POST), its own
 * LogoutRequest (HTTP-Redirect), or nothing. */
static int handle_slo(request_rec *r)
{
    kmen_server_conf *c = kmen_server_conf_get(r->server);
    if (r->method_number == M_POST)
        return slo_post(r, c);
    if (query_param(r, "SAMLRequest"))
        return slo_request(r);
    if (query_param(r, "SAMLResponse"))
        return slo_response(r, c, r->args, NULL);
    return slo_bare(r);
}

static int handle_metadata(request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    return kmen_page_send_body(r, HTTP_OK, "application/samlmetadata+xml", kmen_sp_metadata(c->sp));
}

/* GET /evidence/<id>: the document, to its client's session only. */
static int handle_evidence_document(request_rec *r)
{
    const kmen_session *s = NULL;
    if (kmen_session_load(r, &s) == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    return kmen_evidence_document(r, s, strrchr(r->uri, '/') + 1);
}

#define GET (AP_METHOD_BIT << M_GET) /* also admits HEAD */
#define POST (AP_METHOD_BIT << M_POST)

/* A name ending in '/' is a prefix: /evidence/<id>. */
static const struct {
    const char *name;
    apr_int64_t methods;
    int (*handle)(request_rec *r);
} endpoints[] = {
    {"login", GET, handle_login},
    {"acs", POST, handle_acs},
    {"logout", GET | POST, handle_logout},
    {"slo", GET | POST, handle_slo},
    {"metadata", GET, handle_metadata},
    {"health", GET, kmen_health_handler},
    {"evidence", POST, kmen_evidence_callback},
    {"evidence/", GET, handle_evidence_document},
};

int kmen_is_endpoint(const request_rec *r)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    size_t len = c->endpoint_path ? strlen(c->endpoint_path) : 0;
    return c->sp && r->uri && strncmp(r->uri, c->endpoint_path, len) == 0 && r->uri[len] == '/';
}

static int endpoint_matches(const char *name, const char *pattern)
{
    size_t len = strlen(pattern);
    if (pattern[len - 1] == '/')
        return strncmp(name, pattern, len) == 0 && name[len] && !strchr(name + len, '/');
    return strcmp(name, pattern) == 0;
}

int kmen_endpoint_handler(request_rec *r, int lookup)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    if (lookup || !kmen_is_endpoint(r))
        return DECLINED;
    const char *name = r->uri + strlen(c->endpoint_path) + 1;
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (!endpoint_matches(name, endpoints[i].name))
            continue;
        if (!(endpoints[i].methods & (AP_METHOD_BIT << r->method_number))) {
            r->allowed = endpoints[i].methods;
            return HTTP_METHOD_NOT_ALLOWED;
        }
        kmen_ctx *previous = kmen_log_serving(kmen_request_ctx(r));
        kmen_idp_refresh(kmen_request_ctx(r));
        int status = endpoints[i].handle(r);
        kmen_log_serving(previous);
        return status;
    }
    return kmen_page_send(r, KMEN_PAGE_NOT_FOUND, NULL);
}
