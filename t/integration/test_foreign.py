# SPDX-License-Identifier: GPL-2.0-or-later
"""Foreign clients: the first eIDAS login (accept, or verify then new/link) and the next.

On the test site /info/ has KmenEidasPolicy accept; /app/ keeps the default (verify) with
KmenVerifyPath /app/verify/, where the sample portal's verification page answers with
Kmen-Complete. Every test uses a foreigner of its own: a pseudonym is a first login once."""

import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from t.lib import flow
from t.lib.stack import Stack

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def headers(s, stack, path):
    return flow.headers_of(s, stack.base_url + path)


def pseudonym_links(stack):
    return stack.count("client_pseudonym")


def verify(s, stack, data, base=None):
    """POST the portal's verification form at /app/verify/."""
    return s.post((base or stack.base_url) + "/app/verify/?ReturnTo=/app/", data=data,
                  allow_redirects=False)


def test_first_login_accepted_then_returning(stack, s):
    flow.login(s, stack, identity="at-huber", path="/info/")
    h = headers(s, stack, "/info/headers.json")
    assert flow.header(h, "Kmen-Origin") == "eidas"
    assert flow.header(h, "Kmen-Client-Status") == "new"
    client_id = flow.header(h, "Kmen-Client-Id")
    assert UUID.match(client_id or ""), h
    assert stack.query("SELECT source FROM kmen.client WHERE client_id = %s",
                       (client_id,)) == [("eidas",)]
    with requests.Session() as again:
        flow.login(again, stack, identity="at-huber", path="/info/")
        h2 = headers(again, stack, "/info/headers.json")
    assert flow.header(h2, "Kmen-Client-Status") == "returning"
    assert flow.header(h2, "Kmen-Client-Id") == client_id


def test_first_login_verified_as_a_new_client(stack, s):
    before = pseudonym_links(stack)
    flow.login(s, stack, identity="pl-nowak")  # /app/: KmenEidasPolicy verify
    r = s.get(stack.base_url + "/app/somewhere?x=1", allow_redirects=False)
    assert r.status_code == 303
    loc = urlsplit(r.headers["Location"])
    assert loc.path == "/app/verify/" and not loc.netloc
    assert parse_qs(loc.query) == {"ReturnTo": ["/app/somewhere?x=1"]}
    assert s.post(stack.base_url + "/app/", allow_redirects=False).status_code == 403
    h = headers(s, stack, "/app/verify/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "pending"
    assert flow.header(h, "Kmen-Client-Id") is None
    assert pseudonym_links(stack) == before, "a pending foreigner is no client yet"

    done = verify(s, stack, {"action": "new", "document": "P1"})
    assert done.status_code == 200
    assert not any(k.lower().endswith("complete") for k in done.headers), done.headers
    h = headers(s, stack, "/app/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "new"
    client_id = flow.header(h, "Kmen-Client-Id")
    assert UUID.match(client_id or "")
    assert pseudonym_links(stack) == before + 1
    assert stack.query("SELECT outcome FROM kmen.audit WHERE event = 'complete' "
                       "AND client_id = %s", (client_id,)) == [("new",)]


def seeded_client(stack, family):
    aifo = "AIFO-" + uuid.uuid4().hex
    stack.import_essl([(aifo, family, "Test", "1970-01-01", "spisovka")], name=f"{family}.csv")
    rows = stack.query("SELECT client_id::text FROM kmen.client WHERE family_name = %s",
                       (family,))
    assert len(rows) == 1, rows
    return rows[0][0]


def test_first_login_verified_as_a_seeded_client(stack, s):
    client_id = seeded_client(stack, "Martinová")
    flow.login(s, stack, identity="fr-martin")
    done = verify(s, stack, {"action": "link", "client": client_id})
    assert done.status_code == 200
    h = headers(s, stack, "/app/headers.json")
    assert flow.header(h, "Kmen-Client-Id") == client_id
    assert flow.header(h, "Kmen-Client-Status") == "linked"
    assert "spisovka" in (flow.header(h, "Kmen-Systems") or "")


@pytest.mark.parametrize("target", ["unknown", "already-linked", "malformed"])
def test_refused_link_writes_nothing(stack, s, target):
    identity = {"unknown": "it-rossi", "already-linked": "it-rossi",
                "malformed": "it-rossi"}[target]
    if target == "already-linked":
        with requests.Session() as other:  # a client that already holds a pseudonym
            flow.login(other, stack, identity="at-huber", path="/info/")
            client = flow.header(headers(other, stack, "/info/headers.json"), "Kmen-Client-Id")
    else:
        client = str(uuid.uuid4()) if target == "unknown" else "not-a-client-id"
    flow.login(s, stack, identity=identity)
    before = (pseudonym_links(stack), stack.count("client"))
    done = verify(s, stack, {"action": "link", "client": client})
    if target == "malformed":  # not a Kmen-Complete at all: ignored, the page passes
        assert done.status_code == 200
    else:
        assert done.status_code == 409, done.text[:300]
        assert "Ověření nelze dokončit" in done.text
    assert (pseudonym_links(stack), stack.count("client")) == before
    h = headers(s, stack, "/app/verify/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "pending"


def test_complete_from_elsewhere_is_ignored(stack, s):
    flow.login(s, stack, identity="es-garcia")
    before = (pseudonym_links(stack), stack.count("client"))
    r = s.get(stack.base_url + "/info/complete?value=new", allow_redirects=False)
    assert r.status_code == 200
    assert not any(k.lower().endswith("complete") for k in r.headers)
    assert (pseudonym_links(stack), stack.count("client")) == before
    assert flow.header(headers(s, stack, "/app/verify/headers.json"),
                       "Kmen-Client-Status") == "pending"
    assert "Kmen-Complete ignored: not sent from KmenVerifyPath" in \
        stack.httpd.read_error_log()


def test_complete_for_a_session_not_pending_is_ignored(stack, s):
    flow.login(s, stack, identity="cz-zofie")
    before = stack.count("client")
    done = verify(s, stack, {"action": "new"})
    assert done.status_code == 200
    assert stack.count("client") == before
    assert "Kmen-Complete ignored: the session awaits no verification" in \
        stack.httpd.read_error_log()


@pytest.fixture(scope="module")
def short_pending():
    with Stack(extra="KmenPendingTimeout 1") as st:
        yield st


def test_pending_verification_expires(short_pending, s):
    st = short_pending
    flow.login(s, st, identity="de-mueller")
    time.sleep(2)
    done = verify(s, st, {"action": "new"})
    assert done.status_code == 409
    assert st.count("client_pseudonym") == 0
    assert st.query("SELECT outcome FROM kmen.audit WHERE event = 'complete'") == [("expired",)]
