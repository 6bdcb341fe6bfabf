# SPDX-License-Identifier: GPL-2.0-or-later
"""Sessions across nodes and over time, env vars, Kmen-Signature, the kmen-loa provider.

Second httpd nodes share the database and the session cookie (cookies ignore the port),
so a login on the primary node is a session on every node. Logout, its CSRF guard, NIA's
answers at /kmen/slo and the step-up's new session run on httpd and on nginx (the `portal`
fixture)."""

import base64
import hashlib
import hmac
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from t.lib import flow, poll
from t.lib.stack import Stack


@pytest.fixture(scope="module")
def strict_node(stack):
    """A node that trusts no cached copy and idles sessions out after 3 s."""
    return stack.new_httpd(extra="KmenSessionIdleTimeout 3\nKmenSessionCacheTTL 0")


@pytest.fixture(scope="module")
def signing_node(stack):
    backend = f"http://127.0.0.1:{stack.portal_port}"
    return stack.new_httpd(
        extra=f"LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so\n"
              f"KmenHeaderSecretFile {stack.keys.header_secret}",
        locations=f"""<Location /env>
    AuthType Kmen
    Require valid-user
    RequestHeader set X-Seen-Given "%{{KMEN_GIVEN_NAME}}e"
    RequestHeader set X-Seen-Loa "%{{KMEN_LOA}}e"
    ProxyPass {backend}/env
</Location>
<Location /strong>
    AuthType Kmen
    KmenLoA low
    Require kmen-loa high
    AuthzSendForbiddenOnFailure On
    ProxyPass {backend}/strong
</Location>""")


def node_url(node, path):
    return f"http://localhost:{node.port}{path}"


def test_session_made_on_one_node_is_valid_on_another(stack, s, strict_node):
    flow.login(s, stack)
    h = flow.headers_of(s, node_url(strict_node, "/app/headers.json"))
    assert flow.header(h, "Kmen-Origin") == "nia"


def test_idle_session_expires(stack, s, strict_node):
    flow.login(s, stack)
    assert s.get(node_url(strict_node, "/app/headers.json"),
                 allow_redirects=False).status_code == 200
    time.sleep(4.5)
    r = s.get(node_url(strict_node, "/app/"), allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(stack.sso_url)


def test_logout_on_one_node_ends_the_session_on_another(stack, s, strict_node):
    flow.login(s, stack)
    assert s.get(node_url(strict_node, "/app/headers.json"),
                 allow_redirects=False).status_code == 200
    r = s.get(stack.base_url + "/kmen/logout?ReturnTo=/public/", allow_redirects=False)
    assert r.status_code == 303
    r = s.get(node_url(strict_node, "/app/"), allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(stack.sso_url)


def kept_alive(stack, cookie):
    """A browser of its own (its own kept-alive connection) holding COOKIE."""
    other = requests.Session()
    other.headers["Cookie"] = f"kmen_session={cookie}"
    return other


def test_logout_ends_the_session_on_another_kept_alive_connection(stack, s):
    """Each child reuses a session it opened for a moment; a logout on one connection
    must still end it on every other, whichever child serves that."""
    flow.login(s, stack)
    cookie = s.cookies.get("kmen_session")
    others = [kept_alive(stack, cookie) for _ in range(4)]
    for other in others:  # opened (and kept) in the children serving these connections
        for _ in range(3):
            assert other.get(stack.base_url + "/app/headers.json",
                             allow_redirects=False).status_code == 200
    r = s.get(stack.base_url + "/kmen/logout?ReturnTo=/public/", allow_redirects=False)
    assert r.status_code == 303

    def refused(other):
        r = other.get(stack.base_url + "/app/", allow_redirects=False)
        return r.status_code == 303 and r.headers["Location"].startswith(stack.sso_url)
    for other in others:
        assert poll(lambda: refused(other), timeout=30), "the old cookie still opens the session"
        assert refused(other)


def test_env_vars_carry_raw_utf8(stack, s, signing_node):
    flow.login(s, stack)
    h = flow.headers_of(s, node_url(signing_node, "/env/headers.json"))
    # mod_headers copies the env vars into headers; httpd sends their bytes as they are.
    given = flow.header(h, "X-Seen-Given")
    assert given.encode("latin-1").decode("utf-8") == "Jiří"
    assert flow.header(h, "X-Seen-Loa") == "substantial"


def signed_text(received, t):
    lines = sorted(f"{k.lower()}:{v}" for k, v in received.items()
                   if k.lower().startswith("kmen-") and k.lower() != "kmen-signature")
    return f"t={t}\n" + "\n".join(lines) + "\n"


def test_signature_proves_the_headers(stack, s, signing_node):
    flow.login(s, stack)
    h = flow.headers_of(s, node_url(signing_node, "/env/headers.json"))
    m = re.fullmatch(r"t=(\d+), v1=([0-9a-f]{64})", flow.header(h, "Kmen-Signature") or "")
    assert m, h
    assert abs(int(m.group(1)) - time.time()) < 60
    key = stack.keys.header_secret.read_bytes()
    expected = hmac.new(key, signed_text(h, m.group(1)).encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, m.group(2))
    forged = dict(h, **{"Kmen-LoA": "high"})
    forged_mac = hmac.new(key, signed_text(forged, m.group(1)).encode(),
                          hashlib.sha256).hexdigest()
    assert forged_mac != m.group(2)


def test_no_signature_without_secret(stack, s):
    flow.login(s, stack)
    h = flow.headers_of(s, stack.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-Signature") is None


def test_require_kmen_loa(stack, s, signing_node):
    flow.login(s, stack)
    r = s.get(node_url(signing_node, "/strong/"), allow_redirects=False)
    assert r.status_code == 403
    with requests.Session() as strong:
        flow.login(strong, stack, loa="high")
        assert strong.get(node_url(signing_node, "/strong/headers.json"),
                          allow_redirects=False).status_code == 200


@pytest.fixture(scope="module")
def agenda_node(stack):
    backend = f"http://127.0.0.1:{stack.portal_port}"
    return stack.new_httpd(
        extra='LogFormat "%{KMEN_CLIENT_ID}e %>s %U" kmen\n'
              f"CustomLog {stack.dir}/kmen-clients.log kmen",
        locations=f"""<Location /filing>
    AuthType Kmen
    Require valid-user
    KmenAgenda A9145
    KmenEidasPolicy accept
    ProxyPass {backend}/filing
</Location>""")


def test_agenda_location_gets_that_agendas_aifo_once(stack, s, agenda_node):
    """KmenAgenda: the client's AIFO in A9145, translated once from the register's agenda,
    stored, and sent only to that location."""
    flow.login(s, stack, identity="cz-jiri")
    bsi = stack.bsi("cz-jiri")
    expected = stack.gateway.aifo(bsi, "A9145")
    calls = stack.gateway.count()
    h = flow.headers_of(s, node_url(agenda_node, "/filing/headers.json"))
    assert flow.header(h, "Kmen-Aifo") == expected
    assert stack.gateway.count() == calls + 1  # aifo-to-aifo A8566 -> A9145
    h = flow.headers_of(s, node_url(agenda_node, "/filing/headers.json"))
    assert flow.header(h, "Kmen-Aifo") == expected
    assert stack.gateway.count() == calls + 1  # stored: no second translation
    assert flow.header(flow.headers_of(s, node_url(agenda_node, "/app/headers.json")),
                       "Kmen-Aifo") is None
    assert expected not in stack.pg_dump()


def test_foreigner_gets_no_aifo(stack, s, agenda_node):
    flow.login(s, stack, identity="sk-kovac", path="/info/")
    r = s.get(node_url(agenda_node, "/filing/headers.json"), allow_redirects=False)
    assert r.status_code == 200
    assert flow.header(r.json(), "Kmen-Aifo") is None


def test_access_log_names_the_client(stack, s, agenda_node):
    flow.login(s, stack, identity="cz-zofie")
    client = flow.header(flow.headers_of(s, node_url(agenda_node, "/app/headers.json")),
                         "Kmen-Client-Id")
    assert client
    # httpd writes the access log after the response has gone out: wait for the line.
    log = stack.dir / "kmen-clients.log"
    line = f"{client} 200 /app/headers.json"
    assert poll(lambda: line in log.read_text()), log.read_text()[-500:]


@pytest.fixture(scope="module")
def short_lived():
    with Stack(extra="KmenSessionLifetime 4\nKmenSessionCacheTTL 1") as st:
        yield st


def test_session_lifetime_ends_an_active_session(short_lived, s):
    st = short_lived
    flow.login(s, st)
    logged_in = time.monotonic()
    for _ in range(3):  # active all along: the idle timeout is not what ends it
        assert s.get(st.base_url + "/app/headers.json", allow_redirects=False).status_code == 200
        time.sleep(0.5)
    time.sleep(max(0.0, logged_in + 4.5 - time.monotonic()))
    r = s.get(st.base_url + "/app/", allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(st.sso_url)


# --- logout from another site (CSRF) ------------------------------------------------------
def alive(portal, s):
    return s.get(portal.base_url + "/app/headers.json", allow_redirects=False).status_code == 200


def test_logout_from_another_site_asks_first(portal, s):
    """A cross-site GET /kmen/logout (an image or a link on someone else's page) ends
    nothing: the person sees a page whose button posts the session's token. Only that
    token logs out; this site's own links (Sec-Fetch-Site same-origin) log out at once."""
    flow.login(s, portal)
    logout = portal.base_url + "/kmen/logout"
    r = s.get(logout, params={"ReturnTo": "/public/"}, headers={"Sec-Fetch-Site": "cross-site"},
              allow_redirects=False)
    assert r.status_code == 200 and '<form method="post" action="/kmen/logout">' in r.text
    assert alive(portal, s)
    token = re.search(r'name="token" value="([0-9a-f]{64})"', r.text).group(1)
    assert 'name="ReturnTo" value="/public/"' in r.text
    forged = s.post(logout, data={"token": "0" * 64, "ReturnTo": "/public/"},
                    allow_redirects=False)
    assert forged.status_code == 200 and alive(portal, s)
    with requests.Session() as other:  # another person's token is no use either
        flow.login(other, portal, identity="cz-marie")
        theirs = other.get(logout, headers={"Sec-Fetch-Site": "cross-site"}).text
        other_token = re.search(r'name="token" value="([0-9a-f]{64})"', theirs).group(1)
    assert other_token != token
    assert s.post(logout, data={"token": other_token}, allow_redirects=False).status_code == 200
    assert alive(portal, s)
    r = s.post(logout, data={"token": token, "ReturnTo": "/public/"}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(portal.sso_url)
    assert not alive(portal, s)

    flow.login(s, portal)
    r = s.get(logout, params={"ReturnTo": "/public/"},
              headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert r.status_code == 303 and not alive(portal, s)


# --- a new login replaces the session the browser held ------------------------------------
def test_step_up_login_ends_the_weaker_session(portal, s, rows):
    """A login started by a browser that holds a session (a step-up to a higher LoA, or
    another person on a shared computer) ends that session once it completes: its cookie,
    wherever it was copied, opens nothing any more. NIA's POST is cross-site and carries no
    Lax cookie: the login-state cookie names the session to end."""
    flow.login(s, portal)  # substantial
    weaker = s.cookies.get("kmen_session")
    before = rows("session")
    flow.login(s, portal, loa="high", path="/high/")
    stronger = s.cookies.get("kmen_session")
    assert stronger != weaker
    assert rows("session") == before
    copy = requests.get(portal.base_url + "/app/headers.json", cookies={"kmen_session": weaker},
                        allow_redirects=False)
    assert copy.status_code == 303 and copy.headers["Location"].startswith(portal.sso_url)
    assert alive(portal, s)


def test_a_session_opens_only_for_its_own_sp(stack, s):
    """Two virtual hosts (here: nodes) that share the database and the register key but are
    different SPs (another KmenSPEntityID) do not take each other's sessions: the record is
    sealed to the entity ID too."""
    other = stack.new_httpd(entity_id=f"http://localhost:{stack.http_port}/jina-sluzba")
    flow.login(s, stack)
    cookie = {"kmen_session": s.cookies.get("kmen_session")}
    same = requests.get(stack.base_url + "/app/headers.json", cookies=cookie,
                        allow_redirects=False)
    assert same.status_code == 200
    r = requests.get(node_url(other, "/app/headers.json"), cookies=cookie, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(stack.sso_url), r.headers


# --- NIA's answer to a logout this browser started ----------------------------------------
SLO_COOKIE = "kmen_session_logout"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def logout_answer(portal, s, binding="post", signed=False, status="Success"):
    """Log in, log out to /public/ and let the sim answer as told: (the session cookie the
    logout ended, the URL of the portal's /kmen/slo the answer goes to, its form fields or
    None)."""
    flow.login(s, portal, identity="cz-jiri")
    cookie = s.cookies.get("kmen_session")
    s.get(portal.sim_url + "/admin/logout-answer", params={
        "binding": binding, "signed": int(signed), "status": status}).raise_for_status()
    r = flow.logout_at_sim(s, portal, "/public/")
    assert not alive(portal, s), "the local session outlived the logout's start"
    if binding == "post":
        url, fields = flow.auto_post_form(r)
        return cookie, portal.url(url), fields
    return cookie, portal.url(flow.location(r)), None


def assert_session_dead(portal, cookie):
    r = requests.get(portal.base_url + "/app/headers.json", cookies={"kmen_session": cookie},
                     allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(portal.sso_url), r.status_code


def deliver(s, url, fields):
    """The browser brings NIA's answer to /kmen/slo: POST or GET, as it came."""
    flow.browser_cookies(s)
    if fields is None:
        return s.get(url, allow_redirects=False)
    return s.post(url, data=fields, allow_redirects=False)


def landed(r):
    return urlsplit(flow.location(r)).path


def logout_response_xml(portal, in_response_to, destination=None, status=SUCCESS,
                        issuer="urn:microsoft:cgg2010:fpsts"):
    """An unsigned LogoutResponse as NIA sends it, with the values given (by default to the
    SP's logout URL, whichever server takes it)."""
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return (f'<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{uuid.uuid4().hex}" '
            f'Version="2.0" IssueInstant="{issued}" '
            f'Destination="{destination or portal.stack.base_url + "/kmen/slo"}" '
            f'InResponseTo="{in_response_to}"><saml:Issuer>{issuer}</saml:Issuer>'
            f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
            f'</samlp:LogoutResponse>')


def posted(xml):
    return {"SAMLResponse": base64.b64encode(xml.encode()).decode()}


def test_nia_unsigned_post_logout_response_ends_on_return_to(portal, s):
    """NIA answers the LogoutRequest as it does in production: an unsigned LogoutResponse
    that the browser posts to /kmen/slo. It names this browser's logout, so the person lands
    on the logout's ReturnTo, and the logout state is used up."""
    cookie, url, fields = logout_answer(portal, s)
    xml = base64.b64decode(fields["SAMLResponse"])
    assert b"Signature" not in xml and b"LogoutResponse" in xml
    assert url == portal.base_url + "/kmen/slo"
    assert s.cookies.get(SLO_COOKIE)
    r = deliver(s, url, fields)
    assert landed(r) == "/public/"
    assert flow.cookie_attrs(r, SLO_COOKIE)["max-age"] == "0"
    assert_session_dead(portal, cookie)
    assert "KMEN0638: logout completed at the IdP" in portal.log()


@pytest.mark.parametrize("binding,signed", [("post", True), ("redirect", False),
                                            ("redirect", True)])
def test_every_binding_of_the_logout_response_ends_on_return_to(portal, s, binding, signed):
    cookie, url, fields = logout_answer(portal, s, binding=binding, signed=signed)
    if binding == "redirect":
        assert ("Signature=" in url) == signed
    assert landed(deliver(s, url, fields)) == "/public/"
    assert_session_dead(portal, cookie)


def test_logout_response_is_honoured_once(portal, s):
    """A replayed LogoutResponse, with the logout-state cookie it came with restored, is
    refused on every node (the replay cache): the person goes home, not to ReturnTo."""
    _, url, fields = logout_answer(portal, s)
    state = s.cookies.get(SLO_COOKIE)
    assert landed(deliver(s, url, fields)) == "/public/"
    s.cookies.set(SLO_COOKIE, state)
    assert landed(deliver(s, url, fields)) == "/"
    assert "LogoutResponse refused: the logout was answered before (a replay)" in \
        portal.log()
    assert landed(deliver(s, url, fields)) == "/"  # and without the cookie, nothing either


def test_another_browsers_logout_response_is_refused(portal, s):
    _, url, fields = logout_answer(portal, s)
    with requests.Session() as other:
        flow.login(other, portal, identity="cz-marie")
        assert landed(deliver(other, url, fields)) == "/"
        assert alive(portal, other), "someone else's LogoutResponse ended a session"
    assert "LogoutResponse refused: no logout-state cookie" in portal.log()
    assert landed(deliver(s, url, fields)) == "/public/"  # its own browser still may


@pytest.mark.parametrize("case", ["login_request_id", "wrong_destination", "wrong_issuer",
                                  "forged_cookie"])
def test_unsigned_logout_response_must_answer_this_browsers_logout(portal, s, case):
    """Refused, the person going home: InResponseTo naming this browser's login request
    instead of its logout; another Destination or Issuer; a logout-state cookie edited to
    name another request. The right answer still works afterwards."""
    _, url, fields = logout_answer(portal, s)
    logout_id = flow.sim_json(s, portal, "/last-logout")["id"]
    expected = "InResponseTo names no logout this browser started"
    if case == "login_request_id":
        xml = logout_response_xml(portal, flow.sim_json(s, portal, "/last-request")["id"])
    elif case == "wrong_destination":
        xml = logout_response_xml(portal, logout_id, destination=portal.base_url + "/kmen/acs")
        expected = "Destination is not this SP's logout URL"
    elif case == "wrong_issuer":
        xml = logout_response_xml(portal, logout_id, issuer="urn:example:falesna-nia")
        expected = "Issuer is not the IdP"
    else:
        jar = next(c for c in s.cookies if c.name == SLO_COOKIE)
        jar.value = jar.value.replace(logout_id, "_" + "A" * 43)
        xml = logout_response_xml(portal, "_" + "A" * 43)
        expected = "the logout-state cookie is not this server's"
    assert landed(deliver(s, url, posted(xml))) == "/"
    assert f"LogoutResponse refused: {expected}" in portal.log()
    if case != "forged_cookie":
        assert landed(deliver(s, url, fields)) == "/public/"


@pytest.mark.parametrize("binding", ["post", "redirect"])
def test_logout_response_with_a_bad_signature_is_refused(portal, s, binding):
    """A signature it carries must be the IdP's: a signed answer edited after signing is
    refused (and does not use up the logout: NIA's own answer still ends on ReturnTo)."""
    _, url, fields = logout_answer(portal, s, binding=binding, signed=True)
    if binding == "post":
        xml = base64.b64decode(fields["SAMLResponse"]).replace(b'Version="2.0"',
                                                               b'Version="2.0" Consent="x"')
        forged_url, forged = url, {"SAMLResponse": base64.b64encode(xml).decode()}
        why = "the LogoutResponse's XML signature is not the IdP's"
    else:
        forged_url, forged = url.replace("Signature=", "Signature=AAAA"), None
        why = "the HTTP-Redirect signature is not the IdP's"
    assert landed(deliver(s, forged_url, forged)) == "/"
    assert f"LogoutResponse refused: {why}" in portal.log()
    assert landed(deliver(s, url, fields)) == "/public/"


def logout_not_confirmed(portal, s):
    """NIA answers with a status other than Success: 502, and the session here has ended.
    The answer."""
    cookie, url, fields = logout_answer(portal, s, status="Responder")
    r = deliver(s, url, fields)
    assert r.status_code == 502
    assert_session_dead(portal, cookie)
    assert "logout not confirmed by the IdP: status urn:oasis:names:tc:SAML:2.0:status:" \
        "Responder" in portal.log()
    return r


def test_logout_not_confirmed_by_nia_ends_the_session(portal, s):
    logout_not_confirmed(portal, s)


def test_logout_not_confirmed_by_nia_says_so(portal, s):
    """The page says, in both languages, that the logout at NIA may not be complete."""
    r = logout_not_confirmed(portal, s)
    assert "Odhlášení nemusí být dokončeno" in r.text and "may not be complete" in r.text


def test_bare_slo_ends_the_local_session_and_goes_home(portal, s):
    """GET /kmen/slo without a SAML message: home, and the session ends when this site or
    the person asked (another site's link ends nothing: no logout CSRF)."""
    flow.login(s, portal)
    r = s.get(portal.base_url + "/kmen/slo", headers={"Sec-Fetch-Site": "cross-site"},
              allow_redirects=False)
    assert landed(r) == "/" and alive(portal, s)
    r = s.get(portal.base_url + "/kmen/slo", allow_redirects=False)
    assert landed(r) == "/" and not alive(portal, s)
    assert landed(requests.get(portal.base_url + "/kmen/slo", allow_redirects=False)) == "/"
