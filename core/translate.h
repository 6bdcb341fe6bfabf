/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The translation gateway (docs/gateway.md): BSI -> AIFO and AIFO -> AIFO over HTTPS
 * with a client certificate, JSON in and out. */
#ifndef KMEN_TRANSLATE_H
#define KMEN_TRANSLATE_H

#include "context.h"

typedef enum {
    KMEN_TRANSLATE_OK = 0,
    KMEN_TRANSLATE_NOT_FOUND, /* the gateway answered 404 */
    KMEN_TRANSLATE_FAILED     /* anything else, or nothing within the timeout */
} kmen_translate_status;

/* This process's calls of the gateway, for the status page. */
typedef struct {
    apr_uint32_t calls, failures, total_ms, max_ms;
} kmen_translate_stats;
void kmen_translate_stats_get(kmen_translate_stats *out);

/* BSI -> AIFO in agenda, under role CR102729: a citizen's first login. */
kmen_translate_status kmen_translate_bsi(kmen_ctx *ctx, const char *bsi, const char *agenda,
                                         const char **aifo);
/* AIFO in one agenda -> the same person's AIFO in another: the register's
 * agenda, or a KmenAgenda location's. */
kmen_translate_status kmen_translate_aifo(kmen_ctx *ctx, const char *aifo, const char *from,
                                          const char *to, const char **out);

#endif
