/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The KmenRegisterKeyFile: 32 random bytes from which the module and kmenctl
 * derive the same blind-index and sealing keys (core/identifiers.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kmenctl.h"

/* Reads up to cap bytes; the count, or -1 on a read error. A short file and
 * a long one are both refused, so read one byte more than a key holds. */
static ssize_t read_up_to(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int kmenctl_load_keys(const char *path, kmen_id_keys *keys)
{
    unsigned char master[KMEN_HASH_LEN + 1];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        kmenctl_fail("--key-file %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read_up_to(fd, master, sizeof(master));
    int saved = errno;
    close(fd);
    if (n < 0) {
        kmenctl_fail("--key-file %s: %s", path, strerror(saved));
        return -1;
    }
    if (n != KMEN_HASH_LEN) {
        OPENSSL_cleanse(master, sizeof(master));
        kmenctl_fail("--key-file %s: has %s%ld bytes; a register key file holds exactly 32 "
                     "(make one with: head -c 32 /dev/urandom > FILE)",
                     path, n > KMEN_HASH_LEN ? "more than " : "", (long)(n > 32 ? 32 : n));
        return -1;
    }
    kmen_id_keys_derive(master, keys);
    OPENSSL_cleanse(master, sizeof(master));
    return 0;
}
