/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sync: the register follows the base registers through the gateway:
 * subscriptions (subscribe.c), then the change feed (sync.c). */
#ifndef KMENCTL_SYNC_H
#define KMENCTL_SYNC_H

#include "gateway.h"
#include "notify.h"

#define KMENCTL_CURSOR_MAX 256

typedef struct {
    kmenctl_notify_ctx n; /* n.cursor points into cursor while an event applies */
    kmenctl_gateway *gateway;
    apr_pool_t *pool;
    char cursor[KMENCTL_CURSOR_MAX]; /* the feed's cursor as the register keeps it */
    long subscribed, not_known, applied, skipped;
    const char *failure; /* why the run stopped, for the audit row */
} kmenctl_sync_run;

/* Subscribes every unsubscribed AIFO of the agenda; -1 after printing or
 * (s->failure) recording why not. */
int kmenctl_sync_subscribe(kmenctl_sync_run *s);

#endif
