# SPDX-License-Identifier: GPL-2.0-or-later
"""Sessions across nodes and over time, env vars, Kmen-Signature, the kmen-loa provider.

Second httpd nodes share the database and the session cookie (cookies ignore the port),
so a login on the primary node is a session on every node."""

import hashlib
import hmac
import re
import time

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
def alive(stack, s):
    return s.get(stack.base_url + "/app/headers.json", allow_redirects=False).status_code == 200


def test_logout_from_another_site_asks_first(stack, s):
    """A cross-site GET /kmen/logout (an image or a link on someone else's page) ends
    nothing: the person sees a page whose button posts the session's token. Only that
    token logs out; this site's own links (Sec-Fetch-Site same-origin) log out at once."""
    flow.login(s, stack)
    logout = stack.base_url + "/kmen/logout"
    r = s.get(logout, params={"ReturnTo": "/public/"}, headers={"Sec-Fetch-Site": "cross-site"},
              allow_redirects=False)
    assert r.status_code == 200 and '<form method="post" action="/kmen/logout">' in r.text
    assert alive(stack, s)
    token = re.search(r'name="token" value="([0-9a-f]{64})"', r.text).group(1)
    assert 'name="ReturnTo" value="/public/"' in r.text
    forged = s.post(logout, data={"token": "0" * 64, "ReturnTo": "/public/"},
                    allow_redirects=False)
    assert forged.status_code == 200 and alive(stack, s)
    with requests.Session() as other:  # another person's token is no use either
        flow.login(other, stack, identity="cz-marie")
        theirs = other.get(logout, headers={"Sec-Fetch-Site": "cross-site"}).text
        other_token = re.search(r'name="token" value="([0-9a-f]{64})"', theirs).group(1)
    assert other_token != token
    assert s.post(logout, data={"token": other_token}, allow_redirects=False).status_code == 200
    assert alive(stack, s)
    r = s.post(logout, data={"token": token, "ReturnTo": "/public/"}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith(stack.sso_url)
    assert not alive(stack, s)

    flow.login(s, stack)
    r = s.get(logout, params={"ReturnTo": "/public/"},
              headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert r.status_code == 303 and not alive(stack, s)


# --- a new login replaces the session the browser held ------------------------------------
def test_step_up_login_ends_the_weaker_session(stack, s, rows):
    """A login started by a browser that holds a session (a step-up to a higher LoA, or
    another person on a shared computer) ends that session once it completes: its cookie,
    wherever it was copied, opens nothing any more. NIA's POST is cross-site and carries no
    Lax cookie: the login-state cookie names the session to end."""
    flow.login(s, stack)  # substantial
    weaker = s.cookies.get("kmen_session")
    before = rows("session")
    flow.login(s, stack, loa="high", path="/high/")
    stronger = s.cookies.get("kmen_session")
    assert stronger != weaker
    assert rows("session") == before
    copy = requests.get(stack.base_url + "/app/headers.json", cookies={"kmen_session": weaker},
                        allow_redirects=False)
    assert copy.status_code == 303 and copy.headers["Location"].startswith(stack.sso_url)
    assert alive(stack, s)


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
