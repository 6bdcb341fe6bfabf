/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kmen directives' setters: a value that can be judged on its own line
 * is checked as it is read, so that nginx names the file and line of a bad
 * one itself ("kmen_sp_type" directive expects public or private in
 * /etc/nginx/nginx.conf:12); the rest, once the server{} is read, by the
 * core's checks (kmen_conf_check), refused with kmen_ngx_culprit. */
#include <string.h>

#include "apr_strings.h"

#include "crypto.h"
#include "directives.h"

static const char *argument(ngx_conf_t *cf, apr_pool_t *p)
{
    ngx_str_t *value = cf->args->elts;
    return apr_pstrndup(p, (const char *)value[1].data, value[1].len);
}

static const char *httpd_name_of(const ngx_command_t *cmd)
{
    return ((const kmen_ngx_directive *)cmd->post)->httpd_name;
}

static const char **string_field(kmen_ngx_srv_conf *s, size_t offset)
{
    return (const char **)((char *)&s->core + offset);
}

const char *kmen_ngx_here(ngx_conf_t *cf, apr_pool_t *p)
{
    return apr_psprintf(p, "%.*s:%lu", (int)cf->conf_file->file.name.len,
                        (const char *)cf->conf_file->file.name.data,
                        (unsigned long)cf->conf_file->line);
}

/* VALUE into the field at OFFSET, its place under KEY in the where table. */
static char *store(ngx_conf_t *cf, kmen_ngx_srv_conf *s, size_t offset, const char *key,
                   const char *value)
{
    const char **field = string_field(s, offset);
    if (*field)
        return "is duplicate";
    *field = value;
    apr_table_set(s->core.where, key, kmen_ngx_here(cf, s->pool));
    return NGX_CONF_OK;
}

char *kmen_ngx_set_string(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = conf;
    const kmen_ngx_directive *d = cmd->post;
    const char *value = argument(cf, s->pool);
    if (d->valid && !d->valid(value))
        return (char *)d->usage;
    return store(cf, s, cmd->offset, d->httpd_name, value);
}

/* The argument as a path: relative ones to nginx's configuration directory. */
static const char *full_path(ngx_conf_t *cf, apr_pool_t *p)
{
    ngx_str_t path = ((ngx_str_t *)cf->args->elts)[1];
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK)
        return NULL;
    return apr_pstrndup(p, (const char *)path.data, path.len);
}

char *kmen_ngx_set_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = conf;
    const char *path = full_path(cf, s->pool);
    return path ? store(cf, s, cmd->offset, httpd_name_of(cmd), path) : NGX_CONF_ERROR;
}

char *kmen_ngx_set_sp_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = conf;
    const kmen_ngx_directive *d = cmd->post;
    const char *path = full_path(cf, s->pool);
    if (!path)
        return NGX_CONF_ERROR;
    if (*string_field(s, d->second))
        return "is given a third time: at most two, the pair in use and the next one";
    if (!*string_field(s, cmd->offset))
        return store(cf, s, cmd->offset, d->httpd_name, path);
    return store(cf, s, d->second, kmen_conf_where_key(s->pool, d->httpd_name, 1), path);
}

static int *int_field(kmen_ngx_srv_conf *s, size_t offset)
{
    return (int *)((char *)&s->core + offset);
}

/* N into the int field of CMD (unset: the callers said which is duplicate
 * before which is a bad value), its place in the where table. */
static char *store_int(ngx_conf_t *cf, ngx_command_t *cmd, kmen_ngx_srv_conf *s, int n)
{
    *int_field(s, cmd->offset) = n;
    apr_table_set(s->core.where, httpd_name_of(cmd), kmen_ngx_here(cf, s->pool));
    return NGX_CONF_OK;
}

const char *const kmen_ngx_off_on[] = {"off", "on", NULL};

int kmen_ngx_word_index(const char *value, const char *const *words)
{
    for (int i = 0; words[i]; i++) {
        if (strcmp(value, words[i]) == 0)
            return i;
    }
    return -1;
}

char *kmen_ngx_set_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = conf;
    int flag = kmen_ngx_word_index(argument(cf, s->pool), kmen_ngx_off_on);
    if (*int_field(s, cmd->offset) != KMEN_UNSET)
        return "is duplicate";
    return flag < 0 ? "expects on or off" : store_int(cf, cmd, s, flag);
}

char *kmen_ngx_set_number(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    const kmen_ngx_directive *d = cmd->post;
    ngx_str_t *value = cf->args->elts;
    ngx_int_t n = ngx_atoi(value[1].data, value[1].len);
    if (*int_field(conf, cmd->offset) != KMEN_UNSET)
        return "is duplicate";
    if (n == NGX_ERROR || n < d->least || n > d->most)
        return (char *)d->usage;
    return store_int(cf, cmd, conf, (int)n);
}

char *kmen_ngx_set_choice(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    const kmen_ngx_directive *d = cmd->post;
    const char *value = argument(cf, ((kmen_ngx_srv_conf *)conf)->pool);
    int i = kmen_ngx_word_index(value, d->choices);
    if (*int_field(conf, cmd->offset) != KMEN_UNSET)
        return "is duplicate";
    return i < 0 ? (char *)d->usage : store_int(cf, cmd, conf, i);
}

char *kmen_ngx_set_pins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = conf;
    apr_array_header_t **pins = (apr_array_header_t **)((char *)&s->core + cmd->offset);
    ngx_str_t *value = cf->args->elts;
    if (*pins)
        return "is duplicate";
    *pins = apr_array_make(s->pool, (int)cf->args->nelts - 1, KMEN_HASH_LEN);
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        const char *pin = apr_pstrndup(s->pool, (const char *)value[i].data, value[i].len);
        if (!kmen_pin_parse(pin, apr_array_push(*pins)))
            return (char *)((const kmen_ngx_directive *)cmd->post)->usage;
    }
    apr_table_set(s->core.where, httpd_name_of(cmd), kmen_ngx_here(cf, s->pool));
    return NGX_CONF_OK;
}

char *kmen_ngx_set_sp_type(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kmen_ngx_srv_conf *s = conf;
    const char *type = argument(cf, s->pool);
    if (s->sp_type)
        return "is duplicate";
    if (!kmen_sp_type_is_valid(type))
        return "expects public or private";
    s->sp_type = type;
    return NGX_CONF_OK;
}

const char *kmen_ngx_culprit(apr_pool_t *p, const kmen_server_conf *c,
                             const kmen_conf_culprit *culprit)
{
    const char *name = kmen_conf_field_name(culprit->field, KMEN_SPELL_NGINX);
    const char *problem = kmen_conf_problem_text(p, culprit->problem, KMEN_SPELL_NGINX);
    const char *where = kmen_conf_where(p, c, culprit->field, culprit->second);
    if (culprit->missing) {
        where = kmen_conf_where(p, c, KMEN_FIELD_sp_entity_id, 0);
        problem =
            apr_pstrcat(p, problem, " by ",
                        kmen_conf_field_name(KMEN_FIELD_sp_entity_id, KMEN_SPELL_NGINX), NULL);
    }
    return apr_pstrcat(p, name, culprit->value ? " " : "", culprit->value ? culprit->value : "",
                       culprit->missing ? " " : ": ", problem, where ? " in " : "",
                       where ? where : "", NULL);
}
