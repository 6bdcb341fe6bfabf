/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_identity_from_attributes (core/identity.c) on attribute sets built
 * from the input.
 *
 * Input: byte 0 picks the home country ("CZ", "cz", "SK" or the next two input
 * bytes); then lines separated by '\n', each one attribute: its first byte
 * picks a name from NAMES (the ones NIA and eIDAS release, the in-assertion
 * status code, a few near misses), or, past the table, the line is NAME=VALUE.
 *
 * Invariants: *failed is set exactly when some status-code attribute is not
 * Success, and then the answer is NULL; two PersonIdentifiers are refused; an
 * accepted identity (NULL answer, not failed) has a PersonIdentifier that is one of the released
 * values, of the form CC/CC/rest in printable ASCII only, its country is CC, and its origin is NIA
 * exactly when CC is the home country (any case). Every mapped member points at a released value.
 * What goes out as Kmen-Attr-* is bounded, has header-safe names, and names no identifier nor holds
 * the PersonIdentifier. */
#include "fuzz.h"

#include <strings.h>

#include "fuzz_apr.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "identity.h"

#define CZ1 "http://schemas.eidentita.cz/moris/2016/identity/claims/"
#define CZ2 "http://schemas.identitaobcana.cz/moris/2016/identity/claims/"
#define SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"

static const char *const NAMES[] = {
    KMEN_EIDAS_NP "PersonIdentifier", KMEN_EIDAS_NP "CurrentGivenName",
    KMEN_EIDAS_NP "CurrentFamilyName", KMEN_EIDAS_NP "DateOfBirth", KMEN_EIDAS_NP "PlaceOfBirth",
    KMEN_EIDAS_NP "CurrentAddress", KMEN_STORK "eMail", KMEN_STORK "isAgeOver",
    KMEN_STORK "countryCodeOfBirth", CZ1 "phonenumber", CZ2 "phonenumber", CZ1 "tradresaid",
    CZ2 "tradresaid", CZ1 "idtype", CZ2 "idtype", CZ1 "idnumber", CZ2 "idnumber",
    KMEN_ATTR_STATUSCODE,
    /* near misses: must map to nothing */
    KMEN_EIDAS_NP "personidentifier", KMEN_EIDAS_NP "PersonIdentifier ", "PersonIdentifier",
    KMEN_ATTR_STATUSCODE "/", ""};
#define NNAMES (sizeof(NAMES) / sizeof(NAMES[0]))

static int released(const apr_array_header_t *attrs, const char *value)
{
    for (int i = 0; i < attrs->nelts; i++)
        if (APR_ARRAY_IDX(attrs, i, kmen_attr).value == value)
            return 1;
    return 0;
}

static int person_identifiers(const apr_array_header_t *attrs)
{
    int n = 0;
    for (int i = 0; i < attrs->nelts; i++)
        n += strcmp(APR_ARRAY_IDX(attrs, i, kmen_attr).name, KMEN_EIDAS_NP "PersonIdentifier") == 0;
    return n;
}

/* Kmen-Attr-*: at most 16, names of letters, digits and '-' (1 to 64 of
 * them) naming no identifier, no value holding the PersonIdentifier's
 * opaque part. */
static void check_released(apr_pool_t *p, const kmen_identity *id)
{
    apr_array_header_t *r = kmen_released(p, id);
    const char *opaque = strrchr(id->pseudonym, '/') + 1;
    INVARIANT(r->nelts <= 16, "%d released attributes", r->nelts);
    for (int i = 0; i < r->nelts; i++) {
        const kmen_attr *a = &APR_ARRAY_IDX(r, i, kmen_attr);
        size_t n = strlen(a->name);
        INVARIANT(n >= 1 && n <= 64 &&
                      strspn(a->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
                                      "NOPQRSTUVWXYZ0123456789-") == n,
                  "released name [%s]", a->name);
        INVARIANT(!strcasestr(a->name, "identifier") && !strcasestr(a->name, "bsi") &&
                      !strcasestr(a->name, "aifo"),
                  "an identifier's name released: %s", a->name);
        INVARIANT(!*opaque || !strstr(a->value, opaque), "the PersonIdentifier released in %s",
                  a->name);
    }
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_apr_root());
    char *s = fuzz_cstr(data + 1, size - 1);
    const char *home;
    switch (data[0] & 3) {
    case 0:
        home = "CZ";
        break;
    case 1:
        home = "cz";
        break;
    case 2:
        home = "SK";
        break;
    default:
        home = apr_pstrndup(p, s, 2);
        break;
    }
    apr_array_header_t *attrs = apr_array_make(p, 8, sizeof(kmen_attr));
    int expect_failed = 0;
    for (char *line = s, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line)
            continue;
        unsigned sel = (unsigned char)line[0];
        kmen_attr *a = apr_array_push(attrs);
        if (sel < NNAMES) {
            a->name = NAMES[sel];
            a->value = line + 1;
        } else {
            char *eq = strchr(line + 1, '=');
            a->name = line + 1;
            a->value = eq ? eq + 1 : "";
            if (eq)
                *eq = '\0';
        }
        if (strcmp(a->name, KMEN_ATTR_STATUSCODE) == 0 && strcmp(a->value, SUCCESS) != 0)
            expect_failed = 1;
    }
    kmen_identity id;
    memset(&id, 0, sizeof(id));
    int failed = -1;
    const char *why = kmen_identity_from_attributes(p, attrs, home, &id, &failed);
    INVARIANT(failed == expect_failed, "failed=%d, expected %d", failed, expect_failed);
    INVARIANT(failed || person_identifiers(attrs) < 2 || why,
              "accepted an identity with two PersonIdentifiers");
    if (failed)
        INVARIANT(why == NULL, "failed login with a reason as well");
    if (!why && !failed) {
        const char *pi = id.pseudonym;
        INVARIANT(pi && released(attrs, pi),
                  "accepted identity without a released PersonIdentifier");
        size_t n = strlen(pi);
        INVARIANT(n >= 7 && is_alpha(pi[0]) && is_alpha(pi[1]) && pi[2] == '/' && is_alpha(pi[3]) &&
                      is_alpha(pi[4]) && pi[5] == '/',
                  "accepted PersonIdentifier not CC/CC/...: %.60s", pi);
        for (size_t i = 0; i < n; i++)
            INVARIANT(pi[i] > 0x20 && pi[i] < 0x7f, "PersonIdentifier byte 0x%02x at %zu",
                      (unsigned char)pi[i], i);
        INVARIANT(id.country && strlen(id.country) == 2 && strncmp(id.country, pi, 2) == 0,
                  "country is not the PersonIdentifier's first part");
        int home_match = strlen(home) == 2 && strcasecmp(id.country, home) == 0;
        INVARIANT((id.origin == KMEN_ORIGIN_NIA) == home_match, "origin %d for country %s, home %s",
                  id.origin, id.country, home);
        check_released(p, &id);
    }
    const char *const *members[] = {&id.given_name,  &id.family_name, &id.birth_date,
                                    &id.birth_place, &id.address,     &id.email,
                                    &id.phone,       &id.is_age_over, &id.country_of_birth,
                                    &id.address_id,  &id.id_type,     &id.id_number};
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        INVARIANT(*members[i] == NULL || released(attrs, *members[i]),
                  "member %zu points at no released value", i);
    apr_pool_destroy(p);
    free(s);
    return 0;
}
