/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backend -> module response headers (docs/headers.md): consumed, never reach the browser. */
#ifndef KMEN_BACKEND_FILTER_H
#define KMEN_BACKEND_FILTER_H

/* Registers the output filter and the insert_filter hook that adds it to
 * every response of a server where mod_kmen is set up. */
void kmen_backend_filter_register(void);

#endif
