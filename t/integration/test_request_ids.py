# SPDX-License-Identifier: GPL-2.0-or-later
"""Every error page mod_kmen serves shows a request ID, and the error log has a line with the
same ID, so that support finds the case a person quotes from the page.

Each test makes one kind of error page happen for real (a refused Response, a pending
foreigner, a refused verification, the login start limit, the database or the translation
gateway away, a server that cannot serve AuthType Kmen, ...), takes the ID from the page and
looks for the line that ends with it. Lines logged while serving a request end with
"[req ID]", warnings and errors with "[vhost NAME:PORT] [req ID]" (docs/operations.md, "Log
messages"; httpd itself adds ", referer: …" after that when the browser sent a Referer); each
log entry is one line, libpq's messages included.

On httpd and on nginx (the `portal` fixture) where the portal's own locations make the page;
nginx's error log has its own shape (NGINX_LINE): its lines end with "[req ID]" too, and
nginx adds the client, server{} and request after it. The pages that need a node of their own
(no KmenVerifyPath, no gateway, a login-start limit, no SP) are httpd's.

The module runs a site of its own: its foreigner must still await verification (on the shared
site another module accepts or verifies them), and its error log holds this module's lines."""

import re
import uuid

import pytest
import requests

from t.lib import flow
from t.lib.httpd import MODULE_SO, Httpd, config_text
from t.lib.nginx import Nginx
from t.lib.nginx import config_text as nginx_config_text
from t.lib.stack import stack_fixture

PAGE_ID = re.compile(r"Request ID: <code>([^<]+)</code>")
# httpd's default ErrorLogFormat: [time] [module:level] [pid …] (file(line): at debug)
# [client …] message
LINE = re.compile(r"^\[[^]]+\] \[kmen:(?P<level>\w+)\] \[pid [^]]+\] (?:\S+\(\d+\): )?"
                  r"(?:\[client [^]]+\] )?(?P<message>KMEN\d{4}: .*)$")
SUFFIX = re.compile(r" (?:\[vhost (?P<vhost>[^]]+)\] )?\[req (?P<id>[^]]+)\]"
                    r"(?:, referer: .*)?$")
SEVERE = {"emerg", "alert", "crit", "error", "warn"}
# nginx's: time [level] pid#tid: *connection message, [while what it did,] client: …,
# server: NAME, request: …
NGINX_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?P<level>\w+)\] \d+#\d+: \*\d+ "
                        r"(?P<message>KMEN\d{4}: .*)$")
NGINX_SUFFIX = re.compile(r" \[req (?P<id>[^]]+)\](?: while [^,]+)?, client: [^,]+, "
                          r"server: (?P<vhost>[^,]+), request: .*$")


def page_id(r):
    """The request ID an error page of mod_kmen shows."""
    found = PAGE_ID.findall(r.text)
    assert len(found) == 1, f"{r.status_code} page without exactly one request ID:\n{r.text}"
    return found[0]


def lines_with(node, request_id):
    """(level, message) of every module line of NODE's error log that ends with REQUEST_ID;
    each message checked for the suffix of its level (nginx names its server{} on every
    line)."""
    found = []
    nginx = node.NAME == "nginx"
    for line in node.read_error_log().splitlines():
        m = (NGINX_LINE if nginx else LINE).match(line)
        suffix = (NGINX_SUFFIX if nginx else SUFFIX).search(line)
        if not (m and suffix and suffix["id"] == request_id):
            continue
        vhost = "localhost" if nginx else \
            f"localhost:{node.port}" if m["level"] in SEVERE else None
        assert suffix["vhost"] == vhost, f"expected vhost {vhost}: {line}"
        found.append((m["level"], m["message"][:suffix.start() - m.start("message")]))
    return found


def logged(node, request_id, tag, level):
    """The message of NODE's TAG line at LEVEL that ends with REQUEST_ID."""
    found = [msg for lvl, msg in lines_with(node, request_id) if msg.startswith(tag + ": ")]
    assert found, f"no {tag} line with [req {request_id}]:\n{node.read_error_log()[-3000:]}"
    assert [lvl for lvl, msg in lines_with(node, request_id) if msg in found] == \
        [level] * len(found), lines_with(node, request_id)
    return found[0]


@pytest.fixture(scope="module")
def stack():
    yield from stack_fixture()


@pytest.fixture(scope="module")
def nodes(stack, server):
    """Two more nodes of the test site, of SERVER: one with a location that asks for
    verification but names no verify path, and an agenda location, without a translation
    gateway; one that allows a single login start a minute per client address."""
    backend = f"http://127.0.0.1:{stack.portal_port}"
    site = stack.site()
    site.translator_url = ""
    if server == "httpd":
        plain = Httpd(parent=stack.dir)
        plain.write_config(config_text(plain.dir, plain.port, stack.portal_port, site,
                                       locations=f"""
<Location /noverify>
    AuthType Kmen
    Require valid-user
    ProxyPass {backend}/app
</Location>
<Location /agenda>
    AuthType Kmen
    Require valid-user
    KmenAgenda A999001
    ProxyPass {backend}/app
</Location>"""))
        plain.start()
        stack.more_httpd.append(plain)
        yield {"plain": plain, "limited": stack.new_httpd(extra="KmenLoginStartLimit 1")}
        return
    plain = Nginx(parent=stack.dir)
    plain.write_config(nginx_config_text(
        plain.dir, plain.port, site,
        server=f"location /noverify {{ kmen_auth on; proxy_pass {backend}/app; }}\n"
               f"location /agenda {{ kmen_auth on; kmen_agenda A999001; "
               f"proxy_pass {backend}/app; }}"))
    plain.start()
    stack.more_nginx.append(plain)
    # the login starts are counted in the session zone (httpd's: KmenSessionCache)
    yield {"plain": plain,
           "limited": stack.new_nginx(http="kmen_session_zone kmen_sessions 1m;",
                                      server="kmen_login_start_limit 1;")}


def test_refused_response(portal, s):
    r = s.post(portal.base_url + "/kmen/acs", data={"SAMLResponse": "garbage"})
    assert r.status_code == 400
    assert logged(portal.node, page_id(r), "KMEN0624", "warn").startswith(
        "KMEN0624: SAML response refused: ")


def test_endpoint_request_in_no_form(portal, s):
    r = s.post(portal.base_url + "/kmen/slo", data={"SAMLRequest": "x"})
    assert r.status_code == 400
    assert logged(portal.node, page_id(r), "KMEN0636", "warn") == \
        "KMEN0636: POST /kmen/slo refused: no SAMLResponse (LogoutRequests come by HTTP-Redirect)"


def test_login_below_the_locations_loa(portal, s):
    ticket, _ = flow.idp_page(s, flow.start(s, portal.base_url + "/app/"))
    acs, fields = flow.respond(s, ticket, identity="cz-jiri", loa="low")
    r = flow.post_acs(s, portal.url(acs), fields)
    assert r.status_code == 403
    assert logged(portal.node, page_id(r), "KMEN0633", "warn") == \
        "KMEN0633: login at LoA low, below the substantial its location asks for"


def test_post_without_a_session(portal, s):
    r = s.post(portal.base_url + "/app/form", data={"x": "1"}, allow_redirects=False)
    assert r.status_code == 401 and "Login needed" in r.text
    assert "/kmen/login?returnto=%2fapp%2fform" in r.text.lower()
    assert logged(portal.node, page_id(r), "KMEN0634", "info") == \
        "KMEN0634: login needed: a POST without a session cannot go through NIA"


def test_pending_foreigner_without_a_verify_path(portal, nodes, s):
    flow.login(s, portal, identity="sk-kovac")  # /app/: KmenEidasPolicy verify
    node = nodes["plain"]
    r = s.get(node.base_url + "/noverify/", allow_redirects=False)
    assert r.status_code == 403 and "Verification needed" in r.text
    assert logged(node, page_id(r), "KMEN0632", "warn") == \
        "KMEN0632: a pending foreigner at /noverify/, which has no " + \
        portal.directive("KmenVerifyPath")
    r = s.post(portal.base_url + "/app/", allow_redirects=False)
    assert r.status_code == 403 and "Verification needed" in r.text
    assert logged(portal.node, page_id(r), "KMEN0635", "info") == \
        "KMEN0635: a pending foreigner at /app/: a POST is not sent on to " + \
        portal.directive("KmenVerifyPath")


def test_refused_verification(portal, s):
    flow.login(s, portal, identity="sk-kovac")
    r = s.post(portal.base_url + "/app/verify/?ReturnTo=/app/",
               data={"action": "link", "client": str(uuid.uuid4())}, allow_redirects=False)
    assert r.status_code == 409
    assert logged(portal.node, page_id(r), "KMEN0673", "warn") == \
        "KMEN0673: verification completed: unknown_client"


def test_login_start_limit(portal, nodes):
    node = nodes["limited"]
    with requests.Session() as s:
        assert s.get(node.base_url + "/app/", allow_redirects=False).status_code == 303
        first, again = (s.get(node.base_url + "/app/", allow_redirects=False) for _ in "12")
    assert first.status_code == again.status_code == 429
    assert "reached by client 127.0.0.1" in logged(node, page_id(first), "KMEN0629", "warn")
    assert "reached by client 127.0.0.1" in logged(node, page_id(again), "KMEN0629", "info")


def test_database_down(portal, s):
    with portal.postgres_down():
        r = s.get(portal.base_url + "/app/", allow_redirects=False)
    assert r.status_code == 503 and r.headers.get("Retry-After")
    request_id = page_id(r)
    messages = [msg for _, msg in lines_with(portal.node, request_id)]
    assert any(re.match(r"KMEN060[12]: database (connection|call \w+) failed: \S", msg)
               for msg in messages), messages
    # libpq's messages end in a newline and span lines ("…failed: …\n\tIs the server running
    # …?\n"), which httpd's log would show escaped, as \n and \t
    for msg in messages:
        assert not re.search(r"\\[nt]|\s$", msg), msg


def test_translation_gateway_missing(portal, nodes, s):
    flow.login(s, portal, identity="cz-jiri")
    node = nodes["plain"]
    r = s.get(node.base_url + "/agenda/", allow_redirects=False)
    assert r.status_code == 503 and r.headers.get("Retry-After")
    assert logged(node, page_id(r), "KMEN0661", "error") == \
        "KMEN0661: first login not resolved: no AIFO in the location's agenda"


# httpd only: nginx refuses a kmen_auth without an SP when it reads its configuration
# (test_nginx), so no request can find the module unconfigured there
def test_authtype_kmen_where_mod_kmen_is_not_configured(stack):
    h = Httpd(parent=stack.dir)
    h.write_config(config_text(
        h.dir, h.port, stack.portal_port, site=None,
        extra=f"LoadModule kmen_module {MODULE_SO}\nLogLevel warn kmen:debug",
        locations="<Location /x>\n    AuthType Kmen\n    Require valid-user\n</Location>"))
    h.start()
    try:
        r = requests.get(h.base_url + "/x/", timeout=10)
        assert r.status_code == 500 and "Server error" in r.text
        assert logged(h, page_id(r), "KMEN0631", "error") == \
            "KMEN0631: AuthType Kmen here, but KmenSPEntityID is not set"
    finally:
        h.stop()


def test_every_line_of_a_request_ends_with_its_id(portal, s):
    """Whatever the tests so far made the portal's node log, and a login: a module line about
    a client ends with the request ID, on httpd from warn up with the virtual host too.
    lasso's lines (KMEN0641, through GLib) are among them on httpd, whose module logs at
    debug: every NIA attribute makes one. (The test site's nginx logs from info, and nginx
    names the client and its server{} on every line it logs for a request.)"""
    flow.login(s, portal, identity="cz-jiri")
    if portal.server == "nginx":
        lines = [line for line in portal.log().splitlines()
                 if NGINX_LINE.match(line) and ", client: " in line]
        assert any("KMEN0625: login: " in line for line in lines), lines[-20:]
        for line in lines:
            assert NGINX_SUFFIX.search(line), f"no [req ID] at the end: {line}"
        return
    lines = [line for line in portal.log().splitlines()
             if "[kmen:" in line and "[client " in line]
    assert any("KMEN0641: " in line for line in lines), lines[-20:]
    for line in lines:
        m, suffix = LINE.match(line), SUFFIX.search(line)
        assert m and suffix, f"no [req ID] at the end: {line}"
        assert (suffix["vhost"] is not None) == (m["level"] in SEVERE), line
