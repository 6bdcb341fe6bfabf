/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend asks for evidence, the person is sent to the evidence service
 * (KmenEvidenceURL); the request's state follows in Kmen-Evidence. */
#include <string.h>

#include "apr_escape.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "conf_check.h"
#include "evidence_request.h"
#include "pairs.h"

int kmen_evidence_request_parse(apr_pool_t *p, const char *value, const char **type,
                                const char **country)
{
    char *copy = apr_pstrdup(p, value), *last = NULL;
    *type = *country = NULL;
    for (char *item = apr_strtok(copy, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        item = kmen_trim(item);
        if (strncmp(item, "type=", 5) == 0)
            *type = item + 5;
        else if (strncmp(item, "country=", 8) == 0)
            *country = item + 8;
    }
    size_t type_len = *type ? strlen(*type) : 0;
    return type_len >= 1 && type_len <= 64 &&
           strspn(*type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
               type_len &&
           *country && strlen(*country) == 2 && apr_isupper((*country)[0]) &&
           apr_isupper((*country)[1]);
}

const char *kmen_evidence_request(kmen_ctx *ctx, const kmen_session *s, const char *value,
                                  const char *request_uri)
{
    const kmen_server_conf *c = ctx->conf;
    const char *type, *country, *id = NULL;
    if (!c->evidence_url || !s || !s->identity.client_id ||
        !kmen_evidence_request_parse(ctx->pool, value, &type, &country)) {
        kmen_log(ctx, KMEN_LOG_WARNING, KMEN_LOGNO(0681) "Kmen-Evidence-Request ignored: %s",
                 !c->evidence_url
                     ? apr_pstrcat(ctx->pool, "no ", kmen_conf_spelling(c, KMEN_FIELD_evidence_url),
                                   NULL)
                 : !s || !s->identity.client_id ? "no registered client"
                                                : "expected type=<type>; country=<CC>");
        return NULL;
    }
    if (kmen_store_evidence_request(ctx, c->store, s->identity.client_id, type, country, &id) !=
        KMEN_STORE_OK)
        return NULL;
    const char *return_url =
        apr_pstrcat(ctx->pool, kmen_sp_base_url(ctx->pool, c), request_uri, NULL);
    return apr_pstrcat(ctx->pool, c->evidence_url, strchr(c->evidence_url, '?') ? "&" : "?",
                       "request=", id, "&type=", apr_pescape_urlencoded(ctx->pool, type),
                       "&country=", country,
                       "&return=", apr_pescape_urlencoded(ctx->pool, return_url), NULL);
}

kmen_store_status kmen_evidence_states(kmen_ctx *ctx, const kmen_session *s, const char **states)
{
    *states = NULL;
    if (!s->evidence || !s->identity.client_id)
        return KMEN_STORE_OK;
    kmen_store_status st =
        kmen_store_evidence_states(ctx, ctx->conf->store, s->identity.client_id, states);
    return st == KMEN_STORE_DOWN ? KMEN_STORE_DOWN : KMEN_STORE_OK;
}
