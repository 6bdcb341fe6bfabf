/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small files read whole: migrations and notification files. */
#include "apr_file_io.h"
#include "apr_strings.h"

#include "kmenctl.h"
#include "validate.h"

void kmenctl_hint_header(const char *line, size_t len)
{
    const char *hint = kmenctl_header_hint(line, len);
    if (hint)
        fprintf(stderr, "kmenctl: hint: %s\n", hint);
}

char *kmenctl_read_file(apr_pool_t *p, const char *path, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t info;
    char err[256];
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&info, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS) {
        kmenctl_fail("%s: %s", path, apr_strerror(rv, err, sizeof(err)));
        return NULL;
    }
    char *buf = apr_palloc(p, (apr_size_t)info.size + 1);
    apr_size_t got = 0;
    rv = apr_file_read_full(f, buf, (apr_size_t)info.size, &got);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !(APR_STATUS_IS_EOF(rv) && info.size == 0)) {
        kmenctl_fail("%s: %s", path, apr_strerror(rv, err, sizeof(err)));
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}
