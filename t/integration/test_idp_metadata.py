# SPDX-License-Identifier: GPL-2.0-or-later
"""NIA's metadata over its life: /kmen/health and the status page count the days until NIA's
signing certificate(s) expire (degraded under 30 days, unavailable once every one has
expired), a rollover's two signing keys count by the later one; KmenIdPMetadataCertificateFile
refuses metadata NIA's seal did not sign; KmenIdPMetadataURL keeps the file current (a good,
a forged and an unreachable copy) and every child picks a new file up without a restart.
What the module does with the metadata it holds or fetches, on httpd and on nginx (the
`portal` fixture: kmen_idp_metadata_url, kmen_idp_metadata_refresh); what Apache's
configuration check says of the directives, on httpd."""

import base64
import datetime
import re
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from t.lib.httpd import Httpd, config_text, free_port
from t.lib.keys import cert_base64
from t.lib.nginx import Nginx
from t.lib.nginx import config_text as nginx_config_text

STATUS_LOCATION = """<Location /kmen-status>
    SetHandler kmen-status
    Require all granted
</Location>"""


def certificate_b64(days_left):
    """A self-signed certificate (base64 DER, as metadata carries it) ending DAYS_LEFT days
    (and an hour) from now; negative: already expired."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "NIA signing")])
    now = datetime.datetime.now(datetime.timezone.utc)
    end = now + datetime.timedelta(days=days_left, hours=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(min(now, end) - datetime.timedelta(days=400))
            .not_valid_after(end).sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode()


def metadata_with_certificates(stack, name, *days_left):
    """The simulator's metadata with one signing KeyDescriptor per DAYS_LEFT instead of its
    own, written beside the stack's."""
    text = stack.idp_metadata.read_text()
    descriptor = re.search(r"<KeyDescriptor use=\"signing\">.*?</KeyDescriptor>", text, re.S)
    assert descriptor, text
    own = re.search(r"<X509Certificate>(.*?)</X509Certificate>", descriptor[0], re.S)[1]
    new = "\n  ".join(descriptor[0].replace(own, certificate_b64(d)) for d in days_left)
    path = stack.dir / name
    path.write_text(text.replace(descriptor[0], new))
    path.chmod(0o644)
    return path


def node_config(portal, node, site, url):
    """The config of NODE, of the portal's server, serving SITE with its endpoints (on httpd
    a status page at /kmen-status too); fetching the metadata from URL every second if URL."""
    if portal.server == "httpd":
        extra = f"KmenIdPMetadataURL {url}\nKmenIdPMetadataRefresh 1" if url else ""
        return config_text(node.dir, node.port, portal.portal_port, site, extra=extra,
                           locations=STATUS_LOCATION)
    fetch = f"kmen_idp_metadata_url {url};\nkmen_idp_metadata_refresh 1;" if url else ""
    return nginx_config_text(node.dir, node.port, site, server=fetch)


@pytest.fixture
def node_with(portal):
    """node_with(metadata_path, pinned=False, url=None): a started node of the portal's server
    reading that IdP metadata (checked against the seal certificate if PINNED: an altered
    copy is not), fetching it from URL if given; stopped after the test."""
    started = []

    def start(metadata, pinned=False, url=None):
        site = portal.site()
        site.idp_metadata = metadata
        if not pinned:
            site.idp_metadata_cert = None
        h = (Httpd if portal.server == "httpd" else Nginx)(parent=portal.dir)
        h.write_config(node_config(portal, h, site, url))
        h.start()
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()


def health(h):
    r = requests.get(h.base_url + "/kmen/health", timeout=10)
    return r.status_code, r.json()


def test_health_counts_the_days_of_the_signing_certificate(portal):
    r = requests.get(portal.base_url + "/kmen/health", timeout=10)
    doc = r.json()
    assert r.status_code == 200 and doc["status"] == "ok", doc
    meta = doc["idp_metadata"]
    assert 398 <= meta["signing_certificate_days_left"] <= 400, meta
    assert meta["signing_certificate_expires"].endswith(" GMT"), meta
    assert meta["valid"] is True and meta["valid_until"] is None, meta


def test_a_certificate_ending_within_30_days_degrades(portal, node_with):
    h = node_with(metadata_with_certificates(portal, f"soon-{portal.server}.xml", 10))
    status, doc = health(h)
    assert status == 200 and doc["status"] == "degraded", doc
    assert doc["reason"] == "the IdP's signing certificate expires within 30 days", doc
    assert doc["idp_metadata"]["signing_certificate_days_left"] == 10, doc
    assert doc["idp_metadata"]["valid"] is True, doc


def test_a_rollover_counts_by_the_later_certificate(portal, node_with):
    h = node_with(metadata_with_certificates(portal, f"rollover-{portal.server}.xml",
                                             -3, 10, 200))
    status, doc = health(h)
    assert status == 200 and doc["status"] == "ok", doc
    assert doc["idp_metadata"]["signing_certificate_days_left"] == 200, doc


def test_every_certificate_expired_is_unavailable(portal, node_with):
    h = node_with(metadata_with_certificates(portal, f"expired-{portal.server}.xml", -3, -40))
    status, doc = health(h)
    assert status == 503 and doc["status"] == "unavailable", doc
    assert doc["reason"] == "every signing certificate of the IdP metadata has expired", doc
    assert doc["idp_metadata"]["valid"] is False, doc
    assert doc["idp_metadata"]["signing_certificate_days_left"] == -3, doc


def test_the_status_page_shows_the_certificate_days(stack):
    """httpd only: the status page is httpd's (SetHandler kmen-status); nginx has none."""
    site = stack.site()
    site.idp_metadata = metadata_with_certificates(stack, "status.xml", 10)
    site.idp_metadata_cert = None
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(h.dir, h.port, stack.portal_port, site,
                               locations=STATUS_LOCATION))
    h.start()
    stack.more_httpd.append(h)
    doc = requests.get(h.base_url + "/kmen-status?json", timeout=10).json()
    assert doc["idp_metadata"]["signing_certificate_days_left"] == 10, doc
    page = requests.get(h.base_url + "/kmen-status", timeout=10).text
    assert re.search(r'<table id="idp">.*expires within 30 days.*\(10 days\)', page, re.S), page


# --- KmenIdPMetadataCertificateFile: the metadata's own signature ------------------------
# httpd only: what apache2 -t says of these directives, with their lines (nginx -t's own
# words for its directives are test_nginx's)
def sim_metadata(stack, fault="none"):
    """GET /metadata of the simulator, serving FAULT meanwhile (see /admin/metadata)."""
    requests.get(stack.sim_url + "/admin/metadata", params={"fault": fault},
                 timeout=10).raise_for_status()
    try:
        return requests.get(stack.sim_url + "/metadata", timeout=10).content
    finally:
        requests.get(stack.sim_url + "/admin/metadata", params={"fault": "none"}, timeout=10)


def test_the_simulators_metadata_is_nia_shaped(stack):
    data = stack.idp_metadata.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    text = data.decode("utf-8-sig")
    root = re.search(r"<(\w+:)?EntityDescriptor [^>]*>", text)[0]
    assert re.search(r'\bID="_[0-9a-f-]{36}"', root) and "validUntil" not in root, root
    assert re.search(r"<(\w+:)?EntityDescriptor [^>]*>\s*<(\w+:)?Signature", text), text
    assert 'xsi:type="fed:SecurityTokenServiceType"' in text, text
    assert text.index("RoleDescriptor") < text.index("IDPSSODescriptor"), text


def write_copy(where, name, data):
    """DATA written to NAME in WHERE (a directory, or a stack's)."""
    path = getattr(where, "dir", where) / name
    path.write_bytes(data)
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("fault, why", [
    ("forged", "is not signed by KmenIdPMetadataCertificateFile"),
    ("tampered", "is not signed by KmenIdPMetadataCertificateFile"),
    ("sha1", "is not signed by KmenIdPMetadataCertificateFile"),
    ("unsigned", "is not signed (one ds:Signature in its root element)")])
def test_configtest_refuses_metadata_the_pinned_certificate_did_not_sign(stack, fault, why):
    path = write_copy(stack, f"{fault}.xml", sim_metadata(stack, fault))
    site = stack.site()
    site.idp_metadata = path
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(h.dir, h.port, stack.portal_port, site))
    rc, out = h.configtest()
    line = next(i for i, t in enumerate(h.conf.read_text().splitlines(), 1)
                if t.startswith("KmenIdPMetadataFile "))
    assert rc != 0, out
    assert re.search(r"KMEN0642: mod_kmen: " + re.escape(
        f"KmenIdPMetadataFile {path} ({h.conf}:{line}): {why}") + "$", out, re.M), out


def test_a_signed_copy_with_a_doctype_is_refused(stack):
    """NIA's genuine signed metadata with a DOCTYPE put before it: the signature still
    verifies (it covers the root element only), but a DTD could declare IDs or default
    attributes, so the copy is refused."""
    text = sim_metadata(stack).decode("utf-8-sig")
    declaration, rest = text.split("\n", 1)
    path = write_copy(stack, "doctype.xml", (
        f'{declaration}\n<!DOCTYPE EntityDescriptor [<!ATTLIST EntityDescriptor '
        f'cacheDuration CDATA "PT1H">]>\n{rest}').encode())
    site = stack.site()
    site.idp_metadata = path
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(h.dir, h.port, stack.portal_port, site))
    rc, out = h.configtest()
    assert rc != 0 and re.search(r"KmenIdPMetadataFile " + re.escape(str(path)) +
                                 r" \([^)]+\): has a DOCTYPE, which its signature does not "
                                 r"cover$", out, re.M), out


def test_a_pinned_rollover_pair_verifies_with_either(stack):
    """KmenIdPMetadataCertificateFile may hold two certificates while NIA renews its seal."""
    pair = stack.dir / "seal-pair.pem"
    pair.write_text(stack.keys.wrong_cert.read_text() + stack.keys.seal_cert.read_text())
    pair.chmod(0o644)
    site = stack.site()
    site.idp_metadata_cert = pair
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(h.dir, h.port, stack.portal_port, site))
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out


def test_a_certificate_file_without_a_certificate_is_named(stack):
    empty = write_copy(stack, "no-cert.pem", b"not a certificate\n")
    site = stack.site()
    site.idp_metadata_cert = empty
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(h.dir, h.port, stack.portal_port, site))
    rc, out = h.configtest()
    line = next(i for i, t in enumerate(h.conf.read_text().splitlines(), 1)
                if t.startswith("KmenIdPMetadataCertificateFile "))
    assert rc != 0 and (f"KmenIdPMetadataCertificateFile {empty} ({h.conf}:{line}): holds no "
                        "PEM certificate") in out, out


# --- NIA's signing-key rollover ------------------------------------------------------------
@pytest.fixture
def rollover(stack):
    """rollover(phase): the simulator's rollover phase; back to "current" after the test."""
    def set_phase(phase):
        requests.get(stack.sim_url + "/admin/rollover", params={"phase": phase},
                     timeout=10).raise_for_status()
    yield set_phase
    set_phase("current")


def logout_request_to(stack, base_url):
    """A LogoutRequest NIA signs now (with its current key), addressed to BASE_URL's /kmen/slo."""
    r = requests.get(stack.sim_url + "/admin/idp-logout", allow_redirects=False, timeout=10,
                     params={"identity": "cz-zofie", "session_index": "_none"})
    location = r.headers["Location"]
    assert location.startswith(stack.base_url + "/kmen/slo?"), location
    return base_url + location[len(stack.base_url):]


def test_metadata_with_both_keys_accepts_the_new_one(portal, node_with, rollover):
    """announced: NIA's metadata publishes the old and the new signing key, and a node holding
    it accepts NIA's messages whichever key signs them; switched: NIA signs with the new key,
    which a node holding the old metadata (the portal's) refuses."""
    site = portal.stack  # NIA's LogoutRequest names the SP's (the primary's) URL
    rollover("announced")
    announced = write_copy(portal, f"announced-{portal.server}.xml", sim_metadata(portal))
    h = node_with(announced, pinned=True)
    status, doc = health(h)
    assert status == 200 and doc["status"] == "ok", doc
    r = requests.get(logout_request_to(site, h.base_url), allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].startswith(portal.sso_url), r.text
    rollover("switched")
    r = requests.get(logout_request_to(site, h.base_url), allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].startswith(portal.sso_url), r.text
    r = requests.get(logout_request_to(site, portal.base_url), allow_redirects=False,
                     timeout=10)
    assert r.status_code == 400, r.status_code
    assert "the HTTP-Redirect signature is not the IdP's" in portal.log()


# --- KmenIdPMetadataURL: fetched, verified, kept current -----------------------------------
def poll(check, timeout=30.0):
    """check()'s first true value within TIMEOUT seconds, else its last (false) one."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def fetching_node(portal, node_with, name, url=None):
    """A node fetching the simulator's metadata (or URL) every second into its own copy NAME,
    in a directory of its own that any user may write: nginx's fetcher is a worker, which
    runs as nobody (httpd's parent fetches as root)."""
    workdir = portal.dir / f"{portal.server}-{name}.d"
    workdir.mkdir()
    workdir.chmod(0o777)
    copy = write_copy(workdir, name, portal.idp_metadata.read_bytes())
    return copy, node_with(copy, pinned=True, url=url or portal.sim_url + "/metadata")


def fetch_doc(h):
    return health(h)[1]["idp_metadata"]["fetch"]


def fetch_result(h):
    return fetch_doc(h)["result"]


def test_health_shows_the_metadata_url_without_its_credentials_or_query(portal, node_with):
    """A URL carrying a password or a token in its query is fetched with them, but
    /kmen/health, the status page (httpd's) and the log, which monitoring may read, name it
    without them."""
    scheme, rest = portal.sim_url.split("://", 1)
    _, h = fetching_node(portal, node_with, "fetched-secret.xml",
                         url=f"{scheme}://op:s3cret@{rest}/metadata?token=t0ken")
    assert poll(lambda: fetch_result(h) == "ok"), health(h)
    assert fetch_doc(h)["url"] == portal.sim_url + "/metadata", fetch_doc(h)
    seen = str(health(h)) + h.read_error_log()
    if portal.server == "httpd":  # nginx has no status page (docs/nginx.md)
        page = requests.get(h.base_url + "/kmen-status", timeout=10)
        assert portal.sim_url + "/metadata" in page.text
        seen += page.text
    assert "s3cret" not in seen and "t0ken" not in seen, seen


def logout_accepted(stack, h):
    """A LogoutRequest NIA signs now, sent to H: accepted (303 back to NIA)?"""
    r = requests.get(logout_request_to(stack, h.base_url), allow_redirects=False, timeout=10)
    return r.status_code == 303


def test_a_good_fetch_is_written_and_used_without_a_restart(portal, node_with, rollover):
    copy, h = fetching_node(portal, node_with, "fetched-good.xml")
    assert poll(lambda: fetch_result(h) == "ok"), health(h)
    fetch = health(h)[1]["idp_metadata"]["fetch"]
    assert fetch["url"] == portal.sim_url + "/metadata" and fetch["last_success"], fetch
    assert health(h)[1]["idp_metadata"]["age_seconds"] >= 0
    next_cert = cert_base64(portal.keys.next_cert)
    assert next_cert not in copy.read_text(encoding="utf-8-sig")
    rollover("announced")
    assert poll(lambda: next_cert in copy.read_text(encoding="utf-8-sig")), copy.read_text()
    rollover("switched")
    assert poll(lambda: logout_accepted(portal.stack, h)), h.read_error_log()
    log = h.read_error_log()
    assert re.search(r"KMEN0648: (mod_kmen: )?" + portal.directive("KmenIdPMetadataURL") +
                     " .*: verified, new metadata written", log), log
    assert (f"KMEN0645: {portal.directive('KmenIdPMetadataFile')} {copy} changed: this "
            "process uses it now") in log, log
    assert not logout_accepted(portal.stack, portal.node)  # the portal still has the old file


BAD_FETCHES = {  # the simulator's fault: what the fetch says, of httpd's directives
    "forged": "the fetched metadata is not signed by KmenIdPMetadataCertificateFile",
    "tampered": "the fetched metadata is not signed by KmenIdPMetadataCertificateFile",
    "sha1": "the fetched metadata is not signed by KmenIdPMetadataCertificateFile",
    "unsigned": "the fetched metadata is not signed (one ds:Signature in its root element)",
    "unavailable": "HTTP status 503",
}


def spelled(portal, text):
    """TEXT with the directives it names as the portal's server names them."""
    return re.sub(r"\bKmen\w+", lambda m: portal.directive(m[0]), text)


@pytest.mark.parametrize("fault", BAD_FETCHES)
def test_a_bad_fetch_keeps_the_last_good_copy(portal, node_with, fault):
    why = spelled(portal, BAD_FETCHES[fault])
    copy, h = fetching_node(portal, node_with, f"fetched-{fault}.xml")
    assert poll(lambda: fetch_result(h) == "ok"), health(h)
    requests.get(portal.sim_url + "/admin/metadata", params={"fault": fault}, timeout=10)
    try:
        assert poll(lambda: fetch_result(h) == why), health(h)
        # Fetches follow one another, so no good one can land after this: the copy
        # now is the last good one, and the next failed fetch must leave it alone.
        before, first = copy.read_bytes(), fetch_doc(h)["last_attempt"]
        assert poll(lambda: fetch_doc(h)["last_attempt"] != first), health(h)
        assert fetch_result(h) == why, health(h)
    finally:
        requests.get(portal.sim_url + "/admin/metadata", params={"fault": "none"}, timeout=10)
    status, doc = health(h)
    assert status == 200 and doc["status"] == "degraded", doc
    assert doc["reason"] == spelled(portal, "the last fetch of KmenIdPMetadataURL failed"), doc
    assert doc["idp_metadata"]["fetch"]["last_success"], doc
    assert copy.read_bytes() == before
    assert f"{why}; the last good copy in {copy} stays in use" in h.read_error_log()
    assert logout_accepted(portal.stack, h)


def test_an_unreachable_url_keeps_the_file(portal, node_with):
    url = f"http://127.0.0.1:{free_port()}/metadata"
    copy, h = fetching_node(portal, node_with, "fetched-unreachable.xml", url=url)
    assert poll(lambda: fetch_result(h) == "Couldn't connect to server"), health(h)
    status, doc = health(h)
    assert status == 200 and doc["idp_metadata"]["fetch"]["last_success"] is None, doc
    assert doc["idp_metadata"]["valid"] is True, doc
    assert logout_accepted(portal.stack, h)


def test_a_local_file_that_does_not_verify_is_refused_by_the_children(portal, node_with):
    """A forged file put in place while the server runs is not used: the children (nginx's
    workers) keep theirs."""
    copy = write_copy(portal, f"replaced-{portal.server}.xml",
                      portal.idp_metadata.read_bytes())
    h = node_with(copy, pinned=True)
    assert logout_accepted(portal.stack, h)
    forged = sim_metadata(portal, "forged")
    copy.write_bytes(forged)
    # each request lets its child look at the file (at most once a second)
    assert poll(lambda: logout_accepted(portal.stack, h) and "KMEN0646" in
                h.read_error_log()), h.read_error_log()[-1500:]
    assert spelled(portal, f"KMEN0646: KmenIdPMetadataFile {copy} changed but is refused, the "
                   "previous metadata stays in use: is not signed by "
                   "KmenIdPMetadataCertificateFile") in h.read_error_log()


# httpd only: what apache2 -t says of the directive (nginx -t's words are test_nginx's)
def test_a_url_needs_the_pinned_certificate(stack):
    site = stack.site()
    site.idp_metadata_cert = None
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(h.dir, h.port, stack.portal_port, site,
                               extra=f"KmenIdPMetadataURL {stack.sim_url}/metadata"))
    rc, out = h.configtest()
    assert rc != 0 and f"KmenIdPMetadataURL {stack.sim_url}/metadata (" in out, out
    assert "needs KmenIdPMetadataCertificateFile" in out, out
