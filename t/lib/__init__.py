# SPDX-License-Identifier: GPL-2.0-or-later
"""Integration-test harness of mod_kmen: keys, PostgreSQL, httpd, the whole stack, login flow."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"  # Debian's: the one with python3-lxml, -psycopg2, -lasso


def poll(fn, timeout=10.0, every=0.2):
    """Call fn() until it returns something true or TIMEOUT seconds pass; its last value."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
