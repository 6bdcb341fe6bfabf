/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session cache on httpd: the core's cache interface (cache.h) over the
 * mod_socache provider KmenSessionCache names, shared by every child of the
 * node (every node, with memcache or redis). */
#ifndef KMEN_SOCACHE_H
#define KMEN_SOCACHE_H

#include "httpd.h"

#include "cache.h"
#include "memo.h"

void kmen_session_cache_pre_config(apr_pool_t *pconf);
/* NULL, or why KmenSessionCache's provider[:args] names no loaded provider. */
const char *kmen_session_cache_check(apr_pool_t *p, const char *spec);
/* NULL, or what is wrong with KmenSessionCache SPEC (the caller names it). */
const char *kmen_session_cache_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                    const char *spec);
void kmen_session_cache_child_init(apr_pool_t *pchild, server_rec *s);

/* The cache, for the core's calls about a request: their context's baton is
 * the request_rec (apache/request.c). It answers nothing, and keeps
 * nothing, until kmen_session_cache_init has succeeded. */
const kmen_cache *kmen_session_cache(void);
/* This child's memo of the sessions it opened (core/memo.h), dropped in
 * every child when the cache removes one; NULL (keeps nothing) before
 * child_init or without shared memory. */
kmen_memo *kmen_session_memo(void);

#endif
