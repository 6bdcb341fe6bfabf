# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile cookies: session fixation, cookie attributes, oversized and garbage Cookie
headers, duplicated session cookies, names that differ in case, quotes and whitespace.
Fixation, the login-state cookies and parallel logins run on httpd and on nginx (the
`portal` fixture).

mod_kmen's cookies (apache/session_cookie.c, handlers.c; docs/security.md):
  kmen_session        the session id: 43 base64url characters (32 random bytes); the
                      database keeps only its SHA-256 (kmen.session.id_hash)
  kmen_session_state_<8 hex>  one per outstanding login, named by the SHA-256 of its
                      AuthnRequest's ID (the ACS finds it by InResponseTo): the pre-login
                      state, 43 base64url characters (32 random bytes) of its own, whose
                      SHA-256 finds the outstanding AuthnRequest (InResponseTo must name
                      that request); ".<hash of the session cookie>" follows when the
                      browser held a session (it ends)
Requests that must reach httpd exactly as written go over a raw socket; every test ends
with no crashed httpd child in the error log of any node."""

import hashlib
import json
import re
import secrets

import pytest
import requests

from t.lib import flow

SESSION = "kmen_session"
FIELD_LIMIT = 8190  # httpd's LimitRequestFieldSize default: one header line, name included
ID_RE = re.compile(r"[A-Za-z0-9_-]{43}")
NEW_SESSION_RE = re.compile(SESSION + r"=[A-Za-z0-9_-]{43};")

pytestmark = pytest.mark.usefixtures("no_crash_in_module", "no_crash")


send = flow.send_raw


def visit(stack, cookie_lines, method="GET", port=None, path="/app/headers.json"):
    """A protected page with these Cookie header lines: ("in", Kmen-Client-Id) when the
    backend answered, ("login", None) for a redirect into login at the IdP, ("401", None)
    for a refused non-GET, else (status, body)."""
    lines = [f"Cookie: {c}" if isinstance(c, str) else b"Cookie: " + c for c in cookie_lines]
    status, headers, body = send(port or stack.http_port, path, lines, method=method)
    if status == 200:
        return "in", flow.header(json.loads(body), "Kmen-Client-Id")
    location = dict((k.lower(), v) for k, v in headers).get("location", "")
    if status in flow.REDIRECTS and location.startswith(stack.sso_url):
        return "login", None
    if status == 401:
        return "401", None
    return status, body[:300]


def new_session(headers):
    """The Set-Cookie headers among HEADERS that give a new session id."""
    return [v for k, v in headers if k.lower() == "set-cookie" and NEW_SESSION_RE.match(v)]


def guess():
    """An attacker's value shaped exactly like a session id (43 base64url characters)."""
    value = secrets.token_urlsafe(32)
    assert ID_RE.fullmatch(value)
    return value


def session_rows(stack, value):
    """kmen.session rows whose id_hash is the SHA-256 of cookie VALUE."""
    digest = hashlib.sha256(value.encode()).digest()
    return stack.query("SELECT count(*) FROM kmen.session WHERE id_hash = %s", (digest,))[0][0]


def log_in(stack, identity="cz-jiri"):
    """A fresh browser logged in as IDENTITY: (its session cookie value, its Kmen-Client-Id)."""
    with requests.Session() as b:
        flow.login(b, stack, identity=identity)
        value = b.cookies.get(SESSION)
        client = flow.header(flow.headers_of(b, stack.base_url + "/app/headers.json"),
                             "Kmen-Client-Id")
    assert ID_RE.fullmatch(value or ""), value
    assert client
    return value, client


@pytest.fixture(scope="module")
def victim(stack):
    return log_in(stack, "cz-jiri")


@pytest.fixture(scope="module")
def attacker(stack):
    """A second, genuine session: what an attacker who logged in as themself holds."""
    return log_in(stack, "cz-marie")


@pytest.fixture(scope="module")
def secure_node(stack):
    """KmenCookieSecure On with the cookie name this site has (the default there would be
    __Host-kmen_session: test_startup.py checks that one)."""
    return stack.new_httpd(extra="KmenCookieSecure On\nKmenCookieName kmen_session")


# --- session fixation ------------------------------------------------------------------
def test_fixated_cookies_are_never_promoted(portal, s, rows):
    """Cookie values an attacker planted before the login (a session-id-shaped
    kmen_session and a login-state cookie) are replaced by fresh ones during the login, the
    session is stored under the fresh value only, and the planted value still opens
    nothing afterwards."""
    planted, planted_state = guess(), "_attacker-chosen-state"
    planted_name = "kmen_session_state_0badcafe"
    s.cookies.set(SESSION, planted, domain="localhost.local", path="/")
    s.cookies.set(planted_name, planted_state, domain="localhost.local", path="/")
    before = rows("session")
    r = s.get(portal.base_url + "/app/", allow_redirects=False)
    sent = r.request.headers["Cookie"]
    assert f"{SESSION}={planted}" in sent and f"{planted_name}={planted_state}" in sent, sent
    assert flow.location(r).startswith(portal.sso_url), "the planted cookie opened a session"
    _, state = flow.state_cookie(r)
    assert state and state["value"] and state["value"] != planted_state
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, flow.location(r))
    acs, fields = flow.respond(s, ticket)
    done = flow.post_acs(s, portal.url(acs), fields)
    assert done.status_code == 303, done.text[:300]
    fresh = flow.cookie_attrs(done, SESSION)
    assert fresh and ID_RE.fullmatch(fresh["value"]) and fresh["value"] != planted
    assert s.cookies.get(SESSION) == fresh["value"]
    assert flow.headers_of(s, portal.base_url + "/app/headers.json")
    assert rows("session") == before + 1
    assert session_rows(portal, fresh["value"]) == 1
    assert session_rows(portal, planted) == 0
    assert visit(portal, [f"{SESSION}={planted}"]) == ("login", None)


def answered_login(s, portal):
    """A login started at /app/ and answered by the IdP, not yet posted: (the state cookie's
    name, its value, the form body the browser would post to the ACS)."""
    r = s.get(portal.base_url + "/app/", allow_redirects=False)
    name, attrs = flow.state_cookie(r)
    fresh = attrs["value"]
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, flow.location(r))
    _, fields = flow.respond(s, ticket)
    body = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in fields.items())
    return name, fresh, body.encode()


def test_planted_state_cookie_cannot_complete_a_login(portal, s):
    """At the ACS, the Response must answer the request named by the browser's own state
    cookie: with an attacker's state value instead, the genuine Response is refused and no
    session cookie is set; with the fresh value the same Response logs in."""
    name, fresh, body = answered_login(s, portal)
    status, headers, _ = send(portal.http_port, "/kmen/acs", [f"Cookie: {name}=_planted"],
                              method="POST", body=body)
    assert status == 400
    assert not new_session(headers), headers
    status, headers, _ = send(portal.http_port, "/kmen/acs", [f"Cookie: {name}={fresh}"],
                              method="POST", body=body)
    assert status == 303
    assert new_session(headers), headers


def test_state_is_a_secret_of_its_own(portal, s):
    """The state cookie is 256 random bits of its own, never the AuthnRequest's ID (which
    travels in the URL to NIA and back), and the ID is 256 random bits too; an unknown state
    is refused at the ACS before the Response is looked at."""
    r = s.get(portal.base_url + "/app/", allow_redirects=False)
    state = flow.state_cookie(r)[1]["value"]
    request_id = flow.redirect_message(flow.location(r)).get("ID")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", state), state
    assert re.fullmatch(r"_[A-Za-z0-9_-]{43}", request_id), request_id
    assert state not in flow.location(r) and state != request_id[1:]
    name, _, body = answered_login(s, portal)
    status, _, _ = send(portal.http_port, "/kmen/acs", [f"Cookie: {name}={request_id}"],
                        method="POST", body=body)
    assert status == 400
    assert "SAML response refused: no outstanding login for this browser" in \
        portal.log()


def test_session_id_shaped_guess_opens_nothing(portal, rows):
    """An attacker-chosen 43-character base64url value is no session: a GET is sent to log
    in, a POST gets 401, an unprotected page sees no identity, and no kmen.session row
    appears for it."""
    value = guess()
    before = rows("session")
    assert visit(portal, [f"{SESSION}={value}"]) == ("login", None)
    assert visit(portal, [f"{SESSION}={value}"], method="POST") == ("401", None)
    status, _, body = send(portal.http_port, "/public/headers.json", [f"Cookie: {SESSION}={value}"])
    assert status == 200 and b"Kmen-" not in body
    assert rows("session") == before
    assert session_rows(portal, value) == 0


# --- parallel logins -------------------------------------------------------------------
def started(s, portal, path):
    """A login started at PATH and answered by the IdP: (state cookie name, ACS, fields)."""
    r = s.get(portal.base_url + path, allow_redirects=False)
    name, attrs = flow.state_cookie(r)
    assert attrs and attrs["value"], flow.set_cookies(r)
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, flow.location(r))
    acs, fields = flow.respond(s, ticket)
    return name, portal.url(acs), fields


def test_parallel_logins_complete_in_either_order(portal, s, rows):
    """Two logins started in two tabs of one browser each get a state cookie of their own;
    answered in reverse order, both land on their own ReturnTo, each ACS clearing only its
    own cookie."""
    before = rows("session")
    first, acs, first_fields = started(s, portal, "/app/")
    second, _, second_fields = started(s, portal, "/app/headers.json")
    assert first != second and set(flow.held_states(s)) == {first, second}
    done = flow.post_acs(s, acs, second_fields)
    assert done.status_code == 303 and flow.location(done).endswith("/app/headers.json")
    assert flow.cookie_attrs(done, second)["max-age"] == "0"
    assert flow.cookie_attrs(done, first) is None
    assert set(flow.held_states(s)) == {first}
    done = flow.post_acs(s, acs, first_fields)
    assert done.status_code == 303 and flow.location(done).endswith("/app/"), done.text[:300]
    assert flow.held_states(s) == {}
    assert rows("session") == before + 2
    assert flow.headers_of(s, portal.base_url + "/app/headers.json")


def test_outstanding_logins_are_bounded(portal, s, rows):
    """A browser keeps at most 4 outstanding logins: the fifth start clears the oldest state
    cookie (and only it), whose Response is then refused; the others still complete."""
    logins = [started(s, portal, "/app/") for _ in range(4)]
    r = s.get(portal.base_url + "/app/", allow_redirects=False)
    fifth, _ = flow.state_cookie(r)
    cleared = [a for a in flow.set_cookies(r) if "Max-Age=0" in a]
    assert [a.split("=", 1)[0] for a in cleared] == [logins[0][0]], flow.set_cookies(r)
    flow.browser_cookies(s)
    assert set(flow.held_states(s)) == {fifth} | {name for name, _, _ in logins[1:]}
    before = rows("session")
    refused = flow.post_acs(s, logins[0][1], logins[0][2])
    assert refused.status_code == 400
    assert not new_session([("set-cookie", v) for v in flow.set_cookies(refused)])
    assert "no pre-login state cookie for the request the Response answers" in \
        portal.log()
    assert rows("session") == before
    _, acs, fields = logins[3]
    assert flow.post_acs(s, acs, fields).status_code == 303
    assert rows("session") == before + 1


# --- attributes ------------------------------------------------------------------------
def login_on(stack, node_url, b):
    """A login that starts and ends at NODE_URL (the sim posts to the primary's ACS URL,
    which the node serves as well: same entity ID). (start response, ACS response)."""
    start = b.get(node_url + "/app/", allow_redirects=False)
    flow.browser_cookies(b)
    ticket, _ = flow.idp_page(b, flow.location(start))
    _, fields = flow.respond(b, ticket)
    done = flow.post_acs(b, node_url + "/kmen/acs", fields)
    assert done.status_code == 303, done.text[:300]
    return start, done


def test_cookie_attributes_with_secure_on(stack, secure_node):
    """KmenCookieSecure On: the state cookie is HttpOnly; Secure; SameSite=None (it must
    survive the IdP's cross-site POST), the session cookie HttpOnly; Secure; SameSite=Lax,
    both Path=/ and host-only; the ACS and the logout clear them with Max-Age=0 and the same
    attributes."""
    url = f"http://localhost:{secure_node.port}"
    with requests.Session() as b:
        start, done = login_on(stack, url, b)
        name, state = flow.state_cookie(start)
        assert state["value"] and state["path"] == "/" and state["max-age"] == "600"
        assert {"httponly", "secure"} <= set(state) and state["samesite"] == "None"
        session = flow.cookie_attrs(done, SESSION)
        assert ID_RE.fullmatch(session["value"]) and session["path"] == "/"
        assert {"httponly", "secure"} <= set(session) and session["samesite"] == "Lax"
        assert "max-age" not in session and "expires" not in session  # a browser session
        cleared = flow.cookie_attrs(done, name)
        assert cleared["value"] == "" and cleared["max-age"] == "0"
        assert "secure" in cleared and cleared["samesite"] == "None"
        for attrs in (state, session, cleared):
            assert "domain" not in attrs
        flow.browser_cookies(b)
        assert b.get(url + "/app/headers.json", allow_redirects=False).status_code == 200
        out = b.get(url + "/kmen/logout?ReturnTo=/public/", allow_redirects=False)
        gone = flow.cookie_attrs(out, SESSION)
        assert gone["value"] == "" and gone["max-age"] == "0" and gone["path"] == "/"
        assert "1970" in gone["expires"] and "secure" in gone and "httponly" in gone
    assert visit(stack, [f"{SESSION}={session['value']}"], port=secure_node.port) == \
        ("login", None)


def test_cookie_attributes_with_secure_off(stack, s):
    """KmenCookieSecure Off (the plain-HTTP test site): no Secure anywhere; the session
    cookie stays HttpOnly; SameSite=Lax; the state cookie carries no SameSite (None without
    Secure is rejected by browsers, and the default lets the IdP's POST through on a
    plain-HTTP demo); logout clears the session cookie with Max-Age=0."""
    start = s.get(stack.base_url + "/app/", allow_redirects=False)
    _, state = flow.state_cookie(start)
    assert "secure" not in state and "samesite" not in state and "httponly" in state
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, flow.location(start))
    acs, fields = flow.respond(s, ticket)
    done = flow.post_acs(s, acs, fields)
    session = flow.cookie_attrs(done, SESSION)
    assert "secure" not in session and "httponly" in session and session["samesite"] == "Lax"
    assert session["path"] == "/"
    out = s.get(stack.base_url + "/kmen/logout?ReturnTo=/public/", allow_redirects=False)
    gone = flow.cookie_attrs(out, SESSION)
    assert gone["value"] == "" and gone["max-age"] == "0" and "secure" not in gone
    assert visit(stack, [f"{SESSION}={session['value']}"]) == ("login", None)


# --- size ------------------------------------------------------------------------------
def padded(real, total):
    """A Cookie field value holding filler cookies and then the session, such that the
    header line "Cookie: <value>" is TOTAL bytes long."""
    tail = f"; {SESSION}={real}"
    filler = "pad=" + "x" * (total - len("Cookie: ") - len(tail) - len("pad="))
    value = filler + tail
    assert len("Cookie: " + value) == total
    return value


def test_cookie_header_just_under_the_field_limit_still_works(stack, victim):
    """A Cookie line of LimitRequestFieldSize - 10 bytes with the session at its end is read
    whole: the request is the victim's."""
    real, client = victim
    assert visit(stack, [padded(real, FIELD_LIMIT - 10)]) == ("in", client)


def test_cookie_header_over_the_field_limit_is_refused_by_httpd(stack, victim):
    """A Cookie line just over and far over LimitRequestFieldSize is refused by httpd with
    400 before mod_kmen sees it; the server keeps serving."""
    real, client = victim
    for total in (FIELD_LIMIT + 16, 4 * FIELD_LIMIT):
        status, _, _ = send(stack.http_port, "/app/headers.json",
                            ["Cookie: " + padded(real, total)])
        assert status == 400, total
    assert visit(stack, [f"{SESSION}={real}"]) == ("in", client)


GARBAGE = {
    "4 KiB base64url": "A" * 4096,
    "4 KiB of punctuation": "%00\\\"'<>{}|^`" * 315,
    "44 characters": "B" * 44,
    "42 characters": "C" * 42,
    "43 with base64 +/": "+/" * 21 + "A",
    "43 with padding": "A" * 42 + "=",
    "non-ASCII bytes": b"\xc3\xa1\xff\xfe" * 1024,
    "empty": "",
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_session_cookie_is_no_session(stack, name):
    """A session cookie value that cannot be a session id (wrong length or alphabet, 4 KiB,
    raw non-ASCII bytes) leaves the request unauthenticated: GET goes to log in, POST 401."""
    value = GARBAGE[name]
    line = (SESSION + "=").encode() + value if isinstance(value, bytes) else f"{SESSION}={value}"
    assert visit(stack, [line]) == ("login", None)
    assert visit(stack, [line], method="POST") == ("401", None)


def test_control_characters_in_the_cookie_are_refused_by_httpd(stack):
    """Control characters in the Cookie field are refused by httpd's strict parser (400)."""
    status, _, _ = send(stack.http_port, "/app/headers.json",
                        [f"Cookie: {SESSION}=" + "\x01\x7f" * 20])
    assert status == 400


@pytest.mark.parametrize("where", [0, 100, 199])
def test_two_hundred_cookies_with_the_session_among_them(stack, victim, where):
    """200 cookies in one Cookie header, the session at the start, middle or end: the
    session is found and the request is the victim's."""
    real, client = victim
    cookies = [f"c{i}={secrets.token_hex(6)}" for i in range(199)]
    cookies.insert(where, f"{SESSION}={real}")
    assert visit(stack, ["; ".join(cookies)]) == ("in", client)


# --- duplicates ------------------------------------------------------------------------
# A browser holds one kmen_session (mod_kmen sets it host-only, Path=/), so two in one
# Cookie header mean one was planted beside it ("cookie tossing": a sibling subdomain's
# Domain cookie, or a longer Path, which browsers send first). The defined outcome: two
# different values are no session at all (apache/session_cookie.c kmen_cookie_get). Taking
# the first would let whoever planted a cookie choose the session the request runs in,
# their own included; refusing both only means logging in again.
def test_duplicate_session_cookies_with_a_forged_value(stack, victim):
    """The real session and a forged session-id-shaped value, in both orders: no session
    (GET to login, POST 401), never an identity."""
    real, _ = victim
    forged = guess()
    for pair in ((real, forged), (forged, real)):
        header = f"{SESSION}={pair[0]}; {SESSION}={pair[1]}"
        assert visit(stack, [header]) == ("login", None), pair
        assert visit(stack, [header], method="POST") == ("401", None), pair


def test_duplicate_session_cookies_with_another_persons_session(stack, victim, attacker):
    """The victim's session and the attacker's own genuine session in one header, in both
    orders: neither identity is chosen, the request is unauthenticated."""
    real, _ = victim
    planted, _ = attacker
    for pair in ((real, planted), (planted, real)):
        assert visit(stack, [f"{SESSION}={pair[0]}; a=b; {SESSION}={pair[1]}"]) == \
            ("login", None), pair


def test_the_same_session_cookie_twice_is_one_session(stack, victim):
    """The same value twice is not ambiguous: the request is the victim's."""
    real, client = victim
    assert visit(stack, [f"{SESSION}={real}; {SESSION}={real}"]) == ("in", client)


def test_two_cookie_header_lines(stack, victim, attacker):
    """Two Cookie lines (which RFC 6265 forbids a user agent to send; HTTP/2 front ends must
    join theirs with "; "): httpd joins them into one field with ", ", where a value running
    on past ", " is no session id. The real and a forged/planted session on two lines, in
    both orders, or the session on the second line alone: no session, never the planted
    identity."""
    real, _ = victim
    planted, _ = attacker
    forged = guess()
    cases = [(real, forged), (forged, real), (real, planted), (planted, real)]
    for first, second in cases:
        assert visit(stack, [f"{SESSION}={first}", f"{SESSION}={second}"]) == \
            ("login", None), (first, second)
    assert visit(stack, ["a=b", f"{SESSION}={real}"]) == ("login", None)


def test_duplicate_state_cookies_cannot_complete_a_login(stack, s):
    """Two different values of the login's state cookie at the ACS (the genuine one and a
    planted one, either order) are no state: the genuine Response is refused, no session is
    made."""
    name, fresh, body = answered_login(s, stack)
    for cookie in (f"{name}=_planted; {name}={fresh}", f"{name}={fresh}; {name}=_planted"):
        status, headers, _ = send(stack.http_port, "/kmen/acs", [f"Cookie: {cookie}"],
                                  method="POST", body=body)
        assert status == 400, cookie
        assert not new_session(headers), headers


# --- names and values as written -------------------------------------------------------
def test_cookie_names_differing_in_case(stack, victim, attacker):
    """Cookie names are case-sensitive (RFC 6265): KMEN_SESSION or Kmen_Session carrying a
    valid session id is no session, and beside the real kmen_session it is another cookie,
    not a duplicate; look-alike names (a prefix, a suffix, the state cookie) are ignored."""
    real, client = victim
    planted, _ = attacker
    for name in ("KMEN_SESSION", "Kmen_Session", "kmen_SESSION", "kmen-session",
                 "xkmen_session", "kmen_sessionx", "kmen_session_state_0badcafe",
                 " kmen_session "):
        assert visit(stack, [f"{name}={real}"]) == ("login", None), name
    assert visit(stack, [f"KMEN_SESSION={planted}; {SESSION}={real}"]) == ("in", client)
    assert visit(stack, [f"{SESSION}={real}; Kmen_Session={planted}"]) == ("in", client)


def test_quotes_and_whitespace_in_the_session_cookie(stack, victim):
    """The value is taken byte for byte between "name=" and ";": quoted, or with a space on
    either side of "=" or before ";", it is no session (mod_kmen never sets such a cookie);
    spaces after ";" and whitespace at the end of the field (which httpd trims) are fine."""
    real, client = victim
    refused = [f'{SESSION}="{real}"', f"{SESSION}= {real}", f"{SESSION} ={real}",
               f"{SESSION}={real} ; a=b", f"a=b;\t{SESSION}={real}", f"{SESSION}='{real}'",
               f"{SESSION}={real[:20]} {real[20:]}", f"{SESSION}={real}%20"]
    for cookie in refused:
        assert visit(stack, [cookie]) == ("login", None), cookie
    accepted = [f"a=b;    {SESSION}={real}", f"a=b;{SESSION}={real}", f"{SESSION}={real}   ",
                f"{SESSION}={real}\t", f";;{SESSION}={real};;", f"{SESSION}={real}; a"]
    for cookie in accepted:
        assert visit(stack, [cookie]) == ("in", client), cookie
