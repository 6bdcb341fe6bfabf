# SPDX-License-Identifier: GPL-2.0-or-later
"""Anonymous login starts cannot grow the database without bound: every new login request
clears expired ones, ReturnTo is capped at 1,024 bytes, and KmenLoginStartLimit answers 429
to a client address that starts too many logins a minute. On httpd and on nginx (the
`portal` fixture)."""

import hashlib
import http.client
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import pytest
import requests

from t.lib import flow
from t.lib.portal import Portal

STARTS = 10_000
ROUND = 500    # starts between two "the clock moved past every request" updates
WORKERS = 4
LIMIT = 5


def state_id(portal, s):
    """The ID of the request the (one) pre-login state cookie finds (the row keeps the
    SHA-256 of the state); None without a cookie."""
    held = flow.held_states(s)
    assert len(held) <= 1, held
    if not held:
        return None
    state, = held.values()
    digest = hashlib.sha256(state.split(".")[0].encode()).digest()
    rows = portal.query("SELECT id FROM kmen.authn_request WHERE state_hash = %s", (digest,))
    return rows[0][0] if rows else None


def starts_login(r, portal):
    return r.status_code == 303 and flow.location(r).startswith(portal.sso_url)


def start_many(portal, n):
    """N anonymous GETs of a protected location on WORKERS keep-alive connections; each
    must be sent to the IdP."""
    def worker(count):
        with requests.Session() as s:
            for _ in range(count):
                r = s.get(portal.base_url + "/app/", allow_redirects=False)
                assert starts_login(r, portal), f"{r.status_code}: {r.text[:200]}"
                s.cookies.clear()
    with ThreadPoolExecutor(WORKERS) as pool:
        for f in [pool.submit(worker, n // WORKERS) for _ in range(WORKERS)]:
            f.result()


def expire_all_but(portal, keep):
    """What the requests' 10 minutes would do: every request but KEEP has expired."""
    portal.query("UPDATE kmen.authn_request SET expires = now() - interval '1 second'"
                 " WHERE id <> %s", (keep,))


# --- the table stays bounded ----------------------------------------------------------------
def test_ten_thousand_starts_leave_a_bounded_table(portal, s, rows):
    loc = flow.start(s, portal.base_url + "/app/")   # a real login, left at NIA meanwhile
    mine = state_id(portal, s)
    assert mine and loc.startswith(portal.sso_url)
    for _ in range(STARTS // ROUND):
        expire_all_but(portal, mine)
        start_many(portal, ROUND)
    # the last round's requests are live, every older one was cleared by a later start
    assert rows("authn_request") <= ROUND + 1, rows("authn_request")
    assert portal.query("SELECT count(*) FROM kmen.authn_request WHERE expires > now()"
                        )[0][0] >= ROUND + 1

    ticket, _ = flow.idp_page(s, loc)
    acs, fields = flow.respond(s, ticket)
    r = flow.post_acs(s, portal.url(acs), fields)
    assert r.status_code == 303, r.text[:300]
    assert urlsplit(flow.location(r)).path == "/app/"


# --- ReturnTo --------------------------------------------------------------------------------
def login_with_return_to(portal, return_to):
    with requests.Session() as s:
        r = s.get(f"{portal.base_url}/kmen/login?ReturnTo={quote(return_to, safe='/')}",
                  allow_redirects=False)
        return r, state_id(portal, s)


def stored_return_to(portal, request_id):
    return portal.query("SELECT return_to FROM kmen.authn_request WHERE id = %s",
                        (request_id,))[0][0]


def test_return_to_of_1024_bytes_is_kept(portal):
    path = "/app/" + "a" * (1024 - 5)
    r, request_id = login_with_return_to(portal, path)
    assert starts_login(r, portal), r.status_code
    assert stored_return_to(portal, request_id) == path


def test_return_to_over_1024_bytes_is_refused(portal, rows):
    before = rows("authn_request")
    r, request_id = login_with_return_to(portal, "/app/" + "a" * (1025 - 5))
    assert r.status_code == 400, r.status_code
    assert request_id is None and rows("authn_request") == before
    assert "ReturnTo is not a local path, refused" in portal.log()


def test_a_long_protected_url_returns_to_the_home_page(portal):
    with requests.Session() as s:
        r = s.get(portal.base_url + "/app/page?q=" + "x" * 1100, allow_redirects=False)
        assert starts_login(r, portal), r.status_code
        assert stored_return_to(portal, state_id(portal, s)) == "/"


# --- KmenLoginStartLimit ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited(stack, server):
    """A node of SERVER that lets a client address start LIMIT logins a minute
    (KmenLoginStartLimit; nginx counts them in its kmen_session_zone)."""
    if server == "nginx":
        return Portal(stack, server, stack.new_nginx(
            http="kmen_session_zone kmen_sessions 1m;",
            server=f"kmen_login_start_limit {LIMIT};"))
    return Portal(stack, server, stack.new_httpd(extra=f"KmenLoginStartLimit {LIMIT}"))


def logged_at(line):
    """The level of error-log LINE, in httpd's spelling ([kmen:warn]) or nginx's ([warn])."""
    found = re.search(r"[\[:](debug|info|notice|warn|error|crit)\]", line)
    return found and found.group(1)


def get_from(address, port, path):
    """GET PATH from the source address ADDRESS (any 127.x.y.z is this host); (status,
    headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20,
                                      source_address=(address, 0))
    try:
        conn.request("GET", path, headers={"Host": f"localhost:{port}"})
        r = conn.getresponse()
        r.read()
        return r.status, dict(r.getheaders())
    finally:
        conn.close()


def test_starts_over_the_limit_answer_429(limited, rows):
    statuses = [get_from("127.0.0.3", limited.http_port, "/app/")[0] for _ in range(LIMIT)]
    assert statuses == [303] * LIMIT
    before = rows("authn_request")
    for path in ("/app/", "/kmen/login?ReturnTo=/app/", "/info/"):
        status, headers = get_from("127.0.0.3", limited.http_port, path)
        assert status == 429, (path, status)
        assert 1 <= int(headers["Retry-After"]) <= 60, headers
    assert rows("authn_request") == before, "a refused start wrote a login request"
    lines = [line for line in limited.log().splitlines()
             if "KMEN0629" in line and "reached by client 127.0.0.3:" in line]
    # one warning a minute; the further refusals at info, each with its page's request ID
    assert [logged_at(line) for line in lines] == ["warn", "info", "info"], lines


def test_another_address_is_counted_apart(limited):
    for _ in range(LIMIT + 1):
        get_from("127.0.0.4", limited.http_port, "/app/")
    assert get_from("127.0.0.4", limited.http_port, "/app/")[0] == 429
    assert get_from("127.0.0.5", limited.http_port, "/app/")[0] == 303


def test_the_limit_leaves_other_requests_alone(limited):
    for _ in range(LIMIT + 1):
        get_from("127.0.0.6", limited.http_port, "/app/")
    assert get_from("127.0.0.6", limited.http_port, "/public/")[0] == 200
    assert get_from("127.0.0.6", limited.http_port, "/kmen/health")[0] == 200
