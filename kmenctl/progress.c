/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A progress bar on stderr, only when stderr is a terminal: logs and pipes
 * get the line reports and the summary, not a hundred carriage returns. */
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 40

/* The bar on screen, so that an error message from anywhere can erase it
 * first (kmenctl_progress_interrupt). */
static kmenctl_progress *active;

void kmenctl_progress_start(kmenctl_progress *pr, const char *label, long long total)
{
    pr->enabled = isatty(STDERR_FILENO) && total > 0;
    pr->label = label;
    pr->total = total;
    pr->shown = -1;
    active = pr->enabled ? pr : NULL;
}

static void draw(const kmenctl_progress *pr, int percent)
{
    char bar[BAR_WIDTH + 1];
    int filled = percent * BAR_WIDTH / 100;
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%%", pr->label, bar, percent);
    fflush(stderr);
}

void kmenctl_progress_update(kmenctl_progress *pr, long long done)
{
    if (!pr->enabled)
        return;
    int percent = done >= pr->total ? 100 : (int)(done * 100 / pr->total);
    if (percent != pr->shown) {
        draw(pr, percent);
        pr->shown = percent;
    }
}

void kmenctl_progress_clear(kmenctl_progress *pr)
{
    if (pr->enabled && pr->shown != -1) {
        fputs("\r\033[K", stderr);
        pr->shown = -1; /* the next update draws the bar again */
    }
}

void kmenctl_progress_status(kmenctl_progress *pr, const char *status)
{
    if (!pr->enabled)
        return;
    fprintf(stderr, "\r\033[K%s", status);
    fflush(stderr);
    pr->shown = -2; /* a status line is up: clear it before the next line */
}

void kmenctl_progress_end(kmenctl_progress *pr)
{
    if (pr->enabled && pr->shown != -1)
        fputs("\r\033[K", stderr);
    pr->enabled = 0;
    if (active == pr)
        active = NULL;
}

void kmenctl_progress_interrupt(void)
{
    if (active)
        kmenctl_progress_clear(active);
}
