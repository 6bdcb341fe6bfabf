#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulator of the translation gateway of docs/gateway.md: what a real
adapter in front of ISZR speaks, so that mod_kmen's KmenTranslatorURL can point at either.

HTTPS only, and the client must present a certificate issued by the configured CA.

  POST /bsi-to-aifo   {"bsi": …, "agenda": "A8566", "role": "CR102729"} -> 200 {"aifo": …} | 404
  POST /aifo-to-aifo  {"aifo": …, "from": "A8566", "to": "A9145"}        -> 200 {"aifo": …} | 404
  POST /identify      {"agenda", "family_name", "given_name", "birth_date", "address"?}
                                                    -> 200 {"aifo": …} | 404 (none) | 409 (several)
  POST /subscribe     {"agenda", "aifo"}            -> 204 | 404 (an AIFO it does not know)
  GET  /changes?agenda=A8566&after=CURSOR           -> 200 {"events": [...], "next": CURSOR}

Person model: the person behind a BSI is the BSI itself, and a person's AIFO in an agenda is
base64(HMAC-SHA256(secret, "<agenda>|<person>"))[:24], the secret fixed per gateway. The gateway
remembers which person every AIFO it issued (or was told about with seed_aifo) belongs to, so
aifo-to-aifo(aifo(p, A), from=A, to=B) == aifo(p, B): one person, one AIFO per agenda, whichever
way it was reached. An AIFO it never issued nor was told about translates to 404.

Population (for /identify): the residents it was given with add_resident(), or populate(N) for
the deterministic population of t/sim/identities.py. One resident matching the names and birth
date (and the address, when the request gives one) is identified: his AIFO in the agenda; an
ambiguous person is simply a second resident with the same data.

Change feed: append_event(agenda, event, aifo, value) adds an event (change, merge, death,
data); GET /changes returns, oldest first and at most .page_size at a time, the events of the
agenda whose AIFO (for a merge: either AIFO) the agenda subscribed to. A cursor is the decimal
seq of the last event read; "" or no `after` starts at the beginning. A change moves the
subscription to the new AIFO, as ISZR goes on notifying the person.

Errors: a role other than CR102729 -> 403; a body that is not the JSON object described -> 400;
another path -> 404; another method -> 405. Errors carry {"error": "…"}.

In tests (class Translator): .calls logs every request that reached a handler as (path, body);
.mode = "ok" | "fail" (500 to everything) | "slow" (answer after .delay seconds) | "down"
(close the connection without answering); outage_after(N): N more requests are answered,
then the mode becomes "down"; .known = None (every BSI translates) or a set of
the BSIs that do (others: 404).

Standalone, e.g. for the demo:
    /usr/bin/python3 t/sim/gateway.py --port 8443 --cert C --key K --ca CA [--secret S]
"""

import argparse
import base64
import hashlib
import hmac
import json
import re
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from identities import population  # run as t/sim/gateway.py
except ImportError:
    from t.sim.identities import population

ROLE = "CR102729"  # verifying the identity of a digital-service user
DEMO_SECRET = b"mod_kmen demo translation gateway: not a secret"
MODES = ("ok", "fail", "slow", "down")
AGENDA = re.compile(r"A[0-9]{1,6}\Z")
BODY_LIMIT = 65536
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
IDENTIFY_MEMBERS = {"agenda", "family_name", "given_name", "birth_date", "address"}


class Translator:
    """The gateway, served from a thread of this process. start() / stop()."""

    def __init__(self, keys=None, port=0, secret=DEMO_SECRET, bind="127.0.0.1",
                 cert=None, key=None, ca=None, delay=3.0):
        """KEYS (t/lib/keys.py) gives translator_cert/translator_key/ca_cert; or pass CERT,
        KEY and CA (paths). PORT 0 picks a free port."""
        cert = cert or keys.translator_cert
        key = key or keys.translator_key
        ca = ca or keys.ca_cert
        self.secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        self.mode = "ok"
        self.delay = delay      # seconds a "slow" answer waits
        self.known = None       # None: every BSI translates; a set: only these BSIs
        self.calls = []         # (path, body) of every request that reached a handler
        self.rejected = 0       # connections refused in the TLS handshake (no/bad client cert)
        self._lock = threading.Lock()
        self._owners = {}       # aifo -> (person, agenda): what the gateway issued or was told
        self.residents = {}     # (family, given, birth date), normalised -> [Resident]
        self.subscriptions = {}  # agenda -> set of subscribed AIFO
        self.feed = []          # (seq, agenda, event dict), seq growing from 1
        self.page_size = 100    # events per /changes page
        self._answers_left = None  # outage_after: requests still answered before "down"
        self._stopping = threading.Event()
        self.server = ThreadingHTTPServer((bind, port), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = self._handle_error
        self.port = self.server.server_address[1]
        self.bind = bind
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert), str(key))
        ctx.load_verify_locations(str(ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
        # The handshake runs in the connection's own thread (first read), so a client that
        # never finishes it cannot stall the accept loop.
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                             do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.1,),
                                       name="gateway", daemon=True)

    @property
    def url(self):
        return f"https://{self.bind}:{self.port}"

    # --- the person model --------------------------------------------------------
    def aifo(self, person, agenda):
        """The AIFO of PERSON in AGENDA (pure: remembers nothing)."""
        mac = hmac.new(self.secret, f"{agenda}|{person}".encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode()[:24]

    def issue(self, person, agenda):
        value = self.aifo(person, agenda)
        with self._lock:
            self._owners[value] = (person, agenda)
        return value

    def seed_aifo(self, person, agenda):
        """What the gateway will answer for PERSON (a BSI) in AGENDA, now also known to it
        (as if the agenda's register had been filled from the base registers)."""
        return self.issue(person, agenda)

    def add_resident(self, resident):
        """A person the base registers know, for /identify (t/sim/identities.Resident)."""
        key = _resident_key(resident.family, resident.given, resident.birth_date)
        with self._lock:
            self.residents.setdefault(key, []).append(resident)

    def populate(self, n):
        """The first N residents of the deterministic population (identities.population)."""
        for r in population(n):
            self.add_resident(r)

    def append_event(self, agenda, event, aifo, value=None):
        """A base-register change for the agenda's feed; returns its seq."""
        doc = {"event": event, "aifo": aifo}
        if value is not None:
            doc["value"] = value
        with self._lock:
            seq = len(self.feed) + 1
            self.feed.append((seq, agenda, dict(doc, seq=str(seq))))
            if event == "change":
                subscribed = self.subscriptions.setdefault(agenda, set())
                if aifo in subscribed:
                    subscribed.add(value)
                owner = self._owners.get(aifo)
                if owner:
                    self._owners[value] = owner
        return seq

    def subscribed(self, agenda):
        with self._lock:
            return set(self.subscriptions.get(agenda, ()))

    # --- the call log and the fault modes ----------------------------------------------
    def count(self, path=None):
        with self._lock:
            return sum(1 for p, _ in self.calls if path is None or p == path)

    def reset(self):
        """Clear the call log (and the rejected-handshake counter)."""
        with self._lock:
            self.calls.clear()
            self.rejected = 0

    def heal(self):
        """Back to normal service: mode "ok", every BSI known."""
        self.mode, self.known, self._answers_left = "ok", None, None

    def outage_after(self, n):
        """Answer N more requests normally, then go "down" (an outage in the middle of a run)."""
        with self._lock:
            self._answers_left = n

    def _current_mode(self):
        with self._lock:
            if self._answers_left is not None:
                if self._answers_left <= 0:
                    self.mode, self._answers_left = "down", None
                else:
                    self._answers_left -= 1
            return self.mode

    # --- answering ---------------------------------------------------------------------
    def answer(self, path, body):
        """(status, JSON object) for a POST of BODY (already parsed) to PATH, in mode ok."""
        if not isinstance(body, dict):
            return 400, {"error": "the body must be a JSON object"}
        if path == "/bsi-to-aifo":
            return self._bsi_to_aifo(body)
        if path == "/aifo-to-aifo":
            return self._aifo_to_aifo(body)
        if path == "/identify":
            return self._identify(body)
        if path == "/subscribe":
            return self._subscribe(body)
        return 404, {"error": "no such endpoint"}

    def _identify(self, body):
        agenda, address = body.get("agenda"), body.get("address")
        names = [body.get("family_name"), body.get("given_name"), body.get("birth_date")]
        if not (_text(agenda) and AGENDA.match(agenda) and all(_text(v) for v in names)) \
                or not (address is None or _text(address)) \
                or not DATE.match(names[2]) or set(body) - IDENTIFY_MEMBERS:
            return 400, {"error": "expected {agenda, family_name, given_name, birth_date, "
                                  "address?}"}
        with self._lock:
            found = list(self.residents.get(_resident_key(*names), ()))
        if address is not None:
            found = [r for r in found if _normal(r.address or "") == _normal(address)]
        if not found:
            return 404, {"error": "no such person"}
        if len(found) > 1:
            return 409, {"error": "several persons match"}
        return 200, {"aifo": self.issue(found[0].person, agenda)}

    def _subscribe(self, body):
        agenda, aifo = body.get("agenda"), body.get("aifo")
        if not (_text(agenda) and _text(aifo)) or not AGENDA.match(agenda):
            return 400, {"error": "expected {agenda, aifo}"}
        with self._lock:
            owner = self._owners.get(aifo)
            if owner is None or owner[1] != agenda:
                return 404, {"error": "unknown AIFO"}
            self.subscriptions.setdefault(agenda, set()).add(aifo)
        return 204, None

    def changes(self, query):
        """(status, JSON object) for GET /changes with QUERY (parsed query string)."""
        agenda, after = query.get("agenda", [""])[0], query.get("after", [""])[0]
        if not AGENDA.match(agenda) or not re.fullmatch(r"[0-9]{0,18}", after):
            return 400, {"error": "expected ?agenda=A…&after=CURSOR"}
        start = int(after or 0)
        with self._lock:
            subscribed = self.subscriptions.get(agenda, set())
            page, last = [], start
            for seq, event_agenda, doc in self.feed[start:]:
                if len(page) == self.page_size:
                    break
                last = seq
                if event_agenda == agenda and (doc["aifo"] in subscribed or (
                        doc["event"] == "merge" and doc.get("value") in subscribed)):
                    page.append(dict(doc))
        return 200, {"events": page, "next": str(last) if last else after}

    def _bsi_to_aifo(self, body):
        bsi, agenda, role = body.get("bsi"), body.get("agenda"), body.get("role")
        if not (_text(bsi) and _text(agenda) and _text(role)) or not AGENDA.match(agenda):
            return 400, {"error": "expected {bsi, agenda, role}"}
        if role != ROLE:
            return 403, {"error": f"role {role} may not translate BSI to AIFO"}
        known = self.known
        if known is not None and bsi not in known:
            return 404, {"error": "unknown BSI"}
        return 200, {"aifo": self.issue(bsi, agenda)}

    def _aifo_to_aifo(self, body):
        aifo, src, dst = body.get("aifo"), body.get("from"), body.get("to")
        if not (_text(aifo) and _text(src) and _text(dst)) \
                or not (AGENDA.match(src) and AGENDA.match(dst)):
            return 400, {"error": "expected {aifo, from, to}"}
        with self._lock:
            owner = self._owners.get(aifo)
        if owner is None or owner[1] != src:
            return 404, {"error": "unknown AIFO"}
        return 200, {"aifo": self.issue(owner[0], dst)}

    def _record(self, path, body):
        with self._lock:
            self.calls.append((path, body))

    def _handle_error(self, request, address):
        # A client without an acceptable certificate fails the handshake in its thread.
        if isinstance(sys.exc_info()[1], (ssl.SSLError, OSError)):
            with self._lock:
                self.rejected += 1

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm, a kept-alive
            # client's delayed ACK would hold every answer's body back by 40 ms.
            disable_nagle_algorithm = True
            timeout = 30
            server_version = "kmen-gateway-sim"
            sys_version = ""

            def do_POST(self):
                path = self.path.split("?", 1)[0]
                try:
                    raw = self.read_body()
                except ValueError as e:
                    return self.reply(400, {"error": str(e)})
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                gateway._record(path, body)
                mode = gateway._current_mode()
                if mode == "down":
                    return self.hang_up()
                if mode == "slow" and gateway._stopping.wait(gateway.delay):
                    return self.hang_up()
                if mode == "fail":
                    return self.reply(500, {"error": "simulated failure"})
                if body is None:
                    return self.reply(400, {"error": "the body is not JSON"})
                self.reply(*gateway.answer(path, body))

            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path != "/changes":
                    return self.reply(405, {"error": "POST only"}, allow="POST")
                gateway._record(path, query)
                mode = gateway._current_mode()
                if mode == "down":
                    return self.hang_up()
                if mode == "fail":
                    return self.reply(500, {"error": "simulated failure"})
                self.reply(*gateway.changes(urllib.parse.parse_qs(query)))

            def refuse(self):
                self.reply(405, {"error": "POST only"}, allow="POST")

            do_PUT = do_DELETE = do_PATCH = do_HEAD = refuse

            def read_body(self):
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    return self.read_chunked()
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0 or length > BODY_LIMIT:
                    raise ValueError("body too large")
                return self.rfile.read(length)

            def read_chunked(self):
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
                    if len(out) > BODY_LIMIT:
                        raise ValueError("body too large")

            def reply(self, status, doc, **extra):
                out = json.dumps(doc).encode() if doc is not None else b""
                self.send_response(status)
                if status != 204:  # "No Content": neither a type nor a length
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                for name, value in extra.items():
                    self.send_header(name.capitalize(), value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            def hang_up(self):
                """Close the connection without a byte of answer."""
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        return Handler

    # --- life cycle --------------------------------------------------------------------
    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stopping.set()  # wakes "slow" answers
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _text(value):
    return isinstance(value, str) and value != ""


def _normal(text):
    """Names and addresses compare as ZR compares them: case and spacing aside."""
    return " ".join(text.casefold().split())


def _resident_key(family, given, birth_date):
    return (_normal(family), _normal(given), birth_date)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--cert", required=True, help="the gateway's server certificate (PEM)")
    ap.add_argument("--key", required=True, help="its private key (PEM)")
    ap.add_argument("--ca", required=True, help="CA that issues the clients' certificates")
    ap.add_argument("--secret", default=None,
                    help="person-model secret (default: a fixed demo secret, stable AIFOs)")
    ap.add_argument("--population", type=int, default=0,
                    help="residents of the deterministic population /identify knows")
    args = ap.parse_args()
    gateway = Translator(port=args.port, bind=args.bind, cert=args.cert, key=args.key,
                         ca=args.ca, secret=args.secret or DEMO_SECRET)
    gateway.populate(args.population)
    print(f"gateway listening on {gateway.url}", flush=True)
    try:
        gateway.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.server.server_close()


if __name__ == "__main__":
    main()
