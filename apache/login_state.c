/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The login-state cookies on httpd; their names and attributes are the
 * core's (core/cookie.h). */
#include "apr_strings.h"

#include "config.h"
#include "cookie.h"
#include "login_state.h"
#include "request.h"
#include "session_cookie.h"

void kmen_login_state_set(request_rec *r, const char *request_id, const char *state)
{
    const kmen_server_conf *c = kmen_server_conf_get(r->server);
    apr_array_header_t *drop =
        kmen_login_state_cookies_to_drop(r->pool, c, apr_table_get(r->headers_in, "Cookie"));
    for (int i = 0; i < drop->nelts; i++)
        kmen_cookie_set(r, APR_ARRAY_IDX(drop, i, char *), "", -1, 1);
    kmen_cookie_set(r, kmen_login_state_cookie_name(r->pool, c, request_id),
                    kmen_session_login_state(kmen_request_ctx(r), state, kmen_session_cookie(r)),
                    KMEN_LOGIN_STATE_TTL, 1);
}

const char *kmen_login_state_take(void *request, const char *name)
{
    request_rec *r = request;
    const char *cookie = kmen_cookie_get(r, name);
    if (cookie)
        kmen_cookie_set(r, name, "", -1, 1);
    return cookie;
}
