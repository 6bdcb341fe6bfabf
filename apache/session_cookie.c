/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session behind its cookie on httpd: the cookie read and written here,
 * the session opened, made and ended by the core (core/session.c) over the
 * session cache (socache.c), and an opened one kept a moment in the child
 * (core/session_kept.c, over socache.c's memo). */
#include "httpd.h"
#include "apr_strings.h"

#include "config.h"
#include "cookie.h"
#include "request.h"
#include "session_cookie.h"
#include "socache.h"

const char *kmen_cookie_get(request_rec *r, const char *name)
{
    return kmen_cookie_value(kmen_request_ctx(r), apr_table_get(r->headers_in, "Cookie"), name);
}

void kmen_cookie_set(request_rec *r, const char *name, const char *value, int max_age,
                     int cross_site)
{
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  kmen_cookie_header(r->pool, kmen_server_conf_get(r->server), name, value, max_age,
                                     cross_site));
}

const char *kmen_session_cookie(request_rec *r)
{
    return kmen_cookie_get(r, kmen_server_conf_get(r->server)->cookie_name);
}

kmen_store_status kmen_session_load(request_rec *r, const kmen_session **out)
{
    return kmen_session_open_kept(kmen_request_ctx(r), kmen_session_cache(), kmen_session_memo(),
                                  kmen_session_cookie(r), out);
}

void kmen_session_hand_out(request_rec *r, const kmen_new_session *session)
{
    kmen_session_issue(kmen_request_ctx(r), kmen_session_cache(), session);
    kmen_cookie_set(r, kmen_server_conf_get(r->server)->cookie_name, session->cookie, 0, 0);
}

void kmen_session_cookie_clear(request_rec *r)
{
    kmen_cookie_set(r, kmen_server_conf_get(r->server)->cookie_name, "", -1, 0);
}
