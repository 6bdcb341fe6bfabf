/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading libxml2 trees (xml.c). */
#ifndef KMEN_XML_H
#define KMEN_XML_H

#include <libxml/tree.h>

#include "apr_pools.h"
#include "apr_time.h"

/* NS is the namespace HREF (NS may be NULL: no namespace). */
int kmen_xml_ns_is(const xmlNs *ns, const char *href);
/* N is the element NAME in namespace NS. */
int kmen_xml_is_element(const xmlNode *n, const char *ns, const char *name);
/* The first child element NS:NAME of N (N may be NULL), or NULL. */
xmlNode *kmen_xml_child(xmlNode *n, const char *ns, const char *name);
/* The only child element NS:NAME of N (N may be NULL); NULL if none or more. */
xmlNode *kmen_xml_only_child(xmlNode *n, const char *ns, const char *name);
/* A copy of N's attribute NAME, or NULL (also for N NULL). */
const char *kmen_xml_attribute(apr_pool_t *p, xmlNode *n, const char *name);
/* A copy of N's text content ("" when it has none), or NULL for N NULL. */
const char *kmen_xml_text(apr_pool_t *p, xmlNode *n);

/* xs:dateTime (UTC, optional fraction) -> apr_time_t; 0 on failure. */
int kmen_parse_xs_datetime(const char *s, apr_time_t *out);

#endif
