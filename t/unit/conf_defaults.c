/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Prints each field of the configuration lists (core/conf_fields.h) that a
 * directive sets, one line each: "server" or "dir", the field, the httpd
 * directive and its default as docs/directives.md spells it, tab-separated,
 * the default empty where there is none. The defaults are the effective
 * values of a configuration that sets nothing, as the core computes them.
 * t/integration/test_docs.py holds kmen_cmds[] and the docs against it. */
#include <stdio.h>
#include <string.h>

#include "apr_base64.h"
#include "apr_general.h"
#include "apr_strings.h"

#include "conf.h"
#include "crypto.h"

static apr_pool_t *pool;

static const char *spell_STR(const char *value)
{
    return value;
}

#define spell_FILE spell_STR /* a path as written */

static const char *spell_INT(int value)
{
    return apr_itoa(pool, value);
}

static const char *spell_FLAG(int value)
{
    return value ? "On" : "Off";
}

static const char *spell_LOA(int value)
{
    return kmen_loa_name((kmen_loa)value);
}

static const char *spell_EIDAS(int value)
{
    return value ? "accept" : "verify";
}

static const char *spell_ENCODING(int value)
{
    return kmen_header_encoding_names[value];
}

static const char *spell_NAMEID(int value)
{
    return kmen_nameid_policy_names[value];
}

/* As KmenEvidenceCallbackCertificate takes them: sha256/<base64>, space-separated. */
static const char *spell_PINS(const apr_array_header_t *pins)
{
    const char *out = "";
    for (int i = 0; i < pins->nelts; i++) {
        char b64[64];
        apr_base64_encode(b64, pins->elts + (size_t)i * KMEN_HASH_LEN, KMEN_HASH_LEN);
        out = apr_pstrcat(pool, out, i ? " " : "", "sha256/", b64, NULL);
    }
    return out;
}

/* As KmenRequestedAttributes takes them: NAME[=VALUE][!], eIDAS's by their short names. */
static const char *spell_ATTRS(const apr_array_header_t *attrs)
{
    const char *out = "";
    for (int i = 0; i < attrs->nelts; i++) {
        const kmen_requested_attr *a = &APR_ARRAY_IDX(attrs, i, kmen_requested_attr);
        const char *name = a->name;
        if (strncmp(name, KMEN_EIDAS_NP, strlen(KMEN_EIDAS_NP)) == 0)
            name += strlen(KMEN_EIDAS_NP);
        out = apr_pstrcat(pool, out, i ? " " : "", name, a->value ? "=" : "",
                          a->value ? a->value : "", a->required ? "!" : "", NULL);
    }
    return out;
}

static void print_field(const char *scope, const char *field, const char *directive,
                        const char *spelled_default)
{
    if (directive)
        printf("%s\t%s\t%s\t%s\n", scope, field, directive, spelled_default ? spelled_default : "");
}

#define SPELL(type, value) (KMEN_IS_SET(type, value) ? spell_##type(value) : NULL)
#define SERVER_FIELD(type, field, default_value, merge, directive, ...)                            \
    print_field("server", #field, directive, SPELL(type, c->field));
#define DIR_FIELD(type, field, default_value, merge, directive, ...)                               \
    print_field("dir", #field, directive, SPELL(type, kmen_dir_##field(d)));

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    kmen_server_conf *c = kmen_server_conf_new(pool);
    kmen_server_conf_defaults(c);
    const kmen_dir_conf *d = kmen_dir_conf_new(pool);
    KMEN_SERVER_FIELDS(SERVER_FIELD)
    KMEN_DIR_FIELDS(DIR_FIELD)
    return 0;
}
