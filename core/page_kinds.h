/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pages a person sees when something goes wrong, on either server: each
 * one's status, the name a portal's own error page learns it by
 * (KmenErrorDocument), and its Czech and English words. */
#ifndef KMEN_PAGE_KINDS_H
#define KMEN_PAGE_KINDS_H

#include "apr_pools.h"

typedef enum {
    KMEN_PAGE_BAD_REQUEST = 0,  /* 400: a malformed request to an endpoint */
    KMEN_PAGE_LOGIN_INVALID,    /* 400: invalid/forged/expired/replayed response */
    KMEN_PAGE_LOGIN_FAILED,     /* 401: NIA says failed or cancelled */
    KMEN_PAGE_LOA_TOO_LOW,      /* 403: a stronger login is needed */
    KMEN_PAGE_UNAVAILABLE,      /* 503: database or translation gateway down */
    KMEN_PAGE_NOT_FOUND,        /* 404: no such endpoint */
    KMEN_PAGE_VERIFY_REFUSED,   /* 409: Kmen-Complete could not be carried out */
    KMEN_PAGE_NOT_VERIFIED,     /* 403: a pending foreigner, and no KmenVerifyPath here */
    KMEN_PAGE_TOO_MANY_LOGINS,  /* 429: KmenLoginStartLimit reached by this client address */
    KMEN_PAGE_LOGOUT_CONFIRM,   /* 200: a logout from elsewhere, to be confirmed */
    KMEN_PAGE_LOGIN_NEEDED,     /* 401: no session, and a request a login cannot resume */
    KMEN_PAGE_INTERNAL_ERROR,   /* 500: this server cannot serve AuthType Kmen */
    KMEN_PAGE_LOGOUT_INCOMPLETE /* 502: ended here, but NIA did not confirm the logout */
} kmen_page;

typedef struct {
    int status;
    const char *name; /* REDIRECT_KMEN_ERROR on httpd, $kmen_error on nginx */
    const char *title_cs, *text_cs, *title_en, *text_en;
} kmen_page_text;

const kmen_page_text *kmen_page_of(kmen_page page);

/* PAGE's HTML as either server sends it, in P: its Czech title and text,
 * ACTION (HTML: kmen_page_retry_link's link, a form, or ""), its English
 * title and text, and REQUEST_ID, which the person can quote. */
const char *kmen_page_render(apr_pool_t *p, kmen_page page, const char *action,
                             const char *request_id);

/* The ACTION "log in again", a link to RETRY_URL (kmen_login_path's); ""
 * when RETRY_URL is NULL. */
const char *kmen_page_retry_link(apr_pool_t *p, const char *retry_url);

/* The ACTION of KMEN_PAGE_LOGOUT_CONFIRM: a form whose button posts TOKEN
 * and RETURN_TO to URL (the logout endpoint). */
const char *kmen_page_logout_form(apr_pool_t *p, const char *url, const char *token,
                                  const char *return_to);

#endif
