# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures: one running site for the whole session, a fresh browser per test."""

import os
import time

import pytest
import requests

from t.hostile import crashwatch, report

from t.lib.nginx import NGINX_MODULE_SO, unavailable
from t.lib.portal import SERVERS, Portal
from t.lib.stack import stack_fixture


@pytest.fixture(scope="session")
def stack():
    yield from stack_fixture()


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


@pytest.fixture(scope="module")
def no_crash_in_module(stack):
    """At the end: no httpd child of any node died during the module's tests (the parent
    logs a child's death when it reaps it, up to a second later)."""
    since = crashwatch.log_sizes(stack)
    yield
    time.sleep(1.2)
    found = crashwatch.crashes(stack, since)
    assert not found, "\n".join(found)


@pytest.fixture
def no_crash(stack):
    """After every test: no crash logged while it ran (the module's check catches late ones)."""
    since = crashwatch.log_sizes(stack)
    yield
    found = crashwatch.crashes(stack, since)
    assert not found, "\n".join(found)


@pytest.fixture(scope="module")
def nginx_module():
    """The built nginx module, for the tests that load it: skipped where nginx is not
    installed (t/lib/nginx.py says why)."""
    why = unavailable()
    if why:
        pytest.skip(why)
    if not NGINX_MODULE_SO.exists():
        pytest.fail(f"{NGINX_MODULE_SO} is missing: build it first (make nginx)", pytrace=False)


@pytest.fixture(scope="module", params=SERVERS)
def server(request):
    """The server of the portal (t/lib/portal.py): a test that asks for `portal` runs on
    httpd and on nginx. Module-scoped, so that a module's fixtures built on a portal (a
    logged-in person, the hostile runner) are made once per server."""
    if request.param == "nginx":
        request.getfixturevalue("nginx_module")
    return request.param


@pytest.fixture
def portal(stack, server):
    """The stack's site on SERVER."""
    return stack.on(server)


@pytest.fixture(scope="module")
def site_portal(stack, server):
    """The portal a browser (test_browser's, test_evidence's) reaches at the site's address:
    on httpd the primary node, whose address it is; on nginx a node behind that address as
    behind a load balancer, with absolute_redirect off as nginx behind a proxy needs (else
    nginx would make the module's Location a URL of its own port, which the browser would
    then use)."""
    if server == "httpd":
        return stack.on(server)
    return Portal(stack, server, stack.new_nginx(server="absolute_redirect off;"))
