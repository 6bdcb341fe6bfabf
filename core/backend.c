/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend's commands (backend.h): parsed from name and value pairs, then
 * decided and applied for the authenticated client. */
#include <string.h>

#include "apr_strings.h"

#include "backend.h"
#include "conf_check.h"
#include "evidence_request.h"
#include "pairs.h"
#include "redirect.h"
#include "register.h"

const char *const *kmen_backend_header_names(apr_pool_t *p, const char *header_prefix)
{
    const char **names = apr_pcalloc(p, KMEN_BACKEND_COMMANDS * sizeof(*names));
    names[KMEN_BACKEND_LINK_SYSTEM] = apr_pstrcat(p, header_prefix, "Link-System", NULL);
    names[KMEN_BACKEND_COMPLETE] = apr_pstrcat(p, header_prefix, "Complete", NULL);
    names[KMEN_BACKEND_EVIDENCE_REQUEST] = apr_pstrcat(p, header_prefix, "Evidence-Request", NULL);
    names[KMEN_BACKEND_POTENTIAL_CONTACT] =
        apr_pstrcat(p, header_prefix, "Potential-Contact", NULL);
    return names;
}

/* Link-System: one or more system names, comma-separated; each item is
 * taken whole (trimmed), so "bad name" is refused rather than read as "bad". */
static int add_systems(void *data, const char *key, const char *value)
{
    kmen_backend_commands *cmds = data;
    char *list = apr_pstrdup(cmds->systems->pool, value), *last = NULL;
    (void)key;
    cmds->links_sent = 1;
    for (char *s = apr_strtok(list, ",", &last); s; s = apr_strtok(NULL, ",", &last))
        APR_ARRAY_PUSH(cmds->systems, const char *) = kmen_trim(s);
    return 1;
}

/* Complete: "new" | "link=<client-id>". */
static void parse_complete(apr_pool_t *p, const char *value, kmen_backend_commands *cmds)
{
    if (!value)
        cmds->complete = KMEN_COMPLETE_NONE;
    else if (strcmp(value, "new") == 0)
        cmds->complete = KMEN_COMPLETE_NEW;
    else if (strncmp(value, "link=", 5) != 0 || strlen(value + 5) != 36 ||
             strspn(value + 5, "0123456789abcdefABCDEF-") != 36)
        cmds->complete = KMEN_COMPLETE_MALFORMED;
    else {
        cmds->complete = KMEN_COMPLETE_LINK;
        cmds->complete_link = apr_pstrdup(p, value + 5);
    }
}

/* Potential-Contact: email=…; phone=…; name=…, each trimmed; of a key
 * given twice, the last. */
static void parse_contact(apr_pool_t *p, const char *value, kmen_backend_commands *cmds)
{
    static const char *const keys[3] = {"email=", "phone=", "name="};
    cmds->contact_sent = value != NULL;
    if (!value)
        return;
    char *list = apr_pstrdup(p, value), *last = NULL;
    for (char *item = apr_strtok(list, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        item = kmen_trim(item);
        for (int i = 0; i < 3; i++) {
            if (strncmp(item, keys[i], strlen(keys[i])) == 0)
                cmds->contact[i] = kmen_trim(item + strlen(keys[i]));
        }
    }
}

void kmen_backend_parse(apr_pool_t *p, const char *header_prefix, const apr_table_t *headers,
                        kmen_backend_commands *out)
{
    const char *const *names = kmen_backend_header_names(p, header_prefix);
    memset(out, 0, sizeof(*out));
    out->systems = apr_array_make(p, 2, sizeof(const char *));
    apr_table_do(add_systems, out, headers, names[KMEN_BACKEND_LINK_SYSTEM], NULL);
    parse_complete(p, apr_table_get(headers, names[KMEN_BACKEND_COMPLETE]), out);
    out->evidence_request = apr_table_get(headers, names[KMEN_BACKEND_EVIDENCE_REQUEST]);
    parse_contact(p, apr_table_get(headers, names[KMEN_BACKEND_POTENTIAL_CONTACT]), out);
}

static kmen_backend_outcome complete_ignored(kmen_ctx *ctx, const char *why)
{
    kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0672) "Kmen-Complete ignored: %s", why);
    return KMEN_BACKEND_PASS;
}

/* The session, upgraded to the client a completion produced: the rest of
 * this response (Link-System) is about the new client. */
static kmen_backend_outcome upgrade_session(kmen_ctx *ctx, const kmen_cache *cache,
                                            kmen_backend_response *resp, const kmen_identity *id)
{
    kmen_session *upgraded = apr_pmemdup(ctx->pool, resp->session, sizeof(*resp->session));
    upgraded->identity = *id;
    upgraded->pending_id = NULL;
    upgraded->headers = NULL; /* they were another identity's */
    if (kmen_session_update(ctx, cache, upgraded) != KMEN_STORE_OK)
        return KMEN_BACKEND_UNAVAILABLE;
    resp->session = upgraded;
    return KMEN_BACKEND_PASS;
}

/* A pending foreigner verified as a new client or linked to one. */
static kmen_backend_outcome complete_pending(kmen_ctx *ctx, const kmen_cache *cache,
                                             kmen_backend_response *resp, const char *link)
{
    const kmen_session *s = resp->session;
    kmen_identity id = s->identity;
    const char *outcome = NULL;
    if (!kmen_path_is_under(resp->uri, kmen_dir_verify_path(resp->dir)))
        return complete_ignored(
            ctx, apr_pstrcat(ctx->pool, "not sent from ",
                             kmen_dir_spelling(ctx->conf, KMEN_DIR_FIELD_verify_path), NULL));
    if (kmen_register_complete(ctx, s->pending_id, link, &id, &outcome) != KMEN_REGISTER_OK)
        return KMEN_BACKEND_UNAVAILABLE;
    /* A warning when the person sees the 409 page. */
    kmen_log(ctx, id.client_id ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0673) "verification completed: %s", outcome);
    return id.client_id ? upgrade_session(ctx, cache, resp, &id) : KMEN_BACKEND_REFUSED;
}

/* A verified login that is the potential client link names: they merge, and
 * the potential client's identifier lives on. */
static kmen_backend_outcome complete_potential(kmen_ctx *ctx, const kmen_cache *cache,
                                               kmen_backend_response *resp, const char *link)
{
    const kmen_session *s = resp->session;
    kmen_identity id = s->identity;
    const char *outcome = NULL;
    if (!kmen_path_is_under(resp->uri, kmen_dir_verify_path(resp->dir)) &&
        !kmen_dir_allow_link(resp->dir))
        return complete_ignored(
            ctx,
            apr_pstrcat(ctx->pool, "link= not sent from ",
                        kmen_dir_spelling(ctx->conf, KMEN_DIR_FIELD_verify_path), " or a ",
                        kmen_dir_spelling(ctx->conf, KMEN_DIR_FIELD_allow_link), " place", NULL));
    if (!s->identity.client_id)
        return complete_ignored(ctx, "the login has no client to link");
    if (kmen_register_link_potential(ctx, s->identity.client_id, link, &id, &outcome) !=
        KMEN_REGISTER_OK)
        return KMEN_BACKEND_UNAVAILABLE;
    int linked = strcmp(outcome, "linked") == 0;
    kmen_log(ctx, linked ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0674) "potential client link: %s", outcome);
    return linked ? upgrade_session(ctx, cache, resp, &id) : KMEN_BACKEND_REFUSED;
}

/* Complete: a refusal replaces the backend's page. */
static kmen_backend_outcome complete(kmen_ctx *ctx, const kmen_cache *cache,
                                     const kmen_backend_commands *cmds, kmen_backend_response *resp)
{
    const char *link = cmds->complete == KMEN_COMPLETE_LINK ? cmds->complete_link : NULL;
    if (cmds->complete == KMEN_COMPLETE_NONE)
        return KMEN_BACKEND_PASS;
    if (!resp->session)
        return complete_ignored(ctx, "no session");
    if (cmds->complete == KMEN_COMPLETE_MALFORMED)
        return complete_ignored(ctx, "expected 'new' or 'link=<client-id>'");
    if (resp->session->pending_id)
        return complete_pending(ctx, cache, resp, link);
    if (!link)
        return complete_ignored(ctx, "the session awaits no verification");
    return complete_potential(ctx, cache, resp, link);
}

/* A header that changes the register counts only where the location opted
 * in (FLAG On): a response proxied from another service is no instruction. */
static int opted_in(kmen_ctx *ctx, const kmen_backend_response *resp, int flag, const char *header,
                    kmen_dir_field directive)
{
    if (flag)
        return 1;
    kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0690) "%s ignored: %s for %s", header,
             kmen_dir_switched_off(ctx->pool, ctx->conf, directive), resp->uri);
    return 0;
}

static void link_systems(kmen_ctx *ctx, const kmen_backend_commands *cmds,
                         const kmen_backend_response *resp)
{
    if (!cmds->links_sent || !opted_in(ctx, resp, kmen_dir_accept_link_system(resp->dir),
                                       "Kmen-Link-System", KMEN_DIR_FIELD_accept_link_system))
        return;
    if (!resp->session || !resp->session->identity.client_id) {
        kmen_log(ctx, KMEN_LOG_INFO,
                 KMEN_LOGNO(0671) "Kmen-Link-System without a registered client, ignored");
        return;
    }
    for (int i = 0; i < cmds->systems->nelts; i++)
        kmen_register_link_system(ctx, resp->session->identity.client_id,
                                  APR_ARRAY_IDX(cmds->systems, i, const char *));
}

/* Potential-Contact (KmenAcceptContact On). */
static void record_contact(kmen_ctx *ctx, const kmen_backend_commands *cmds,
                           const kmen_backend_response *resp)
{
    const char *client_id = NULL;
    if (!cmds->contact_sent)
        return;
    if (!kmen_dir_accept_contact(resp->dir)) {
        kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0675) "Kmen-Potential-Contact ignored: %s",
                 kmen_dir_switched_off(ctx->pool, ctx->conf, KMEN_DIR_FIELD_accept_contact));
        return;
    }
    kmen_register_status status = kmen_register_potential(ctx, cmds->contact, &client_id);
    kmen_log(ctx, status == KMEN_REGISTER_OK ? KMEN_LOG_INFO : KMEN_LOG_WARNING,
             KMEN_LOGNO(0676) "potential client from a contact: %s",
             status == KMEN_REGISTER_OK ? client_id
                                        : "refused (no e-mail or phone, or database down)");
}

/* Evidence-Request: recorded, the session marked so that Kmen-Evidence
 * follows, and where to send the person to the evidence service. SESSION:
 * the one the response began with. */
static const char *request_evidence(kmen_ctx *ctx, const kmen_cache *cache, const char *value,
                                    const kmen_backend_response *resp, const kmen_session *s)
{
    if (!value || !opted_in(ctx, resp, kmen_dir_accept_evidence_request(resp->dir),
                            "Kmen-Evidence-Request", KMEN_DIR_FIELD_accept_evidence_request))
        return NULL;
    const char *url = kmen_evidence_request(ctx, s, value, resp->request_uri);
    if (!url || s->evidence)
        return url;
    kmen_session *marked = apr_pmemdup(ctx->pool, s, sizeof(*s));
    marked->evidence = 1;
    return kmen_session_update(ctx, cache, marked) == KMEN_STORE_OK ? url : NULL;
}

kmen_backend_outcome kmen_backend_apply(kmen_ctx *ctx, const kmen_cache *cache,
                                        const kmen_backend_commands *cmds,
                                        kmen_backend_response *resp)
{
    const kmen_session *s = resp->session;
    kmen_backend_outcome outcome = complete(ctx, cache, cmds, resp);
    if (outcome != KMEN_BACKEND_PASS)
        return outcome;
    link_systems(ctx, cmds, resp);
    record_contact(ctx, cmds, resp);
    resp->location = request_evidence(ctx, cache, cmds->evidence_request, resp, s);
    return resp->location ? KMEN_BACKEND_REDIRECT : KMEN_BACKEND_PASS;
}
