/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: the three base-register events, each applied in its own
 * transaction (notify_events.c); reading and checking the file is notify.c. */
#ifndef KMENCTL_NOTIFY_H
#define KMENCTL_NOTIFY_H

#include "kmenctl.h"

typedef struct {
    PGconn *conn;
    const kmen_id_keys *keys;
    const char *agenda;
    const char *run;  /* random; with the line number, links a line's audit rows */
    apr_pool_t *pool; /* the current line's, cleared after it */
    long line;
    const char *error; /* the last failed statement's message */
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

#endif
