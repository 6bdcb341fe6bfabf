/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The operators' status page: `SetHandler kmen-status`, as with mod_status,
 * so httpd's own access control (Require ip …) guards it. */
#ifndef KMEN_STATUS_H
#define KMEN_STATUS_H

#include "httpd.h"

#define KMEN_STATUS_HANDLER "kmen-status"

int kmen_status_handler(request_rec *r);

#endif
