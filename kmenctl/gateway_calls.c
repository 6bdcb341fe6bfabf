/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gateway calls kmenctl makes (docs/gateway.md, "Identification,
 * subscriptions and the change feed"), and what their answers mean. */
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "gateway.h"

kmenctl_gateway_call kmenctl_gateway_post(const char *path, json_t *body)
{
    kmenctl_gateway_call call = {.path = path};
    call.body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return call;
}

kmenctl_gateway_call kmenctl_identify_call(const char *agenda, const kmenctl_person *person)
{
    /* s* leaves the address out when the name register holds none. */
    return kmenctl_gateway_post(
        "/identify", json_pack("{s:s, s:s, s:s, s:s, s:s*}", "agenda", agenda, "family_name",
                               person->family_name, "given_name", person->given_name, "birth_date",
                               person->birth_date, "address", person->address));
}

/* The answer's member "aifo" when it is a non-empty string, from p. */
static const char *aifo_of(apr_pool_t *p, const kmenctl_gateway_call *call)
{
    json_t *doc = json_loadb(call->answer.body, call->answer.len, 0, NULL);
    const char *aifo = json_string_value(json_object_get(doc, "aifo"));
    const char *copy = aifo && *aifo ? apr_pstrdup(p, aifo) : NULL;
    json_decref(doc);
    return copy;
}

kmenctl_identity kmenctl_identified(apr_pool_t *p, const kmenctl_gateway_call *call,
                                    const char **aifo)
{
    if (call->answer.status == 404)
        return KMENCTL_NOT_FOUND;
    if (call->answer.status == 409)
        return KMENCTL_AMBIGUOUS;
    if (call->answer.status == 200 && (*aifo = aifo_of(p, call)))
        return KMENCTL_IDENTIFIED;
    return KMENCTL_OUTAGE;
}

kmenctl_gateway_call kmenctl_subscribe_call(const char *agenda, const char *aifo)
{
    return kmenctl_gateway_post("/subscribe",
                                json_pack("{s:s, s:s}", "agenda", agenda, "aifo", aifo));
}

/* The cursor is the gateway's own string: percent-encoded for the query,
 * all but RFC 3986's unreserved characters. */
static const char *query_escape(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

kmenctl_gateway_call kmenctl_changes_call(apr_pool_t *p, const char *agenda, const char *cursor)
{
    kmenctl_gateway_call call = {.path = apr_pstrcat(p, "/changes?agenda=", agenda,
                                                     "&after=", query_escape(p, cursor), NULL)};
    return call;
}
