# SPDX-License-Identifier: GPL-2.0-or-later
"""NIA's metadata over its life: /kmen/health and the status page count the days until NIA's
signing certificate(s) expire (degraded under 30 days, unavailable once every one has
expired), a rollover's two signing keys count by the later one."""

import base64
import datetime
import re

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from t.lib.httpd import Httpd, config_text

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


@pytest.fixture
def node_with(stack):
    """node_with(metadata_path): a started httpd reading that IdP metadata, with a status
    page at /kmen-status; stopped after the test."""
    started = []

    def start(metadata):
        site = stack.site()
        site.idp_metadata = metadata
        h = Httpd(parent=stack.dir)
        h.write_config(config_text(h.dir, h.port, stack.portal_port, site,
                                   locations=STATUS_LOCATION))
        h.start()
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()


def health(h):
    r = requests.get(h.base_url + "/kmen/health", timeout=10)
    return r.status_code, r.json()


def test_health_counts_the_days_of_the_signing_certificate(stack):
    r = requests.get(stack.base_url + "/kmen/health", timeout=10)
    doc = r.json()
    assert r.status_code == 200 and doc["status"] == "ok", doc
    meta = doc["idp_metadata"]
    assert 398 <= meta["signing_certificate_days_left"] <= 400, meta
    assert meta["signing_certificate_expires"].endswith(" GMT"), meta
    assert meta["valid"] is True and meta["valid_until"] is None, meta


def test_a_certificate_ending_within_30_days_degrades(stack, node_with):
    h = node_with(metadata_with_certificates(stack, "soon.xml", 10))
    status, doc = health(h)
    assert status == 200 and doc["status"] == "degraded", doc
    assert doc["reason"] == "the IdP's signing certificate expires within 30 days", doc
    assert doc["idp_metadata"]["signing_certificate_days_left"] == 10, doc
    assert doc["idp_metadata"]["valid"] is True, doc


def test_a_rollover_counts_by_the_later_certificate(stack, node_with):
    h = node_with(metadata_with_certificates(stack, "rollover.xml", -3, 10, 200))
    status, doc = health(h)
    assert status == 200 and doc["status"] == "ok", doc
    assert doc["idp_metadata"]["signing_certificate_days_left"] == 200, doc


def test_every_certificate_expired_is_unavailable(stack, node_with):
    h = node_with(metadata_with_certificates(stack, "expired.xml", -3, -40))
    status, doc = health(h)
    assert status == 503 and doc["status"] == "unavailable", doc
    assert doc["reason"] == "every signing certificate of the IdP metadata has expired", doc
    assert doc["idp_metadata"]["valid"] is False, doc
    assert doc["idp_metadata"]["signing_certificate_days_left"] == -3, doc


def test_the_status_page_shows_the_certificate_days(stack, node_with):
    h = node_with(metadata_with_certificates(stack, "status.xml", 10))
    doc = requests.get(h.base_url + "/kmen-status?json", timeout=10).json()
    assert doc["idp_metadata"]["signing_certificate_days_left"] == 10, doc
    page = requests.get(h.base_url + "/kmen-status", timeout=10).text
    assert re.search(r'<table id="idp">.*expires within 30 days.*\(10 days\)', page, re.S), page
