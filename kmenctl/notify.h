/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The base-register events, each applied in its own transaction
 * (notify_events.c), for kmenctl notify (a file, notify.c) and kmenctl sync
 * (the gateway's change feed, sync.c). */
#ifndef KMENCTL_NOTIFY_H
#define KMENCTL_NOTIFY_H

#include "gateway.h"
#include "kmenctl.h"

typedef struct {
    PGconn *conn;
    const kmen_id_keys *keys;
    const char *agenda;
    const char *run;    /* random; with the line number, links a line's audit rows */
    apr_pool_t *pool;   /* the current line's, cleared after it */
    long line;          /* notify: the file's line */
    const char *cursor; /* sync: the event's seq, stored with the event; NULL for notify */
    const char *error;  /* the last failed statement's message */
} kmenctl_notify_ctx;

typedef enum {
    KMENCTL_NOTIFY_APPLIED,
    KMENCTL_NOTIFY_SKIPPED, /* *why says why; the line changed nothing */
    KMENCTL_NOTIFY_FATAL    /* the connection is gone: stop */
} kmenctl_notify_outcome;

kmenctl_notify_outcome kmenctl_notify_change(kmenctl_notify_ctx *n, const char *old_aifo,
                                             const char *new_aifo, const char **why);
kmenctl_notify_outcome kmenctl_notify_merge(kmenctl_notify_ctx *n, const char *surviving,
                                            const char *merged, const char **why);
kmenctl_notify_outcome kmenctl_notify_death(kmenctl_notify_ctx *n, const char *aifo,
                                            const char *date, const char **why);
/* A name or birth-date correction: the members of data that are not NULL. */
kmenctl_notify_outcome kmenctl_notify_data(kmenctl_notify_ctx *n, const char *aifo,
                                           const kmenctl_person *data, const char **why);
/* sync: stores n->cursor as the agenda's feed cursor, in the open transaction
 * if any; 0 (or 1) done, -1 on failure (n->error). */
int kmenctl_sync_cursor_store(kmenctl_notify_ctx *n);

#endif
