/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SP's inputs read from the files a server's configuration names, and
 * the SP made of them: the same for every server adapter, so that httpd and
 * nginx refuse the same key or metadata with the same words. */
#include <string.h>

#include "sp_setup.h"

/* The SP's key pairs as C names them: the signing pairs, then any
 * encryption pairs, the first of each before its second. */
static int sp_key_pairs(const kmen_server_conf *c, kmen_sp_key_pair *pairs)
{
    const int separate = c->sp_enc_key_file != NULL;
    const struct {
        const char *key_file, *cert_file;
        kmen_sp_key_use use;
    } all[] = {
        {c->sp_key_file, c->sp_cert_file, separate ? KMEN_KEY_SIGNS : KMEN_KEY_SIGNS_AND_DECRYPTS},
        {c->sp_next_key_file, c->sp_next_cert_file,
         separate ? KMEN_KEY_SIGNS : KMEN_KEY_SIGNS_AND_DECRYPTS},
        {c->sp_enc_key_file, c->sp_enc_cert_file, KMEN_KEY_DECRYPTS},
        {c->sp_next_enc_key_file, c->sp_next_enc_cert_file, KMEN_KEY_DECRYPTS}};
    int n = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (!all[i].key_file)
            continue;
        memset(&pairs[n], 0, sizeof(pairs[n]));
        pairs[n].key_file = all[i].key_file;
        pairs[n].cert_file = all[i].cert_file;
        pairs[n++].use = all[i].use;
    }
    return n;
}

/* PROBLEM, about input WHICH (kmen_sp_input) of IN, read from C: a directive
 * given twice names its second occurrence for the second pair. */
static const kmen_conf_culprit *refuse_input(apr_pool_t *p, const kmen_server_conf *c,
                                             const kmen_sp_params *in, kmen_sp_input which,
                                             const char *problem)
{
    if (which == KMEN_SP_IDP_METADATA)
        return kmen_conf_culprit_make(p, KMEN_FIELD_idp_metadata_file, 0, c->idp_metadata_file,
                                      problem);
    int i = KMEN_SP_PAIR_OF(which), cert = KMEN_SP_IS_CERT(which);
    return kmen_conf_culprit_make(p, kmen_sp_pair_field(&in->keys[i], cert),
                                  kmen_sp_pair_is_second(in->keys, i),
                                  cert ? in->keys[i].cert_file : in->keys[i].key_file, problem);
}

/* Reads every input file; NULL, or the refusal of the one that is not read. */
static const kmen_conf_culprit *read_sp_files(apr_pool_t *p, const kmen_server_conf *c,
                                              kmen_sp_params *in)
{
    const char *err = NULL;
    in->key_count = sp_key_pairs(c, in->keys);
    for (int i = 0; i < in->key_count * 2 && !err; i++) {
        kmen_sp_key_pair *pair = &in->keys[KMEN_SP_PAIR_OF(i)];
        err = KMEN_SP_IS_CERT(i) ? kmen_read_text_file(p, pair->cert_file, &pair->cert_pem)
                                 : kmen_read_text_file(p, pair->key_file, &pair->key_pem);
        if (err)
            return refuse_input(p, c, in, i, err);
    }
    err = kmen_read_text_file(p, c->idp_metadata_file, &in->idp_metadata);
    return err ? refuse_input(p, c, in, KMEN_SP_IDP_METADATA, err) : NULL;
}

static const kmen_conf_culprit *read_sp_inputs(apr_pool_t *p, const kmen_server_conf *c,
                                               const char *sp_type, kmen_sp_params *in)
{
    memset(in, 0, sizeof(*in));
    const kmen_conf_culprit *bad = read_sp_files(p, c, in);
    if (bad)
        return bad;
    in->idp_metadata_file = c->idp_metadata_file;
    in->entity_id = c->sp_entity_id;
    in->acs_url = kmen_endpoint_url(p, c, "acs");
    in->slo_url = kmen_endpoint_url(p, c, "slo");
    in->nameid_policy = c->nameid_policy;
    in->sp_type = sp_type;
    in->spelling = c->spelling;
    return NULL;
}

/* KmenIdPMetadataCertificateFile's certificate(s), one of which must have
 * signed the IdP metadata (kmen_sp_create checks it); NULL without one. */
static const kmen_conf_culprit *read_pinned_certificates(apr_pool_t *p, const kmen_server_conf *c,
                                                         kmen_sp_params *in)
{
    in->idp_metadata_cert_pem = NULL;
    if (!c->idp_metadata_cert_file)
        return NULL;
    const char *err = kmen_read_text_file(p, c->idp_metadata_cert_file, &in->idp_metadata_cert_pem);
    if (!err && !strstr(in->idp_metadata_cert_pem, "-----BEGIN CERTIFICATE-----"))
        err = "holds no PEM certificate";
    return err ? kmen_conf_culprit_make(p, KMEN_FIELD_idp_metadata_cert_file, 0,
                                        c->idp_metadata_cert_file, err)
               : NULL;
}

const kmen_conf_culprit *kmen_sp_setup(apr_pool_t *p, const kmen_server_conf *c,
                                       const char *sp_type, kmen_sp **sp)
{
    kmen_sp_params in;
    kmen_sp_input which = KMEN_SP_KEY_OF(0);
    const kmen_conf_culprit *bad;
    if ((bad = read_sp_inputs(p, c, sp_type, &in)) || (bad = read_pinned_certificates(p, c, &in)))
        return bad;
    const char *err = kmen_sp_create(p, &in, sp, &which);
    return err ? refuse_input(p, c, &in, which, err) : NULL;
}
