# SPDX-License-Identifier: GPL-2.0-or-later
"""No open redirect through ReturnTo (/kmen/login, /kmen/logout) or RelayState (/kmen/slo).

The payloads (t/hostile/redirects.py) are generated: scheme-relative URLs and their
backslash and percent-encoded spellings, control characters, userinfo, unicode dots and
slashes, script schemes in case and control-character variants, CRLF injections, dot
segments, very long values. For every answer:

- a Location never leaves the site, read by urllib and read as a browser does (tabs and
  newlines dropped, '\\' as '/', any number of slashes before a host); /kmen/login may only
  send the browser to the IdP, and the ReturnTo it stores for after the login must pass the
  same test (checked in the database, and by finishing a sample of those logins);
- no CR or LF splits the answer's header: no header but the ones mod_kmen and httpd set.

Every sweep runs against httpd's mod_kmen and nginx's module (the `server` parameter).

One keep-alive connection per endpoint; the request target goes on the wire byte for byte.
"""

import hashlib
from urllib.parse import quote, urlsplit

import pytest

from t.hostile.redirects import (LOCAL, QUERIES, RawClient, leaves_site, normalised_path,
                                  payloads)
from t.lib import flow

HEADERS_ALLOWED = {"date", "server", "location", "content-length", "content-type",
                   "set-cookie", "cache-control", "keep-alive", "connection", "expires",
                   "pragma", "retry-after", "vary", "x-content-type-options",
                   "content-security-policy", "referrer-policy", "x-frame-options"}
COOKIES_ALLOWED = {"kmen_session"}


@pytest.fixture(scope="module")
def site(stack, server):
    """(the portal of SERVER, a keep-alive client of its server, its host:port): every
    sweep runs on httpd and on nginx."""
    portal = stack.on(server)
    u = urlsplit(portal.base_url)
    client = RawClient("127.0.0.1", u.port)
    yield portal, client, u.netloc
    client.close()


def header_problems(answer):
    out = []
    for name, value in answer.headers:
        if name.lower() not in HEADERS_ALLOWED or "injected" in name.lower():
            out.append(f"unexpected header {name}: {value}")
        if any(c in value for c in "\r\n\x00"):
            out.append(f"control character in header {name}")
    for cookie in answer.get("Set-Cookie"):
        name = cookie.split("=", 1)[0].strip()
        if name not in COOKIES_ALLOWED and not flow.STATE_RE.fullmatch(name):
            out.append(f"unexpected cookie {cookie}")
    if answer.status >= 500:
        out.append(f"status {answer.status}")
    return out


def location_problem(loc, base):
    if any(not 0x21 <= ord(c) <= 0x7e for c in loc):
        return f"Location holds a byte outside printable ASCII: {loc!r}"
    return leaves_site(loc, base)


def state_cookie(answer):
    for cookie in answer.get("Set-Cookie"):
        name, _, rest = cookie.partition("=")
        if flow.STATE_RE.fullmatch(name.strip()):
            value = rest.split(";", 1)[0]
            return value or None
    return None


def stored_return_tos(portal, states):
    """{state: the ReturnTo its authn_request row holds}; the row keeps the state's
    SHA-256 (a state with ".<session hash>" after it names the state before the dot)."""
    digests = {hashlib.sha256(st.split(".")[0].encode()).digest(): st for st in states}
    rows = portal.query("SELECT state_hash, return_to FROM kmen.authn_request "
                       "WHERE state_hash = ANY(%s)", (list(digests),))
    return {digests[bytes(h)]: rt for h, rt in rows}


def sweep(site, path, param, check=location_problem):
    """GET PATH?PARAM=<payload> for every payload; (failures, answers by payload)."""
    portal, client, netloc = site
    base = portal.base_url + path
    failures, seen = [], []
    for label, raw in payloads(netloc):
        target = f"{path}?{param}={raw}" if param else f"{path}?{raw}"
        a = client.get(target, netloc)
        problems = header_problems(a)
        for loc in a.get("Location"):
            why = check(loc, base)
            if why:
                problems.append(f"Location {loc!r}: {why}")
        if problems:
            failures.append(f"{label}: {param}={raw[:120]!r} -> {a.status}: "
                            + "; ".join(problems))
        seen.append((label, raw, a))
    return failures, seen


def report(failures, what):
    assert not failures, (f"{len(failures)} {what} payloads misbehaved:\n"
                          + "\n".join(failures[:30]))


def test_enough_payloads(site):
    assert len(payloads(site[2])) >= 800


@pytest.fixture(scope="module")
def logout_sweep(site):
    return sweep(site, "/kmen/logout", "ReturnTo")


def test_logout_return_to(logout_sweep):
    """Without a session, /kmen/logout redirects straight to ReturnTo: the direct test."""
    failures, seen = logout_sweep
    report(failures, "logout")
    assert all(a.status in (303, 400, 414) for _, _, a in seen), \
        sorted({a.status for _, _, a in seen})


def path_of(loc, portal):
    """LOC, a Location on PORTAL, as a path: httpd sends ReturnTo as it is, nginx puts its
    own scheme://host:port before a path (absolute_redirect, on by default)."""
    return loc[len(portal.base_url):] if loc.startswith(portal.base_url + "/") else loc


def test_no_return_to_normalises_to_a_double_slash_path(site, logout_sweep):
    """redirect.c refuses "/./" and "/../" because "/.//host" normalises to "//host"; a
    browser reads "%2e" in a path as "." too, so "/%2e//host" must not pass either."""
    _, seen = logout_sweep
    bad = sorted({loc for _, _, a in seen if a.status == 303 for loc in a.get("Location")
                  if normalised_path(path_of(loc, site[0])).startswith("//")})
    assert not bad, (f"{len(bad)} accepted ReturnTo values normalise to a path starting "
                     f"with //, e.g.:\n" + "\n".join(bad[:15]))


def test_slo_relay_state(site):
    """A forged LogoutResponse URL: the RelayState it carries is never followed (only the
    ReturnTo this browser's logout stored is)."""
    portal, client, netloc = site
    failures, _ = sweep((portal, client, netloc), "/kmen/slo", "SAMLResponse=x&RelayState")
    report(failures, "slo RelayState")


def test_login_return_to(site):
    """/kmen/login sends the browser to the IdP only, and stores only local ReturnTo values."""
    portal, client, netloc = site

    def to_idp(loc, base):
        return None if loc.startswith(portal.sso_url + "?") else "login redirects elsewhere " \
                                                                "than the IdP"
    failures, seen = sweep(site, "/kmen/login", "ReturnTo", to_idp)
    issued = {}
    for label, raw, a in seen:
        if a.status == 303:
            rid = state_cookie(a)
            if not rid:
                failures.append(f"{label}: 303 without a state cookie")
            else:
                issued[rid] = (label, raw)
    rows = stored_return_tos(portal, issued)
    for rid, (label, raw) in issued.items():
        stored = rows.get(rid)
        if stored is None:
            failures.append(f"{label}: no authn_request row for {rid}")
            continue
        why = location_problem(stored, portal.base_url + "/")
        if why or not stored.startswith("/") or stored.startswith("//") or "\\" in stored:
            failures.append(f"{label}: ReturnTo={raw[:100]!r} stored as {stored!r}: {why}")
    report(failures, "login")
    assert issued, "no payload was accepted at all: the sweep proved nothing about storage"


def test_login_return_to_end_to_end(site, s):
    """A sample of accepted odd-but-local ReturnTo values, each taken through a real login:
    the ACS's Location is the stored value and stays on the site."""
    portal, client, netloc = site
    odd = [raw for _, raw in payloads(netloc) if raw.startswith("/") and
           any(c in raw for c in "%@:;") and len(raw) < 200]
    sample = []
    for raw in odd:
        a = client.get(f"/kmen/login?ReturnTo={raw}", netloc)
        if a.status == 303:
            sample.append(raw)
        if len(sample) == 8:
            break
    assert sample
    for raw in sample:
        s.cookies.clear()
        loc = flow.start(s, f"{portal.base_url}/kmen/login?ReturnTo={raw}")
        ticket, _ = flow.idp_page(s, loc)
        acs, fields = flow.respond(s, ticket)
        r = flow.post_acs(s, portal.url(acs), fields)
        assert r.status_code == 303, (raw, r.status_code)
        back = r.headers["Location"]
        assert location_problem(back, portal.base_url + "/") is None, (raw, back)


def test_local_paths_still_work(site):
    portal, client, netloc = site
    for path in LOCAL:
        raw = quote(path, safe="/")
        a = client.get(f"/kmen/logout?ReturnTo={raw}", netloc)
        assert a.status == 303, (path, a.status, a.headers)
        assert [path_of(loc, portal) for loc in a.get("Location")] == [path], a.headers
        a = client.get(f"/kmen/login?ReturnTo={raw}", netloc)
        assert a.status == 303 and a.get("Location")[0].startswith(portal.sso_url), (path,
                                                                                     a.status)


@pytest.mark.parametrize("endpoint", ["/kmen/login", "/kmen/logout"])
def test_query_tricks(site, endpoint):
    """The parameter twice, in other spellings, behind other separators."""
    portal, client, netloc = site
    failures = []
    for q in QUERIES:
        a = client.get(f"{endpoint}?{q}", netloc)
        problems = header_problems(a)
        for loc in a.get("Location"):
            if endpoint.endswith("login"):
                if not loc.startswith(portal.sso_url + "?"):
                    problems.append(f"Location {loc!r}")
            elif location_problem(loc, portal.base_url + endpoint):
                problems.append(f"Location {loc!r}")
        if problems:
            failures.append(f"{q!r} -> {a.status}: {problems}")
    assert not failures, "\n".join(failures)


def test_protected_paths_keep_login_local(site):
    """An unauthenticated request for a protected URL: the login it starts returns there
    only if that is local."""
    portal, client, netloc = site
    targets = ["/app//evil.example", "/app/\\evil.example", "/app/%2F%2Fevil.example",
               "/app/..//evil.example", "/app/%5Cevil.example", "/app/?x=//evil.example",
               "//evil.example/app/", "/app/%0d%0aX-Injected:%20yes"]
    issued = {}
    for t in targets:
        a = client.get(t, netloc)
        assert not header_problems(a), (t, a.headers)
        for loc in a.get("Location"):
            assert loc.startswith(portal.sso_url + "?") or not leaves_site(
                loc, portal.base_url + "/"), (t, loc)
        rid = state_cookie(a)
        if rid:
            issued[rid] = t
    rows = stored_return_tos(portal, issued)
    for rid, t in issued.items():
        stored = rows[rid]
        assert location_problem(stored, portal.base_url + "/") is None, (t, stored)
