/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA's address attributes are base64 of an XML fragment, not of a document:
 * elements side by side (CRLF between them), under an "eidas:" prefix the
 * fragment does not declare. Backends want the parts, so each is read here
 * by its local name, whatever its prefix, inside a wrapper element that
 * declares "eidas:". The fragment is data from the signed assertion, read
 * like the rest of it: no network, no DTD (none can stand inside the
 * wrapper), no entity of its own. */
#include <limits.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "apr_base64.h"
#include "apr_strings.h"

#include "address.h"
#include "crypto.h"

#define WRAP_OPEN "<kmen-address xmlns:eidas=\"http://eidas.europa.eu/attributes/naturalperson\">"
#define WRAP_CLOSE "</kmen-address>"

/* Far above any address; keeps a hostile value from costing a large parse. */
#define MAX_FRAGMENT 16384

typedef struct {
    const char *local_name;
    size_t offset;
} address_part;

static const address_part parts[] = {{"Thoroughfare", offsetof(kmen_address, street)},
                                     {"LocatorDesignator", offsetof(kmen_address, number)},
                                     {"PostCode", offsetof(kmen_address, postcode)},
                                     {"PostName", offsetof(kmen_address, town)},
                                     {"CvaddressArea", offsetof(kmen_address, area)},
                                     {"adresniMistoKod", offsetof(kmen_address, ruian_id)},
                                     {NULL, 0}};

static int has_element_child(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return 1;
    }
    return 0;
}

/* S without XML's blanks (space, tab, CR, LF) at either end, in place. */
static char *trim_xml_blanks(char *s)
{
    while (*s && strchr(" \t\r\n", *s))
        s++;
    size_t len = strlen(s);
    while (len && strchr(" \t\r\n", s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* The part N is, if a leaf of a known name, filled once with its trimmed text. */
static void take_part(apr_pool_t *p, const xmlNode *n, kmen_address *out)
{
    for (const address_part *part = parts; part->local_name; part++) {
        const char **slot = (const char **)((char *)out + part->offset);
        if (*slot || strcmp((const char *)n->name, part->local_name) != 0)
            continue;
        xmlChar *text = xmlNodeGetContent(n);
        const char *value = trim_xml_blanks(apr_pstrdup(p, text ? (const char *)text : ""));
        xmlFree(text);
        *slot = *value ? value : NULL;
        return;
    }
}

static void walk(apr_pool_t *p, const xmlNode *n, kmen_address *out)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (has_element_child(n))
            walk(p, n->children, out);
        else
            take_part(p, n, out);
    }
}

int kmen_address_parse(apr_pool_t *p, const char *xml, apr_size_t len, kmen_address *out)
{
    if (len > MAX_FRAGMENT || memchr(xml, '\0', len))
        return 0;
    const char *wrapped = apr_pstrcat(p, WRAP_OPEN, apr_pstrmemdup(p, xml, len), WRAP_CLOSE, NULL);
    /* NOERROR/NOWARNING: a prefix other than eidas: undeclared is an error
     * libxml2 reports and reads past; the element is still read by its name */
    xmlDoc *doc = xmlReadMemory(wrapped, (int)strlen(wrapped), "address.xml", "UTF-8",
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root)
        walk(p, root->children, out);
    xmlFreeDoc(doc);
    return root != NULL;
}

int kmen_address_from_base64(apr_pool_t *p, const char *b64, kmen_address *out)
{
    if (!b64 || !kmen_base64_is_valid(b64))
        return 0;
    char *xml = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64) + 1);
    int len = apr_base64_decode(xml, b64);
    return len > 0 && kmen_address_parse(p, xml, (apr_size_t)len, out);
}

void kmen_identity_add_address(apr_pool_t *p, kmen_identity *id)
{
    kmen_address a = {0};
    kmen_address_from_base64(p, id->address, &a);
    kmen_address_from_base64(p, id->address_id, &a);
    id->address_street = a.street;
    id->address_number = a.number;
    id->address_postcode = a.postcode;
    id->address_town = a.town;
    id->address_area = a.area;
    id->address_ruian_id = a.ruian_id;
}
