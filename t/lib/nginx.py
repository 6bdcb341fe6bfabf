# SPDX-License-Identifier: GPL-2.0-or-later
"""A standalone nginx (Debian's nginx binary) loading the kmen module, with its own config,
logs and port, run in the foreground and stopped by its PID."""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from . import REPO
from .httpd import free_port, wait_for_port

NGINX = "/usr/sbin/nginx"
# What Debian's nginx-dev ships to build modules for its nginx (make nginx).
NGINX_DEV_SRC = Path("/usr/share/nginx/src")
# KMEN_NGINX_MODULE: another build of the module.
NGINX_MODULE_SO = Path(os.environ.get("KMEN_NGINX_MODULE")
                       or REPO / "build" / "nginx" / "ngx_http_kmen_module.so")


def unavailable():
    """Why no nginx test can run on this machine (nginx-dev is not installed), or None."""
    if not NGINX_DEV_SRC.is_dir() or not Path(NGINX).exists():
        return "nginx-dev is not installed (t/install-deps installs nginx-core and nginx-dev)"
    return None


def kmen_lines(site, sp_type=None):
    """The kmen directives of SITE (t/lib/httpd.py's KmenSite) in nginx's spelling."""
    k = site.keys_dir
    lines = [f"kmen_sp_entity_id {site.entity_id};",
             f"kmen_sp_private_key_file {k}/sp-key.pem;",
             f"kmen_sp_certificate_file {k}/sp-cert.pem;",
             f"kmen_idp_metadata_file {site.idp_metadata};",
             "kmen_allow_http on;"]  # the test site is plain HTTP on loopback
    if site.idp_metadata_cert:
        lines.append(f"kmen_idp_metadata_certificate_file {site.idp_metadata_cert};")
    if sp_type:
        lines.append(f"kmen_sp_type {sp_type};")
    return "\n    ".join(lines)


def config_text(dir, port, site, module=NGINX_MODULE_SO, sp_type=None, server=""):
    """nginx.conf of a test site: SITE's kmen directives in http{}, one server{} on PORT
    serving the endpoints under location /kmen/; SERVER: more lines in that server{}."""
    temp = "\n    ".join(f"{kind}_temp_path {dir}/temp/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# written by t/lib/nginx.py
load_module {module};
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 64;
}}
http {{
    access_log {dir}/access.log;
    {temp}
    {kmen_lines(site, sp_type)}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        location /kmen/ {{
            kmen_endpoints;
        }}
        {server}
    }}
}}
"""


class Nginx:
    def __init__(self, parent=None, port=None, start_timeout=15.0, stop_timeout=15.0):
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="nginx-", dir=parent))
        os.chmod(self.dir, 0o755)
        (self.dir / "temp").mkdir(mode=0o755)
        self.port = port or free_port()
        self.conf = self.dir / "nginx.conf"
        self.error_log = self.dir / "error.log"
        self.proc = None

    @property
    def base_url(self):
        return f"http://localhost:{self.port}"

    def write_config(self, text):
        self.conf.write_text(text)
        return self

    def command(self, *args):
        """nginx with this prefix and config; -e: its messages before the config's error_log
        is open go to its own log, not the system's."""
        return [NGINX, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.error_log),
                *args]

    def configtest(self, timeout=60):
        """(exit code, stdout + stderr) of nginx -t."""
        r = subprocess.run(self.command("-t"), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def start(self, timeout=None):
        timeout = self.start_timeout if timeout is None else timeout
        out = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        alive = lambda: self.proc.poll() is None
        if not (wait_for_port(self.port, timeout, alive) and alive()):
            self.stop()
            raise RuntimeError(f"nginx did not start on port {self.port}:\n"
                               f"{self.read_stderr()}\n{self.read_error_log()}")
        return self

    def reload(self, timeout=60):
        """nginx -s reload: the master reads the config again; (exit code, output)."""
        r = subprocess.run(self.command("-s", "reload"), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

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

    def read_stderr(self):
        p = self.dir / "stderr.log"
        return p.read_text(errors="replace") if p.exists() else ""
