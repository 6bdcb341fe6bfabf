/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmen_header_encode and kmen_header_is_spoofable (core/headers_encode.c).
 *
 * Input: one byte choosing the encoding, then the value (up to a NUL). Invariants:
 * percent: only printable ASCII 0x21..0x7e, every '%' starts %XX with upper-case
 *   hex, and decoding gives the value back byte for byte;
 * raw: no byte below 0x20 and no 0x7f (nothing can split or fold a header), and
 *   the other bytes are the value's, in order;
 * base64url: only [A-Za-z0-9_-], length ceil(n/3)*4 minus padding, decodes back.
 * In every encoding: no CR, LF or NUL inside the output's length.
 * Spoofing: a header name is spoofable exactly when its first strlen(prefix)
 * bytes equal the prefix after folding case and '_' to '-'. */
#include "fuzz.h"

#include "fuzz_apr.h"

#include "conf.h"
#include "headers_encode.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void check_percent(const char *v, const char *out)
{
    size_t vi = 0;
    for (size_t i = 0; out[i]; i++) {
        unsigned char c = (unsigned char)out[i];
        INVARIANT(c > 0x20 && c < 0x7f, "percent output byte 0x%02x at %zu", c, i);
        int byte = c;
        if (c == '%') {
            int hi = hexval((unsigned char)out[i + 1]);
            int lo = hi < 0 ? -1 : hexval((unsigned char)out[i + 2]);
            INVARIANT(hi >= 0 && lo >= 0, "'%%' not followed by two upper-case hex digits at %zu",
                      i);
            byte = hi << 4 | lo;
            i += 2;
        }
        INVARIANT((unsigned char)v[vi] == byte,
                  "percent output does not decode to the value at %zu", vi);
        vi++;
    }
    INVARIANT(v[vi] == '\0', "percent output decodes to %zu of %zu bytes", vi, strlen(v));
}

static void check_raw(const char *v, const char *out)
{
    size_t vi = 0;
    for (size_t i = 0; out[i]; i++) {
        unsigned char c = (unsigned char)out[i];
        INVARIANT(c >= 0x20 && c != 0x7f, "raw output keeps control byte 0x%02x at %zu", c, i);
        while (v[vi] && v[vi] != out[i])
            vi++;
        INVARIANT(v[vi] == out[i], "raw output byte 0x%02x at %zu is not the value's", c, i);
        vi++;
    }
}

static int b64val(int c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *p = c ? strchr(a, c) : NULL;
    return p ? (int)(p - a) : -1;
}

static void check_base64url(const char *v, const char *out)
{
    size_t n = strlen(v), m = strlen(out);
    INVARIANT(m == (n * 4 + 2) / 3, "base64url of %zu bytes is %zu characters", n, m);
    unsigned long acc = 0;
    int bits = 0;
    size_t vi = 0;
    for (size_t i = 0; i < m; i++) {
        int d = b64val((unsigned char)out[i]);
        INVARIANT(d >= 0, "base64url output byte 0x%02x at %zu", (unsigned char)out[i], i);
        acc = acc << 6 | (unsigned long)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            INVARIANT(vi < n && (unsigned char)v[vi] == ((acc >> bits) & 0xff),
                      "base64url does not decode to the value at %zu", vi);
            vi++;
        }
    }
    INVARIANT(vi == n, "base64url decodes to %zu of %zu bytes", vi, n);
}

static int fold(int c)
{
    return c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static void check_spoofable(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    int expect = strlen(name) >= pl;
    for (size_t i = 0; expect && i < pl; i++)
        expect = fold((unsigned char)name[i]) == fold((unsigned char)prefix[i]);
    INVARIANT(kmen_header_is_spoofable(name, prefix) == expect,
              "kmen_header_is_spoofable(\"%.60s\", \"%s\") != %d", name, prefix, expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 3;
    char *v = fuzz_cstr(data + 1, size - 1);
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_apr_root());
    static const int encodings[] = {KMEN_ENCODING_PERCENT, KMEN_ENCODING_RAW,
                                    KMEN_ENCODING_BASE64URL};
    const char *out = kmen_header_encode(p, v, encodings[which]);
    INVARIANT(out != NULL, "no output");
    INVARIANT(!strpbrk(out, "\r\n"), "CR or LF in the encoded header value");
    if (which == 0)
        check_percent(v, out);
    else if (which == 1)
        check_raw(v, out);
    else
        check_base64url(v, out);
    check_spoofable(v, "Kmen-");
    check_spoofable(v, "X_Portal-");
    check_spoofable(v, "");
    apr_pool_destroy(p);
    free(v);
    return 0;
}
