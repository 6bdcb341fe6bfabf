/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA's address attributes (CurrentAddress, tradresaid) -> their parts. */
#ifndef KMEN_ADDRESS_H
#define KMEN_ADDRESS_H

#include "apr_pools.h"

#include "identity.h"

/* The parts an address carries; NULL where it carries none. */
typedef struct {
    const char *street;   /* eidas:Thoroughfare */
    const char *number;   /* eidas:LocatorDesignator ("681/18") */
    const char *postcode; /* eidas:PostCode */
    const char *town;     /* eidas:PostName */
    const char *area;     /* eidas:CvaddressArea */
    const char *ruian_id; /* adresniMistoKod: the address point in RÚIAN */
} kmen_address;

/* Fills in the parts of *out that are still NULL from XML, LEN bytes of an
 * XML fragment as NIA sends it (elements side by side, an "eidas:" prefix it
 * does not declare). Returns 0 when the bytes are not such a fragment. */
int kmen_address_parse(apr_pool_t *p, const char *xml, apr_size_t len, kmen_address *out);

/* As kmen_address_parse, on the attribute's value: base64 of the fragment. */
int kmen_address_from_base64(apr_pool_t *p, const char *b64, kmen_address *out);

/* id's address parts from its CurrentAddress and tradresaid values (the raw
 * values stay as they are). */
void kmen_identity_add_address(apr_pool_t *p, kmen_identity *id);

#endif
