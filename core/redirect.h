/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where a browser may be sent back to after login or logout. */
#ifndef KMEN_REDIRECT_H
#define KMEN_REDIRECT_H

/* The longest ReturnTo kept: a login request row holds it until the login
 * completes or expires, so every byte is multiplied by anonymous login starts. */
#define KMEN_RETURN_TO_MAX 1024

/* A local path only: starts with one '/', no "//", no '\', no control or
 * non-ASCII bytes, no "." or ".." segment (also as %2e), at most
 * KMEN_RETURN_TO_MAX bytes. Takes the decoded value. Browsers drop tabs and newlines and read '\'
 * as '/', so "/\t/evil" or "/\evil" would otherwise leave the host. */
int kmen_return_to_is_local(const char *path);

/* Is URI the path PATH or below it, by whole segments? (PATH NULL: no) */
int kmen_path_is_under(const char *uri, const char *path);

#endif
