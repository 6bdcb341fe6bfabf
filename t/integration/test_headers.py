# SPDX-License-Identifier: GPL-2.0-or-later
"""Headers a client forges never reach the backend; the module's own do, once."""

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


def raw_get(stack, path, headers, cookie=None):
    """GET with exactly these header lines (requests would merge names that differ in
    case only); (status, JSON the portal answered)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"localhost:{stack.http_port}")
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


def test_forged_headers_stripped_on_public_path(stack):
    status, received = raw_get(stack, "/public/headers.json", FORGED)
    assert status == 200
    assert_nothing_forged(received)
    assert not [n for n in received if kmen_like(n)], received


def test_forged_headers_replaced_on_protected_path(stack, s):
    flow.login(s, stack, identity="cz-jiri")
    genuine = flow.headers_of(s, stack.base_url + "/app/headers.json")
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    status, received = raw_get(stack, "/app/headers.json", FORGED, cookie)
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
def test_authenticated_responses_are_private(stack, s):
    """One person's page is never left to a shared cache: Cache-Control private on every
    response to an authenticated request; what a backend marked public loses public and
    s-maxage and keeps the rest; an anonymous response is left as it was."""
    flow.login(s, stack)
    cacheable = stack.base_url + "/app/cacheable"
    assert s.get(cacheable, params={"cc": ""}).headers.get("Cache-Control") == "private"
    r = s.get(cacheable, params={"cc": "public, max-age=600, s-maxage=600"})
    assert r.status_code == 200
    assert r.headers.get("Cache-Control") == "private, max-age=600"
    assert s.get(cacheable, params={"cc": "no-store"}).headers.get("Cache-Control") == \
        "no-store"
    anonymous = requests.get(stack.base_url + "/kmen/metadata")
    assert "private" not in anonymous.headers.get("Cache-Control", "")
