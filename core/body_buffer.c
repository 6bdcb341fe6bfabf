/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doubling body buffer (body_buffer.h). */
#include <string.h>

#include "body_buffer.h"

void kmen_body_buffer_init(kmen_body_buffer *b, apr_pool_t *parent, apr_size_t first,
                           apr_size_t limit)
{
    static char empty[1]; /* never written: the first byte asks for a buffer */
    memset(b, 0, sizeof(*b));
    b->data = empty;
    b->parent = parent;
    b->first = first ? first : 1;
    b->limit = limit;
}

/* Room for WANT bytes and the NUL, in a buffer twice the old one or more,
 * but no larger than a body one byte over the limit needs. */
static void grow(kmen_body_buffer *b, apr_size_t want)
{
    apr_size_t cap = b->cap ? b->cap * 2 : b->first;
    apr_pool_t *pool;
    while (cap < want + 1)
        cap *= 2;
    if (cap > b->limit + 2 && want + 1 <= b->limit + 2)
        cap = b->limit + 2;
    apr_pool_create(&pool, b->parent);
    char *data = apr_palloc(pool, cap);
    if (b->len)
        memcpy(data, b->data, b->len);
    if (b->pool)
        apr_pool_destroy(b->pool);
    b->pool = pool;
    b->data = data;
    b->cap = cap;
}

int kmen_body_buffer_append(kmen_body_buffer *b, const char *chunk, apr_size_t n)
{
    if (n > b->limit - b->len)
        return -1;
    if (b->len + n + 1 > b->cap)
        grow(b, b->len + n);
    memcpy(b->data + b->len, chunk, n);
    kmen_body_buffer_filled(b, n);
    return 0;
}

char *kmen_body_buffer_room(kmen_body_buffer *b, apr_size_t *room)
{
    if (b->len + 1 >= b->cap)
        grow(b, b->len + 1);
    /* one byte over the limit at most, and the NUL after it */
    apr_size_t most = b->limit + 1 - b->len;
    *room = b->cap - 1 - b->len < most ? b->cap - 1 - b->len : most;
    return b->data + b->len;
}

void kmen_body_buffer_filled(kmen_body_buffer *b, apr_size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}
