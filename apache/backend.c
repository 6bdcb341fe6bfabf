/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Response headers a backend sends to mod_kmen: read once the response
 * headers are known (an output filter sees them before the header filter
 * sends them), acted upon for the authenticated client, always removed. */
#include <stddef.h> /* before APR: its brigade macros use offsetof */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_protocol.h"
#include "http_request.h"

#include "backend.h"
#include "config.h"
#include "handlers.h"
#include "headers_encode.h"
#include "evidence.h"
#include "page.h"
#include "pairs.h"
#include "redirect.h"
#include "register.h"
#include "request.h"
#include "socache.h"

typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *values;
} collected;

static int collect(void *data, const char *key, const char *value)
{
    collected *c = data;
    (void)key;
    APR_ARRAY_PUSH(c->values, const char *) = apr_pstrdup(c->pool, value);
    return 1;
}

/* Most responses (static files, pages that tell mod_kmen nothing) carry no
 * header with the prefix: one pass over the names spares them the four
 * lookups and removals below. */
static int names_a_kmen_header(request_rec *r, const char *prefix)
{
    return kmen_header_table_has_prefix(r->headers_out, prefix) ||
           kmen_header_table_has_prefix(r->err_headers_out, prefix);
}

/* Every value of NAME in both response tables, which are then rid of it. */
static apr_array_header_t *take_header(request_rec *r, const char *name)
{
    collected c = {r->pool, apr_array_make(r->pool, 2, sizeof(const char *))};
    apr_table_do(collect, &c, r->headers_out, name, NULL);
    apr_table_do(collect, &c, r->err_headers_out, name, NULL);
    apr_table_unset(r->headers_out, name);
    apr_table_unset(r->err_headers_out, name);
    return c.values;
}

/* Kmen-Link-System: one or more system names, comma-separated; each item is
 * taken whole (trimmed), so "bad name" is refused rather than read as "bad". */
static void link_systems(request_rec *r, const char *client_id, apr_array_header_t *values)
{
    for (int i = 0; i < values->nelts; i++) {
        char *list = apr_pstrdup(r->pool, APR_ARRAY_IDX(values, i, const char *)), *last = NULL;
        for (char *s = apr_strtok(list, ",", &last); s; s = apr_strtok(NULL, ",", &last))
            kmen_register_link_system(kmen_request_ctx(r), client_id, kmen_trim(s));
    }
}

static int complete_ignored(request_rec *r, const char *why)
{
    kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING, KMEN_LOGNO(0672) "Kmen-Complete ignored: %s",
             why);
    return OK;
}

/* "new" -> NULL; "link=<client-id>" -> the id; else "" (malformed). */
static const char *complete_link(request_rec *r, const char *value)
{
    if (strcmp(value, "new") == 0)
        return NULL;
    if (strncmp(value, "link=", 5) != 0 || strlen(value + 5) != 36 ||
        strspn(value + 5, "0123456789abcdefABCDEF-") != 36)
        return "";
    return apr_pstrdup(r->pool, value + 5);
}

/* The session, upgraded to the client a completion produced. */
static int upgrade_session(request_rec *r, const kmen_session *s, const kmen_identity *id)
{
    kmen_session *upgraded = apr_pmemdup(r->pool, s, sizeof(*s));
    upgraded->identity = *id;
    upgraded->pending_id = NULL;
    upgraded->headers = NULL; /* they were another identity's */
    if (kmen_session_update(kmen_request_ctx(r), kmen_session_cache(), upgraded) != KMEN_STORE_OK)
        return HTTP_SERVICE_UNAVAILABLE;
    /* the rest of this response (Kmen-Link-System) is about the new client */
    kmen_request_set_session(r, upgraded);
    return OK;
}

/* A pending foreigner verified as a new client or linked to one. */
static int complete_pending(request_rec *r, const kmen_session *s, const char *link)
{
    kmen_identity id = s->identity;
    const char *outcome = NULL;
    if (!kmen_path_is_under(r->uri, kmen_dir_verify_path(kmen_dir_conf_get(r))))
        return complete_ignored(r, "not sent from KmenVerifyPath");
    if (kmen_register_complete(kmen_request_ctx(r), s->pending_id, link, &id, &outcome) !=
        KMEN_REGISTER_OK)
        return HTTP_SERVICE_UNAVAILABLE;
    /* A warning when the person sees the 409 page. */
    kmen_log(kmen_request_ctx(r), id.client_id ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0673) "verification completed: %s", outcome);
    return id.client_id ? upgrade_session(r, s, &id) : HTTP_CONFLICT;
}

/* A verified login that is the potential client link names: they merge, and
 * the potential client's identifier lives on. */
static int complete_potential(request_rec *r, const kmen_session *s, const char *link)
{
    const kmen_dir_conf *dir = kmen_dir_conf_get(r);
    kmen_identity id = s->identity;
    const char *outcome = NULL;
    if (!kmen_path_is_under(r->uri, kmen_dir_verify_path(dir)) && !kmen_dir_allow_link(dir))
        return complete_ignored(r, "link= not sent from KmenVerifyPath or a KmenAllowLink place");
    if (!s->identity.client_id)
        return complete_ignored(r, "the login has no client to link");
    if (kmen_register_link_potential(kmen_request_ctx(r), s->identity.client_id, link, &id,
                                     &outcome) != KMEN_REGISTER_OK)
        return HTTP_SERVICE_UNAVAILABLE;
    int linked = strcmp(outcome, "linked") == 0;
    kmen_log(kmen_request_ctx(r), linked ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0674) "potential client link: %s", outcome);
    return linked ? upgrade_session(r, s, &id) : HTTP_CONFLICT;
}

/* Kmen-Complete: new | link=<client-id>. A refusal replaces the backend's page. */
static int complete(request_rec *r, const kmen_session *s, const char *value)
{
    const char *link = complete_link(r, value);
    if (!s)
        return complete_ignored(r, "no session");
    if (link && !*link)
        return complete_ignored(r, "expected 'new' or 'link=<client-id>'");
    if (s->pending_id)
        return complete_pending(r, s, link);
    if (!link)
        return complete_ignored(r, "the session awaits no verification");
    return complete_potential(r, s, link);
}

/* Kmen-Potential-Contact: email=…; phone=…; name=… (KmenAcceptContact On). */
static void record_contact(request_rec *r, apr_array_header_t *values)
{
    static const char *const keys[3] = {"email=", "phone=", "name="};
    const char *found[3] = {NULL, NULL, NULL}, *client_id = NULL;
    if (!values->nelts)
        return;
    if (!kmen_dir_accept_contact(kmen_dir_conf_get(r))) {
        kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING,
                 KMEN_LOGNO(0675) "Kmen-Potential-Contact ignored: KmenAcceptContact is Off");
        return;
    }
    char *list = apr_pstrdup(r->pool, APR_ARRAY_IDX(values, 0, const char *)), *last = NULL;
    for (char *item = apr_strtok(list, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        item = kmen_trim(item);
        for (int i = 0; i < 3; i++) {
            if (strncmp(item, keys[i], strlen(keys[i])) == 0)
                found[i] = kmen_trim(item + strlen(keys[i]));
        }
    }
    kmen_register_status status = kmen_register_potential(kmen_request_ctx(r), found, &client_id);
    kmen_log(kmen_request_ctx(r), status == KMEN_REGISTER_OK ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0676) "potential client from a contact: %s",
             status == KMEN_REGISTER_OK ? client_id
                                        : "refused (no e-mail or phone, or database down)");
}

/* A header that changes the register counts only where the location opted
 * in (FLAG On): a response proxied from another service is no instruction. */
static int opted_in(request_rec *r, int flag, const char *header, const char *directive)
{
    if (flag)
        return 1;
    kmen_log(kmen_request_ctx(r), KMEN_LOG_WARNING, KMEN_LOGNO(0690) "%s ignored: %s is Off for %s",
             header, directive, r->uri);
    return 0;
}

static void act_on_links(request_rec *r, const kmen_session *s, apr_array_header_t *links)
{
    if (!links->nelts || !opted_in(r, kmen_dir_accept_link_system(kmen_dir_conf_get(r)),
                                   "Kmen-Link-System", "KmenAcceptLinkSystem"))
        return;
    if (s && s->identity.client_id)
        link_systems(r, s->identity.client_id, links);
    else
        kmen_log(kmen_request_ctx(r), KMEN_LOG_INFO,
                 KMEN_LOGNO(0671) "Kmen-Link-System without a registered client, ignored");
}

/* Replaces whatever the backend sent: mod_kmen's page for a status, or a
 * 303 to location. */
static apr_status_t answer_instead(ap_filter_t *f, apr_bucket_brigade *bb, int status,
                                   const char *location)
{
    request_rec *r = f->r;
    kmen_page page = status == HTTP_CONFLICT ? KMEN_PAGE_VERIFY_REFUSED : KMEN_PAGE_UNAVAILABLE;
    const char *html = location ? "" : kmen_page_html(r, page, NULL);
    apr_brigade_cleanup(bb);
    r->status = location ? HTTP_SEE_OTHER : kmen_page_status(page);
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "Content-Encoding");
    if (location)
        apr_table_setn(r->headers_out, "Location", location);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(html, strlen(html), bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    f->ctx = (void *)1; /* from now on the backend's body is dropped */
    return ap_pass_brigade(f->next, bb);
}

/* Kmen-Evidence-Request: recorded, the session marked so that Kmen-Evidence
 * follows, and the person sent to the evidence service. */
static const char *request_evidence(request_rec *r, const kmen_session *s, const char *value)
{
    if (!opted_in(r, kmen_dir_accept_evidence_request(kmen_dir_conf_get(r)),
                  "Kmen-Evidence-Request", "KmenAcceptEvidenceRequest"))
        return NULL;
    const char *url = kmen_evidence_request(r, s, value);
    if (!url || s->evidence)
        return url;
    kmen_session *marked = apr_pmemdup(r->pool, s, sizeof(*s));
    marked->evidence = 1;
    return kmen_session_update(kmen_request_ctx(r), kmen_session_cache(), marked) == KMEN_STORE_OK
               ? url
               : NULL;
}

/* Cache-Control without the directives that let a shared cache keep it. */
static const char *private_directives(request_rec *r, const char *cc)
{
    const char *out = "private";
    char *list = apr_pstrdup(r->pool, cc), *last = NULL;
    for (char *d = apr_strtok(list, ",", &last); d; d = apr_strtok(NULL, ",", &last)) {
        d = kmen_trim(d);
        if (*d && strcasecmp(d, "public") != 0 && strncasecmp(d, "s-maxage", 8) != 0)
            out = apr_pstrcat(r->pool, out, ", ", d, NULL);
    }
    return out;
}

/* A response to an authenticated request is one person's page: a shared
 * cache (mod_cache, a proxy in front) must not hand it to anyone else. Kept
 * as it is where the backend said private or no-store itself, or where the
 * location says KmenCacheControlPrivate Off. */
static void keep_private(request_rec *r)
{
    if (!kmen_request_session(r) || !kmen_dir_cache_private(kmen_dir_conf_get(r)))
        return;
    const char *cc = apr_table_get(r->headers_out, "Cache-Control");
    if (cc && (ap_strcasestr(cc, "private") || ap_strcasestr(cc, "no-store")))
        return;
    apr_table_setn(r->headers_out, "Cache-Control", cc ? private_directives(r, cc) : "private");
}

apr_status_t kmen_backend_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    if (f->ctx) {
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    keep_private(r);
    if (!names_a_kmen_header(r, c->header_prefix)) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    apr_array_header_t *links =
        take_header(r, apr_pstrcat(r->pool, c->header_prefix, "Link-System", NULL));
    apr_array_header_t *completes =
        take_header(r, apr_pstrcat(r->pool, c->header_prefix, "Complete", NULL));
    apr_array_header_t *evidence =
        take_header(r, apr_pstrcat(r->pool, c->header_prefix, "Evidence-Request", NULL));
    const kmen_session *s = kmen_request_session(r);
    apr_array_header_t *contacts =
        take_header(r, apr_pstrcat(r->pool, c->header_prefix, "Potential-Contact", NULL));
    int status = completes->nelts ? complete(r, s, APR_ARRAY_IDX(completes, 0, const char *)) : OK;
    if (status != OK)
        return answer_instead(f, bb, status, NULL);
    act_on_links(r, kmen_request_session(r), links);
    record_contact(r, contacts);
    const char *evidence_url =
        evidence->nelts ? request_evidence(r, s, APR_ARRAY_IDX(evidence, 0, const char *)) : NULL;
    if (evidence_url)
        return answer_instead(f, bb, HTTP_SEE_OTHER, evidence_url);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void kmen_backend_insert_filter(request_rec *r)
{
    if (kmen_server_conf_get(r->server)->sp)
        ap_add_output_filter(KMEN_BACKEND_FILTER, NULL, r, r->connection);
}
