/* SPDX-License-Identifier: GPL-2.0-or-later */
/* For the targets that run APR code: one APR root pool, made on first use, that each input's
 * own pool hangs from (a pool destroyed after every input keeps leaks per input visible). */
#ifndef KMEN_FUZZ_APR_H
#define KMEN_FUZZ_APR_H

#include "apr_general.h"
#include "apr_pools.h"

static inline apr_pool_t *fuzz_apr_root(void)
{
    static apr_pool_t *root;
    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    return root;
}

#endif
