/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lasso's Response pipeline, for the differential tests only. */
#ifndef KMEN_LASSO_REFERENCE_H
#define KMEN_LASSO_REFERENCE_H

#include "saml_private.h"

/* What kmen_saml_verify_response decided before it verified signatures with
 * xmlsec itself: the same checks, with lasso verifying both signatures. */
kmen_response_status kmen_lasso_verify_response(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                                const kmen_response_expect *expect,
                                                kmen_assertion *out, const char **reason);

#endif
