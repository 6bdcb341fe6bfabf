# SPDX-License-Identifier: GPL-2.0-or-later
"""Foreign clients: the first eIDAS login (accept, or verify then new/link) and the next.

On the test site /info/ has KmenEidasPolicy accept; /app/ keeps the default (verify) with
KmenVerifyPath /app/verify/, where the sample portal's verification page answers with
Kmen-Complete. Every test uses a foreigner of its own: a pseudonym is a first login once
(on nginx, where a test wants a first login, another of the same country:
identities.first_login). On httpd and on nginx (the `portal` fixture)."""

import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from t.lib import flow
from t.lib.portal import Portal
from t.lib.stack import Stack
from t.sim.identities import first_login

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def headers(s, portal, path):
    return flow.headers_of(s, portal.base_url + path)


def pseudonym_links(portal):
    return portal.count("client_pseudonym")


def verify(s, portal, data):
    """POST the portal's verification form at /app/verify/."""
    return s.post(portal.base_url + "/app/verify/?ReturnTo=/app/", data=data,
                  allow_redirects=False)


def test_first_login_accepted_then_returning(portal, s):
    foreigner = first_login("at-huber", portal.server)
    flow.login(s, portal, identity=foreigner, path="/info/")
    h = headers(s, portal, "/info/headers.json")
    assert flow.header(h, "Kmen-Origin") == "eidas"
    assert flow.header(h, "Kmen-Client-Status") == "new"
    client_id = flow.header(h, "Kmen-Client-Id")
    assert UUID.match(client_id or ""), h
    assert portal.query("SELECT source FROM kmen.client WHERE client_id = %s",
                        (client_id,)) == [("eidas",)]
    with requests.Session() as again:
        flow.login(again, portal, identity=foreigner, path="/info/")
        h2 = headers(again, portal, "/info/headers.json")
    assert flow.header(h2, "Kmen-Client-Status") == "returning"
    assert flow.header(h2, "Kmen-Client-Id") == client_id


def test_first_login_verified_as_a_new_client(portal, s):
    before = pseudonym_links(portal)
    # /app/: KmenEidasPolicy verify
    flow.login(s, portal, identity=first_login("pl-nowak", portal.server))
    r = s.get(portal.base_url + "/app/somewhere?x=1", allow_redirects=False)
    assert r.status_code == 303
    loc = urlsplit(flow.location(r))  # httpd's a path, nginx's its own URL (absolute_redirect)
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == portal.base_url + "/app/verify/"
    assert parse_qs(loc.query) == {"ReturnTo": ["/app/somewhere?x=1"]}
    assert s.post(portal.base_url + "/app/", allow_redirects=False).status_code == 403
    h = headers(s, portal, "/app/verify/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "pending"
    assert flow.header(h, "Kmen-Client-Id") is None
    assert pseudonym_links(portal) == before, "a pending foreigner is no client yet"

    done = verify(s, portal, {"action": "new", "document": "P1"})
    assert done.status_code == 200
    assert not any(k.lower().endswith("complete") for k in done.headers), done.headers
    h = headers(s, portal, "/app/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "new"
    client_id = flow.header(h, "Kmen-Client-Id")
    assert UUID.match(client_id or "")
    assert pseudonym_links(portal) == before + 1
    assert portal.query("SELECT outcome FROM kmen.audit WHERE event = 'complete' "
                        "AND client_id = %s", (client_id,)) == [("new",)]


def seeded_client(portal, family):
    aifo = "AIFO-" + uuid.uuid4().hex
    portal.import_essl([(aifo, family, "Test", "1970-01-01", "spisovka")], name=f"{family}.csv")
    rows = portal.query("SELECT client_id::text FROM kmen.client WHERE family_name = %s",
                        (family,))
    assert len(rows) == 1, rows
    return rows[0][0]


def test_first_login_verified_as_a_seeded_client(portal, s):
    client_id = seeded_client(portal, f"Martinová-{portal.server}")
    flow.login(s, portal, identity=first_login("fr-martin", portal.server))
    done = verify(s, portal, {"action": "link", "client": client_id})
    assert done.status_code == 200
    h = headers(s, portal, "/app/headers.json")
    assert flow.header(h, "Kmen-Client-Id") == client_id
    assert flow.header(h, "Kmen-Client-Status") == "linked"
    assert "spisovka" in (flow.header(h, "Kmen-Systems") or "")


@pytest.mark.parametrize("target", ["unknown", "already-linked", "malformed"])
def test_refused_link_writes_nothing(portal, s, target):
    identity = {"unknown": "it-rossi", "already-linked": "it-rossi",
                "malformed": "it-rossi"}[target]
    if target == "already-linked":
        with requests.Session() as other:  # a client that already holds a pseudonym
            flow.login(other, portal, identity="at-huber", path="/info/")
            client = flow.header(headers(other, portal, "/info/headers.json"), "Kmen-Client-Id")
    else:
        client = str(uuid.uuid4()) if target == "unknown" else "not-a-client-id"
    flow.login(s, portal, identity=identity)
    before = (pseudonym_links(portal), portal.count("client"))
    done = verify(s, portal, {"action": "link", "client": client})
    if target == "malformed":  # not a Kmen-Complete at all: ignored, the page passes
        assert done.status_code == 200
    else:
        assert done.status_code == 409, done.text[:300]
        assert "Ověření nelze dokončit" in done.text
    assert (pseudonym_links(portal), portal.count("client")) == before
    h = headers(s, portal, "/app/verify/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "pending"


def test_complete_from_elsewhere_is_ignored(portal, s):
    flow.login(s, portal, identity="es-garcia")
    before = (pseudonym_links(portal), portal.count("client"))
    r = s.get(portal.base_url + "/info/complete?value=new", allow_redirects=False)
    assert r.status_code == 200
    assert not any(k.lower().endswith("complete") for k in r.headers)
    assert (pseudonym_links(portal), portal.count("client")) == before
    assert flow.header(headers(s, portal, "/app/verify/headers.json"),
                       "Kmen-Client-Status") == "pending"
    verify_path = "KmenVerifyPath" if portal.server == "httpd" else "kmen_verify_path"
    assert f"Kmen-Complete ignored: not sent from {verify_path}" in portal.log()


def test_complete_for_a_session_not_pending_is_ignored(portal, s):
    flow.login(s, portal, identity="cz-zofie")
    before = portal.count("client")
    done = verify(s, portal, {"action": "new"})
    assert done.status_code == 200
    assert portal.count("client") == before
    assert "Kmen-Complete ignored: the session awaits no verification" in portal.log()


@pytest.fixture(scope="module")
def short_pending(server):
    """A site of its own whose SERVER lets a verification wait 1 s (KmenPendingTimeout):
    its register holds only this test's rows."""
    with Stack(extra="KmenPendingTimeout 1") as st:
        node = st.new_nginx(server="kmen_pending_timeout 1;") if server == "nginx" else st.httpd
        yield Portal(st, server, node)


def test_pending_verification_expires(short_pending, s):
    portal = short_pending
    flow.login(s, portal, identity="de-mueller")
    time.sleep(2)
    done = verify(s, portal, {"action": "new"})
    assert done.status_code == 409
    assert portal.count("client_pseudonym") == 0
    assert portal.query("SELECT outcome FROM kmen.audit WHERE event = 'complete'") == [("expired",)]
