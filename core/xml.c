/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading libxml2 trees: elements by namespace and name, attributes and text
 * as pool copies, xs:dateTime values. Every SAML file reads with these, and
 * they need nothing of SAML. */
#include <stdio.h>
#include <string.h>

#include "apr_strings.h"

#include "xml.h"

int kmen_xml_ns_is(const xmlNs *ns, const char *href)
{
    return ns && strcmp((const char *)ns->href, href) == 0;
}

int kmen_xml_is_element(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && kmen_xml_ns_is(n->ns, ns) &&
           strcmp((const char *)n->name, name) == 0;
}

xmlNode *kmen_xml_child(xmlNode *n, const char *ns, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (kmen_xml_is_element(c, ns, name))
            return c;
    }
    return NULL;
}

xmlNode *kmen_xml_only_child(xmlNode *n, const char *ns, const char *name)
{
    xmlNode *found = NULL;
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (!kmen_xml_is_element(c, ns, name))
            continue;
        if (found)
            return NULL;
        found = c;
    }
    return found;
}

const char *kmen_xml_attribute(apr_pool_t *p, xmlNode *n, const char *name)
{
    xmlChar *value = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;
    const char *copy = value ? apr_pstrdup(p, (const char *)value) : NULL;
    xmlFree(value);
    return copy;
}

const char *kmen_xml_text(apr_pool_t *p, xmlNode *n)
{
    if (!n)
        return NULL;
    xmlChar *text = xmlNodeGetContent(n);
    const char *copy = apr_pstrdup(p, text ? (const char *)text : "");
    xmlFree(text);
    return copy;
}

int kmen_parse_xs_datetime(const char *s, apr_time_t *out)
{
    apr_time_exp_t t = {0};
    int len = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour,
                     &t.tm_min, &t.tm_sec, &len) != 6)
        return 0;
    const char *rest = s + len;
    if (*rest == '.') {
        long usec = 0, scale = 100000;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            usec += scale > 0 ? (*rest - '0') * scale : 0;
        t.tm_usec = (apr_int32_t)usec;
    }
    /* SAML requires UTC ("Z"); an offset would silently shift every check. */
    if (strcmp(rest, "Z") != 0)
        return 0;
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    return apr_time_exp_gmt_get(out, &t) == APR_SUCCESS;
}
