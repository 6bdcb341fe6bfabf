# SPDX-License-Identifier: GPL-2.0-or-later
"""Headers a client forges never reach the backend; the module's own do, once: on httpd and
on nginx (the `portal` fixture)."""

import http.client
import json

import requests

from t.lib import flow

FORGED = [("Kmen-Client-Id", "FORGED-client-id"),
          ("kmen-client-id", "FORGED-lower-client-id"),
          ("KMEN_GIVEN_NAME", "FORGED-given-name"),
          ("Kmen_LoA", "FORGED-loa"),
          ("kMeN-oRiGiN", "FORGED-origin"),
          ("Kmen-Aifo", "FORGED-aifo"),
          ("KMEN-CLIENT-STATUS", "FORGED-status"),
          ("Kmen-Signature", "FORGED-signature")]


def raw_get(portal, path, headers, cookie=None):
    """GET with exactly these header lines (requests would merge names that differ in
    case only); (status, JSON the portal answered)."""
    conn = http.client.HTTPConnection("127.0.0.1", portal.http_port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"localhost:{portal.http_port}")
        for name, value in headers:
            conn.putheader(name, value)
        if cookie:
            conn.putheader("Cookie", cookie)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        return r.status, (json.loads(body) if r.status == 200 else body)
    finally:
        conn.close()


def kmen_like(name):
    return name.lower().replace("_", "-").startswith("kmen-")


def assert_nothing_forged(received):
    text = json.dumps(received)
    assert "FORGED" not in text, received


def test_forged_headers_stripped_on_public_path(portal):
    status, received = raw_get(portal, "/public/headers.json", FORGED)
    assert status == 200
    assert_nothing_forged(received)
    assert not [n for n in received if kmen_like(n)], received


def test_forged_headers_replaced_on_protected_path(portal, s):
    flow.login(s, portal, identity="cz-jiri")
    genuine = flow.headers_of(s, portal.base_url + "/app/headers.json")
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    status, received = raw_get(portal, "/app/headers.json", FORGED, cookie)
    assert status == 200
    assert_nothing_forged(received)
    mine = {n: v for n, v in received.items() if kmen_like(n)}
    assert not [n for n in mine if "_" in n], mine
    normalised = [n.lower() for n in mine]
    assert len(normalised) == len(set(normalised)), f"a Kmen header twice: {mine}"
    for name in ("Kmen-Client-Id", "Kmen-Origin", "Kmen-LoA", "Kmen-Given-Name"):
        assert flow.header(received, name) == flow.header(genuine, name), name
    assert flow.header(received, "Kmen-Origin") == "nia"
    assert flow.header(received, "Kmen-LoA") == "substantial"
    assert flow.header(received, "Kmen-Given-Name") == "Ji%C5%99%C3%AD"
    assert flow.header(received, "Kmen-Aifo") is None  # /app is no KmenAgenda location


# --- shared caches ------------------------------------------------------------------------
def test_authenticated_responses_are_private(portal, s):
    """One person's page is never left to a shared cache: Cache-Control private on every
    response to an authenticated request; what a backend marked public loses public and
    s-maxage and keeps the rest; an anonymous response is left as it was."""
    flow.login(s, portal)
    cacheable = portal.base_url + "/app/cacheable"
    assert s.get(cacheable, params={"cc": ""}).headers.get("Cache-Control") == "private"
    r = s.get(cacheable, params={"cc": "public, max-age=600, s-maxage=600"})
    assert r.status_code == 200
    assert r.headers.get("Cache-Control") == "private, max-age=600"
    assert s.get(cacheable, params={"cc": "no-store"}).headers.get("Cache-Control") == \
        "no-store"
    anonymous = requests.get(portal.base_url + "/kmen/metadata")
    assert "private" not in anonymous.headers.get("Cache-Control", "")
