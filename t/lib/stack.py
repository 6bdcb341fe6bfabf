# SPDX-License-Identifier: GPL-2.0-or-later
"""The whole test site: keys, PostgreSQL, translation gateway, NIA simulator, portal, httpd.

Start order: keys -> postgres -> translator -> sim (writes the IdP metadata httpd reads)
-> portal -> httpd. Every process is stopped by its own PID; the run directory is removed
unless KEEP=1 is in the environment.
"""

import base64
import contextlib
import hashlib
import hmac
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import PYTHON, REPO
from .httpd import MODULE_SO, Httpd, KmenSite, config_text, free_port, wait_for_port
from .keys import make_keys
from .pg import Postgres

SIM = REPO / "t" / "sim" / "nia_idp.py"
PORTAL = REPO / "t" / "sim" / "portal.py"


def load_sim_module():
    """t/sim/nia_idp.py as a module (for person_identifier, the BSI a login carries)."""
    spec = importlib.util.spec_from_file_location("nia_idp", SIM)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Child:
    """A helper process (sim, portal) with its output in a log file."""

    def __init__(self, name, args, log):
        self.name, self.log = name, Path(log)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=REPO)

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, port, files=(), timeout=20.0):
        deadline = time.monotonic() + timeout
        while not all(Path(f).exists() for f in files):
            if not self.alive() or time.monotonic() > deadline:
                self.fail("never wrote " + ", ".join(map(str, files)))
            time.sleep(0.05)
        left = max(deadline - time.monotonic(), 1.0)
        if not (wait_for_port(port, left, self.alive) and self.alive()):
            self.fail(f"does not listen on port {port}")
        return self

    def fail(self, why):
        self.stop()
        raise RuntimeError(f"{self.name} {why}:\n{self.log.read_text(errors='replace')}")

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Translator:
    """The translation gateway of DESIGN.md (HTTPS, client certificate, JSON), in-process.

    AIFOs are derived from the BSI/AIFO and the agenda with a run-local secret, so one
    person always gets the same AIFO in one agenda. Every call is recorded in .calls.
    """

    def __init__(self, keys, port=None):
        self.port = port or free_port()
        self.secret = os.urandom(32)
        self.calls = []
        self.known = None   # None: every BSI translates; else only the BSIs in this set
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # e.g. no client cert
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(keys.translator_cert, keys.translator_key)
        ctx.load_verify_locations(keys.ca_cert)
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                             do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def aifo(self, value, agenda):
        mac = hmac.new(self.secret, f"{agenda}|{value}".encode(), hashlib.sha256).digest()
        return base64.b64encode(mac[:18]).decode()

    def answer(self, path, body):
        self.calls.append((path, body))
        if path == "/bsi-to-aifo" and {"bsi", "agenda", "role"} <= body.keys():
            if self.known is not None and body["bsi"] not in self.known:
                return 404, {}
            return 200, {"aifo": self.aifo(body["bsi"], body["agenda"])}
        if path == "/aifo-to-aifo" and {"aifo", "from", "to"} <= body.keys():
            return 200, {"aifo": self.aifo(body["aifo"], body["to"])}
        return 400, {"error": "bad request"}

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    status, doc = gateway.answer(self.path, json.loads(raw))
                except (ValueError, AttributeError):
                    status, doc = 400, {"error": "not JSON"}
                out = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        return Handler

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


class Stack:
    def __init__(self, http_port=None, sim_port=None, portal_port=None, module=MODULE_SO,
                 keep=None):
        self.keep = os.environ.get("KEEP") == "1" if keep is None else keep
        self.module = Path(module)
        self.http_port = http_port or free_port()
        self.sim_port = sim_port or free_port()
        self.portal_port = portal_port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kmen-stack-"))
        os.chmod(self.dir, 0o755)
        self.keys = self.pg = self.translator = self.sim = self.portal = self.httpd = None
        self.more_httpd = []
        self._sim_module = None

    # --- addresses -------------------------------------------------------------
    @property
    def base_url(self):
        return f"http://localhost:{self.http_port}"

    @property
    def entity_id(self):
        return f"http://localhost:{self.http_port}/"

    @property
    def acs_url(self):
        return f"{self.base_url}/kmen/acs"

    @property
    def sim_url(self):
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def sso_url(self):
        return f"{self.sim_url}/FPSTS/saml2/basic"

    @property
    def idp_metadata(self):
        return self.dir / "sim" / "idp-metadata.xml"

    # --- life cycle ------------------------------------------------------------
    def start(self):
        try:
            self.keys = make_keys(self.dir / "keys")
            self.pg = Postgres(self.dir).setup()
            self.translator = Translator(self.keys).start()
            self.sim = self.start_sim()
            self.portal = self.start_portal()
            self.httpd = self.new_httpd(primary=True)
        except BaseException:
            self.stop()
            raise
        return self

    def start_sim(self):
        simdir = self.dir / "sim"
        simdir.mkdir(mode=0o755, exist_ok=True)
        k = self.keys
        args = [PYTHON, SIM, "--port", self.sim_port, "--base-url", self.sim_url,
                "--key", k.idp_key, "--cert", k.idp_cert,
                "--wrong-key", k.wrong_key, "--wrong-cert", k.wrong_cert,
                "--sp-metadata-url", f"http://127.0.0.1:{self.http_port}/kmen/metadata",
                "--metadata-out", self.idp_metadata]
        child = Child("nia_idp", list(map(str, args)), simdir / "sim.log")
        return child.wait_ready(self.sim_port, files=[self.idp_metadata])

    def start_portal(self):
        args = [PYTHON, PORTAL, "--port", self.portal_port, "--kmen-path", "/kmen"]
        child = Child("portal", list(map(str, args)), self.dir / "portal.log")
        return child.wait_ready(self.portal_port)

    def site(self, entity_id=None):
        return KmenSite(entity_id=entity_id or self.entity_id, keys_dir=self.keys.dir,
                        idp_metadata=self.idp_metadata, conninfo=self.pg.conninfo(),
                        translator_url=self.translator.url, module=self.module)

    def new_httpd(self, extra="", locations="", entity_id=None, primary=False):
        """Another httpd node on the same database, sim and portal. By default it serves the
        same site (same entity ID: the sim's SP), so a session made on one node is valid on
        the other; logins still end at the primary node's ACS, where the sim posts."""
        h = Httpd(parent=self.dir, port=self.http_port if primary else None)
        h.write_config(config_text(h.dir, h.port, self.portal_port, self.site(entity_id),
                                   extra=extra, locations=locations))
        h.start()
        if not primary:
            self.more_httpd.append(h)
        return h

    def stop(self):
        for part in [*reversed(self.more_httpd), self.httpd, self.portal, self.sim,
                     self.translator, self.pg]:
            if part is not None:
                try:
                    part.stop()
                except Exception as e:  # keep stopping the rest
                    print(f"stopping {part!r}: {e}", file=sys.stderr)
        if self.keep:
            print(f"KEEP=1: run directory kept at {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- what tests ask ----------------------------------------------------------
    def bsi(self, identity):
        """The BSI the sim releases for IDENTITY to this SP (a secret: never shown)."""
        if self._sim_module is None:
            self._sim_module = load_sim_module()
        return self._sim_module.person_identifier(identity, self.entity_id)

    def query(self, sql, params=None):
        return self.pg.query(sql, params)

    @contextlib.contextmanager
    def postgres_down(self):
        """PostgreSQL stopped inside the block, started again after it."""
        self.pg.stop()
        try:
            yield
        finally:
            self.pg.start()

    def count(self, table):
        return self.query(f"SELECT count(*) FROM kmen.{table}")[0][0]
