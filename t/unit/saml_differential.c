/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Each SAMLResponse given (one file per Response: the form field's value)
 * verified by the module (kmen_saml_verify_response, xmlsec with keys loaded
 * once) and by lasso's old pipeline (lasso_reference.c), with the clock now
 * and the outstanding request the one its InResponseTo names, as the ACS
 * finds it by the browser's state cookie. One line per Response: its
 * verdict by each, and both reasons (never the NameID or attribute values).
 * Exit status 1 on any disagreement, 2 if the SP cannot be set up.
 *
 *   saml_differential SP_KEY SP_CERT IDP_METADATA ENTITY_ID ACS_URL FILE... */
#include <stdio.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "conf.h"
#include "files.h"
#include "lasso_reference.h"

static const char *const verdicts[] = {"accepted", "refused", "failed"};

static const char *read_or_die(apr_pool_t *p, const char *path)
{
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = kmen_file_read(p, path, &data, &len);
    if (err) {
        fprintf(stderr, "%s: %s\n", path, err);
        exit(2);
    }
    return data;
}

static kmen_sp *sp_from(apr_pool_t *p, char **argv)
{
    kmen_sp_params params = {.entity_id = argv[4],
                             .acs_url = argv[5],
                             .slo_url = apr_pstrcat(p, argv[4], "kmen/slo", NULL),
                             .keys = {{read_or_die(p, argv[1]), argv[1], read_or_die(p, argv[2])}},
                             .key_count = 1,
                             .sp_type = "public",
                             .idp_metadata = read_or_die(p, argv[3]),
                             .idp_metadata_file = argv[3],
                             .nameid_policy = KMEN_NAMEID_PERSISTENT};
    kmen_sp *sp = NULL;
    kmen_sp_input culprit;
    const char *err = kmen_sp_create(p, &params, &sp, &culprit);
    if (!err)
        err = kmen_sp_child_init(sp, p, 2);
    if (err) {
        fprintf(stderr, "SP: %s\n", err);
        exit(2);
    }
    return sp;
}

/* Both verdicts on the Response in PATH; 1 if they differ. */
static int compare(kmen_sp *sp, apr_pool_t *parent, const char *path)
{
    apr_pool_t *p;
    apr_pool_create(&p, parent);
    const char *b64 = read_or_die(p, path), *request_id = NULL, *why_new = NULL, *why_old = NULL;
    kmen_saml_response_in_response_to(p, b64, &request_id);
    kmen_response_expect expect = {apr_time_now(), apr_time_from_sec(60), request_id};
    kmen_assertion a;
    kmen_response_status now = kmen_saml_verify_response(sp, p, b64, &expect, &a, &why_new);
    kmen_response_status before = kmen_lasso_verify_response(sp, p, b64, &expect, &a, &why_old);
    printf("%s\t%s\t%s\t%s | %s\n", now == before ? "same" : "DIFFERENT", verdicts[now],
           verdicts[before], why_new ? why_new : "-", why_old ? why_old : "-");
    apr_pool_destroy(p);
    return now != before;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    if (argc < 6) {
        fprintf(stderr, "usage: %s SP_KEY SP_CERT IDP_METADATA ENTITY_ID ACS_URL FILE...\n",
                argv[0]);
        return 2;
    }
    apr_app_initialize(&argc, (const char *const **)&argv, NULL);
    apr_pool_create(&p, NULL);
    kmen_saml_library_init(NULL);
    kmen_sp *sp = sp_from(p, argv);
    int differ = 0;
    for (int i = 6; i < argc; i++) {
        printf("%s\t", argv[i]);
        differ += compare(sp, p, argv[i]);
    }
    printf("%d Responses, %d verdicts differ\n", argc - 6, differ);
    return differ ? 1 : 0;
}
