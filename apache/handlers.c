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
#include "login.h"
#include "login_state.h"
#include "logout_state.h"
#include "page.h"
#include "pairs.h"
#include "redirect.h"
#include "request.h"
#include "saml.h"
#include "socache.h"
#include "store_pg.h"

#define ACS_BODY_LIMIT (512 * 1024) /* NIA's Responses are ~20 KiB */
#define SLO_BODY_LIMIT (64 * 1024)  /* NIA's LogoutResponses are under 4 KiB */
#define LOGIN_START_WINDOW 60       /* seconds KmenLoginStartLimit counts over */

/* Before a request uses the IdP metadata: a changed KmenIdPMetadataFile is
 * picked up (kmen_sp_idp_refresh), once per child, and said so. */
static void idp_refresh(request_rec *r, const kmen_server_conf *c)
{
    const char *err = NULL;
    switch (kmen_sp_idp_refresh(c->sp, r->pool, &err)) {
    case KMEN_IDP_RELOADED:
        kmen_log(kmen_request_ctx(r), KMEN_LOG_NOTICE,
                 KMEN_LOGNO(0645) "KmenIdPMetadataFile %s changed: this process uses it now",
                 c->idp_metadata_file);
        break;
    case KMEN_IDP_REFUSED:
        kmen_log(kmen_request_ctx(r), KMEN_LOG_ERR,
                 KMEN_LOGNO(0646) "KmenIdPMetadataFile %s changed but is refused, the "
                                  "previous metadata stays in use: %s",
                 c->idp_metadata_file, err);
        break;
    case KMEN_IDP_UNCHANGED:
        break;
    }
}

const char *kmen_login_url(request_rec *r, const char *return_to)
{
    return kmen_login_path(r->pool, kmen_server_conf_get(r->server), return_to);
}

static void audit(request_rec *r, const char *event, const char *outcome, const char *detail)
{
    kmen_store_audit(kmen_request_ctx(r), kmen_server_conf_get(r->server)->store, event, outcome,
                     detail);
}

/* KmenLoginStartLimit, counted in the session cache rather than in
 * PostgreSQL: a refused start then costs no database round trip and writes
 * no WAL, which is the load the limit is there to keep off the database.
 * Every child of a node shares the count (every node, with a shared socache
 * provider). A cache that cannot count lets the start through: the limit
 * guards the database, it must not lock people out. One warning per client
 * and minute, at the first refusal, so a flood does not flood the log too;
 * the further refusals are logged at info, each with its page's request ID. */
static int login_start_refused(request_rec *r, const kmen_server_conf *c)
{
    unsigned char key[KMEN_HASH_LEN];
    int resets_in = 0;
    if (c->login_start_limit == 0)
        return 0;
    const char *name = apr_pstrcat(r->pool, "kmen-login-start ", r->useragent_ip, NULL);
    kmen_sha256(name, strlen(name), key);
    int count = kmen_cache_count(kmen_request_ctx(r), kmen_session_cache(), key, LOGIN_START_WINDOW,
                                 &resets_in);
    if (count <= c->login_start_limit)
        return 0;
    kmen_log(kmen_request_ctx(r),
             count == c->login_start_limit + 1 ? KMEN_LOG_WARNING : KMEN_LOG_INFO,
             KMEN_LOGNO(0629) "login start limit of %d a minute reached by client %s: "
                              "its login starts answer 429 for %d s",
             c->login_start_limit, r->useragent_ip, resets_in);
    apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, resets_in));
    return 1;
}

/* The outstanding request, and the browser's login state that finds it
 * again: 256 random bits of its own, not the request ID, which travels in
 * the URL to NIA and back. */
static kmen_store_status issue_request(request_rec *r, const kmen_server_conf *c,
                                       const char *request_id, const char *return_to, int min_loa,
                                       int eidas_accept)
{
    const char *state = kmen_random_token(r->pool, 32);
    unsigned char state_hash[KMEN_HASH_LEN];
    if (!state)
        return KMEN_STORE_DOWN;
    kmen_sha256(state, strlen(state), state_hash);
    kmen_store_status st =
        kmen_store_request_issue(kmen_request_ctx(r), c->store, request_id, state_hash, return_to,
                                 min_loa, KMEN_LOGIN_STATE_TTL, eidas_accept);
    if (st == KMEN_STORE_OK)
        kmen_login_state_set(r, request_id, state);
    return st;
}

int kmen_login_start(request_rec *r, const kmen_dir_conf *dir, const char *return_to)
{
    kmen_server_conf *c = kmen_server_conf_get(r->server);
    if (login_start_refused(r, c))
        return kmen_page_send(r, KMEN_PAGE_TOO_MANY_LOGINS, NULL);
    kmen_authn_params params;
    params.min_loa = (kmen_loa)kmen_dir_min_loa(dir);
    params.sp_type = kmen_dir_sp_type(dir);
    params.requested = kmen_dir_requested(dir);
    params.force_authn = kmen_dir_force_authn(dir);
    const char *url = NULL, *request_id = NULL;
    kmen_ctx *previous = kmen_log_serving(kmen_request_ctx(r));
    idp_refresh(r, c);
    const char *err = kmen_saml_authn_request(c->sp, r->pool, &params, &url, &request_id);
    kmen_log_serving(previous);
    if (err) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_ERR,
                 KMEN_LOGNO(0621) "cannot build the AuthnRequest: %s", err);
        return kmen_page_send(r, KMEN_PAGE_INTERNAL_ERROR, NULL);
    }
    if (issue_request(r, c, request_id, return_to, params.min_loa, kmen_dir_eidas_accept(dir)) !=
        KMEN_STORE_OK)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    kmen_log(kmen_request_ctx(r), KMEN_LOG_DEBUG,
             KMEN_LOGNO(0622) "login started, request %s, LoA %s%s", request_id,
             kmen_loa_name(params.min_loa), params.force_authn ? ", ForceAuthn" : "");
    return kmen_page_redirect(r, url);
}

/* The decoded value of a query parameter; "" for a value that would decode
 * to an embedded NUL or does not decode, which no caller accepts. */
static const char *query_param(request_rec *r, const char *name)
{
    const char *raw = kmen_pair_value(r->pool, r->args, '&', name);
    if (!raw)
        return NULL;
    char *value = apr_pstrdup(r->pool, raw);
    if (ap_strcasestr(value, "%00") || ap_unescape_urlencoded(value) != OK)
        return "";
    return value;
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

/* A Response refused before the login's transaction. */
static int acs_refuse(request_rec *r, const char *why, kmen_login_outcome outcome)
{
    kmen_login_refused(kmen_request_ctx(r), why, outcome);
    return refusal_page(r, outcome);
}

/* After every cryptographic check: the login sequence (core/login.c), whose
 * transaction has ended when it returns; then its answer, a page (503 unless
 * the login decided another), or, when a session was made, its cookie and a
 * redirect to where the login started. */
static int acs_complete(request_rec *r, const char *request_id, const char *previous,
                        const kmen_assertion *a)
{
    kmen_login_result login;
    kmen_login_outcome outcome = kmen_login_complete(kmen_request_ctx(r), kmen_session_cache(),
                                                     request_id, previous, a, &login);
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

/* The request this browser's login state belongs to, looked up before the
 * Response costs any cryptography: OK, or the page already sent. */
static int outstanding_request(request_rec *r, const kmen_server_conf *c, const char *state,
                               const char **request_id)
{
    unsigned char state_hash[KMEN_HASH_LEN];
    kmen_sha256(state, strlen(state), state_hash);
    kmen_store_status st =
        kmen_store_request_by_state(kmen_request_ctx(r), c->store, state_hash, request_id);
    if (st == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    if (st == KMEN_STORE_NOT_FOUND)
        return acs_refuse(r,
                          "no outstanding login for this browser (expired, already used, or "
                          "started in another browser)",
                          KMEN_LOGIN_INVALID);
    return OK;
}

/* The login state of the login the Response answers, from the browser's
 * cookie for its InResponseTo: OK, or the page already sent. */
static int login_state_of_response(request_rec *r, const char *b64, const char **state,
                                   const char **previous)
{
    const char *in_response_to = NULL;
    const char *why = kmen_saml_response_in_response_to(r->pool, b64, &in_response_to);
    if (why)
        return acs_refuse(r, why, KMEN_LOGIN_INVALID);
    if (!in_response_to)
        return acs_refuse(r, "unsolicited Response (no InResponseTo)", KMEN_LOGIN_INVALID);
    *state = kmen_login_state_take(r, in_response_to, previous);
    if (!*state)
        return acs_refuse(r,
                          "no pre-login state cookie for the request the Response answers "
                          "(unsolicited, or another browser)",
                          KMEN_LOGIN_INVALID);
    return OK;
}

/* POST /acs: the IdP's Response, by HTTP-POST. */
static int handle_acs(request_rec *r)
{
    kmen_server_conf *c = kmen_server_conf_get(r->server);
    apr_array_header_t *pairs = NULL;
    if (ap_parse_form_data(r, NULL, &pairs, 16, ACS_BODY_LIMIT) != OK)
        return acs_refuse(r, "unreadable or oversized form body", KMEN_LOGIN_INVALID);
    const char *b64 = form_field(r, pairs, "SAMLResponse");
    const char *state = NULL, *previous = NULL, *request_id = NULL;
    if (!b64)
        return acs_refuse(r, "no SAMLResponse", KMEN_LOGIN_INVALID);
    int status = login_state_of_response(r, b64, &state, &previous);
    if (status == OK)
        status = outstanding_request(r, c, state, &request_id);
    if (status != OK)
        return status;
    kmen_response_expect expect = {apr_time_now(), apr_time_from_sec(c->clock_skew), request_id};
    kmen_assertion a;
    const char *reason = NULL;
    const kmen_sp_key_pair *keys = kmen_sp_pairs(c->sp);
    switch (kmen_saml_verify_response(c->sp, r->pool, b64, &expect, &a, &reason)) {
    case KMEN_RESPONSE_OK:
        /* during a key rollover, which certificate NIA encrypts to tells
         * when the old key can go */
        kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO,
                 KMEN_LOGNO(0630) "assertion decrypted with %s key %s",
                 kmen_sp_pair_is_second(keys, a.decryption_key) ? "the second" : "the first",
                 keys[a.decryption_key].key_file);
        return acs_complete(r, request_id, previous, &a);
    case KMEN_RESPONSE_FAILED:
        return acs_refuse(r, reason, KMEN_LOGIN_FAILED);
    default:
        return acs_refuse(r, reason, KMEN_LOGIN_INVALID);
    }
}

/* The person asked for this logout: a POST from the confirmation page with
 * the session's token, or a GET that the browser says came from this site or
 * from no site (typed, a bookmark). Browsers that send Sec-Fetch-Site send it
 * on every cross-site request; one without it is an old browser or a script. */
static int logout_asked_by_person(request_rec *r, const kmen_session *s, const char *token)
{
    if (r->method_number == M_POST)
        return token && strlen(token) == 2 * KMEN_HASH_LEN &&
               kmen_equal_const_time(token, kmen_session_logout_token(kmen_request_ctx(r), s),
                                     2 * KMEN_HASH_LEN);
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    return !site || strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0;
}

/* Ends the session here, then at NIA. */
static int log_out(request_rec *r, kmen_server_conf *c, const kmen_session *s,
                   const char *return_to)
{
    if (kmen_session_end(r, s) != KMEN_STORE_OK)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    audit(r, "logout", "ok", "sp-initiated");
    const char *url = NULL, *request_id = NULL;
    const char *err = kmen_saml_logout_request(c->sp, r->pool, &s->ref, &url, &request_id);
    if (!err) {
        kmen_logout_state_set(r, request_id, return_to);
        return kmen_page_redirect(r, url);
    }
    kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
             KMEN_LOGNO(0626) "session ended here; no LogoutRequest to the IdP: %s", err);
    return kmen_page_redirect(r, return_to);
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

/* A LogoutResponse that answers no logout of this browser, or that is not
 * NIA's: the person goes home (the local session ended when the logout
 * started; ReturnTo belongs to the matched answer only). */
static int slo_response_refused(request_rec *r, const char *why)
{
    kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING, KMEN_LOGNO(0627) "LogoutResponse refused: %s",
             why);
    return kmen_page_redirect(r, "/");
}

/* NIA's answer to the logout this browser started: by HTTP-Redirect (QUERY)
 * or HTTP-POST (POST_B64), signed or not; see saml_logout.c. */
static int slo_response(request_rec *r, kmen_server_conf *c, const char *query,
                        const char *post_b64)
{
    kmen_logout_answer answer;
    const char *return_to = NULL;
    const char *why = kmen_saml_logout_response_read(c->sp, r->pool, query, post_b64, &answer);
    if (why)
        return slo_response_refused(r, why);
    kmen_store_status st = kmen_logout_state_take(r, answer.in_response_to, &return_to, &why);
    if (st == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    if (st != KMEN_STORE_OK)
        return slo_response_refused(r, why);
    if (!answer.success) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0637) "logout not confirmed by the IdP: status %s; the "
                                  "session here has ended",
                 ap_escape_logitem(r->pool, answer.status));
        return kmen_page_send(r, KMEN_PAGE_LOGOUT_INCOMPLETE, NULL);
    }
    kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO, KMEN_LOGNO(0638) "logout completed at the IdP");
    return kmen_page_redirect(r, kmen_return_to_is_local(return_to) ? return_to : "/");
}

static int slo_request(request_rec *r, kmen_server_conf *c)
{
    kmen_login_ref ref;
    kmen_message_ref msg = {NULL, 0};
    const char *url = NULL;
    kmen_response_expect expect = {apr_time_now(), apr_time_from_sec(c->clock_skew), NULL};
    const char *err =
        kmen_saml_logout_request_consume(c->sp, r->pool, r->args, &expect, &ref, &msg, &url);
    kmen_store_status seen =
        err ? KMEN_STORE_OK
            : kmen_store_message_first_seen(kmen_request_ctx(r), c->store, "logout", msg.id,
                                            msg.replayable_until);
    if (seen == KMEN_STORE_DOWN)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    if (seen == KMEN_STORE_NOT_FOUND)
        err = "the LogoutRequest was carried out before (a replay)";
    if (err) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0628) "LogoutRequest refused: %s", err);
        return kmen_page_send(r, KMEN_PAGE_BAD_REQUEST, NULL);
    }
    if (kmen_session_destroy_login(kmen_request_ctx(r), kmen_session_cache(), &ref) !=
        KMEN_STORE_OK)
        return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
    kmen_cookie_set(r, c->cookie_name, "", -1, 0);
    audit(r, "logout", "ok", "idp-initiated");
    return kmen_page_redirect(r, url);
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
        if (kmen_session_end(r, s) != KMEN_STORE_OK)
            return kmen_page_send(r, KMEN_PAGE_UNAVAILABLE, NULL);
        audit(r, "logout", "ok", "local");
        kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO,
                 KMEN_LOGNO(0639) "GET /slo without a SAML message: "
                                  "the session here has ended");
    }
    return kmen_page_redirect(r, "/");
}

/* POST /slo: NIA's LogoutResponse by HTTP-POST. */
static int slo_post(request_rec *r, kmen_server_conf *c)
{
    apr_array_header_t *pairs = NULL;
    if (ap_parse_form_data(r, NULL, &pairs, 4, SLO_BODY_LIMIT) != OK)
        return slo_response_refused(r, "unreadable or oversized form body");
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
        return slo_request(r, c);
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
        idp_refresh(r, c);
        int status = endpoints[i].handle(r);
        kmen_log_serving(previous);
        return status;
    }
    return kmen_page_send(r, KMEN_PAGE_NOT_FOUND, NULL);
}
