/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A login's start (login_start.h). */
#include <string.h>

#include "apr_strings.h"

#include "cookie.h"
#include "crypto.h"
#include "login_start.h"
#include "saml.h"
#include "store_pg.h"

#define LOGIN_START_WINDOW 60 /* seconds kmen_login_start_limit counts over */

int kmen_login_start_limited(kmen_ctx *ctx, const kmen_cache *cache, const char *client,
                             int *retry_after)
{
    unsigned char key[KMEN_HASH_LEN];
    int limit = ctx->conf->login_start_limit;
    if (limit == 0)
        return 0;
    const char *name = apr_pstrcat(ctx->pool, "kmen-login-start ", client, NULL);
    kmen_sha256(name, strlen(name), key);
    int count = kmen_cache_count(ctx, cache, key, LOGIN_START_WINDOW, retry_after);
    if (count <= limit)
        return 0;
    kmen_log(ctx, count == limit + 1 ? KMEN_LOG_WARNING : KMEN_LOG_INFO,
             KMEN_LOGNO(0629) "login start limit of %d a minute reached by client %s: "
                              "its login starts answer 429 for %d s",
             limit, client, *retry_after);
    return 1;
}

/* The outstanding request, and the login state that finds it again. */
static kmen_login_start_status issue_request(kmen_ctx *ctx, const kmen_dir_conf *dir,
                                             const char *return_to, kmen_login_started *out)
{
    unsigned char state_hash[KMEN_HASH_LEN];
    out->state = kmen_random_token(ctx->pool, 32);
    if (!out->state)
        return KMEN_LOGIN_START_UNAVAILABLE;
    kmen_sha256(out->state, strlen(out->state), state_hash);
    return kmen_store_request_issue(ctx, ctx->conf->store, out->request_id, state_hash, return_to,
                                    kmen_dir_min_loa(dir), KMEN_LOGIN_STATE_TTL,
                                    kmen_dir_eidas_accept(dir)) == KMEN_STORE_OK
               ? KMEN_LOGIN_START_OK
               : KMEN_LOGIN_START_UNAVAILABLE;
}

kmen_login_start_status kmen_login_begin(kmen_ctx *ctx, const kmen_dir_conf *dir,
                                         const char *return_to, kmen_login_started *out)
{
    kmen_authn_params params;
    params.min_loa = (kmen_loa)kmen_dir_min_loa(dir);
    params.sp_type = kmen_dir_sp_type(dir);
    params.requested = kmen_dir_requested(dir);
    params.force_authn = kmen_dir_force_authn(dir);
    kmen_ctx *previous = kmen_log_serving(ctx);
    const char *err =
        kmen_saml_authn_request(ctx->conf->sp, ctx->pool, &params, &out->url, &out->request_id);
    kmen_log_serving(previous);
    if (err) {
        kmen_log(ctx, KMEN_LOG_ERR, KMEN_LOGNO(0621) "cannot build the AuthnRequest: %s", err);
        return KMEN_LOGIN_START_ERROR;
    }
    kmen_login_start_status st = issue_request(ctx, dir, return_to, out);
    if (st == KMEN_LOGIN_START_OK)
        kmen_log(ctx, KMEN_LOG_DEBUG, KMEN_LOGNO(0622) "login started, request %s, LoA %s%s",
                 out->request_id, kmen_loa_name(params.min_loa),
                 params.force_authn ? ", ForceAuthn" : "");
    return st;
}
