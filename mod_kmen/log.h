/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mod_kmen's error-log lines: the tag every line starts with. */
#ifndef KMEN_LOG_H
#define KMEN_LOG_H

/* KMEN_LOGNO(0601) -> "KMEN0601: ", mod_kmen's own namespace of tags. The
 * AH numbers of APLOGNO belong to httpd's own modules: httpd hands them out
 * to its next messages, which would then share a tag with mod_kmen's. The
 * number is only stringized, so 0690 need not be an octal constant. */
#define KMEN_LOGNO(n) "KMEN" #n ": "

#endif
