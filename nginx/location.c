/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A location's kmen settings (location.h): created unset, set by the
 * directives of the field list's types, merged over the parent's. A value
 * that can be judged on its own line is refused there, as nginx refuses
 * its own ("kmen_agenda" directive expects an agenda code such as A9145 in
 * /etc/nginx/nginx.conf:30). */
#include <string.h>

#include "apr_strings.h"

#include "authz.h"
#include "location.h"

/* Their APR pool: the server{}'s, destroyed with the configuration. */
static apr_pool_t *conf_pool(ngx_conf_t *cf)
{
    return ((kmen_ngx_srv_conf *)ngx_http_conf_get_module_srv_conf(cf, ngx_http_kmen_module))->pool;
}

static const char *argument_at(ngx_conf_t *cf, ngx_uint_t i)
{
    ngx_str_t *value = cf->args->elts;
    return apr_pstrmemdup(conf_pool(cf), (const char *)value[i].data, value[i].len);
}

void *kmen_ngx_create_loc_conf(ngx_conf_t *cf)
{
    kmen_ngx_loc_conf *l = ngx_pcalloc(cf->pool, sizeof(*l));
    if (l)
        l->auth = NGX_CONF_UNSET;
    return l;
}

/* D, or a location's settings all unset: made when a directive or the merge
 * needs them, since nginx creates the http{} level's before its cf->ctx
 * finds the server{} settings that hold the pool. */
static kmen_dir_conf *dir_of(apr_pool_t *p, kmen_dir_conf *d)
{
    return d ? d : kmen_dir_conf_new(p);
}

char *kmen_ngx_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    const kmen_ngx_loc_conf *prev = parent;
    kmen_ngx_loc_conf *l = child;
    const kmen_ngx_srv_conf *s = ngx_http_conf_get_module_srv_conf(cf, ngx_http_kmen_module);
    ngx_conf_merge_value(l->auth, prev->auth, 0);
    if (!l->auth_where)
        l->auth_where = prev->auth_where;
    if (!l->require)
        l->require = prev->require;
    l->dir = kmen_dir_conf_merge(s->pool, dir_of(s->pool, prev->dir), dir_of(s->pool, l->dir));
    /* a location's own kmen_sp_type, else its server{}'s (the one the
     * metadata publishes), as httpd's KmenSPType in and outside <Location> */
    if (!l->dir->sp_type)
        l->dir->sp_type = s->sp_type;
    if (!l->auth || s->core.store)
        return NGX_CONF_OK;
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "kmen_auth: the server has no kmen_sp_entity_id with kmen_database in %s",
                  l->auth_where);
    return NGX_CONF_ERROR;
}

char *kmen_ngx_set_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_loc_conf *l = conf;
    char *rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv == NGX_CONF_OK)
        l->auth_where = kmen_ngx_here(cf, conf_pool(cf));
    return rv;
}

char *kmen_ngx_add_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_loc_conf *l = conf;
    apr_pool_t *p = conf_pool(cf);
    int kind = kmen_require_kind_of(argument_at(cf, 1));
    if (kind < 0)
        return "expects origin or status, then the words either takes";
    const char *words = argument_at(cf, 2);
    for (ngx_uint_t i = 3; i < cf->args->nelts; i++)
        words = apr_pstrcat(p, words, " ", argument_at(cf, i), NULL);
    const char *usage = kmen_require_words_check(p, kind, words);
    if (usage)
        return apr_pstrcat(p, "expects ", kmen_require_name(kind), " ", usage, NULL);
    if (!l->require)
        l->require = apr_array_make(p, 2, sizeof(kmen_ngx_requirement));
    kmen_ngx_requirement *r = apr_array_push(l->require);
    r->kind = kind;
    r->words = words;
    return NGX_CONF_OK;
}

/* ---- the field list's types */

/* The field CMD sets in L's settings, made if need be. */
static void *dir_field(ngx_conf_t *cf, ngx_command_t *cmd, kmen_ngx_loc_conf *l)
{
    l->dir = dir_of(conf_pool(cf), l->dir);
    return (char *)l->dir + cmd->offset;
}

char *kmen_ngx_set_dir_string(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    const kmen_ngx_directive *d = cmd->post;
    const char **field = dir_field(cf, cmd, conf);
    const char *value = argument_at(cf, 1);
    if (*field)
        return "is duplicate";
    if (d->valid && !d->valid(value))
        return (char *)d->usage;
    *field = value;
    return NGX_CONF_OK;
}

/* VALUE's index among WORDS (NULL-terminated) into the int *FIELD. */
static char *set_word(int *field, const char *value, const char *const *words, const char *usage)
{
    int i = kmen_ngx_word_index(value, words);
    if (*field != KMEN_UNSET)
        return "is duplicate";
    if (i < 0)
        return (char *)usage;
    *field = i;
    return NGX_CONF_OK;
}

char *kmen_ngx_set_dir_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return set_word(dir_field(cf, cmd, conf), argument_at(cf, 1), kmen_ngx_off_on,
                    "expects on or off");
}

char *kmen_ngx_set_dir_eidas(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    /* the field's values: 0 verify, 1 accept (conf_fields.h) */
    static const char *const policies[] = {"verify", "accept", NULL};
    return set_word(dir_field(cf, cmd, conf), argument_at(cf, 1), policies,
                    "expects verify or accept");
}

char *kmen_ngx_set_dir_loa(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    int *field = dir_field(cf, cmd, conf);
    kmen_loa loa = kmen_loa_from_name(argument_at(cf, 1));
    if (*field != KMEN_UNSET)
        return "is duplicate";
    if (loa == KMEN_LOA_NONE)
        return "expects low, substantial or high";
    *field = (int)loa;
    return NGX_CONF_OK;
}

/* Each NAME[=VALUE][!] (kmen_requested_attr_parse) onto the list, which
 * every occurrence adds to. */
char *kmen_ngx_add_dir_attributes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    apr_pool_t *p = conf_pool(cf);
    apr_array_header_t **list = dir_field(cf, cmd, conf);
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        kmen_requested_attr a;
        const char *err = kmen_requested_attr_parse(p, argument_at(cf, i), &a);
        if (err)
            return apr_pstrcat(p, "expects NAME[=VALUE][!]: ", err, NULL);
        if (!*list)
            *list = apr_array_make(p, 4, sizeof(a));
        APR_ARRAY_PUSH(*list, kmen_requested_attr) = a;
    }
    return NGX_CONF_OK;
}
