/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a protected location asks of a session beyond being one at its LoA,
 * on every server: that a foreigner be verified first (KmenEidasPolicy
 * verify, KmenVerifyPath), and the words of httpd's Require kmen-origin and
 * kmen-status, which nginx writes kmen_require origin and kmen_require
 * status. The adapters answer: httpd's check_authn and authz providers
 * (apache/auth.c), nginx's access phase (nginx/access.c). */
#ifndef KMEN_AUTHZ_H
#define KMEN_AUTHZ_H

#include "conf.h"
#include "context.h"
#include "identity.h"

typedef enum {
    KMEN_PENDING_PASS = 0, /* at KmenVerifyPath: the request goes on */
    KMEN_PENDING_REFUSED,  /* the not-verified page (403); logged */
    KMEN_PENDING_REDIRECT  /* 303 to *location, KmenVerifyPath?ReturnTo=... */
} kmen_pending_outcome;

/* Where a foreigner not verified yet goes from URI (the decoded path) of a
 * location whose settings are DIR and whose policy is verify: on at its
 * KmenVerifyPath (the backend's verification page), else sent there to
 * come back to RETURN_TO (a local path) when CAN_REDIRECT (a GET of the
 * request itself: anything else would be lost on the way), else refused.
 * METHOD: the request's, for the log. */
kmen_pending_outcome kmen_pending_route(kmen_ctx *ctx, const kmen_dir_conf *dir, const char *uri,
                                        const char *method, int can_redirect, const char *return_to,
                                        const char **location);

/* What a requirement looks at: the login's origin (nia, eidas) or its
 * client's status (new, linked, returning, pending). */
typedef enum { KMEN_REQUIRE_ORIGIN = 0, KMEN_REQUIRE_STATUS, KMEN_REQUIRE_KINDS } kmen_require_kind;

/* The kind's name (origin, status: httpd's kmen-origin, nginx's
 * kmen_require origin), and KIND by NAME (-1: none). */
const char *kmen_require_name(kmen_require_kind kind);
int kmen_require_kind_of(const char *name);

/* NULL when every white-space separated word of WORDS is one KIND takes
 * (case aside), else what it takes: "nia and/or eidas". */
const char *kmen_require_words_check(apr_pool_t *p, kmen_require_kind kind, const char *words);

/* 1 when ID's origin or status (KIND) is one of WORDS (case aside). */
int kmen_require_met(apr_pool_t *p, kmen_require_kind kind, const char *words,
                     const kmen_identity *id);

#endif
