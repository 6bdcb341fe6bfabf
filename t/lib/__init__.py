# SPDX-License-Identifier: GPL-2.0-or-later
"""Integration-test harness of mod_kmen: keys, PostgreSQL, httpd, the whole stack, login flow."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"  # Debian's: the one with python3-lxml, -psycopg2, -lasso
# The module's C sources: the server-free core, then httpd's adapter.
SOURCE_DIRS = (REPO / "core", REPO / "apache")


def source(name):
    """The path of the module's C file NAME (identity.c, headers.c, ...), wherever it lives."""
    found = [d / name for d in SOURCE_DIRS if (d / name).exists()]
    assert len(found) == 1, f"{name}: {found or 'in neither core/ nor apache/'}"
    return found[0]


def sources(pattern="*.c"):
    """Every module C file matching PATTERN, core/ then apache/."""
    return [f for d in SOURCE_DIRS for f in sorted(d.glob(pattern))]


def poll(fn, timeout=10.0, every=0.2):
    """Call fn() until it returns something true or TIMEOUT seconds pass; its last value."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
