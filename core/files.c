/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole files read into a pool: keys, certificates, metadata. Apart from
 * config.c so that the SAML code, which re-reads the IdP metadata in the
 * children (saml_reload.c), links without the directive handlers. */
#include "apr_file_info.h"
#include "apr_file_io.h"
#include "apr_strings.h"

#include "files.h"

const char *kmen_file_read(apr_pool_t *p, const char *path, char **data, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t info;
    apr_status_t rv = apr_file_open(&f, path, APR_READ | APR_BINARY, 0, p);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&info, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS) {
        *len = (apr_size_t)info.size;
        *data = apr_pcalloc(p, *len + 1);
        rv = apr_file_read_full(f, *data, *len, NULL);
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        char buf[120];
        return apr_pstrcat(p, "cannot read: ", apr_strerror(rv, buf, sizeof(buf)), NULL);
    }
    return NULL;
}
