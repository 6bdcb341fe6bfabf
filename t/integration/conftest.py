# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures: one running site for the whole session, a fresh browser per test."""

import os

import pytest
import requests

from t.hostile import report

from t.lib.httpd import MODULE_SO
from t.lib.stack import Stack


@pytest.fixture(scope="session")
def stack():
    if not MODULE_SO.exists():
        pytest.fail(f"{MODULE_SO} is missing: build the module first (make)", pytrace=False)
    with Stack() as st:
        yield st


@pytest.fixture
def s():
    with requests.Session() as session:
        yield session


@pytest.fixture
def rows(stack):
    """rows("session") -> how many rows kmen.session has now (also authn_request,
    replay, audit)."""
    return stack.count


def pytest_sessionfinish(session):
    """make test-hostile: t/hostile/RESULTS.md from what this session's tests gathered."""
    out = os.environ.get("KMEN_HOSTILE_RESULTS")
    if out:
        report.write(out)
