# SPDX-License-Identifier: GPL-2.0-or-later
"""A standalone Apache httpd (Debian's apache2 binary) with its own config, logs and port."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import REPO

APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
# KMEN_MODULE: another build of the module (make test-asan uses build/asan/mod_kmen.so).
MODULE_SO = Path(os.environ.get("KMEN_MODULE") or REPO / "apache" / ".libs" / "mod_kmen.so")
# log_config and unixd are compiled into Debian's apache2 (apache2 -l): not loaded here.
BASE_MODULES = ["mpm_event", "authz_core", "authn_core", "authz_user", "socache_shmcb",
                "proxy", "proxy_http"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=15.0, alive=lambda: True):
    """True once 127.0.0.1:PORT accepts; False on timeout or when alive() turns False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class KmenSite:
    """What the kmen directives of one httpd point at."""
    entity_id: str
    keys_dir: Path
    idp_metadata: Path
    conninfo: str
    translator_url: str = ""   # empty: no KmenTranslator* lines
    module: Path = MODULE_SO
    evidence_url: str = ""     # empty: no KmenEvidence* lines (no evidence)
    idp_metadata_cert: Path = None  # KmenIdPMetadataCertificateFile; None: no such line


def kmen_lines(site, dir):
    k = site.keys_dir
    lines = [
        f"KmenSPEntityID {site.entity_id}",
        f"KmenSPPrivateKeyFile {k}/sp-key.pem",
        f"KmenSPCertificateFile {k}/sp-cert.pem",
        f"KmenIdPMetadataFile {site.idp_metadata}",
        f'KmenDatabase "{site.conninfo}"',
        f"KmenRegisterKeyFile {k}/register.key",
        "KmenCookieSecure Off",
        "KmenAllowHTTP On",  # the test site is plain HTTP on loopback
        f'KmenSessionCache "shmcb:{dir}/kmen-sessions(1024000)"',
        # every test is one client, 127.0.0.1: a node that tests the limit sets its own
        "KmenLoginStartLimit 0",
    ]
    if site.idp_metadata_cert:
        lines.append(f"KmenIdPMetadataCertificateFile {site.idp_metadata_cert}")
    if site.translator_url:
        lines += [f"KmenTranslatorURL {site.translator_url}",
                  f"KmenTranslatorCertificateFile {k}/client-cert.pem",
                  f"KmenTranslatorKeyFile {k}/client-key.pem",
                  f"KmenTranslatorCAFile {k}/ca-cert.pem"]
    if site.evidence_url:
        lines += [f"KmenEvidenceURL {site.evidence_url}",
                  f"KmenEvidenceSecretFile {k}/evidence.secret"]
    return "\n".join(lines)


def protected_locations(portal_port):
    backend = f"http://127.0.0.1:{portal_port}"
    return f"""<Location /app>
    AuthType Kmen
    Require valid-user
    KmenRequestedAttributes PersonIdentifier! CurrentGivenName! CurrentFamilyName! DateOfBirth!
    KmenRequestedAttributes PlaceOfBirth CurrentAddress http://www.stork.gov.eu/1.0/eMail
    KmenVerifyPath /app/verify/
    KmenAcceptLinkSystem On
    KmenAcceptEvidenceRequest On
    ProxyPass {backend}/app
</Location>
<Location /app/sign>
    KmenForceAuthn On
</Location>
<Location /info>
    AuthType Kmen
    Require valid-user
    KmenEidasPolicy accept
    KmenAcceptEvidenceRequest On
    ProxyPass {backend}/info
</Location>
<Location /attrs>
    AuthType Kmen
    Require valid-user
    KmenRequestedAttributes PersonIdentifier! CurrentGivenName! CurrentFamilyName! DateOfBirth!
    KmenRequestedAttributes isAgeOver=40! age http://www.stork.gov.eu/1.0/eMail
    KmenRequestedAttributes phonenumber tradresaid CurrentAddress BirthName
    ProxyPass {backend}/attrs
</Location>
<Location /high>
    AuthType Kmen
    KmenLoA high
    Require valid-user
    ProxyPass {backend}/high
</Location>
<Location /eidas-only>
    AuthType Kmen
    Require kmen-origin eidas
    KmenEidasPolicy accept
    AuthzSendForbiddenOnFailure On
    ProxyPass {backend}/eidas-only
</Location>"""


def config_text(dir, port, portal_port, site=None, extra="", locations=""):
    """httpd.conf of the test site; SITE=None gives the same proxy without mod_kmen
    (only to check the harness itself)."""
    loads = [f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in BASE_MODULES]
    if site:
        loads.append(f"LoadModule kmen_module {site.module}")
    return f"""# written by t/lib/httpd.py
ServerName localhost
Listen 127.0.0.1:{port}
DefaultRuntimeDir {dir}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LogLevel {"warn kmen:debug" if site else "warn"}
LogFormat "%h %u %t \\"%r\\" %>s %b" common
CustomLog {dir}/access.log common
User www-data
Group www-data
{chr(10).join(loads)}
DocumentRoot {dir}/htdocs
{kmen_lines(site, dir) if site else ""}
{extra}
{protected_locations(portal_port) if site else ""}
<Location /public>
    ProxyPass http://127.0.0.1:{portal_port}/public
</Location>
{locations}
"""


class WebServer:
    """A web server of the tests (httpd, nginx) in a directory of its own, run in the
    foreground on a free port and stopped by its PID. A subclass names itself (NAME, the
    config file CONF_NAME) and says how to run it: command(*args), the arguments that
    serve (serve_args()) and its environment (environment())."""
    NAME = CONF_NAME = None

    def __init__(self, parent=None, port=None, start_timeout=15.0, stop_timeout=15.0):
        """START_/STOP_TIMEOUT: seconds to wait for the port and for the exit after SIGTERM
        (a wrapper like valgrind needs far more than 15)."""
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.NAME}-", dir=parent))
        os.chmod(self.dir, 0o755)
        self.port = port or free_port()
        self.conf = self.dir / self.CONF_NAME
        self.error_log = self.dir / "error.log"
        self.access_log = self.dir / "access.log"
        self.proc = None

    @property
    def base_url(self):
        return f"http://localhost:{self.port}"

    def write_config(self, text):
        self.conf.write_text(text)
        return self

    @staticmethod
    def environment():
        return None

    def configtest(self, timeout=60):
        """(exit code, stdout + stderr) of the server's -t; a configtest that waits for
        input (a passphrase prompt) fails with TimeoutExpired after TIMEOUT seconds."""
        r = subprocess.run(self.command("-t"), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout, env=self.environment())
        return r.returncode, r.stdout + r.stderr

    def start(self, timeout=None):
        timeout = self.start_timeout if timeout is None else timeout
        out = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(self.serve_args(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.environment())
        out.close()
        alive = lambda: self.proc.poll() is None
        if not (wait_for_port(self.port, timeout, alive) and alive()):
            self.stop()
            raise RuntimeError(f"{self.NAME} did not start on port {self.port}:\n"
                               f"{self.read_stderr()}\n{self.read_error_log()}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def read_error_log(self):
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def read_access_log(self):
        return self.access_log.read_text(errors="replace") if self.access_log.exists() else ""

    def read_stderr(self):
        p = self.dir / "stderr.log"
        return p.read_text(errors="replace") if p.exists() else ""


class Httpd(WebServer):
    NAME, CONF_NAME = "httpd", "httpd.conf"

    def __init__(self, parent=None, port=None, wrapper=(), single_process=False,
                 start_timeout=15.0, stop_timeout=15.0):
        """WRAPPER: a command httpd runs under (e.g. valgrind and its options);
        SINGLE_PROCESS: httpd -X, one process that serves every request itself (what a
        memory checker can follow)."""
        super().__init__(parent, port, start_timeout, stop_timeout)
        self.wrapper = list(wrapper)
        self.single_process = single_process
        (self.dir / "htdocs").mkdir(mode=0o755)
        (self.dir / "htdocs" / "static.txt").write_text("static file\n")

    def command(self, *args):
        return [APACHE, "-d", str(self.dir), "-f", str(self.conf), *args]

    def serve_args(self):
        return [*self.wrapper,
                *self.command("-X" if self.single_process else "-DFOREGROUND")]

    @staticmethod
    def environment():
        """httpd's environment: KMEN_HTTPD_PRELOAD becomes its LD_PRELOAD (a sanitizer
        runtime that a module built with -fsanitize=address needs loaded first)."""
        preload = os.environ.get("KMEN_HTTPD_PRELOAD")
        return {**os.environ, "LD_PRELOAD": preload} if preload else None
