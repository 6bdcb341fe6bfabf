# SPDX-License-Identifier: GPL-2.0-or-later
"""The core's login sequence (core/login.c) without httpd: t/unit/login_test, a libcheck
suite, against a throwaway PostgreSQL with sql/ applied. Its outcomes: a login (the client
and the session made, every row of it in one transaction, nothing cached before the
adapter hands the session out), a LoA below the location's, an unknown or consumed request
and a replayed assertion refused with no client or session written, NIA's AuthnFailed
inside the assertion, and a database that is down."""

import os
import subprocess

import pytest

from t.lib import REPO
from t.lib.pg import Postgres

LOGIN_TEST = REPO / "t" / "unit" / "login_test"


@pytest.fixture(scope="module")
def pg():
    cluster = Postgres()
    try:
        cluster.setup()
        yield cluster
    finally:
        cluster.cleanup()


def test_login_sequence_outcomes_against_postgresql(pg):
    subprocess.run(["make", "-s", "-C", str(REPO), "t/unit/login_test"], check=True)
    env = dict(os.environ, KMEN_TEST_PG=pg.conninfo(), KMEN_TEST_PG_ADMIN=pg.conninfo("postgres"))
    run = subprocess.run([LOGIN_TEST], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Checks: 6, Failures: 0, Errors: 0" in run.stdout, run.stdout
