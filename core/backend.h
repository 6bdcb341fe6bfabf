/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The commands a backend sends mod_kmen in its response headers
 * (docs/headers.md, "Response headers"): read from a list of name and value
 * pairs the server adapter takes out of the response, decided and applied
 * for the authenticated client. The adapter removes the headers, whatever
 * the core made of them, and answers the outcome. */
#ifndef KMEN_BACKEND_H
#define KMEN_BACKEND_H

#include "apr_tables.h"

#include "cache.h"
#include "context.h"
#include "session.h"

/* The response headers that are commands, KmenHeaderPrefix + these names,
 * in the order of kmen_backend_header_names. */
typedef enum {
    KMEN_BACKEND_LINK_SYSTEM = 0,
    KMEN_BACKEND_COMPLETE,
    KMEN_BACKEND_EVIDENCE_REQUEST,
    KMEN_BACKEND_POTENTIAL_CONTACT,
    KMEN_BACKEND_COMMANDS
} kmen_backend_command;

/* The full names under HEADER_PREFIX, indexed by kmen_backend_command. */
const char *const *kmen_backend_header_names(apr_pool_t *p, const char *header_prefix);

typedef enum {
    KMEN_COMPLETE_NONE = 0, /* no Complete header */
    KMEN_COMPLETE_NEW,      /* "new" */
    KMEN_COMPLETE_LINK,     /* "link=<client-id>": complete_link holds the id */
    KMEN_COMPLETE_MALFORMED /* anything else */
} kmen_complete_kind;

/* What the commands say, before anything is decided: of a command sent
 * more than once, Link-System counts every value, the others the first. */
typedef struct {
    /* every system of every Link-System value, each item trimmed */
    apr_array_header_t *systems;
    int links_sent; /* 1 when Link-System was sent, be it empty */
    kmen_complete_kind complete;
    const char *complete_link;
    const char *evidence_request; /* the raw value, or NULL */
    /* Potential-Contact: sent, and its e-mail, phone and name, or NULL each */
    int contact_sent;
    const char *contact[3];
} kmen_backend_commands;

/* The commands among HEADERS (name -> value, names compared without regard
 * to case, as HTTP does); a name under the prefix that is no command is
 * not one. */
void kmen_backend_parse(apr_pool_t *p, const char *header_prefix, const apr_table_t *headers,
                        kmen_backend_commands *out);

/* What the adapter does with the backend's response. */
typedef enum {
    KMEN_BACKEND_PASS = 0,    /* it goes on to the browser */
    KMEN_BACKEND_REFUSED,     /* replaced by the verification-refused page (409) */
    KMEN_BACKEND_UNAVAILABLE, /* replaced by the unavailable page (503) */
    KMEN_BACKEND_REDIRECT     /* replaced by a 303 to location */
} kmen_backend_outcome;

/* The response the commands came with. */
typedef struct {
    const kmen_dir_conf *dir; /* the location's settings */
    const char *uri;          /* its path, decoded: compared with KmenVerifyPath */
    /* the path and query asked for, undecoded: the evidence service returns
     * to this very page, under the SP's base URL */
    const char *request_uri;
    /* the authenticated session, or NULL; a completed verification puts the
     * upgraded one here, for the adapter to keep for the rest of the request */
    const kmen_session *session;
    const char *location; /* REDIRECT: where to */
} kmen_backend_response;

/* Applies CMDS in their order (Complete, Link-System, Potential-Contact,
 * Evidence-Request) through the register, the session CACHE and the
 * evidence store, each one logged; a refused Complete stops there. */
kmen_backend_outcome kmen_backend_apply(kmen_ctx *ctx, const kmen_cache *cache,
                                        const kmen_backend_commands *cmds,
                                        kmen_backend_response *resp);

#endif
