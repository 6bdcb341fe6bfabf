/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A body read in chunks of unknown number (an HTTP client's answer, a
 * chunked request body) into one buffer that doubles: each chunk is copied
 * once more at most, not with all the ones before it every time. */
#ifndef KMEN_BODY_BUFFER_H
#define KMEN_BODY_BUFFER_H

#include "apr_pools.h"

typedef struct {
    apr_pool_t *parent;
    apr_pool_t *pool; /* holds data alone: growing gives the smaller copy back */
    char *data;       /* NUL-terminated; "" before anything is in it */
    apr_size_t len, cap;
    apr_size_t first; /* the first buffer's size */
    apr_size_t limit; /* the most bytes it holds */
} kmen_body_buffer;

/* Empty, nothing allocated yet; in PARENT, FIRST bytes at first. */
void kmen_body_buffer_init(kmen_body_buffer *b, apr_pool_t *parent, apr_size_t first,
                           apr_size_t limit);

/* Appends N bytes of CHUNK; -1, nothing appended, when the body would pass
 * the limit. */
int kmen_body_buffer_append(kmen_body_buffer *b, const char *chunk, apr_size_t n);

/* Where a reader that fills the buffer in place writes next, and *room how
 * many bytes at most (at least 1 while len <= limit): the buffer holds up to
 * limit + 1 bytes, so that a body over the limit shows as len > limit. Then
 * kmen_body_buffer_filled with what it wrote. */
char *kmen_body_buffer_room(kmen_body_buffer *b, apr_size_t *room);
void kmen_body_buffer_filled(kmen_body_buffer *b, apr_size_t n);

#endif
