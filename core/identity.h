/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA/eIDAS attributes -> the person as mod_kmen knows them. */
#ifndef KMEN_IDENTITY_H
#define KMEN_IDENTITY_H

#include <stddef.h>
#include "apr_pools.h"
#include "apr_tables.h"

/* Levels of assurance, ordered: a larger value is a stronger login. */
typedef enum {
    KMEN_LOA_NONE = 0,
    KMEN_LOA_LOW = 1,
    KMEN_LOA_SUBSTANTIAL = 2,
    KMEN_LOA_HIGH = 3
} kmen_loa;

typedef enum { KMEN_ORIGIN_NIA = 0, KMEN_ORIGIN_EIDAS } kmen_origin;

#define KMEN_EIDAS_NP "http://eidas.europa.eu/attributes/naturalperson/"
#define KMEN_STORK "http://www.stork.gov.eu/1.0/"
#define KMEN_MORIS "http://schemas.eidentita.cz/moris/2016/identity/claims/"
#define KMEN_ATTR_STATUSCODE "urn:oasis:names:tc:SAML:2.0:protocol/statuscode"

/* One SAML attribute value as released by the IdP. */
typedef struct {
    const char *name;
    const char *value;
} kmen_attr;

typedef struct {
    /* PersonIdentifier: the BSI for NIA citizens, the eIDAS pseudonym for
     * foreigners. Secret: never logged, never sent to the backend. */
    const char *pseudonym;
    kmen_origin origin;
    const char *country; /* sending country: first segment of the pseudonym */
    kmen_loa loa;
    const char *auth_instant;
    const char *given_name;
    const char *family_name;
    const char *birth_date;
    const char *birth_place;
    const char *address;
    const char *email;
    const char *phone;
    const char *is_age_over;
    const char *age;
    const char *country_of_birth;
    const char *address_id;
    /* decoded from address and address_id (address.c) */
    const char *address_street;
    const char *address_number;
    const char *address_postcode;
    const char *address_town;
    const char *address_area;
    const char *address_ruian_id;
    const char *id_type;
    const char *id_number;
    /* From the register: the public client identifier, how this login found
     * the client (new, linked, returning, pending), the systems it names. */
    const char *client_id;
    const char *client_status;
    const char *systems;
    const char *merged_from; /* identifiers merged into this client since last told */
    int has_evidence;        /* has asked for cross-border evidence */
    /* Attributes released that map to none of the fields above, for
     * Kmen-Attr-<name>: "<name>:<base64 of the value>" lines (kmen_released). */
    const char *released;
} kmen_identity;

/* The string fields a backend may see, one row each: the session record and
 * the header/env injection both walk this table. */
typedef struct {
    const char *key;    /* session record key */
    const char *header; /* header name after the prefix */
    const char *env;    /* environment variable */
    size_t offset;      /* of the const char * in kmen_identity */
} kmen_identity_field;

extern const kmen_identity_field kmen_identity_fields[];

const char *kmen_identity_field_value(const kmen_identity *id, const kmen_identity_field *f);
const char **kmen_identity_field_slot(kmen_identity *id, const kmen_identity_field *f);

kmen_loa kmen_loa_from_uri(const char *uri);
kmen_loa kmen_loa_from_name(const char *name);
const char *kmen_loa_name(kmen_loa loa);
const char *kmen_loa_uri(kmen_loa loa);
const char *kmen_origin_name(kmen_origin origin);

/* The unmapped attributes of id->released: kmen_attr items whose name is the
 * header suffix after "Attr-" (letters, digits, '-'), in release order. */
apr_array_header_t *kmen_released(apr_pool_t *p, const kmen_identity *id);

/* Fills *id from the released attributes. Returns NULL, or why the attribute
 * set is unusable (no PersonIdentifier, malformed PersonIdentifier). *failed
 * is set when NIA reported a failed login inside the assertion. */
const char *kmen_identity_from_attributes(apr_pool_t *p, const apr_array_header_t *attrs,
                                          const char *home_country, kmen_identity *id, int *failed);

#endif
