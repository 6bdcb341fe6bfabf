/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Progress of a long command on a terminal (percentage of bytes read). */
#ifndef KMENCTL_PROGRESS_H
#define KMENCTL_PROGRESS_H

#include <stdio.h>

typedef struct {
    int enabled; /* stderr is a terminal */
    int shown;   /* percentage on screen; -1 none, -2 a status line */
    const char *label;
    long long total;
} kmenctl_progress;

void kmenctl_progress_start(kmenctl_progress *pr, const char *label, long long total);
void kmenctl_progress_update(kmenctl_progress *pr, long long done);
/* Erases the bar so that a message can take the line. */
void kmenctl_progress_clear(kmenctl_progress *pr);
/* Replaces the bar with a line of text (a phase without a percentage). */
void kmenctl_progress_status(kmenctl_progress *pr, const char *status);
void kmenctl_progress_end(kmenctl_progress *pr);
/* Erases whatever bar is on screen: called before any error message. */
void kmenctl_progress_interrupt(void);

#endif
