# SPDX-License-Identifier: GPL-2.0-or-later
"""Incoming headers that could pass for mod_kmen's own: every header of the contract, in
every spelling a backend might fold together, with odd whitespace, at protected and
unprotected proxied paths, in CGI environment variables, under the endpoint path (and
through KmenErrorDocument's internal redirect), and the backend-to-module response headers
sent by a client instead of a backend.

The header names are read from the code (core/identity.c's field table, the set_one()
calls in headers.c, the response headers backend.c takes, the callback header evidence.c
reads) and from docs/headers.md, not listed here. Requests go over a raw socket so that
names reach httpd exactly as written (requests and http.client would merge or refuse some).
test_headers.py and test_register.py cover a few canonical spellings; this extends them."""

import json
import os
import re
import uuid

import pytest
import requests

from t.lib import REPO, flow, source

MODULES = "/usr/lib/apache2/modules"

pytestmark = pytest.mark.usefixtures("no_crash_in_module", "no_crash")


# --- what the contract names -------------------------------------------------------------
def request_contract():
    """[(suffix, env var)] of every request header mod_kmen sets (Kmen-<suffix>)."""
    identity = source("identity.c").read_text()
    headers_c = source("headers.c").read_text()
    docs = (REPO / "docs" / "headers.md").read_text()
    found = re.findall(r'FIELD\(\s*"[^"]*",\s*"([A-Za-z-]+)",\s*"(KMEN_\w+)"', identity)
    found += re.findall(r'set_one\(&ctx,\s*"([A-Za-z-]+)",\s*"(KMEN_\w+)"', headers_c)
    if re.search(r'header_prefix,\s*"Signature"', headers_c):
        found.append(("Signature", "KMEN_SIGNATURE"))
    found += re.findall(r"^\| `Kmen-([A-Za-z-]+)` \| `(KMEN_\w+)` \|", docs, re.M)
    return sorted(set(found))


def response_contract():
    """Suffixes of the headers a backend sends back to mod_kmen, and the evidence callback's
    signature header."""
    backend = source("backend.c").read_text()
    evidence = source("evidence.c").read_text()
    found = re.findall(r'header_prefix,\s*"([A-Za-z-]+)"', backend)
    found += re.findall(r'headers_in,\s*"Kmen-([A-Za-z-]+)"', evidence)
    return sorted(set(found))


REQUEST = request_contract()
RESPONSE = response_contract()
# Every name to forge: the contract's, the response ones and one the contract lacks.
SUFFIXES = [s for s, _ in REQUEST] + RESPONSE + ["Anything-Else"]
ENV_NAMES = {env for _, env in REQUEST}

SPELLINGS = {
    "canonical": lambda n: n,                               # Kmen-Client-Id
    "upper": str.upper,                                     # KMEN-CLIENT-ID
    "lower": str.lower,                                     # kmen-client-id
    "underscore": lambda n: n.replace("-", "_"),            # Kmen_Client_Id
    "lower-underscore": lambda n: n.lower().replace("-", "_"),  # kmen_client_id
    "mixed": lambda n: "".join(c.upper() if i % 2 else c.lower()  # kMeN_ClIeNt-iD
                               for i, c in enumerate(n.replace("-", "_", 1))),
}


def forged_lines(spelling, tag=""):
    """One header line per name to forge, in SPELLING; each value says FORGED."""
    spell = SPELLINGS[spelling]
    return [f"{spell('Kmen-' + suffix)}: FORGED-{tag}{spelling}-{suffix}" for suffix in SUFFIXES]


# --- requests as written ---------------------------------------------------------------
def send(port, path, lines=(), method="GET", body=b"", cookie=None):
    """flow.send_raw with the session cookie COOKIE after LINES."""
    cookie_line = [f"Cookie: kmen_session={cookie}"] if cookie else []
    return flow.send_raw(port, path, [*lines, *cookie_line], method=method, body=body)


def received(status, body):
    """The headers the portal echoed (a …headers.json answer)."""
    assert status == 200, (status, body[:300])
    return json.loads(body)


def echo(port, path, lines, cookie=None):
    """What the portal received for a GET of PATH (…headers.json) with these header lines."""
    status, _, body = send(port, path, lines, cookie=cookie)
    return received(status, body)


def kmen_like(name):
    return name.lower().replace("_", "-").startswith("kmen-")


def kmen_part(headers):
    """{name: value} of the headers a backend could take for mod_kmen's."""
    return {k: v for k, v in headers.items() if kmen_like(k)}


def nothing_forged(data):
    text = data if isinstance(data, str) else json.dumps(data)
    return "forged" not in text.lower()


# --- the site ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def person(stack):
    """A logged-in citizen: (session cookie value, the Kmen-* headers /app gives them)."""
    return logged_in(stack)


@pytest.fixture(scope="module")
def person_on(stack, server):
    """The citizen logged in on SERVER's portal: (the portal, cookie, Kmen-* headers)."""
    portal = stack.on(server)
    return portal, *logged_in(portal)


def logged_in(site):
    with requests.Session() as b:
        flow.login(b, site, identity="cz-jiri")
        genuine = kmen_part(flow.headers_of(b, site.base_url + "/app/headers.json"))
        return b.cookies.get("kmen_session"), genuine


ENV_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
env
"""


@pytest.fixture(scope="module")
def node(stack):
    """A node with a CGI that prints its environment (/cgi-pub/, and /cgi-app/ behind
    AuthType Kmen), mod_headers copying every KMEN_* env var into X-Env-* request headers
    (/env-pub/, /env-app/), a KmenAllowLink + KmenAcceptContact place (/account) and an
    unprotected KmenAcceptContact place (/desk), and KmenErrorDocument on a backend page."""
    cgi = stack.dir / "spoof-cgi"
    cgi.mkdir(mode=0o755, exist_ok=True)
    (cgi / "env.cgi").write_text(ENV_CGI)
    os.chmod(cgi / "env.cgi", 0o755)
    backend = f"http://127.0.0.1:{stack.portal_port}"
    copy_env = "\n".join(f'    RequestHeader set X-Env-{env} "%{{{env}}}e" env={env}'
                         for env in sorted(ENV_NAMES))
    return stack.new_httpd(
        extra=f"LoadModule headers_module {MODULES}/mod_headers.so\n"
              f"LoadModule cgid_module {MODULES}/mod_cgid.so\n"
              f"LoadModule alias_module {MODULES}/mod_alias.so\n"
              "KmenErrorDocument /public/kmen-error/headers.json\n"
              # every header name in three spellings is more than httpd's default 100 lines
              "LimitRequestFields 400",
        locations=f"""ScriptAlias /cgi-pub/ {cgi}/
ScriptAlias /cgi-app/ {cgi}/
<Directory {cgi}>
    Require all granted
</Directory>
<Location /cgi-app>
    AuthType Kmen
    Require valid-user
</Location>
<Location /env-pub>
{copy_env}
    ProxyPass {backend}/env-pub
</Location>
<Location /env-app>
    AuthType Kmen
    Require valid-user
{copy_env}
    ProxyPass {backend}/env-app
</Location>
<Location /account>
    AuthType Kmen
    Require valid-user
    KmenAllowLink On
    KmenAcceptContact On
    KmenAcceptLinkSystem On
    KmenAcceptEvidenceRequest On
    ProxyPass {backend}/account
</Location>
<Location /desk>
    KmenAcceptContact On
    ProxyPass {backend}/desk
</Location>""")


# --- the names ---------------------------------------------------------------------------
def test_the_contract_is_read_whole():
    """The names are really read from the code and the docs: the request headers of
    docs/headers.md, each with its env twin, and the four response headers."""
    suffixes = {s for s, _ in REQUEST}
    assert len(REQUEST) == len(suffixes) >= 23, REQUEST  # one env twin per header
    assert {"Client-Id", "Client-Status", "Client-Id-Merged-From", "Systems", "Origin", "LoA",
            "Given-Name", "Aifo", "Evidence", "Signature", "Auth-Instant"} <= suffixes
    assert all(env == "KMEN_" + s.upper().replace("-", "_") for s, env in REQUEST), REQUEST
    assert {"Link-System", "Complete", "Evidence-Request", "Potential-Contact",
            "Evidence-Signature"} <= set(RESPONSE)


# --- (1) protected path ------------------------------------------------------------------
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_protected_path_sees_only_the_modules_values(person_on, spelling):
    """Every contract header forged in this spelling, with a valid session, at a protected
    proxied path: the backend gets exactly the Kmen-* headers it gets without them, each
    once, with mod_kmen's values and names (no underscore twin). On httpd and nginx."""
    portal, cookie, genuine = person_on
    got = echo(portal.http_port, "/app/headers.json", forged_lines(spelling), cookie)
    assert kmen_part(got) == genuine
    assert nothing_forged(got), got
    folded = [k.lower().replace("_", "-") for k in kmen_part(got)]
    assert len(folded) == len(set(folded))


# --- (2) unprotected path ----------------------------------------------------------------
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_unprotected_path_sees_none(person_on, spelling):
    """The same forged headers at /public (proxied, no AuthType Kmen), from a browser that
    is logged in: the backend gets no Kmen-* header at all, neither forged nor genuine. On
    httpd and nginx."""
    portal, cookie, _ = person_on
    got = echo(portal.http_port, "/public/headers.json", forged_lines(spelling), cookie)
    assert kmen_part(got) == {}, got
    assert nothing_forged(got), got


# Accepted by httpd: the header must be removed whatever its whitespace.
ODD_ACCEPTED = {
    "padded value": [b"Kmen-Client-Id:    FORGED-padded    "],
    "tabs around value": [b"Kmen-Client-Id:\tFORGED-tabs\t"],
    "no space": [b"Kmen-Client-Id:FORGED-tight"],
    "empty value": [b"Kmen-Client-Id:", b"Kmen-LoA:   "],
    "folded continuation": [b"Kmen-Client-Id: FORGED-folded", b"\tFORGED-continued"],
    "hidden by folding": [b"X-Innocent: a", b" Kmen-Client-Id: FORGED-hidden"],
    "twice in one spelling": [b"Kmen-Client-Id: FORGED-one", b"Kmen-Client-Id: FORGED-two"],
    "every spelling at once": [f"{f('Kmen-Client-Id')}: FORGED-{n}".encode()
                               for n, f in SPELLINGS.items()],
    "8 KB value": [b"Kmen-Client-Id: FORGED-" + b"x" * 8000],
    "non-ASCII value": [b"Kmen-Given-Name: FORGED-\xc5\x99\xff"],
    "ninety of them": [f"Kmen-X-{i}: FORGED-{i}".encode() for i in range(90)],
}
# Refused by httpd's strict parser (HttpProtocolOptions Strict, the default) with 400.
ODD_REFUSED = {
    "space before colon": [b"Kmen-Client-Id : FORGED-sp"],
    "tab before colon": [b"Kmen-Client-Id\t: FORGED-tab"],
    "leading whitespace, first line": [b" Kmen-Client-Id: FORGED-lead"],
    "space inside the name": [b"Kmen Client-Id: FORGED-inner"],
    "Kelvin sign for K": [b"\xe2\x84\xaamen-Client-Id: FORGED-kelvin"],
    "NUL in the name": [b"Kmen-Client-Id\x00: FORGED-nul"],
    "vertical tab in the name": [b"Kmen-Client-Id\x0b: FORGED-vt"],
}

# nginx's parser (before any module runs) refuses as httpd's does, but it refuses a folded
# line too (obs-fold, a line that starts with whitespace), and it drops a line whose name
# has bytes that are no token, such as the Kelvin sign (ignore_invalid_headers): that line
# reaches neither the module nor the backend, and the request goes on.
NGINX_REFUSED = {*ODD_REFUSED, "folded continuation", "hidden by folding"} - \
    {"Kelvin sign for K"}
REFUSED_BY = {"httpd": set(ODD_REFUSED), "nginx": NGINX_REFUSED}


@pytest.mark.parametrize("case", list(ODD_ACCEPTED) + list(ODD_REFUSED))
def test_odd_whitespace_and_shapes(person_on, case):
    """Forged Kmen-* headers with odd whitespace, folding, repeats, huge or non-ASCII values:
    at /app the backend sees exactly the module's headers, at /public none; the shapes the
    server's own parser refuses (httpd's strict one: whitespace or bytes that are no token in
    the name; nginx's: REFUSED_BY) get 400."""
    portal, cookie, genuine = person_on
    lines = {**ODD_ACCEPTED, **ODD_REFUSED}[case]
    for path, expected in (("/app/headers.json", genuine), ("/public/headers.json", {})):
        status, _, body = send(portal.http_port, path, lines, cookie=cookie)
        if case in REFUSED_BY[portal.server]:
            assert status == 400, (path, status, body[:300])
            continue
        got = received(status, body)
        assert kmen_part(got) == expected, (path, got)
        assert nothing_forged(kmen_part(got))
        if case != "hidden by folding":  # that one is X-Innocent's value now
            assert nothing_forged(got), got


# --- (3) environment variables -----------------------------------------------------------
# httpd only: nginx hands a backend no environment (no CGI, no subprocess_env)
def cgi_env(node, path, lines, cookie):
    status, _, body = send(node.port, path, lines, cookie=cookie)
    assert status == 200, (status, body[:300])
    return dict(line.split("=", 1) for line in body.decode("latin-1").splitlines() if "=" in line)


NOT_OURS = [b"Http-Kmen-Client-Id: not-ours", b"HTTP_KMEN_CLIENT_ID: not-ours",
            b"Kmen.Client.Id: not-ours", b"Kmen: not-ours", b"KmenClientId: not-ours"]


def kmen_env(env):
    return {k: v for k, v in env.items()
            if k.startswith(("KMEN_", "HTTP_KMEN_", "REDIRECT_KMEN_", "REDIRECT_HTTP_KMEN_"))}


@pytest.mark.parametrize("spelling", ["canonical", "lower-underscore", "mixed"])
def test_cgi_environment_cannot_be_set_from_the_request(stack, node, person, spelling):
    """A CGI sees the request as environment variables. With forged headers (and look-alikes
    such as Http-Kmen-Client-Id or HTTP_KMEN_CLIENT_ID): unprotected, no KMEN_* or
    HTTP_KMEN_* variable exists at all; protected, exactly mod_kmen's: KMEN_* for its env
    names and HTTP_KMEN_* equal to the headers a proxied backend gets."""
    cookie, genuine = person
    lines = [*NOT_OURS, *forged_lines(spelling)]
    env = cgi_env(node, "/cgi-pub/env.cgi", lines, cookie)
    assert kmen_env(env) == {}, kmen_env(env)
    assert nothing_forged("\n".join(f"{k}={v}" for k, v in env.items())), env
    env = cgi_env(node, "/cgi-app/env.cgi", lines, cookie)
    ours = kmen_env(env)
    assert nothing_forged("\n".join(f"{k}={v}" for k, v in env.items())), env
    expected_http = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in genuine.items()}
    assert {k: v for k, v in ours.items() if k.startswith("HTTP_")} == expected_http
    assert {k for k in ours if k.startswith("KMEN_")} == \
        {"KMEN_" + k[len("Kmen-"):].upper().replace("-", "_") for k in genuine}
    assert {k for k in ours if k.startswith("KMEN_")} <= ENV_NAMES
    assert env["KMEN_CLIENT_ID"] == genuine["Kmen-Client-Id"] == env["REMOTE_USER"]


def test_module_env_vars_cannot_be_set_from_the_request(stack, node, person):
    """mod_headers copies every KMEN_* env var into an X-Env-* header (%{VAR}e, only when
    set): at an unprotected proxied place no KMEN_* variable exists despite forged headers
    in every spelling; at a protected one they are mod_kmen's."""
    cookie, genuine = person
    lines = [line for s in ("canonical", "upper", "lower-underscore") for line in
             forged_lines(s)] + NOT_OURS
    got = echo(node.port, "/env-pub/headers.json", lines, cookie=cookie)
    assert not [k for k in got if k.lower().startswith("x-env-")], got
    assert kmen_part(got) == {} and nothing_forged(got), got
    got = echo(node.port, "/env-app/headers.json", lines, cookie=cookie)
    env = {k[len("X-Env-"):]: v for k, v in got.items() if k.startswith("X-Env-")}
    assert env["KMEN_CLIENT_ID"] == genuine["Kmen-Client-Id"]
    assert env["KMEN_LOA"] == "substantial" and env["KMEN_ORIGIN"] == "nia"
    assert set(env) == {"KMEN_" + k[len("Kmen-"):].upper().replace("-", "_") for k in genuine}
    assert nothing_forged(got), got


# --- (4) under the endpoint path ---------------------------------------------------------
ENDPOINT_GETS = ["/kmen/nope", "/kmen/login?ReturnTo=/app/", "/kmen/login?ReturnTo=//evil/",
                 "/kmen/metadata", "/kmen/health", "/kmen/slo", "/kmen/slo?SAMLRequest=x",
                 f"/kmen/evidence/{uuid.uuid4()}", "/kmen/logout?ReturnTo=/public/",
                 "/kmen/acs", "/kmen/", "/kmen/evidence/../../public/headers.json",
                 "/kmen/../public/headers.json", "/kmen/%2e%2e/public/headers.json",
                 "/kmen/..%2fpublic/headers.json", "/kmen/./../app/headers.json",
                 "/kmen//../public/headers.json", "/KMEN/../public/headers.json"]
ENDPOINT_POSTS = ["/kmen/acs", "/kmen/evidence", "/kmen/login", "/kmen/slo"]


NGINX_REACHED = ["GET " + path for path in ENDPOINT_GETS if "/.." in path or "..%2f" in path
                 or "%2e%2e" in path]


def endpoint_answers(port, cookie):
    """(request, status, headers, body) for every endpoint request, with every forged
    header (canonical spelling)."""
    out = []
    for method, paths in (("GET", ENDPOINT_GETS), ("POST", ENDPOINT_POSTS)):
        for path in paths:
            status, headers, body = send(port, path, forged_lines("canonical"), method=method,
                                         body=b"SAMLResponse=PHg%2B" if method == "POST" else b"",
                                         cookie=cookie if "/app/" in path else None)
            out.append((f"{method} {path}", status, headers, body))
    return out


def test_endpoint_paths_reflect_nothing(person_on):
    """Under /kmen/ mod_kmen leaves incoming Kmen-* headers alone (the evidence callback's
    signature must reach it) but answers every such path itself: no answer reflects a forged
    header, none is a 5xx, and dot segments (/kmen/../public/…, %2e%2e, ..%2f, //..) cannot
    carry the unstripped headers on to a backend, because mod_kmen answers them before httpd
    normalises the path. The one path that merely normalises to /public (/KMEN/../) was
    stripped like any other.
    nginx normalises the path before it picks a location, so there each of those dot
    segments leaves /kmen/ and reaches the backend as the page it names, stripped there
    (the person's own headers at /app, none at /public): NGINX_REACHED."""
    portal, cookie, genuine = person_on
    reached = []
    for what, status, headers, body in endpoint_answers(portal.http_port, cookie):
        assert status < 500, (what, status, body[:300])
        assert nothing_forged(body.decode("latin-1")), (what, body[:500])
        assert nothing_forged(repr(headers)), (what, headers)
        if body.startswith(b'{"Host"'):  # the portal's echo: it reached the backend
            reached.append(what)
            assert kmen_part(json.loads(body)) == (genuine if "/app/" in what else {}), what
    assert reached == (["GET /KMEN/../public/headers.json"] if portal.server == "httpd"
                       else NGINX_REACHED)


@pytest.fixture(scope="module")
def error_document_node(request, stack, server):
    """A node of SERVER whose error document is a proxied backend page: on httpd `node`
    (KmenErrorDocument), on nginx one with kmen_error_document."""
    if server == "httpd":
        return request.getfixturevalue("node")
    return stack.new_nginx(server="kmen_error_document /public/kmen-error/headers.json;")


def test_error_document_redirect_carries_nothing_forged(error_document_node, person):
    """With KmenErrorDocument on a proxied backend page, the module's error answers under
    /kmen/ become internal redirects to that backend: the redirected request is stripped
    (httpd runs post_read_request again; the nginx module strips it before redirecting), so
    the backend gets no Kmen-* header of the client's."""
    node = error_document_node
    cookie, _ = person
    reached = 0
    for what, status, headers, body in endpoint_answers(node.port, cookie):
        assert status < 500, (what, status, body[:300])
        assert nothing_forged(body.decode("latin-1")), (what, body[:500])
        if body.startswith(b'{"Host"'):
            reached += 1
            got = json.loads(body)
            assert kmen_part(got) in ({}, person[1]), (what, got)
    assert reached >= 5  # the error pages really went through the backend


# --- (5) the backend's response headers, sent by a client --------------------------------
def register_state(stack, client_id, potential):
    q = stack.query
    return {
        "clients": q("SELECT count(*) FROM kmen.client")[0][0],
        "contacts": q("SELECT count(*) FROM kmen.client_contact")[0][0],
        "aliases": q("SELECT count(*) FROM kmen.client_alias")[0][0],
        "evidence": q("SELECT count(*) FROM kmen.evidence")[0][0],
        "systems": sorted(r[0] for r in q(
            "SELECT cs.system FROM kmen.client_system cs JOIN kmen.client c ON c.id = cs.client"
            " WHERE c.client_id = %s", (client_id,))),
        "potential": q("SELECT potential FROM kmen.client WHERE client_id = %s",
                       (potential,))[0][0],
        "audit": q("SELECT count(*) FROM kmen.audit WHERE event IN ('complete', "
                   "'link_system', 'potential', 'contact', 'evidence', 'merge')")[0][0],
    }


@pytest.fixture(scope="module")
def commands_node(request, stack, server):
    """A node of SERVER with a place that obeys every backend command (/account: link,
    contact, link system, evidence request) and an unprotected one that takes contacts
    (/desk): on httpd `node`, on nginx one of its own (the portal's locations besides)."""
    if server == "httpd":
        return request.getfixturevalue("node")
    backend = f"proxy_pass http://127.0.0.1:{stack.portal_port};"
    return stack.new_nginx(server=f"""
        location /account {{
            kmen_auth on; kmen_allow_link on; kmen_accept_contact on;
            kmen_accept_link_system on; kmen_accept_evidence_request on;
            {backend}
        }}
        location /desk {{ kmen_accept_contact on; {backend} }}""")


def test_backend_response_headers_sent_by_a_client_do_nothing(stack, server, commands_node):
    """Kmen-Link-System, Kmen-Complete (link= to a real potential client), Kmen-Potential-
    Contact and Kmen-Evidence-Request are obeyed only as a backend's response headers. Sent
    by a client, in every spelling, where each would be honoured (KmenAllowLink,
    KmenAcceptContact, KmenAcceptLinkSystem, KmenAcceptEvidenceRequest, KmenEvidenceURL set): the page passes unchanged, the backend never
    sees them, the register and the session are as they were. A control shows the same
    place does act on the backend's own Kmen-Link-System. On httpd and on nginx."""
    node, portal = commands_node, stack.on(server)
    mark = uuid.uuid4().hex[:10]
    potential = stack.kmenctl("add-potential", stack.conninfo(), "--key-file",
                              stack.keys.register_key, "--email",
                              f"spoof-{mark}@example.cz").stdout.split()[0]
    with requests.Session() as b:
        flow.login(b, stack, identity="cz-tomas")
        cookie = b.cookies.get("kmen_session")
        client = flow.header(flow.headers_of(b, stack.base_url + "/app/headers.json"),
                             "Kmen-Client-Id")
    before = register_state(stack, client, potential)
    assert before["potential"] is True
    values = {"Link-System": f"forged{mark}", "Complete": f"link={potential}",
              "Potential-Contact": f"email=forged-{mark}@example.cz; name=Forged",
              "Evidence-Request": "type=birth-certificate; country=DE"}
    for spelling, spell in SPELLINGS.items():
        lines = [f"{spell('Kmen-' + k)}: {v}" for k, v in values.items()]
        for port, path in ((node.port, "/account/headers.json"),
                           (node.port, "/desk/headers.json"),
                           (portal.http_port, "/app/headers.json")):
            status, headers, body = send(port, path, lines, cookie=cookie)
            assert status == 200, (spelling, path, status, body[:300])
            got = json.loads(body)
            assert not [k for k in got if kmen_like(k) and
                        k.lower().replace("_", "-")[5:] in {s.lower() for s in values}], got
            assert not [k for k, _ in headers if kmen_like(k)], headers
            if path != "/desk/headers.json":
                assert flow.header(got, "Kmen-Client-Id") == client
    assert register_state(stack, client, potential) == before
    # control: the backend's own header, at the same place, is acted upon
    r = requests.get(f"http://localhost:{node.port}/account/link",
                     params={"system": f"control{mark}"}, cookies={"kmen_session": cookie})
    assert r.status_code == 200
    assert register_state(stack, client, potential)["systems"] == \
        sorted(before["systems"] + [f"control{mark}"])
