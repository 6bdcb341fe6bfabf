/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kmen directives of nginx: a server{}'s settings (the core's
 * kmen_server_conf, written in nginx's spelling), where each was written, and
 * a refusal worded as nginx words its own. */
#ifndef KMEN_NGX_DIRECTIVES_H
#define KMEN_NGX_DIRECTIVES_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "apr_pools.h"
#include "apr_tables.h"

#include "conf_check.h"

extern ngx_module_t ngx_http_kmen_module;

/* A directive in httpd's terms (its ngx_command_t's post): httpd's name of
 * it, under which the where table keeps its place in both servers
 * (conf_fields.h); for the SP's files, which may be given twice, the offset
 * in kmen_server_conf of the second. */
typedef struct {
    const char *httpd_name;
    size_t second;
    int least, most;                 /* a number's range */
    const char *const *choices;      /* a word's: NULL-terminated, stored as its index */
    int (*valid)(const char *value); /* a string's form, when it has one */
    const char *usage;               /* what nginx says of another value: "expects ..." */
} kmen_ngx_directive;

/* A location that serves the endpoints (kmen_endpoints). */
typedef struct {
    const char *name;
    const char *where; /* file:line of its kmen_endpoints */
} kmen_ngx_endpoints_at;

typedef struct {
    kmen_server_conf core;         /* ngx_command_t offsets are into it */
    const char *sp_type;           /* kmen_sp_type: the eIDAS SPType the metadata publishes */
    apr_pool_t *pool;              /* this server{}'s: destroyed with the configuration */
    apr_array_header_t *endpoints; /* of kmen_ngx_endpoints_at */
} kmen_ngx_srv_conf;

/* The setters of server settings (http{} or server{}), one for each TYPE of
 * the field list (core/conf_fields.h; the table: ngx_http_kmen_module.c);
 * cmd->offset is the field's offset in kmen_server_conf, cmd->post a
 * kmen_ngx_directive. Each setting may be given once in a context, the SP's
 * files twice. */
/* a string, of the form valid() accepts when the directive has one */
char *kmen_ngx_set_string(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* a file, relative to nginx's configuration directory unless absolute */
char *kmen_ngx_set_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* the SP's key and certificate files: the first occurrence is the pair in
 * use, a second the next (or previous) pair, a third an error */
char *kmen_ngx_set_sp_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* on or off into an int */
char *kmen_ngx_set_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* a whole number from least to most into an int */
char *kmen_ngx_set_number(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* one or more pins (kmen_pin_parse) into an array of their hashes */
char *kmen_ngx_set_pins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* one of the words of choices into an int, as its index */
char *kmen_ngx_set_choice(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *kmen_ngx_set_sp_type(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* VALUE's index among WORDS (NULL-terminated), or -1; kmen_ngx_off_on:
 * off 0, on 1, as a FLAG field holds them. */
int kmen_ngx_word_index(const char *value, const char *const *words);
extern const char *const kmen_ngx_off_on[];

/* "file:line" of the directive being read. */
const char *kmen_ngx_here(ngx_conf_t *cf, apr_pool_t *p);

/* CULPRIT (kmen_conf_check's, kmen_sp_setup's) as nginx words its own
 * refusals: "DIRECTIVE VALUE: PROBLEM in file:line", the directives in
 * nginx's spelling, the place that of its occurrence (its second for the
 * next key pair) in C's where table; a missing directive, which has no line,
 * "DIRECTIVE is required by kmen_sp_entity_id in file:line", the line of the
 * entity ID of the server{} that needs it. */
const char *kmen_ngx_culprit(apr_pool_t *p, const kmen_server_conf *c,
                             const kmen_conf_culprit *culprit);

#endif
