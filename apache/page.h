/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pages a person sees when something goes wrong: Czech first, English below. */
#ifndef KMEN_PAGE_H
#define KMEN_PAGE_H

#include "httpd.h"

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

/* An identifier the person can quote and the operator can find in the log
 * (every line the core logs about the request ends with it), one per request the
 * person made: its subrequests and internal redirects share it. */
const char *kmen_request_id(request_rec *r);

/* The page's status and HTML, for a caller that sends it itself (a filter). */
int kmen_page_status(kmen_page page);
const char *kmen_page_html(request_rec *r, kmen_page page, const char *retry_url);

/* Sends the page and returns DONE, which both handlers and hooks can return;
 * with KmenErrorDocument, returns the page's status for httpd to serve that
 * document instead. retry_url: where "log in again" points, or NULL. */
int kmen_page_send(request_rec *r, kmen_page page, const char *retry_url);

/* Sends a small body of the given type with status 200; returns DONE. */
int kmen_page_send_body(request_rec *r, int status, const char *type, const char *body);

/* 200: the page asking the person to confirm a logout that came from another
 * site, its button posting TOKEN and RETURN_TO to URL; returns DONE. */
int kmen_page_send_logout_confirm(request_rec *r, const char *url, const char *token,
                                  const char *return_to);

/* 303 to url; returns DONE. */
int kmen_page_redirect(request_rec *r, const char *url);

#endif
