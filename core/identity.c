/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA/eIDAS attributes -> kmen_identity. */
#include <string.h>
#include <strings.h>

#include "apr_base64.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "identity.h"

#define FIELD(key, header, env, member)                                                            \
    {                                                                                              \
        key, header, env, offsetof(kmen_identity, member)                                          \
    }

/* auth_instant, country and the LoA/origin enums are filled from the assertion
 * itself, not from attributes, but travel the same way. */
const kmen_identity_field kmen_identity_fields[] = {
    FIELD("client_id", "Client-Id", "KMEN_CLIENT_ID", client_id),
    FIELD("client_status", "Client-Status", "KMEN_CLIENT_STATUS", client_status),
    FIELD("systems", "Systems", "KMEN_SYSTEMS", systems),
    FIELD("merged_from", "Client-Id-Merged-From", "KMEN_CLIENT_ID_MERGED_FROM", merged_from),
    FIELD("given", "Given-Name", "KMEN_GIVEN_NAME", given_name),
    FIELD("family", "Family-Name", "KMEN_FAMILY_NAME", family_name),
    FIELD("birth", "Birth-Date", "KMEN_BIRTH_DATE", birth_date),
    FIELD("place", "Birth-Place", "KMEN_BIRTH_PLACE", birth_place),
    FIELD("address", "Address", "KMEN_ADDRESS", address),
    FIELD("address_id", "Address-Id", "KMEN_ADDRESS_ID", address_id),
    FIELD("address_street", "Address-Street", "KMEN_ADDRESS_STREET", address_street),
    FIELD("address_number", "Address-Number", "KMEN_ADDRESS_NUMBER", address_number),
    FIELD("address_postcode", "Address-Postcode", "KMEN_ADDRESS_POSTCODE", address_postcode),
    FIELD("address_town", "Address-Town", "KMEN_ADDRESS_TOWN", address_town),
    FIELD("address_area", "Address-Area", "KMEN_ADDRESS_AREA", address_area),
    FIELD("address_ruian_id", "Address-Ruian-Id", "KMEN_ADDRESS_RUIAN_ID", address_ruian_id),
    FIELD("email", "Email", "KMEN_EMAIL", email),
    FIELD("phone", "Phone", "KMEN_PHONE", phone),
    FIELD("age_over", "Is-Age-Over", "KMEN_IS_AGE_OVER", is_age_over),
    FIELD("age", "Age", "KMEN_AGE", age),
    FIELD("country_of_birth", "Country-Of-Birth", "KMEN_COUNTRY_OF_BIRTH", country_of_birth),
    FIELD("id_type", "Id-Type", "KMEN_ID_TYPE", id_type),
    FIELD("id_number", "Id-Number", "KMEN_ID_NUMBER", id_number),
    FIELD("country", "Country", "KMEN_COUNTRY", country),
    FIELD("auth_instant", "Auth-Instant", "KMEN_AUTH_INSTANT", auth_instant),
    {NULL, NULL, NULL, 0}};

/* Attribute name -> identity member. The Czech claims exist under two
 * namespaces in the wild; both are accepted. */
typedef struct {
    const char *name;
    size_t offset;
} attr_map;

#define CZ1 KMEN_MORIS
#define CZ2 "http://schemas.identitaobcana.cz/moris/2016/identity/claims/"
#define MAP(name, member)                                                                          \
    {                                                                                              \
        name, offsetof(kmen_identity, member)                                                      \
    }

static const attr_map attr_maps[] = {MAP(KMEN_EIDAS_NP "PersonIdentifier", pseudonym),
                                     MAP(KMEN_EIDAS_NP "CurrentGivenName", given_name),
                                     MAP(KMEN_EIDAS_NP "CurrentFamilyName", family_name),
                                     MAP(KMEN_EIDAS_NP "DateOfBirth", birth_date),
                                     MAP(KMEN_EIDAS_NP "PlaceOfBirth", birth_place),
                                     MAP(KMEN_EIDAS_NP "CurrentAddress", address),
                                     MAP(KMEN_STORK "eMail", email),
                                     MAP(KMEN_STORK "isAgeOver", is_age_over),
                                     MAP(KMEN_STORK "age", age),
                                     MAP(KMEN_STORK "countryCodeOfBirth", country_of_birth),
                                     MAP(CZ1 "phonenumber", phone),
                                     MAP(CZ2 "phonenumber", phone),
                                     MAP(CZ1 "tradresaid", address_id),
                                     MAP(CZ2 "tradresaid", address_id),
                                     MAP(CZ1 "idtype", id_type),
                                     MAP(CZ2 "idtype", id_type),
                                     MAP(CZ1 "idnumber", id_number),
                                     MAP(CZ2 "idnumber", id_number),
                                     {NULL, 0}};

static const char *const loa_names[] = {NULL, "low", "substantial", "high"};

const char *kmen_identity_field_value(const kmen_identity *id, const kmen_identity_field *f)
{
    return *(const char *const *)((const char *)id + f->offset);
}

const char **kmen_identity_field_slot(kmen_identity *id, const kmen_identity_field *f)
{
    return (const char **)((char *)id + f->offset);
}

kmen_loa kmen_loa_from_name(const char *name)
{
    for (int i = KMEN_LOA_LOW; name && i <= KMEN_LOA_HIGH; i++) {
        if (strcasecmp(name, loa_names[i]) == 0)
            return (kmen_loa)i;
    }
    return KMEN_LOA_NONE;
}

kmen_loa kmen_loa_from_uri(const char *uri)
{
    static const char prefix[] = "http://eidas.europa.eu/LoA/";
    if (!uri || strncmp(uri, prefix, sizeof(prefix) - 1) != 0)
        return KMEN_LOA_NONE;
    /* The URI is case-sensitive: only the exact eIDAS names count. */
    for (int i = KMEN_LOA_LOW; i <= KMEN_LOA_HIGH; i++) {
        if (strcmp(uri + sizeof(prefix) - 1, loa_names[i]) == 0)
            return (kmen_loa)i;
    }
    return KMEN_LOA_NONE;
}

const char *kmen_loa_name(kmen_loa loa)
{
    return loa >= KMEN_LOA_LOW && loa <= KMEN_LOA_HIGH ? loa_names[loa] : "none";
}

const char *kmen_loa_uri(kmen_loa loa)
{
    static const char *const uris[] = {NULL, "http://eidas.europa.eu/LoA/low",
                                       "http://eidas.europa.eu/LoA/substantial",
                                       "http://eidas.europa.eu/LoA/high"};
    return loa >= KMEN_LOA_LOW && loa <= KMEN_LOA_HIGH ? uris[loa] : NULL;
}

const char *kmen_origin_name(kmen_origin origin)
{
    return origin == KMEN_ORIGIN_EIDAS ? "eidas" : "nia";
}

static int is_failed_status(const char *value)
{
    return value && strcmp(value, "urn:oasis:names:tc:SAML:2.0:status:Success") != 0;
}

/* NULL, or why the attribute cannot be taken: a second PersonIdentifier
 * leaves open which person logged in. */
static const char *map_attribute(kmen_identity *id, const kmen_attr *a, int *failed)
{
    if (strcmp(a->name, KMEN_ATTR_STATUSCODE) == 0) {
        *failed = *failed || is_failed_status(a->value);
        return NULL;
    }
    for (const attr_map *m = attr_maps; m->name; m++) {
        const char **slot = (const char **)((char *)id + m->offset);
        if (strcmp(a->name, m->name) != 0)
            continue;
        if (*slot && slot == &id->pseudonym)
            return "more than one PersonIdentifier";
        *slot = a->value;
        return NULL;
    }
    return NULL;
}

/* PersonIdentifier is "CC/CC/opaque": sending country, receiving country,
 * identifier. The sending country tells a home citizen from a foreigner. */
static const char *parse_person_identifier(apr_pool_t *p, kmen_identity *id,
                                           const char *home_country)
{
    const char *s = id->pseudonym;
    if (!s || !*s)
        return "no PersonIdentifier released";
    const char *slash1 = strchr(s, '/');
    const char *slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
    if (!slash1 || slash1 - s != 2 || !slash2 || slash2 - slash1 != 3 || !slash2[1] ||
        !apr_isalpha(s[0]) || !apr_isalpha(s[1]) || !apr_isalpha(s[3]) || !apr_isalpha(s[4]))
        return "PersonIdentifier is not CC/CC/identifier";
    for (const char *c = s; *c; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
            return "PersonIdentifier holds a character outside printable ASCII";
    }
    id->country = apr_pstrndup(p, s, 2);
    id->origin = strcasecmp(id->country, home_country) == 0 ? KMEN_ORIGIN_NIA : KMEN_ORIGIN_EIDAS;
    return NULL;
}

/* Unmapped attributes pass to backends, bounded: so many, names so long,
 * values so long at most. */
#define MAX_RELEASED 16
#define MAX_RELEASED_NAME 64
#define MAX_RELEASED_VALUE 4096

static int is_mapped(const char *name)
{
    if (strcmp(name, KMEN_ATTR_STATUSCODE) == 0)
        return 1;
    for (const attr_map *m = attr_maps; m->name; m++) {
        if (strcmp(name, m->name) == 0)
            return 1;
    }
    return 0;
}

/* Names of identifiers that must reach no backend (BSI, AIFO, an eIDAS
 * PersonIdentifier under any namespace or case), whatever their value. */
static int is_secret_name(const char *name)
{
    static const char *const secret[] = {"identifier", "bsi", "aifo", NULL};
    for (int i = 0; secret[i]; i++) {
        for (const char *c = name; *c; c++) {
            if (strncasecmp(c, secret[i], strlen(secret[i])) == 0)
                return 1;
        }
    }
    return 0;
}

/* The header suffix: the Name's last URI segment (NIA's FriendlyName),
 * with anything but letters, digits and '-' made '-' (a header token that
 * every CGI spelling maps back to one name); NULL when nothing is left. */
static const char *released_name(apr_pool_t *p, const char *name)
{
    const char *base = name;
    for (const char *c = name; *c; c++) {
        if ((*c == '/' || *c == ':' || *c == '#') && c[1])
            base = c + 1;
    }
    char *out = apr_pstrndup(p, base, MAX_RELEASED_NAME);
    for (char *c = out; *c; c++)
        *c = apr_isalnum(*c) ? *c : '-';
    return *out ? out : NULL;
}

/* A value that holds the person's identifier is not passed on either. */
static int holds_pseudonym(const kmen_identity *id, const char *value)
{
    const char *opaque = id->pseudonym ? strrchr(id->pseudonym, '/') : NULL;
    return opaque && opaque[1] && strstr(value, opaque + 1);
}

static void collect_released(apr_pool_t *p, const apr_array_header_t *attrs, kmen_identity *id)
{
    apr_array_header_t *lines = apr_array_make(p, 4, sizeof(const char *));
    apr_table_t *seen = apr_table_make(p, 4);
    for (int i = 0; i < attrs->nelts && lines->nelts < MAX_RELEASED; i++) {
        const kmen_attr *a = &APR_ARRAY_IDX(attrs, i, kmen_attr);
        const char *name = released_name(p, a->name);
        if (!name || is_mapped(a->name) || is_secret_name(a->name) || apr_table_get(seen, name) ||
            strlen(a->value) > MAX_RELEASED_VALUE || holds_pseudonym(id, a->value))
            continue;
        apr_table_setn(seen, name, "");
        char *b64 = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)strlen(a->value)));
        apr_base64_encode(b64, a->value, (int)strlen(a->value));
        APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(p, name, ":", b64, NULL);
    }
    id->released = lines->nelts ? apr_array_pstrcat(p, lines, '\n') : NULL;
}

apr_array_header_t *kmen_released(apr_pool_t *p, const kmen_identity *id)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(kmen_attr));
    char *state = NULL, *text = apr_pstrdup(p, id->released ? id->released : "");
    for (char *line = apr_strtok(text, "\n", &state); line; line = apr_strtok(NULL, "\n", &state)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *value = apr_palloc(p, (apr_size_t)apr_base64_decode_len(colon + 1) + 1);
        value[apr_base64_decode(value, colon + 1)] = '\0';
        kmen_attr *a = apr_array_push(out);
        a->name = line;
        a->value = value;
    }
    return out;
}

const char *kmen_identity_from_attributes(apr_pool_t *p, const apr_array_header_t *attrs,
                                          const char *home_country, kmen_identity *id, int *failed)
{
    const char *why = NULL;
    *failed = 0;
    /* every attribute is read: NIA's AuthnFailed counts wherever it stands */
    for (int i = 0; i < attrs->nelts; i++) {
        const char *wrong = map_attribute(id, &APR_ARRAY_IDX(attrs, i, kmen_attr), failed);
        why = why ? why : wrong;
    }
    if (*failed)
        return NULL;
    why = why ? why : parse_person_identifier(p, id, home_country);
    if (!why)
        collect_released(p, attrs, id);
    return why;
}
