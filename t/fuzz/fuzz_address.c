/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_address_parse and kmen_address_from_base64 (core/address.c) on
 * any bytes: the decoded value of a CurrentAddress or tradresaid attribute,
 * and that value as the attribute carries it (base64).
 *
 * Invariants: no crash, leak or read past the input (ASan); a fragment with a
 * NUL byte is refused; every part found is non-empty, without blanks at either
 * end, and as long as the input at most (it is text of the input: no entity
 * of the fragment's own can expand it); the parts an earlier read filled stay
 * as they were. */
#include "fuzz.h"

#include <libxml/parser.h>

#include "fuzz_apr.h"

#include "address.h"

static void check_part(const char *part, size_t size)
{
    if (!part)
        return;
    size_t len = strlen(part);
    INVARIANT(len > 0, "an empty part");
    INVARIANT(len <= size, "a part of %zu bytes from %zu input bytes", len, size);
    INVARIANT(!strchr(" \t\r\n", part[0]) && !strchr(" \t\r\n", part[len - 1]),
              "untrimmed part [%s]", part);
}

static void check_address(const kmen_address *a, size_t size)
{
    const char *const all[] = {a->street, a->number, a->postcode, a->town, a->area, a->ruian_id};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        check_part(all[i], size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_apr_root());
    kmen_address a = {0};
    int ok = kmen_address_parse(p, (const char *)data, size, &a);
    INVARIANT(!ok || !memchr(data, '\0', size), "a fragment with a NUL byte was read");
    check_address(&a, size);
    /* a second read leaves what the first found */
    kmen_address before = a;
    char *b64 = fuzz_cstr(data, size);
    kmen_address_from_base64(p, b64, &a);
    INVARIANT(!before.street || a.street == before.street, "street overwritten");
    INVARIANT(!before.ruian_id || a.ruian_id == before.ruian_id, "RUIAN id overwritten");
    check_address(&a, size);
    free(b64);
    apr_pool_destroy(p);
    return 0;
}
