# SPDX-License-Identifier: GPL-2.0-or-later
"""A standalone nginx (Debian's nginx binary) loading the kmen module, with its own config,
logs and port, run in the foreground and stopped by its PID."""

import os
import re
import subprocess
from pathlib import Path

from . import REPO
from .httpd import WebServer

NGINX = "/usr/sbin/nginx"
# What Debian's nginx-dev ships to build modules for its nginx (make nginx).
NGINX_DEV_SRC = Path("/usr/share/nginx/src")
# KMEN_NGINX_MODULE: another build of the module.
NGINX_MODULE_SO = Path(os.environ.get("KMEN_NGINX_MODULE")
                       or REPO / "build" / "nginx" / "ngx_http_kmen_module.so")


def directive_names():
    """{httpd name: nginx name} of every directive core/conf_fields.h names on both servers
    (the names the core's messages use on each)."""
    text = (REPO / "core" / "conf_fields.h").read_text().replace("\\\n", " ")
    return dict(re.findall(r'"(Kmen\w+)",\s*"(kmen_\w+)"\)', text))


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
             f"kmen_database '{site.conninfo}';",
             f"kmen_register_key_file {k}/register.key;",
             "kmen_cookie_secure off;",
             "kmen_allow_http on;"]  # the test site is plain HTTP on loopback
    if site.idp_metadata_cert:
        lines.append(f"kmen_idp_metadata_certificate_file {site.idp_metadata_cert};")
    if site.translator_url:
        lines += [f"kmen_translator_url {site.translator_url};",
                  f"kmen_translator_certificate_file {k}/client-cert.pem;",
                  f"kmen_translator_key_file {k}/client-key.pem;",
                  f"kmen_translator_ca_file {k}/ca-cert.pem;"]
    if sp_type:
        lines.append(f"kmen_sp_type {sp_type};")
    return "\n    ".join(lines)


def temp_paths(dir):
    """http{} lines that keep nginx's temporary files in DIR/temp (Nginx makes it): Debian's
    nginx would put them under /var/lib/nginx, the system's."""
    return "\n    ".join(f"{kind}_temp_path {dir}/temp/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def portal_server(portal_port, site):
    """config_text's SERVER for the test site's portal (t/lib/stack.py's Stack.on("nginx")):
    t/lib/httpd.py's protected_locations in nginx's spelling, each proxied to the portal
    simulator; the ACS takes bodies up to the module's own limit. SITE's evidence service
    as httpd's kmen_lines has it (here, not in kmen_lines: the other nginx tests' servers
    have none unless they say so)."""
    backend = f"proxy_pass http://127.0.0.1:{portal_port};"
    protect = "kmen_auth on;\n            "
    app_attrs = ("kmen_requested_attributes PersonIdentifier! CurrentGivenName! "
                 "CurrentFamilyName! DateOfBirth!;\n            "
                 "kmen_requested_attributes PlaceOfBirth CurrentAddress "
                 "http://www.stork.gov.eu/1.0/eMail;")
    attrs = ("kmen_requested_attributes PersonIdentifier! CurrentGivenName! "
             "CurrentFamilyName! DateOfBirth!;\n            "
             "kmen_requested_attributes isAgeOver=40! age http://www.stork.gov.eu/1.0/eMail;"
             "\n            kmen_requested_attributes phonenumber tradresaid CurrentAddress "
             "BirthName;")
    # the callback's body is up to 10 MiB, more than nginx's own limit (docs/nginx.md)
    evidence = (f"kmen_evidence_url {site.evidence_url};\n        "
                f"kmen_evidence_secret_file {site.keys_dir}/evidence.secret;\n        "
                "location = /kmen/evidence { kmen_endpoints; client_max_body_size 10m; }\n        "
                if site.evidence_url else "")
    return f"""{evidence}client_max_body_size 2m;
        location /app {{
            {protect}{app_attrs}
            kmen_verify_path /app/verify/;
            kmen_accept_link_system on;
            kmen_accept_evidence_request on;
            {backend}
            location /app/sign {{ kmen_force_authn on; {backend} }}
        }}
        location /info {{
            {protect}kmen_eidas_policy accept;
            kmen_accept_evidence_request on;
            {backend}
        }}
        location /attrs {{ {protect}{attrs} {backend} }}
        location /high {{ {protect}kmen_loa high; {backend} }}
        location /eidas-only {{
            {protect}kmen_require origin eidas;
            kmen_eidas_policy accept;
            {backend}
        }}
        location /public {{ {backend} }}"""


def config_text(dir, port, site, module=NGINX_MODULE_SO, sp_type=None, server="", http=""):
    """nginx.conf of a test site: SITE's kmen directives in http{}, one server{} on PORT
    serving the endpoints under location /kmen/; SERVER: more lines in that server{};
    HTTP: more lines in http{}."""
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
    {temp_paths(dir)}
    {kmen_lines(site, sp_type)}
    {http}
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


class Nginx(WebServer):
    NAME, CONF_NAME = "nginx", "nginx.conf"

    def __init__(self, parent=None, port=None, start_timeout=15.0, stop_timeout=15.0):
        super().__init__(parent, port, start_timeout, stop_timeout)
        (self.dir / "temp").mkdir(mode=0o755)

    def command(self, *args):
        """nginx with this prefix and config; -e: its messages before the config's error_log
        is open go to its own log, not the system's."""
        return [NGINX, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.error_log),
                *args]

    def serve_args(self):
        return self.command()

    def reload(self, timeout=60):
        """nginx -s reload: the master reads the config again; (exit code, output)."""
        r = subprocess.run(self.command("-s", "reload"), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        return r.returncode, r.stdout + r.stderr
