/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pages a person sees when something goes wrong: Czech first, English below. */
#ifndef KMEN_PAGE_H
#define KMEN_PAGE_H

#include "httpd.h"

#include "page_kinds.h"

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
