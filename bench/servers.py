# SPDX-License-Identifier: GPL-2.0-or-later
"""The servers `make bench` compares, four httpd set-ups and two nginx ones, and how a
browser logs in to each.

plain  - httpd serving a 1 KiB static file, no authentication module;
kmen   - the same with mod_kmen: AuthType Kmen over /bench;
mellon - the same with Debian's mod_auth_mellon: AuthType Mellon over /bench, an SP of
         its own instance of the NIA simulator (the simulator serves one SP);
shib   - the same with Debian's Shibboleth SP 3 (mod_shib and a shibd of its own, with a
         configuration written here, not the system's /etc/shibboleth): AuthType
         shibboleth over /bench, an SP of another instance of the NIA simulator.

Every httpd has the same MPM and settings (event, 2 children x 32 threads, unlimited
keep-alive requests, access log on, LogLevel warn); only the authentication differs.

nginx       - Debian's nginx serving the same file, as near httpd's settings as nginx has
              (NGINX_SETTINGS);
nginx_kmen  - the same with the kmen module (build/nginx/ngx_http_kmen_module.so):
              kmen_auth on over /bench, in a server{} that is mod_kmen's SP (the same entity
              ID and keys, which the simulator knows by the kmen httpd's metadata) on the same
              register database, with a session zone of the size of httpd's session cache.
"""

import html
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import requests

import browser
import shib_sp
from t.lib import PYTHON
from t.lib import flow
from t.lib.httpd import MODULES, MODULE_SO, Httpd, KmenSite, free_port, kmen_lines
from t.lib.keys import cert_base64
from t.lib.nginx import NGINX, NGINX_MODULE_SO, Nginx, temp_paths
from t.lib.nginx import kmen_lines as nginx_kmen_lines
from t.lib.stack import SIM, Child

FILE_PATH = "/bench/1k.html"
FILE_BYTES = 1024
MELLON_SO = MODULES / "mod_auth_mellon.so"
SHIB_SO = MODULES / "mod_shib.so"
SHIBD = "/usr/sbin/shibd"
LOA = "http://eidas.europa.eu/LoA/substantial"
HTTPD_KINDS = ("plain", "kmen", "mellon", "shib")
NGINX_KINDS = ("nginx", "nginx_kmen")
KINDS = HTTPD_KINDS + NGINX_KINDS
PEERS = ("mellon", "shib")
# The plain server each kind's requests/s are divided by: the same server without
# authentication.
REFERENCE = {**{k: "plain" for k in HTTPD_KINDS}, **{k: "nginx" for k in NGINX_KINDS}}
# The session cookie of each kind that logs in; Shibboleth's is this prefix followed by a
# hash of the application (login() finds the whole name).
SESSION_COOKIES = {"kmen": "kmen_session", "mellon": "mellon-cookie", "shib": "_shibsession_",
                   "nginx_kmen": "kmen_session"}

# One set of httpd settings for all four httpd servers. Fixed children: the RSS figures follow
# the same two processes from start to end (no child is recycled or added).
SETTINGS = """StartServers 2
ServerLimit 2
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 32
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
Timeout 60"""

BASE_MODULES = ["mpm_event", "authz_core", "authn_core", "authz_user", "socache_shmcb"]

# nginx's nearest to SETTINGS: its 2 worker processes serve every connection from an event
# loop each (nginx has no threads per connection to set); keep-alive requests without a
# limit a run can reach (nginx has no unlimited), the same 5 s keep-alive timeout; the same
# access log fields as httpd's common format; sendfile off, httpd's EnableSendfile default.
NGINX_SETTINGS = """user www-data;
worker_processes 2;
events {
    worker_connections 1024;
}"""
NGINX_HTTP_SETTINGS = """keepalive_timeout 5s;
    keepalive_requests 1000000000;
    sendfile off;
    log_format common '$remote_addr $remote_user [$time_local] '
                      '"$request" $status $body_bytes_sent';"""
# httpd's KmenSessionCache in t/lib/httpd.py: shmcb of 1,024,000 bytes
NGINX_SESSION_ZONE = "kmen_session_zone kmen_sessions 1000k;"


def one_kib():
    line = "mod_kmen bench: a static file of exactly one KiB.\n"
    text = (line * (FILE_BYTES // len(line) + 1))[:FILE_BYTES - 1] + "\n"
    assert len(text.encode()) == FILE_BYTES
    return text


def kmen_block(site, dir):
    return kmen_lines(site, dir) + f"""
LoadModule kmen_module {site.module}
<Location /bench>
    AuthType Kmen
    Require valid-user
</Location>"""


def mellon_block(dir, keys, sp_metadata, idp_metadata):
    """mellon as its README configures it: the SP settings in a <Location> (mellon allows
    them nowhere else), AuthType Mellon where the file is."""
    return f"""LoadModule auth_mellon_module {MELLON_SO}
MellonCacheSize 4000
MellonLockFile {dir}/mellon.lock
<Location />
    MellonEnable info
    MellonEndpointPath /mellon
    MellonSPPrivateKeyFile {keys.sp_key}
    MellonSPCertFile {keys.sp_cert}
    MellonSPMetadataFile {sp_metadata}
    MellonIdPMetadataFile {idp_metadata}
    MellonSignatureMethod rsa-sha256
    MellonAuthnContextClassRef {LOA}
    MellonAuthnContextComparisonType minimum
    MellonSecureCookie Off
</Location>
<Location /bench>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
</Location>"""


def config(dir, port, auth_block="", extra_modules=()):
    loads = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so"
                      for m in [*BASE_MODULES, *extra_modules])
    return f"""# written by bench/servers.py
ServerName localhost
Listen 127.0.0.1:{port}
DefaultRuntimeDir {dir}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LogLevel warn
LogFormat "%h %u %t \\"%r\\" %>s %b" common
CustomLog {dir}/access.log common
User www-data
Group www-data
{loads}
{SETTINGS}
DocumentRoot {dir}/htdocs
{auth_block}
"""


def sp_metadata(entity_id, acs_url, slo_url, cert):
    """The SP metadata a peer's simulator reads (mellon reads it too): signing and
    encryption keys (the simulator encrypts to the encryption one), ACS by HTTP-POST."""
    b64 = cert_base64(cert)
    key = (f'<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
           f'<ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>')
    e = html.escape
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{e(entity_id)}">
 <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true"
   protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <KeyDescriptor use="signing">{key}</KeyDescriptor>
  <KeyDescriptor use="encryption">{key}</KeyDescriptor>
  <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    Location="{e(slo_url)}"/>
  <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>
  <AssertionConsumerService index="0" isDefault="true"
    Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    Location="{e(acs_url)}"/>
 </SPSSODescriptor>
</EntityDescriptor>
"""


def nginx_config(dir, port, kmen=""):
    """nginx.conf of plain nginx on PORT, serving DIR/htdocs; KMEN: the kmen module's lines of
    its server{} (the module is loaded, and its session zone made, only then)."""
    load = f"load_module {NGINX_MODULE_SO};" if kmen else ""
    return f"""# written by bench/servers.py
{load}
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{NGINX_SETTINGS}
http {{
    {NGINX_HTTP_SETTINGS}
    access_log {dir}/access.log common;
    {temp_paths(dir)}
    {NGINX_SESSION_ZONE if kmen else ""}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {dir}/htdocs;
        {kmen}
    }}
}}
"""


def nginx_kmen_block(site):
    """SITE's SP in a server{}: its endpoints, and kmen_auth over the file."""
    return f"""{nginx_kmen_lines(site)}
        location /kmen/ {{
            kmen_endpoints;
        }}
        location /bench/ {{
            kmen_auth on;
        }}"""


class Server:
    """One of the servers: KIND, its web server (t/lib's Httpd or Nginx), URLs and (after
    login()) a session cookie."""

    def __init__(self, kind, web):
        self.kind, self.web = kind, web
        self.cookie = None           # "name=value" of a logged-in session
        self.sim_sso = None          # the simulator this SP logs in at
        self.session_cookie_name = SESSION_COOKIES.get(kind)
        self.daemons = []            # processes besides httpd that serve it (shibd)

    @property
    def port(self):
        return self.web.port

    @property
    def access_log(self):
        """Where the configurations written here, httpd's and nginx's, log each request."""
        return self.web.dir / "access.log"

    @property
    def base_url(self):
        return f"http://localhost:{self.port}"

    def url(self, path=FILE_PATH):
        return f"http://127.0.0.1:{self.port}{path}"

    def headers(self):
        """What every benchmark request carries: Host as the browser sent it (mellon ties a
        session to its cookie's domain) and the session cookie, if any."""
        h = {"Host": f"localhost:{self.port}"}
        if self.cookie:
            h["Cookie"] = self.cookie
        return h

    def children(self):
        """PIDs of the children of httpd or of nginx's master (the worker processes)."""
        parent = self.web.proc.pid
        out = []
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                        out.append(int(p.name))
                except (OSError, IndexError, ValueError):
                    pass
        return sorted(out)

    def pids(self):
        return [self.web.proc.pid, *self.children()]

    # --- a browser's login -------------------------------------------------------------
    def begin_login(self, browser):
        """Follow the SP's redirects to the simulator and answer its picker, with BROWSER
        (browser.Browser); (acs_url, fields, cookie) with the Cookie header the browser
        would send to the ACS. The IdP's whole work happens here, so a later POST of the
        fields times the ACS alone. Cookies are kept by hand, per login: mellon sets
        Domain=localhost, which a cookie jar for 127.0.0.1 would refuse."""
        jar = {}
        loc = self.base_url + FILE_PATH
        for _ in range(4):
            r = browser.get(loc, cookie_header(jar))
            keep_cookies(jar, r.set_cookies)
            loc = r.redirect()
            if loc.startswith(self.sim_sso):
                break
        else:
            raise RuntimeError(f"{self.kind}: never sent to the IdP ({loc})")
        page = browser.get(loc)
        assert page.status == 200, f"sim answered {page.status}: {page.text[:500]}"
        answer = browser.post(flow.origin(loc) + "/respond", {
            "ticket": flow.picker_ticket(page.text), "identity": "cz-jiri",
            "loa": "substantial", "action": "login", "fault": ""})
        assert answer.status == 200, f"sim /respond answered {answer.status}: {answer.text[:500]}"
        acs, fields = flow.page_form(answer.text, answer.url)
        return acs, fields, cookie_header(jar)

    def login(self):
        """Log in once; keeps the session cookie for wrk. The Response goes to this server's
        own ACS: nginx's kmen takes the one the simulator addresses to the kmen httpd, as any
        node of one SP may (measure.post_all posts likewise)."""
        b = browser.Browser()
        try:
            acs, fields, cookie = self.begin_login(b)
        finally:
            b.close()
        r = requests.post(self.base_url + urlsplit(acs).path, data=fields,
                          headers={"Cookie": cookie}, allow_redirects=False)
        if r.status_code not in flow.REDIRECTS:
            raise RuntimeError(f"{self.kind} ACS answered {r.status_code}: {r.text[:400]}")
        jar = keep_cookies({}, flow.set_cookies(r))
        prefix = SESSION_COOKIES[self.kind]
        name = next((k for k in jar if k.startswith(prefix)), None)
        if name is None:
            raise RuntimeError(f"{self.kind}: no {prefix}… cookie after the login")
        self.session_cookie_name = name
        self.cookie = f"{name}={jar[name]}"
        check = requests.get(self.url(), headers=self.headers(), allow_redirects=False)
        if check.status_code != 200 or len(check.content) != FILE_BYTES:
            raise RuntimeError(f"{self.kind}: the session does not open {FILE_PATH}: "
                               f"{check.status_code}")
        return self.cookie


def keep_cookies(jar, set_cookies):
    """SET_COOKIES (Set-Cookie header values) into JAR (name -> value); an emptied cookie is
    dropped."""
    for header in set_cookies:
        name, _, value = header.split(";", 1)[0].strip().partition("=")
        if value:
            jar[name] = value
        else:
            jar.pop(name, None)
    return jar


def cookie_header(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def write_htdocs(web):
    """The file under WEB's document root (httpd's Httpd has made the root, nginx's not)."""
    (web.dir / "htdocs").mkdir(mode=0o755, exist_ok=True)
    (web.dir / "htdocs" / "bench").mkdir(mode=0o755)
    (web.dir / "htdocs" / "bench" / "1k.html").write_text(one_kib())


def new_httpd(parent, port=None):
    h = Httpd(parent=parent, port=port)
    write_htdocs(h)
    return h


def kmen_site(stack):
    return KmenSite(entity_id=stack.entity_id, keys_dir=stack.keys.dir,
                    idp_metadata=stack.idp_metadata, conninfo=stack.pg.conninfo(),
                    translator_url=stack.translator.url, module=MODULE_SO)


def kmen_config(stack, h):
    return config(h.dir, h.port, kmen_block(kmen_site(stack), h.dir))


def start_plain(parent):
    h = new_httpd(parent)
    h.write_config(config(h.dir, h.port)).start()
    return Server("plain", h)


def start_kmen(stack):
    """mod_kmen on the stack's port (the simulator reads its metadata there)."""
    h = new_httpd(stack.dir, port=stack.http_port)
    h.write_config(kmen_config(stack, h)).start()
    srv = Server("kmen", h)
    srv.sim_sso = stack.sso_url
    return srv


def new_nginx(stack, kind):
    """An nginx of KIND ("nginx" or "nginx_kmen": the kmen module as mod_kmen's SP, on its
    register) with its configuration written, not started."""
    n = Nginx(parent=stack.dir)
    write_htdocs(n)
    kmen = nginx_kmen_block(kmen_site(stack)) if kind == "nginx_kmen" else ""
    return n.write_config(nginx_config(n.dir, n.port, kmen))


def start_nginx(stack, kind):
    """KIND's nginx (new_nginx) started; nginx + kmen after the simulator's start, whose
    metadata it reads at its own."""
    srv = Server(kind, new_nginx(stack, kind).start())
    if kind == "nginx_kmen":
        srv.sim_sso = stack.sso_url
    return srv


class PeerSite:
    """A peer SP (mellon, Shibboleth) and the simulator instance that serves it: its
    metadata is written, its simulator started, then its daemons and its httpd."""

    kind = entity_path = None
    acs_path = slo_path = None

    def __init__(self, stack):
        self.stack = stack
        self.dir = stack.dir / self.kind
        self.dir.mkdir(mode=0o755)
        self.port = free_port()
        self.sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.sp_metadata = self.dir / "sp-metadata.xml"
        self.idp_metadata = self.dir / "idp-metadata.xml"
        self.sim = None
        self.daemons = []

    @property
    def base_url(self):
        return f"http://localhost:{self.port}"

    @property
    def entity_id(self):
        return self.base_url + self.entity_path

    def start(self):
        self.sp_metadata.write_text(sp_metadata(
            self.entity_id, self.base_url + self.acs_path, self.base_url + self.slo_path,
            self.stack.keys.sp_cert))
        k = self.stack.keys
        args = [PYTHON, SIM, "--port", self.sim_port, "--base-url", self.sim_url,
                "--key", k.idp_key, "--cert", k.idp_cert,
                "--wrong-key", k.wrong_key, "--wrong-cert", k.wrong_cert,
                "--sp-metadata-file", self.sp_metadata, "--metadata-out", self.idp_metadata]
        self.sim = Child(f"nia_idp({self.kind})", list(map(str, args)), self.dir / "sim.log")
        self.sim.wait_ready(self.sim_port, files=[self.idp_metadata])
        self.start_daemons()
        h = new_httpd(self.dir, port=self.port)
        h.write_config(self.config(h))
        h.start()
        srv = Server(self.kind, h)
        srv.sim_sso = self.sim_url + "/FPSTS/saml2/basic"
        srv.daemons = self.daemons
        return srv

    def start_daemons(self):
        pass

    def config(self, h):
        return config(h.dir, h.port, self.block(h))

    def stop(self):
        for child in [*self.daemons, self.sim]:
            if child:
                child.stop()


class MellonSite(PeerSite):
    """mod_auth_mellon."""

    kind = "mellon"
    entity_path, acs_path, slo_path = "/mellon/metadata", "/mellon/postResponse", "/mellon/logout"

    def block(self, h):
        return mellon_block(h.dir, self.stack.keys, self.sp_metadata, self.idp_metadata)


class ShibSite(PeerSite):
    """Shibboleth SP 3: mod_shib in httpd and its shibd, both reading one shibboleth2.xml
    of this directory; shibd listens on a socket here and keeps its state in memory."""

    kind = "shib"
    entity_path = "/shibboleth"
    acs_path, slo_path = "/Shibboleth.sso/SAML2/POST", "/Shibboleth.sso/SLO/Redirect"

    def __init__(self, stack):
        super().__init__(stack)
        self.shib_config = self.dir / "shibboleth2.xml"

    def start_daemons(self):
        d, k = self.dir, self.stack.keys
        for name, text in (("shibboleth2.xml", shib_sp.shibboleth2(d, self.entity_id, k)),
                           ("attribute-map.xml", shib_sp.ATTRIBUTE_MAP),
                           ("security-policy.xml", shib_sp.SECURITY_POLICY),
                           ("protocols.xml", shib_sp.PROTOCOLS),
                           ("shibd.logger", shib_sp.logger(d / "shibd.log")),
                           ("native.logger", shib_sp.logger(None))):
            (d / name).write_text(text)
        shibd = Child("shibd", [SHIBD, "-F", "-f", "-c", str(self.shib_config),
                                "-p", str(d / "shibd.pid")], d / "shibd.out")
        self.daemons.append(shibd)
        shib_sp.wait_for_socket(shibd, d / "shibd.sock")

    def block(self, h):
        return shib_sp.httpd_block(SHIB_SO, self.shib_config)


def versions():
    def run(*cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip()
        except OSError:
            return "?"

    def deb(pkg):
        return run("dpkg-query", "-W", "-f=${Version}", pkg)

    apache = run("/usr/sbin/apache2", "-v").splitlines()[0].split(":", 1)[-1].strip()
    return {
        "httpd": apache,
        "nginx": run(NGINX, "-v").split(":", 1)[-1].strip(),
        "mod_auth_mellon": deb("libapache2-mod-auth-mellon"),
        "Shibboleth SP": deb("libapache2-mod-shib"),
        "lasso": run("pkg-config", "--modversion", "lasso"),
        "xmlsec1": deb("libxmlsec1"),
        "openssl": run("openssl", "version"),
        "postgresql": deb("postgresql-15"),
        "wrk": run("wrk", "-v").splitlines()[0] if run("wrk", "-v") else "?",
        "valgrind": run("valgrind", "--version"),
        "python": run(PYTHON, "--version"),
    }
