# SPDX-License-Identifier: GPL-2.0-or-later
"""The /kmen endpoints: metadata, health, ReturnTo checking; behaviour without a database.
The metadata, health, ReturnTo and the database's absence on httpd and on nginx (the `portal`
fixture), KmenSPType's too; the status page is httpd's (nginx has none)."""

from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from t.lib import flow, poll
from t.lib.keys import cert_base64

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:"


# --- metadata ------------------------------------------------------------------------
def test_sp_metadata(portal, s):
    """The SP's metadata, as either server serves it: it names the SP's URLs (its entity
    ID's, the primary httpd's), whichever node serves it."""
    r = s.get(portal.base_url + "/kmen/metadata")
    assert r.status_code == 200
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    assert root.get("entityID") == portal.entity_id
    sp = root.find(f"{{{MD}}}SPSSODescriptor")
    assert sp.get("AuthnRequestsSigned") == "true"
    assert sp.get("WantAssertionsSigned") == "true"
    cert = cert_base64(portal.keys.sp_cert)
    for use in ("signing", "encryption"):
        kd = sp.xpath("md:KeyDescriptor[@use=$use]", namespaces={"md": MD}, use=use)
        assert kd, f"no KeyDescriptor use={use}"
        x509 = kd[0].findtext(f".//{{{DS}}}X509Certificate")
        assert "".join(x509.split()) == cert
    acs = sp.find(f"{{{MD}}}AssertionConsumerService")
    assert acs.get("Binding") == BINDING + "HTTP-POST"
    assert acs.get("Location") == portal.stack.acs_url
    for binding in ("HTTP-Redirect", "HTTP-POST"):  # NIA posts its LogoutResponse
        slo = sp.xpath("md:SingleLogoutService[@Binding=$b]", namespaces={"md": MD},
                       b=BINDING + binding)
        assert slo and slo[0].get("Location") == portal.stack.base_url + "/kmen/slo", binding
    assert sp_type(root) == "public"


EIDAS = "http://eidas.europa.eu/saml-extensions"


def sp_type(metadata_root):
    return metadata_root.findtext(f"{{{MD}}}Extensions/{{{EIDAS}}}SPType")


@pytest.fixture
def private_node(stack, server):
    """A node of SERVER whose whole server is a private body's (KmenSPType private)."""
    if server == "httpd":
        return stack.new_httpd(extra="KmenSPType private")
    return stack.new_nginx(http="kmen_sp_type private;")


def test_metadata_publishes_the_servers_sp_type(private_node, s):
    """A private body (SPUU) sets KmenSPType private for the whole server: the metadata
    says so too, not only its AuthnRequests."""
    r = s.get(f"http://localhost:{private_node.port}/kmen/metadata")
    assert r.status_code == 200
    assert sp_type(etree.fromstring(r.content)) == "private"


# --- health --------------------------------------------------------------------------
def health(portal):
    r = requests.get(portal.base_url + "/kmen/health", timeout=10)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    return r.status_code, r.json()


def test_health_follows_the_database(portal):
    status, doc = health(portal)
    assert status == 200 and doc["database"] == "ok", doc
    with portal.postgres_down():
        status, doc = health(portal)
        assert status == 503 and doc["database"] != "ok", doc
    assert poll(lambda: health(portal)[0] == 200), "the server did not reconnect within 10 s"
    assert health(portal)[1]["database"] == "ok"


# --- without the database ------------------------------------------------------------
def assert_unavailable(r):
    assert r.status_code == 503, f"{r.status_code}: {r.text[:300]}"
    assert r.headers.get("Retry-After"), r.headers


def test_database_down(portal, s):
    flow.login(s, portal, identity="cz-jiri")
    waiting = requests.Session()  # a browser at NIA's page while the database goes away
    ticket, _ = flow.idp_page(waiting, flow.start(waiting, portal.base_url + "/app/"))
    acs, fields = flow.respond(waiting, ticket)
    acs = portal.url(acs)
    with portal.postgres_down():
        assert_unavailable(requests.get(portal.base_url + "/app/", allow_redirects=False))
        assert_unavailable(flow.post_acs(waiting, acs, fields))
        # The session cache stands in front of the database (core/session.c): a valid
        # session may still be served; if not, the answer is 503, never an error page.
        r = s.get(portal.base_url + "/app/", allow_redirects=False)
        if r.status_code != 200:
            assert_unavailable(r)
    assert poll(lambda: health(portal)[0] == 200), "the server did not reconnect within 10 s"


# --- ReturnTo: local paths only --------------------------------------------------------
# Values as they appear in the query string (already percent-encoded where it matters).
HOSTILE = [
    "https://evil.example/", "http://evil.example", "HTTPS://evil.example",
    "https%3A%2F%2Fevil.example%2F", "ftp://evil.example/", "//evil.example",
    "%2F%2Fevil.example", "%2f%2fevil.example", "///evil.example", "////evil.example",
    "/%2F%2Fevil.example", "/%2Fevil.example", "/%5Cevil.example", "%5C%5Cevil.example",
    "%5C/evil.example", "/%5C/evil.example", "http:evil.example", "https:/evil.example",
    "http:%2F%2Fevil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "%20javascript:alert(1)", "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
    "/foo%0d%0aSet-Cookie:x=1", "/foo%0aLocation:%20http://evil.example", "/foo%0d",
    "%09//evil.example", "/%09/evil.example", "/%0a/evil.example", "%20//evil.example",
    "//evil.example@localhost", "http://localhost@evil.example/",
    "//localhost%40evil.example", "https://user:pass@evil.example/",
    "/.//evil.example", "/./%2F/evil.example", "//evil.example:443/app/",
    "/%00//evil.example", "/app/%00", "/app/%7F", "/app/%1b",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_return_to_is_refused(portal, s, value):
    r = s.get(f"{portal.base_url}/kmen/login?ReturnTo={value}", allow_redirects=False)
    assert r.status_code == 400, f"{value!r}: {r.status_code} {r.headers.get('Location')}"
    assert "Location" not in r.headers


def test_local_return_to_survives_the_login(portal, s):
    r = s.get(portal.url("/kmen/login?ReturnTo=%2Fapp%2Fx%3Fy%3D1"), allow_redirects=False)
    assert r.status_code == 303
    loc = flow.location(r)
    assert loc.startswith(portal.sso_url)
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, loc)
    acs, fields = flow.respond(s, ticket)
    back = flow.post_acs(s, portal.url(acs), fields)
    assert back.status_code == 303
    target = urlsplit(flow.location(back))
    assert (target.netloc, target.path, target.query) == (f"localhost:{portal.http_port}",
                                                          "/app/x", "y=1")


# --- status page (SetHandler kmen-status) ---------------------------------------------
@pytest.fixture(scope="module")
def status_node(stack):
    return stack.new_httpd(locations="""<Location /kmen-status>
    SetHandler kmen-status
    Require all granted
</Location>
<Location /kmen-status-closed>
    SetHandler kmen-status
    Require all denied
</Location>""")


def test_status_page_counts_outcomes(stack, status_node):
    with requests.Session() as s:
        flow.login(s, stack, identity="cz-jiri")
    base = f"http://localhost:{status_node.port}"
    doc = requests.get(base + "/kmen-status?json").json()
    counts = {(a["event"], a["outcome"]): a["count"] for a in doc["audit"]}
    assert counts.get(("login", "ok"), 0) >= 1, doc
    assert doc["process"]["database_pool"]["size"] == 4
    assert {"calls", "failures", "average_ms", "max_ms"} <= doc["process"]["gateway"].keys()
    page = requests.get(base + "/kmen-status")
    assert page.status_code == 200 and 'id="audit"' in page.text
    assert requests.get(base + "/kmen-status-closed").status_code == 403
