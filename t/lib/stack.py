# SPDX-License-Identifier: GPL-2.0-or-later
"""The whole test site: keys, PostgreSQL, translation gateway, NIA simulator, portal, evidence
service, httpd.

Start order: keys -> postgres -> translator -> sim (writes the IdP metadata httpd reads)
-> portal -> evidence service (cross-border evidence; calls httpd back at /kmen/evidence)
-> httpd. Every process is stopped by its own PID; the run directory is removed unless KEEP=1
is in the environment.
"""

import contextlib
import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import PYTHON, REPO
from .httpd import MODULE_SO, Httpd, KmenSite, config_text, free_port, wait_for_port
from .keys import make_keys
from .nginx import Nginx, portal_server
from .nginx import config_text as nginx_config_text
from .pg import Postgres
from .portal import Portal
from ..sim.gateway import Translator

SIM = REPO / "t" / "sim" / "nia_idp.py"
PORTAL = REPO / "t" / "sim" / "portal.py"
EVIDENCE = REPO / "t" / "sim" / "evidence.py"
# KMEN_KMENCTL: another build of kmenctl (make test-asan uses build/asan/kmenctl).
KMENCTL = Path(os.environ.get("KMEN_KMENCTL") or REPO / "kmenctl" / "kmenctl")


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


class Stack:
    def __init__(self, http_port=None, sim_port=None, portal_port=None, module=MODULE_SO,
                 keep=None, extra="", translator=True, evidence_port=None,
                 primary_httpd=None):
        """EXTRA: server-level config lines of the primary httpd (e.g. "KmenRegisterAgenda
        A9145"). TRANSLATOR=False: the gateway still runs, but httpd has no KmenTranslator*
        lines (a site without KmenTranslatorURL). PRIMARY_HTTPD: keyword arguments of the
        primary node's Httpd (wrapper, single_process, start_timeout, stop_timeout: make
        test-valgrind runs it as httpd -X under valgrind)."""
        self.primary_httpd = dict(primary_httpd or {})
        self.keep = os.environ.get("KEEP") == "1" if keep is None else keep
        self.module = Path(module)
        self.extra = extra
        self.use_translator = translator
        self.http_port = http_port or free_port()
        self.sim_port = sim_port or free_port()
        self.portal_port = portal_port or free_port()
        self.evidence_port = evidence_port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kmen-stack-"))
        os.chmod(self.dir, 0o755)
        self.keys = self.pg = self.translator = self.sim = self.portal = self.httpd = None
        self.evidence = None
        self.more_httpd, self.more_nginx = [], []
        self.nginx = None  # the nginx portal's node, started by the first on("nginx")
        self._sim_module = None

    # --- addresses -------------------------------------------------------------
    @property
    def base_url(self):
        return f"http://localhost:{self.http_port}"

    @property
    def entity_id(self):
        return f"http://localhost:{self.http_port}/"

    @property
    def node(self):
        """The server the stack's URLs reach: the primary httpd (a Portal's: its own)."""
        return self.httpd

    def url(self, where):
        """WHERE on the primary httpd: a path ("/app/"), or a URL as it is."""
        return self.base_url + where if where.startswith("/") else where

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
    def gateway(self):
        """The translation gateway (t/sim/gateway.py), also known as .translator."""
        return self.translator

    @property
    def evidence_sim_url(self):
        """The evidence-service simulator (t/sim/evidence.py): /preview, /last-callback."""
        return f"http://127.0.0.1:{self.evidence_port}"

    @property
    def evidence_url(self):
        """KmenEvidenceURL: where mod_kmen sends a person whose evidence the backend asks for."""
        return f"{self.evidence_sim_url}/preview"

    @property
    def evidence_callback_url(self):
        """Where the evidence service posts its signed callbacks (the primary node)."""
        return f"http://127.0.0.1:{self.http_port}/kmen/evidence"

    @property
    def evidence_secret(self):
        """The HMAC key (bytes) of KmenEvidenceSecretFile, to sign callbacks with."""
        return Path(self.keys.evidence_secret).read_bytes()

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
            self.evidence = self.start_evidence()
            self.httpd = self.new_httpd(extra=self.extra, primary=True)
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
                "--seal-key", k.seal_key, "--seal-cert", k.seal_cert,
                "--next-key", k.next_key, "--next-cert", k.next_cert,
                "--sp-metadata-url", f"http://127.0.0.1:{self.http_port}/kmen/metadata",
                "--metadata-out", self.idp_metadata]
        child = Child("nia_idp", list(map(str, args)), simdir / "sim.log")
        return child.wait_ready(self.sim_port, files=[self.idp_metadata])

    def start_portal(self):
        args = [PYTHON, PORTAL, "--port", self.portal_port, "--kmen-path", "/kmen"]
        child = Child("portal", list(map(str, args)), self.dir / "portal.log")
        return child.wait_ready(self.portal_port)

    def start_evidence(self):
        args = [PYTHON, EVIDENCE, "--port", self.evidence_port,
                "--callback-url", self.evidence_callback_url,
                "--secret-file", self.keys.evidence_secret]
        child = Child("evidence", list(map(str, args)), self.dir / "evidence.log")
        return child.wait_ready(self.evidence_port)

    def site(self, entity_id=None):
        return KmenSite(entity_id=entity_id or self.entity_id, keys_dir=self.keys.dir,
                        idp_metadata=self.idp_metadata, conninfo=self.pg.conninfo(),
                        idp_metadata_cert=self.keys.seal_cert,
                        translator_url=self.translator.url if self.use_translator else "",
                        module=self.module, evidence_url=self.evidence_url)

    def new_httpd(self, extra="", locations="", entity_id=None, primary=False):
        """Another httpd node on the same database, sim and portal. By default it serves the
        same site (same entity ID: the sim's SP), so a session made on one node is valid on
        the other; logins still end at the primary node's ACS, where the sim posts."""
        h = Httpd(parent=self.dir, port=self.http_port if primary else None,
                  **(self.primary_httpd if primary else {}))
        h.write_config(config_text(h.dir, h.port, self.portal_port, self.site(entity_id),
                                   extra=extra, locations=locations))
        h.start()
        if not primary:
            self.more_httpd.append(h)
        return h

    def on(self, server):
        """The portal as SERVER serves it ("httpd" or "nginx"; t/lib/portal.py): the primary
        httpd, or an nginx node of the same site, started at the first call and kept."""
        if server == "httpd":
            return Portal(self, server, self.httpd)
        if self.nginx is None:
            self.nginx = self.new_nginx(primary=True)
        return Portal(self, server, self.nginx)

    def new_nginx(self, http="", server="", primary=False):
        """Another nginx node of the same site serving the portal's locations (t/lib/nginx.py's
        portal_server), as new_httpd's httpd does; HTTP: more lines in its http{}, SERVER:
        more in its server{} (the nginx spelling of new_httpd's EXTRA and LOCATIONS)."""
        n = Nginx(parent=self.dir)
        site = self.site()
        n.write_config(nginx_config_text(n.dir, n.port, site, http=http,
                                         server=portal_server(self.portal_port, site) + "\n" +
                                         server))
        n.start()
        if not primary:
            self.more_nginx.append(n)
        return n

    def stop(self):
        for part in [*reversed(self.more_nginx), self.nginx, *reversed(self.more_httpd),
                     self.httpd, self.evidence, self.portal, self.sim, self.translator, self.pg]:
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

    def conninfo(self, user="postgres"):
        """libpq conninfo of the register database; by default as the superuser."""
        return self.pg.conninfo(user)

    def kmenctl(self, *args, check=True):
        """Run kmenctl/kmenctl ARGS; its CompletedProcess (text). CHECK: fail on exit != 0."""
        if not KMENCTL.exists():
            raise FileNotFoundError(f"{KMENCTL} is not built")
        r = subprocess.run([str(KMENCTL), *map(str, args)], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        if check and r.returncode:
            raise RuntimeError(f"kmenctl {' '.join(map(str, args))} exited {r.returncode}:\n"
                               f"{r.stdout}{r.stderr}")
        return r

    def import_essl(self, rows, name="essl.csv", agenda=None):
        """Seed the register from the filing service's name register with kmenctl.
        ROWS: [(aifo, family_name, given_name, birth_date, *systems)]; written as CSV into
        the run directory. The CompletedProcess of `kmenctl import-essl`."""
        path = write_essl_csv(self.dir / name, rows)
        args = ["import-essl", self.conninfo(), path, "--key-file", self.keys.register_key]
        if agenda:
            args += ["--agenda", agenda]
        return self.kmenctl(*args)

    def pg_dump(self):
        """A plain-text pg_dump of the register database, made as user postgres."""
        return self.pg.dump()


def stack_fixture(**kwargs):
    """The body of a pytest fixture that gives its tests a Stack of their own
    (`yield from stack_fixture()`): stops at once, with the reason, when the module is not
    built, and stops the stack after the fixture's scope."""
    if not MODULE_SO.exists():
        import pytest
        pytest.fail(f"{MODULE_SO} is missing: build the module first (make)", pytrace=False)
    with Stack(**kwargs) as st:
        yield st


def write_essl_csv(path, rows):
    """The CSV of kmenctl import-essl: the header aifo,family_name,given_name,birth_date,
    then system columns as wide as the widest row."""
    width = max([4, *(len(r) for r in rows)])
    header = ["aifo", "family_name", "given_name", "birth_date"]
    header += ["system"] * (width - 4)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    os.chmod(path, 0o644)
    return Path(path)
