# SPDX-License-Identifier: GPL-2.0-or-later
"""The session cache failing: sessions fall back to the database (issue 5).

KmenSessionCache is only an optimisation in front of kmen.session. Two faults, each on a
site of its own whose every login, request and logout goes through the broken cache:
- unavailable: memcache on a loopback port where nothing listens;
- full: mod_socache_dbm on a 1 MiB tmpfs, filled to the last byte after httpd started.
Either way logins, authenticated requests and logout must work exactly as with a healthy
cache (sessions come from the database), with no 5xx and no crashed child; the error log
must show the cache really failed, or the test proves nothing."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from t.hostile import report
from t.hostile.runner import crash_lines
from t.lib import flow
from t.lib import register as kmen
from t.lib.httpd import free_port
from t.lib.stack import Stack

MODULES = "/usr/lib/apache2/modules"
PEOPLE = ("cz-jiri", "cz-marie", "cz-zofie")
WHAT = {"unavailable": "KmenSessionCache on memcache where nothing listens: logins, requests, "
                       "logout, a database outage",
        "full": "KmenSessionCache on socache_dbm, its tmpfs filled after startup: logins, "
                "requests, logout, a database outage"}


class FullDisk:
    """A small tmpfs for the cache files, filled up on request; unmounted at the end."""

    def __init__(self, size_kib=1024):
        self.dir = Path(tempfile.mkdtemp(prefix="kmen-full-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0777", "tmpfs",
                        str(self.dir)], check=True)

    def fill(self):
        """Writes a file until the filesystem says ENOSPC."""
        try:
            with open(self.dir / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        except OSError:
            pass
        assert os.statvfs(self.dir).f_bavail == 0, "the tmpfs is not full"
        return sorted(p.name for p in self.dir.iterdir())

    def cleanup(self):
        subprocess.run(["umount", str(self.dir)], check=False)
        os.rmdir(self.dir)


@pytest.fixture(scope="module", params=["unavailable", "full"])
def broken_cache(request):
    """(stack, what the error log shows when the cache fails, which fault)."""
    if request.param == "unavailable":
        st = Stack(extra=f"LoadModule socache_memcache_module {MODULES}/mod_socache_memcache.so\n"
                        f'KmenSessionCache "memcache:127.0.0.1:{free_port()}"')
        with st:
            yield st, "scache_mc", "unavailable"
            record(st, "unavailable")
        return
    disk = FullDisk()
    try:
        st = Stack(extra=f"LoadModule socache_dbm_module {MODULES}/mod_socache_dbm.so\n"
                        f'KmenSessionCache "dbm:{disk.dir}/kmen-sessions"')
        with st:
            # The port opens in httpd's first configuration pass, the cache in its second:
            # a served request says both are done.
            assert requests.get(st.base_url + "/kmen/health", timeout=10).status_code == 200
            disk.fill()
            yield st, "No space left on device", "full"
            record(st, "full")
    finally:
        disk.cleanup()


def record(stack, fault):
    """This fault's row in t/hostile/RESULTS.md, from the site's access and error logs."""
    statuses = [line.split()[-2] for line in stack.httpd.read_access_log().splitlines()]
    log = stack.httpd.read_error_log()
    held = [len(kmen.clients_by_bsi(stack, stack.bsi(p))) for p in PEOPLE]
    report.record_fault(
        name=f"session_cache_{fault}", what=WHAT[fault], answered=len(statuses),
        refused=statuses.count("503"),
        errors=sum(s.startswith("5") and s != "503" for s in statuses)
        + len(crash_lines(log)),
        clients=len(PEOPLE), lost=held.count(0), duplicated=sum(n > 1 for n in held))


def assert_no_crash(stack):
    log = stack.httpd.read_error_log()
    assert not crash_lines(log), log[-2000:]


def test_login_and_requests_work_without_the_cache(broken_cache, s):
    """Login, 20 authenticated requests and the register's client ID, all from the database."""
    stack = broken_cache[0]
    flow.login(s, stack, identity="cz-jiri")
    first = flow.headers_of(s, stack.base_url + "/app/headers.json")
    client = flow.header(first, "Kmen-Client-Id")
    assert client
    for _ in range(20):
        h = flow.headers_of(s, stack.base_url + "/app/headers.json")
        assert flow.header(h, "Kmen-Client-Id") == client
    assert_no_crash(stack)


def test_the_cache_really_failed(broken_cache):
    """The fault is real: the socache provider logs its failure while sessions are made (a
    full disk may take a few sessions: the cache file has some room left from before), and
    the session whose record could not be cached works."""
    stack, mark, _ = broken_cache
    for _ in range(30):
        with requests.Session() as s:
            flow.login(s, stack, identity="cz-marie")
            if mark in stack.httpd.read_error_log():
                for _ in range(5):
                    assert flow.header(flow.headers_of(s, stack.base_url + "/app/headers.json"),
                                       "Kmen-Client-Id")
                return
    pytest.fail(f"30 sessions made, and no '{mark}' in the error log")


def test_logout_ends_the_session_without_the_cache(broken_cache, s):
    """Logout removes the session from the database; the old cookie is then worth nothing."""
    stack = broken_cache[0]
    flow.login(s, stack, identity="cz-zofie")
    cookie = s.cookies.get("kmen_session")
    before = stack.count("session")
    # NIA's answer, as the sim gives it: a page that posts the unsigned LogoutResponse.
    slo, fields = flow.auto_post_form(flow.logout_at_sim(s, stack, "/public/"))
    assert flow.location(flow.post_acs(s, slo, fields)).endswith("/public/")
    assert stack.count("session") == before - 1
    with requests.Session() as thief:
        thief.cookies.set("kmen_session", cookie)
        r = thief.get(stack.base_url + "/app/headers.json", allow_redirects=False)
        assert r.status_code == 303 and flow.location(r).startswith(stack.sso_url)
    assert_no_crash(stack)


def test_database_outage_with_a_broken_cache_is_503(broken_cache, s):
    """Neither the cache nor the database: a 503 page, never a 500, and the session lives on.
    (A full disk may still hold the record in file pages the cache had before: then 200.)"""
    stack, _, fault = broken_cache
    flow.login(s, stack, identity="cz-jiri")
    with stack.postgres_down():
        r = s.get(stack.base_url + "/app/headers.json", allow_redirects=False)
        assert r.status_code in ({503} if fault == "unavailable" else {200, 503}), r.text[:300]
    assert flow.headers_of(s, stack.base_url + "/app/headers.json")
    assert_no_crash(stack)
