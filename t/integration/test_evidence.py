# SPDX-License-Identifier: GPL-2.0-or-later
"""Cross-border evidence through the single digital gateway.

A backend page answers with Kmen-Evidence-Request: type=T; country=CC; mod_kmen records the
request and sends the person (303) to KmenEvidenceURL — on the test site the evidence-service
simulator t/sim/evidence.py — with request, type, country and return. There the person
approves or refuses; the service calls back POST /kmen/evidence (JSON, signed with
Kmen-Evidence-Signature: HMAC-SHA256 under KmenEvidenceSecretFile) and sends the person back.
Later requests of that client carry Kmen-Evidence: <id>=<state>, …; a received document is
served at /kmen/evidence/<id> to the client's own sessions only. On httpd and on nginx (the
`portal` fixture; kmen_evidence_url and kmen_evidence_secret_file there): the evidence
service calls back the SP's primary node, httpd, as NIA does, while the callbacks a test
crafts go to the portal's own node.

The sample portal asks once per client and page (path and query): coming back to the page
that asked shows the request instead of asking again. Each test therefore asks from a page of
its own (the query differs), so the tests do not depend on each other's order.
"""

import base64
import json
import os
import re
import select
import socket
import time
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import lxml.html
import pytest
import requests

from t.lib import flow
from t.lib.httpd import Httpd, config_text
from t.lib.keys import spki_pin
from t.lib.nginx import Nginx
from t.lib.nginx import config_text as nginx_config_text
from t.sim import evidence as evsim

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PDF = "application/pdf"


# --- helpers -----------------------------------------------------------------------------
def page(type, country, case):
    """An evidence-request page of the portal under /app/, unique per CASE."""
    return f"/app/evidence-request?type={type}&country={country}&case={case}"


def states(s, portal, base="/app"):
    """{request id: state} from the Kmen-Evidence header the backend received ({} if none);
    like every Kmen-* value it travels percent-encoded (KmenHeaderEncoding percent)."""
    h = flow.headers_of(s, f"{portal.base_url}{base}/headers.json")
    return evidence_ids(flow.header(h, "Kmen-Evidence"))


def evidence_ids(value):
    found = {}
    for item in unquote(value or "").split(","):
        rid, sep, state = item.strip().partition("=")
        if item.strip():
            assert sep and rid, f"malformed Kmen-Evidence item {item!r} in {value!r}"
            found[rid] = state
    return found


def ask(s, portal, path):
    """GET the portal page PATH, which asks for evidence; check mod_kmen's 303 to the
    evidence service and return (request id, the Location's query as a dict); the
    Location itself is kept in that dict's "location" attribute for preview()."""
    r = s.get(portal.base_url + path, allow_redirects=False)
    assert r.status_code == 303, (f"GET {path}: expected 303 to the evidence service, got "
                                  f"{r.status_code}: {r.text[:300]}\n{error_tail(portal)}")
    assert not any(k.lower() == "kmen-evidence-request" for k in r.headers), r.headers
    loc = r.headers["Location"]
    p = urlsplit(loc)
    assert f"{p.scheme}://{p.netloc}{p.path}" == portal.evidence_url, loc
    q = {k: v[0] for k, v in parse_qs(p.query, keep_blank_values=True).items()}
    assert set(q) == {"request", "type", "country", "return"}, loc
    assert UUID.match(q["request"]), loc
    return q["request"], Query(q, location=loc)


class Query(dict):
    def __init__(self, items, location):
        super().__init__(items)
        self.location = location


def preview(s, portal, request, q):
    """GET the evidence service's preview as the browser would (the Location of ask());
    the form's fields."""
    r = s.get(q.location, allow_redirects=False)
    assert r.status_code == 200, f"preview: {r.status_code} {r.text[:300]}"
    doc = lxml.html.fromstring(r.text)
    assert doc.get("lang") == "cs"
    assert "Náhled dokladu" in r.text and "Evidence preview" in r.text
    assert doc.xpath('string(//*[@id="type"])') == q["type"]
    assert doc.xpath('string(//*[@id="country"])') == q["country"]
    form = doc.xpath('//form[@method="post" and @action="/decide"]')
    assert form, r.text[:1000]
    fields = {i.get("name"): i.get("value") or ""
              for i in form[0].xpath('.//input[@type="hidden"]')}
    assert fields["request"] == request and fields["return"] == q["return"]
    assert form[0].xpath('.//button[@id="approve" and @name="decision" and @value="approve"]')
    assert form[0].xpath('.//button[@id="refuse" and @name="decision" and @value="refuse"]')
    return fields


def decide(s, portal, fields, decision):
    """POST the preview's form with DECISION; the sim calls back, then 303s to return.
    The sim's record of that callback."""
    r = s.post(f"{portal.evidence_sim_url}/decide", data={**fields, "decision": decision},
               allow_redirects=False)
    assert r.status_code == 303, f"/decide: {r.status_code} {r.text[:300]}"
    assert r.headers["Location"] == fields["return"]
    last = requests.get(f"{portal.evidence_sim_url}/last-callback").json()
    assert last["request"] == fields["request"], last
    return last


def through(s, portal, path, decision):
    """The whole round: ask, preview, decide. (request id, ask's query, callback record)."""
    request, q = ask(s, portal, path)
    last = decide(s, portal, preview(s, portal, request, q), decision)
    return request, q, last


def sp_url(portal, path):
    """The page PATH as the evidence service is told to return to it: at the SP's base URL
    (its entity ID's, the primary httpd's), whichever node served the page that asked."""
    return portal.stack.base_url + path


def document(s, portal, request):
    return s.get(f"{portal.base_url}/kmen/evidence/{request}", allow_redirects=False)


def callback(portal, body, signature=True, t=None, secret=None):
    """POST a crafted callback to /kmen/evidence. BODY: a dict (sent as JSON) or bytes.
    SIGNATURE: True (sign with the site's secret, or SECRET, at T), False (no header) or the
    header value itself."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature is True:
        headers["Kmen-Evidence-Signature"] = evsim.sign(secret or portal.evidence_secret, raw, t)
    elif signature:
        headers["Kmen-Evidence-Signature"] = signature
    return requests.post(f"{portal.base_url}/kmen/evidence", data=raw, headers=headers,
                         allow_redirects=False)


def received(request, data=b"%PDF-1.4\n% crafted by the test\n%%EOF\n"):
    return {"request": request, "state": "received", "content_type": PDF,
            "document": base64.b64encode(data).decode()}


def check_download(r, data, content_type, filename):
    """A document served as a download the browser neither renders nor sniffs."""
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    assert r.content == data
    assert r.headers["Content-Type"].split(";")[0].strip() == content_type, r.headers
    assert r.headers.get("Content-Disposition") == f'attachment; filename="{filename}"', r.headers
    assert r.headers.get("Content-Security-Policy") == "sandbox", r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r.headers
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers


def row_of(portal, request):
    return portal.query("SELECT state, content_type, document FROM kmen.evidence WHERE id = %s",
                       (request,))


def error_tail(portal):
    return f"--- {portal.server} error log (tail):\n" + portal.log()[-3000:]


def login(portal, identity, path="/app/"):
    s = requests.Session()
    flow.login(s, portal, identity=identity, path=path)
    return s


# --- the person's round trip ---------------------------------------------------------------
def test_approve(portal, s):
    flow.login(s, portal, identity="cz-jiri")
    path = f"/app/evidence-request?type=birth-certificate&country=DE&case={portal.server}"
    request, q = ask(s, portal, path)
    assert (q["type"], q["country"]) == ("birth-certificate", "DE")
    assert q["return"] == sp_url(portal, path)
    assert states(s, portal).get(request) == "requested", error_tail(portal)

    last = decide(s, portal, preview(s, portal, request, q), "approve")
    assert (last["state"], last["status"]) == ("received", 204), last
    assert last["content_type"] == PDF
    sent = base64.b64decode(last["document"])
    assert sent == evsim.document(request, "birth-certificate", "DE")

    # A spoofed Kmen-Evidence from the browser never reaches the backend.
    fake = str(uuid.uuid4())
    h = s.get(portal.base_url + "/app/headers.json",
              headers={"Kmen-Evidence": f"{fake}=received"}).json()
    seen = evidence_ids(flow.header(h, "Kmen-Evidence"))
    assert seen.get(request) == "received", h
    assert fake not in seen

    r = document(s, portal, request)
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}\n{error_tail(portal)}"
    check_download(r, sent, PDF, f"evidence-{request}.pdf")

    # Back on the page that asked: the portal shows the answer, nobody is sent away again.
    back = s.get(portal.url(q["return"]), allow_redirects=False)
    assert back.status_code == 200, back.headers
    item = lxml.html.fromstring(back.text).xpath(f'//li[@data-request="{request}"]')
    assert item and item[0].xpath('string(.//span[@class="state"])') == "received"


def test_refuse(portal, s):
    flow.login(s, portal, identity="cz-jiri")
    path = page("diploma", "AT", f"refuse-{portal.server}")
    request, _, last = through(s, portal, path, "refuse")
    assert (last["state"], last["status"]) == ("refused", 204), last
    assert last["document"] is None
    assert states(s, portal).get(request) == "refused"
    assert document(s, portal, request).status_code == 404


def test_foreigner_accepted_at_info(portal, s):
    """A foreigner whose minimal data set the site accepts (/info/) has a client identifier
    and so can ask for evidence from home."""
    flow.login(s, portal, identity="sk-kovac", path="/info/")
    path = f"/info/evidence-request?type=residence&country=SK&case=foreigner-{portal.server}"
    request, q, last = through(s, portal, path, "approve")
    assert q["return"] == sp_url(portal, path)
    assert (last["state"], last["status"]) == ("received", 204), last
    assert states(s, portal, base="/info").get(request) == "received"
    r = document(s, portal, request)
    assert r.status_code == 200 and r.content == base64.b64decode(last["document"])


# --- who may read a document ------------------------------------------------------------------
def test_document_only_for_its_client(portal, s):
    flow.login(s, portal, identity="cz-jiri")
    path = page("birth-certificate", "FR", f"owner-{portal.server}")
    request, _, last = through(s, portal, path, "approve")
    assert last["status"] == 204, last
    assert document(s, portal, request).status_code == 200

    # Another session of the same client (a new login) sees it too.
    with login(portal, "cz-jiri") as again:
        assert states(again, portal).get(request) == "received"
        r = document(again, portal, request)
        assert r.status_code == 200 and r.content == base64.b64decode(last["document"])

    with login(portal, "cz-zofie") as other:
        r = document(other, portal, request)
        assert r.status_code == 404, f"another client read it: {r.status_code}"
        assert base64.b64decode(last["document"]) not in r.content
        assert request not in states(other, portal)

    with requests.Session() as nobody:
        r = document(nobody, portal, request)
        assert r.status_code == 404, f"no session: {r.status_code} {r.headers}"
        assert base64.b64decode(last["document"]) not in r.content

    assert document(s, portal, str(uuid.uuid4())).status_code == 404
    assert document(s, portal, "not-a-request-id").status_code in (400, 404)


def test_requested_document_is_404(portal, s):
    flow.login(s, portal, identity="cz-zofie")
    request, _ = ask(s, portal, page("diploma", "PL", f"pending-{portal.server}"))
    assert states(s, portal).get(request) == "requested"
    assert document(s, portal, request).status_code == 404


def test_document_not_stored_in_clear(portal, s):
    flow.login(s, portal, identity="cz-zofie")
    path = page("residence", "DE", f"at-rest-{portal.server}")
    request, _, last = through(s, portal, path, "approve")
    sent = base64.b64decode(last["document"])
    rows = portal.query("SELECT document FROM kmen.evidence WHERE id = %s", (request,))
    assert len(rows) == 1 and rows[0][0] is not None
    assert bytes(rows[0][0]) != sent and sent[:64] not in bytes(rows[0][0])


# --- callbacks crafted by the test ------------------------------------------------------------
@pytest.fixture
def open_request(portal, s):
    """A request of cz-zofie in state requested (the person never reached the service)."""
    flow.login(s, portal, identity="cz-zofie")
    request, _ = ask(s, portal, page("birth-certificate", "IT", uuid.uuid4().hex[:8]))
    return request


REFUSED_SIGNATURES = {
    "wrong key": lambda st, raw: evsim.sign(b"not the evidence secret!", raw),
    "no header": lambda st, raw: False,
    "ten minutes old": lambda st, raw: evsim.sign(st.evidence_secret, raw, time.time() - 600),
    "ten minutes ahead": lambda st, raw: evsim.sign(st.evidence_secret, raw, time.time() + 600),
    "other body": lambda st, raw: evsim.sign(st.evidence_secret, raw + b" "),
    "not a signature": lambda st, raw: "garbage",
    "no v1": lambda st, raw: f"t={int(time.time())}",
    "empty": lambda st, raw: "",
}


@pytest.mark.parametrize("case", REFUSED_SIGNATURES)
def test_callback_signature_refused(portal, s, open_request, case):
    raw = json.dumps(received(open_request)).encode()
    sig = REFUSED_SIGNATURES[case](portal, raw)
    if sig == "":  # an empty header, sent as such
        r = requests.post(f"{portal.base_url}/kmen/evidence", data=raw,
                          headers={"Content-Type": "application/json",
                                   "Kmen-Evidence-Signature": ""})
    else:
        r = callback(portal, raw, signature=sig)
    assert r.status_code == 401, f"{case}: {r.status_code} {r.text[:300]}"
    assert states(s, portal).get(open_request) == "requested"
    assert document(s, portal, open_request).status_code == 404


def test_callback_unknown_request(portal, s, open_request):
    before = portal.count("evidence")
    r = callback(portal, received(str(uuid.uuid4())))
    assert r.status_code == 404, f"{r.status_code} {r.text[:300]}"
    assert portal.count("evidence") == before
    assert states(s, portal).get(open_request) == "requested"


MALFORMED = {
    "not JSON": lambda rid: b'{"request": ',
    "JSON array": lambda rid: b"[]",
    "no request": lambda rid: {"state": "refused"},
    "request not a string": lambda rid: {"request": 7, "state": "refused"},
    "request not a uuid": lambda rid: {"request": "not-a-uuid", "state": "refused"},
    "no state": lambda rid: {"request": rid},
    "unknown state": lambda rid: {"request": rid, "state": "maybe"},
    "state requested": lambda rid: {"request": rid, "state": "requested"},
    "received without document": lambda rid: {"request": rid, "state": "received",
                                              "content_type": PDF},
    "received without content_type": lambda rid: {"request": rid, "state": "received",
                                                  "document": "JVBERi0="},
    "document not base64": lambda rid: {**received(rid), "document": "%%% not base64 %%%"},
}


@pytest.mark.parametrize("case", MALFORMED)
def test_callback_malformed(portal, s, open_request, case):
    body = MALFORMED[case](open_request)
    r = callback(portal, body)
    # A request id that is no UUID may count as malformed or as unknown.
    allowed = (400, 404) if case == "request not a uuid" else (400,)
    assert r.status_code in allowed, f"{case}: {r.status_code} {r.text[:300]}"
    assert states(s, portal).get(open_request) == "requested"


def test_callback_replayed(portal, s, open_request):
    data = b"%PDF-1.4\n% the first and only delivery\n%%EOF\n"
    raw = json.dumps(received(open_request, data)).encode()
    sig = evsim.sign(portal.evidence_secret, raw)
    first = callback(portal, raw, signature=sig)
    assert first.status_code == 204, f"{first.status_code} {first.text[:300]}\n" + \
        error_tail(portal)
    again = callback(portal, raw, signature=sig)
    assert again.status_code == 409, f"replay: {again.status_code} {again.text[:300]}"
    # A later, freshly signed answer for the same request changes nothing either.
    refused = callback(portal, {"request": open_request, "state": "refused"})
    assert refused.status_code == 409
    other = callback(portal, received(open_request, b"%PDF-1.4\n% a second document\n"))
    assert other.status_code == 409
    assert states(s, portal).get(open_request) == "received"
    r = document(s, portal, open_request)
    assert r.status_code == 200 and r.content == data


def test_refused_then_replayed(portal, s, open_request):
    assert callback(portal, {"request": open_request, "state": "refused"}).status_code == 204
    assert callback(portal, received(open_request)).status_code == 409
    assert states(s, portal).get(open_request) == "refused"
    assert document(s, portal, open_request).status_code == 404


# --- what is read before the callback is authenticated -------------------------------------
LIMIT = 10 * 1024 * 1024  # the largest callback body


def raw_callback(portal, headers, pieces=(), timeout=10):
    """POST /kmen/evidence over a raw socket: the request line and HEADERS, then PIECES of
    the body until mod_kmen answers (the rest is never sent). The answer's status line and
    headers; a socket.timeout here means mod_kmen waited for a body it should not read."""
    head = "POST /kmen/evidence HTTP/1.1\r\nHost: localhost\r\n" + \
        "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", portal.http_port), timeout=timeout) as sock:
        sock.sendall(head.encode())
        for piece in pieces:
            if select.select([sock], [], [], 0)[0]:
                break  # answered: stop sending
            try:
                sock.sendall(piece)
            except OSError:
                break
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n")[0].decode("latin-1")


def status_of(head):
    return int(head.split()[1]) if head else None


UNREAD_SIGNATURES = {
    "no header": None,
    "ten minutes old": lambda st: evsim.sign(st.evidence_secret, b"{}", time.time() - 600),
    "ten minutes ahead": lambda st: evsim.sign(st.evidence_secret, b"{}", time.time() + 600),
    "not a signature": lambda st: "garbage",
    "short v1": lambda st: f"t={int(time.time())}, v1=abcdef",
}


@pytest.mark.parametrize("case", UNREAD_SIGNATURES)
def test_callback_without_a_fresh_signature_is_refused_unread(portal, case):
    """The signature header is checked before the body: the body declared here is never
    sent, and mod_kmen answers 401 at once instead of waiting for it."""
    headers = {"Content-Type": "application/json", "Content-Length": "1000",
               "Expect": "100-continue"}
    if UNREAD_SIGNATURES[case]:
        headers["Kmen-Evidence-Signature"] = UNREAD_SIGNATURES[case](portal)
    head = raw_callback(portal, headers)
    assert status_of(head) == 401, f"{case}: {head}"
    assert "connection: close" in head.lower(), head


def test_callback_over_the_limit_by_content_length_is_refused_unread(portal):
    """A declared length over 10 MiB is refused (413) before anything is read: no
    100 Continue, no waiting for the body."""
    headers = {"Content-Type": "application/json", "Content-Length": str(LIMIT + 1),
               "Expect": "100-continue",
               "Kmen-Evidence-Signature": evsim.sign(portal.evidence_secret, b"{}")}
    assert status_of(raw_callback(portal, headers)) == 413
    headers["Content-Length"] = str(40 * 1024 * 1024 * 1024)
    assert status_of(raw_callback(portal, headers)) == 413


def test_chunked_callback_stops_at_the_limit(portal):
    """A chunked body is read only up to the limit: mod_kmen answers 413 as soon as it has
    more than 10 MiB, although the body has not ended (its last chunk is never sent)."""
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
               "Kmen-Evidence-Signature": evsim.sign(portal.evidence_secret, b"{}")}
    piece = 64 * 1024
    chunk = f"{piece:x}\r\n".encode() + b"a" * piece + b"\r\n"
    head = raw_callback(portal, headers, [chunk] * (LIMIT // piece + 4), timeout=20)
    assert status_of(head) == 413, head


def test_chunked_callback_within_the_limit(portal, s, open_request):
    """A chunked body larger than the first buffer is read whole and delivered."""
    data = b"%PDF-1.4\n" + os.urandom(300 * 1024) + b"\n%%EOF\n"
    raw = json.dumps(received(open_request, data)).encode()
    headers = {"Content-Type": "application/json",
               "Kmen-Evidence-Signature": evsim.sign(portal.evidence_secret, raw)}
    pieces = (raw[i:i + 50000] for i in range(0, len(raw), 50000))  # sent chunked
    r = requests.post(f"{portal.base_url}/kmen/evidence", data=pieces, headers=headers)
    assert r.status_code == 204, f"{r.status_code} {r.text[:300]}\n{error_tail(portal)}"
    check_download(document(s, portal, open_request), data, PDF,
                   f"evidence-{open_request}.pdf")


# --- what a delivered document may be ------------------------------------------------------
REFUSED_TYPES = ["text/html", "text/html; charset=utf-8", "image/svg+xml",
                 "application/xhtml+xml", "text/plain", "application/octet-stream",
                 "application/pdf+html", ""]


@pytest.mark.parametrize("content_type", REFUSED_TYPES)
def test_callback_refuses_a_document_type(portal, s, open_request, content_type):
    """Only the allowlisted types are stored: a page a browser would render is refused whole
    (415, KMEN0684), the request stays open."""
    body = {**received(open_request, b"<html><script>alert(document.cookie)</script></html>"),
            "content_type": content_type}
    r = callback(portal, body)
    assert r.status_code == 415, f"{content_type!r}: {r.status_code} {r.text[:300]}"
    assert row_of(portal, open_request) == [("requested", None, None)]
    assert states(s, portal).get(open_request) == "requested"
    assert document(s, portal, open_request).status_code == 404
    line = f'KMEN0684: evidence callback refused: document type "{content_type}" is not allowed'
    assert line in portal.log(), error_tail(portal)


ALLOWED_TYPES = {  # as sent: (as stored and served, file name extension)
    "application/pdf": (PDF, "pdf"),
    "image/png": ("image/png", "png"),
    "Image/JPEG": ("image/jpeg", "jpg"),
    "image/gif": ("image/gif", "gif"),
    "image/tiff": ("image/tiff", "tif"),
    "application/xml": ("application/xml", "xml"),
    "text/xml; charset=utf-8": ("text/xml", "xml"),
}


@pytest.mark.parametrize("sent", ALLOWED_TYPES)
def test_document_is_a_sandboxed_download(portal, s, open_request, sent):
    content_type, extension = ALLOWED_TYPES[sent]
    data = b"<?xml version='1.0'?><doc>evidence of " + sent.encode() + b"</doc>"
    r = callback(portal, {**received(open_request, data), "content_type": sent})
    assert r.status_code == 204, f"{sent}: {r.status_code} {r.text[:300]}"
    assert row_of(portal, open_request)[0][1] == content_type
    check_download(document(s, portal, open_request), data, content_type,
                   f"evidence-{open_request}.{extension}")


def test_document_of_a_type_stored_before_the_allowlist(portal, s, open_request):
    """A row an older mod_kmen stored as text/html is served as a binary download."""
    data = b"<html><script>alert(document.cookie)</script></html>"
    assert callback(portal, received(open_request, data)).status_code == 204
    portal.query("UPDATE kmen.evidence SET content_type = 'text/html' WHERE id = %s",
                (open_request,))
    check_download(document(s, portal, open_request), data, "application/octet-stream",
                   f"evidence-{open_request}.bin")


# --- requests mod_kmen ignores ------------------------------------------------------------------
BAD_ASKS = {
    "bad type": "type=bad%20type!&country=DE",
    "bad country": "type=birth-certificate&country=Germany",
    "lower-case country": "raw=" + "type%3Dbirth-certificate%3B%20country%3Dde",
    "type too long": "type=" + "a" * 65 + "&country=DE",
    "space inside type": "type=birth%20certificate&country=DE",
    "space inside country": "type=diploma&country=D%20E",
    "no country": "raw=type%3Dbirth-certificate",
    "no type": "raw=country%3DDE",
    "empty type": "raw=type%3D%3B%20country%3DDE",
}


@pytest.mark.parametrize("case", BAD_ASKS)
def test_invalid_request_header_passes(portal, s, case):
    flow.login(s, portal, identity="cz-jiri")
    before, rows = states(s, portal), portal.count("evidence")
    path = f"/app/evidence-request?{BAD_ASKS[case]}"
    r = s.get(portal.base_url + path, allow_redirects=False)
    assert r.status_code == 200, f"{case}: {r.status_code} {r.headers.get('Location')}"
    assert "Location" not in r.headers
    assert not any(k.lower() == "kmen-evidence-request" for k in r.headers), r.headers
    assert "Žádost o doklad" in r.text  # the backend's own page
    assert states(s, portal) == before and portal.count("evidence") == rows


def test_longest_valid_type_is_asked(portal, s):
    flow.login(s, portal, identity="cz-jiri")
    type = "a.B_c:9-" * 8  # 64 characters of every allowed kind
    request, q = ask(s, portal, page(type, "LU", f"longest-{portal.server}"))
    assert q["type"] == type and q["country"] == "LU"
    assert states(s, portal).get(request) == "requested"


def test_no_client_identifier_passes(portal, s):
    """A foreigner awaiting verification has no client identifier: nothing to ask for."""
    flow.login(s, portal, identity="es-garcia")  # pending at /app/
    rows = portal.count("evidence")
    path = "/app/verify/evidence-request?type=birth-certificate&country=ES"
    r = s.get(portal.base_url + path, allow_redirects=False)
    assert r.status_code == 200, f"{r.status_code} {r.headers.get('Location')}"
    assert not any(k.lower() == "kmen-evidence-request" for k in r.headers), r.headers
    assert portal.count("evidence") == rows


# --- in a real browser ---------------------------------------------------------------------------
@pytest.fixture
def chromium(site_portal):
    tb = pytest.importorskip("t.integration.test_browser")  # skips without python3-selenium
    for path in (tb.CHROMIUM, tb.CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} is missing (apt-get install chromium chromium-driver)")
    b = tb.Browser(site_portal)
    try:
        yield tb, b
    finally:
        b.quit()


def test_browser_approve(site_portal, chromium):
    """The round in a browser at the site's address, which reaches the portal's node of
    either server (test_browser's site_portal)."""
    tb, b = chromium
    from selenium.webdriver.common.by import By
    tb.log_in(b, "cz-zofie")
    path = page("marriage-certificate", "DE", f"browser-{site_portal.server}")
    b.driver.get(b.url(path))
    b.wait_for_url(site_portal.evidence_url)
    b.check(b.find("html").get_attribute("lang") == "cs", "the preview page is not lang=cs")
    b.check("Náhled dokladu" in b.find("h1").text, f"the heading reads {b.find('h1').text!r}")
    b.check(b.find("#type").text == "marriage-certificate", "the preview shows another type")
    b.check(b.find("#country").text == "DE", "the preview shows another country")
    request = parse_qs(urlsplit(b.driver.current_url).query)["request"][0]
    tb.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    b.driver.save_screenshot(str(tb.SCREENSHOTS / f"evidence-preview-{site_portal.server}.png"))

    b.find("button#approve").click()
    back = sp_url(site_portal, "/app/evidence-request")  # the site's address: the portal
    b.wait_for_url(back)
    b.check(b.status_of(back) == 200,
            "the page that asked did not answer 200 on the way back")
    shown = tb.portal_headers(b)
    b.check(f"{request}=received" in shown.get("Kmen-Evidence", ""),
            f"Kmen-Evidence does not show {request}=received: {shown}")
    items = b.driver.find_elements(By.CSS_SELECTOR, f'li[data-request="{request}"] .state')
    b.check(items and items[0].text == "received", "the portal does not list the request")
    shot = tb.SCREENSHOTS / f"evidence-{site_portal.server}.png"
    b.check(b.driver.save_screenshot(str(shot)), f"no screenshot written to {shot}")
    b.check(shot.stat().st_size > 1000, f"{shot} is (nearly) empty")
    last = requests.get(f"{site_portal.evidence_sim_url}/last-callback").json()
    b.check(last["request"] == request and last["status"] == 204, f"the callback: {last}")


# --- a TLS client certificate instead of the HMAC (KmenEvidenceCallbackCAFile) ------------
def tls_config(stack, h, pins):
    """httpd.conf of an HTTPS node whose evidence callback takes client certificates of the
    test CA (the translation gateway's CA) pinned by PINS (certificates)."""
    k = stack.keys
    text = config_text(h.dir, h.port, stack.portal_port, stack.site())
    text = text.replace(f"Listen 127.0.0.1:{h.port}", f"Listen 127.0.0.1:{h.port} https")
    text += f"""
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
SSLEngine on
SSLCertificateFile {k.translator_cert}
SSLCertificateKeyFile {k.translator_key}
SSLVerifyClient optional_no_ca
KmenEvidenceCallbackCAFile {k.ca_cert}
"""
    if pins:
        text += "KmenEvidenceCallbackCertificate " + " ".join(spki_pin(c) for c in pins) + "\n"
    return text


def nginx_tls_config(stack, n, pins):
    """tls_config in nginx's spelling: nginx asks for the certificate, the module checks it."""
    k = stack.keys
    text = nginx_config_text(
        n.dir, n.port, stack.site(),
        server=f"ssl_certificate {k.translator_cert};\n"
               f"ssl_certificate_key {k.translator_key};\n"
               "ssl_verify_client optional_no_ca;\n"
               f"kmen_evidence_callback_ca_file {k.ca_cert};\n"
               f"kmen_evidence_callback_certificate {' '.join(spki_pin(c) for c in pins)};")
    return text.replace(f"listen 127.0.0.1:{n.port};", f"listen 127.0.0.1:{n.port} ssl;")


@pytest.fixture(scope="module")
def tls_node(stack, server):
    """The kmen module's client certificate stands in for the evidence service's, on a node
    of SERVER. The certificate without EKU is pinned too, so that only its missing key usage
    refuses it. (A certificate for serverAuth only, such as the gateway's, the TLS library
    itself refuses in the handshake.)"""
    k = stack.keys
    pins = [k.client_cert, k.noeku_cert]
    if server == "httpd":
        node = Httpd(parent=stack.dir)
        node.write_config(tls_config(stack, node, pins))
    else:
        node = Nginx(parent=stack.dir)
        node.write_config(nginx_tls_config(stack, node, pins))
    node.start()
    yield node
    node.stop()


def tls_callback(stack, node, body, cert):
    return requests.post(f"https://127.0.0.1:{node.port}/kmen/evidence",
                         data=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"},
                         cert=cert, verify=str(stack.keys.ca_cert), allow_redirects=False)


def test_client_certificate_authenticates_the_callback(portal, s, tls_node):
    flow.login(s, portal, identity="cz-zofie")
    request, _ = ask(s, portal, page("school-report", "AT", f"tls-{portal.server}"))
    k = portal.keys
    assert tls_callback(portal, tls_node, received(request), None).status_code == 401
    wrong = (str(k.sp_cert), str(k.sp_key))  # self-signed: not of the configured CA
    assert tls_callback(portal, tls_node, received(request), wrong).status_code == 401
    assert states(s, portal).get(request) == "requested"
    good = (str(k.client_cert), str(k.client_key))
    r = tls_callback(portal, tls_node, received(request), good)
    assert r.status_code == 204, tls_node.read_error_log()[-3000:]
    assert states(s, portal).get(request) == "received"


REFUSED_CERTIFICATES = {  # which certificate: what KMEN0685 says
    "stranger": ("its key is not pinned", "another service"),
    "noeku": ("no clientAuth extended key usage", "mod_kmen without EKU"),
}


@pytest.mark.parametrize("which", REFUSED_CERTIFICATES)
def test_client_certificate_of_the_ca_refused(portal, s, tls_node, which):
    """Of the right CA is not enough: the key must be pinned (KmenEvidenceCallbackCertificate)
    and the certificate issued for clientAuth."""
    flow.login(s, portal, identity="cz-zofie")
    request, _ = ask(s, portal, page("school-report", "AT", f"tls-{which}-{portal.server}"))
    k = portal.keys
    cert = (str(getattr(k, f"{which}_cert")), str(getattr(k, f"{which}_key")))
    r = tls_callback(portal, tls_node, received(request), cert)
    assert r.status_code == 401, f"{which}: {r.status_code} {r.text[:200]}"
    assert states(s, portal).get(request) == "requested"
    reason, cn = REFUSED_CERTIFICATES[which]
    log = tls_node.read_error_log()
    assert re.search(rf'KMEN0685: evidence callback: client certificate "[^"]*CN={re.escape(cn)}'
                     rf'[^"]*" refused: {reason}', log), log[-2000:]


# Apache's directive syntax (nginx's is test_nginx's, with its other directives' values)
def test_ca_file_without_a_pin_is_a_configuration_error(stack):
    h = Httpd(parent=stack.dir)
    text = tls_config(stack, h, [])
    h.write_config(text)
    rc, out = h.configtest()
    line = next(n for n, t in enumerate(text.splitlines(), 1)
                if t.startswith("KmenEvidenceCallbackCAFile"))
    assert rc != 0, out
    assert f"KmenEvidenceCallbackCAFile {stack.keys.ca_cert} ({h.conf}:{line}): needs " \
        "KmenEvidenceCallbackCertificate" in out, out


@pytest.mark.parametrize("pin", ["sha256/short", "sha1/" + "A" * 43 + "=",
                                 "sha256/" + "A" * 44, "sha256/" + "A" * 43 + "*"])
def test_malformed_pin_is_a_configuration_error(stack, pin):
    h = Httpd(parent=stack.dir)
    h.write_config(tls_config(stack, h, []) + f"KmenEvidenceCallbackCertificate {pin}\n")
    rc, out = h.configtest()
    assert rc != 0 and "KmenEvidenceCallbackCertificate: expected sha256/" in out, out
