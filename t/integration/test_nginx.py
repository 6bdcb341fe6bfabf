# SPDX-License-Identifier: GPL-2.0-or-later
"""The nginx module's first step: it loads into Debian's nginx, makes the SP with the same core
as httpd's mod_kmen while nginx reads its configuration (nginx -t refuses a bad key or IdP
metadata with the core's words in nginx's spelling and the directive's file:line; the core's
configuration checks: test_conf_check.py), and serves /kmen/metadata, equal to
httpd's for the same keys and settings, before and after nginx -s reload."""

import base64
import hashlib
import hmac
import json
import re
import signal
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from t.integration.test_evidence import PDF, ask, check_download, page, received, row_of
from t.lib import REPO, flow, poll
from t.lib import register as kmen
from t.lib.keys import self_signed
from t.lib.nginx import NGINX_MODULE_SO, Nginx, config_text
from t.lib.register import spellings
from t.sim import evidence as evsim

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
LOA = "http://eidas.europa.eu/LoA/"
SAML_NS = {**flow.NS, "eidas": "http://eidas.europa.eu/saml-extensions"}


@pytest.fixture
def nginx(stack, nginx_module):
    """nginx(replace=None, **config_text keywords): a written, not started, Nginx of the stack's
    site (same entity ID, keys and IdP metadata as its httpd); REPLACE: text substitutions."""
    made = []

    def make(replace=None, **kw):
        n = Nginx(parent=stack.dir)
        text = config_text(n.dir, n.port, stack.site(), **kw)
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        made.append(n.write_config(text))
        return n

    yield make
    for n in made:
        n.cleanup()


def line_of(n, directive):
    """" in <nginx.conf>:<line>": where nginx's messages say DIRECTIVE stands in N's config."""
    return f" in {n.conf}:{lines_of(n, directive)[0]}"


def lines_of(n, directive):
    """The numbers of the lines of N's config that give DIRECTIVE."""
    return [i for i, line in enumerate(n.conf.read_text().splitlines(), 1)
            if re.match(re.escape(directive) + "[ ;]", line.strip())]


def refused(out, message):
    """MESSAGE is one whole line of nginx's refusal (nginx: [emerg] ...)."""
    return re.search(r"^nginx: \[emerg\] " + re.escape(message) + "$", out, re.M)


def metadata(url):
    r = requests.get(url + "/kmen/metadata", timeout=10)
    assert r.status_code == 200, r.text
    return r


# --- nginx -t ---------------------------------------------------------------------------
def test_a_correct_configuration_passes(nginx):
    rc, out = nginx().configtest()
    assert rc == 0 and "test is successful" in out, out


def test_an_unreadable_key_is_named(stack, nginx):
    n = nginx(replace={f"{stack.keys.dir}/sp-key.pem": "/nonexistent/sp-key.pem"})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, "kmen_sp_private_key_file /nonexistent/sp-key.pem: cannot "
                               "read: No such file or directory"
                               + line_of(n, "kmen_sp_private_key_file")), out


def test_a_key_that_does_not_match_the_certificate(stack, nginx):
    """The problem in the core's words, every directive and the place in nginx's."""
    n = nginx(replace={f"{stack.keys.dir}/sp-key.pem": str(stack.keys.wrong_key)})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, f"kmen_sp_private_key_file {stack.keys.wrong_key}: does not "
                               "belong to kmen_sp_certificate_file"
                               + line_of(n, "kmen_sp_private_key_file")), out


def test_missing_idp_metadata_is_named(stack, nginx):
    missing = stack.dir / "no-such-metadata.xml"
    n = nginx(replace={str(stack.idp_metadata): str(missing)})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, f"kmen_idp_metadata_file {missing}: cannot read: No such "
                               "file or directory" + line_of(n, "kmen_idp_metadata_file")), out


def test_metadata_the_pinned_certificate_did_not_sign(stack, nginx):
    """kmen_idp_metadata_certificate_file pins NIA's seal: another certificate refuses the
    metadata, as KmenIdPMetadataCertificateFile does, and the core's words name the pin
    in nginx's spelling."""
    n = nginx(replace={str(stack.keys.seal_cert): str(stack.keys.wrong_cert)})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, f"kmen_idp_metadata_file {stack.idp_metadata}: is not "
                               "signed by kmen_idp_metadata_certificate_file"
                               + line_of(n, "kmen_idp_metadata_file")), out


def test_a_missing_directive_is_named(stack, nginx):
    """It has no line: the line named is that of the entity ID whose server{} needs it."""
    n = nginx(replace={f"kmen_idp_metadata_file {stack.idp_metadata};": ""})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, "kmen_idp_metadata_file is required by kmen_sp_entity_id"
                               + line_of(n, "kmen_sp_entity_id")), out


def test_http_entity_id_needs_the_demo_switch(stack, nginx):
    n = nginx(replace={"kmen_allow_http on;": ""})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, f"kmen_sp_entity_id {stack.entity_id}: NIA logins need "
                               "https (kmen_allow_http on only for a demo)"
                               + line_of(n, "kmen_sp_entity_id")), out


@pytest.mark.parametrize("line, problem", [
    ("kmen_sp_type municipal;", "expects public or private"),
    ("kmen_endpoint_path /kmen/;", "expects a path such as /kmen (leading /, no trailing /)"),
    ("kmen_allow_http yes;", "expects on or off"),
    ("kmen_database_pool_size 0;", "expects 1 to 1024 connections"),
    ("kmen_session_idle_timeout soon;", "expects a number of seconds"),
    ("kmen_header_encoding utf8;", "expects percent, raw or base64url"),
    ("kmen_loa medium;", "expects low, substantial or high"),
    ("kmen_agenda 9145;", "expects an agenda code such as A9145"),
    ("kmen_eidas_policy trust;", "expects verify or accept"),
    ("kmen_verify_path verify/;", "expects a local path such as /verify/"),
    ("kmen_requested_attributes DateOfBirth! isAgeOver=!;",
     "expects NAME[=VALUE][!]: empty value after = in isAgeOver=!"),
    ("kmen_force_authn yes;", "expects on or off"),
    ("kmen_cache_control_private yes;", "expects on or off"),
    ("kmen_require origin czech;", "expects origin nia and/or eidas"),
    ("kmen_require status new old;", "expects status new, linked, returning and/or pending"),
    ("kmen_require country CZ;", "expects origin or status, then the words either takes"),
    ("kmen_login_start_limit -1;", "expects login starts per minute and client address, "
                                   "0 to 1000000 (0: no limit)"),
    ("kmen_home_country CZE;", "expects a two-letter country code such as CZ"),
    ("kmen_register_agenda 8566;", "expects an agenda code such as A8566"),
    ("kmen_nameid_format email;", "expects persistent, transient or none"),
    ("kmen_clock_skew 1y;", "expects a number of seconds"),
    ("kmen_error_document errors.html;", "expects a local URL path such as /errors/login.html"),
    ("kmen_evidence_callback_certificate sha256/short;",
     "expects sha256/<base64 of the SHA-256 of the certificate's public key>"),
    ("kmen_accept_contact yes;", "expects on or off"),
])
def test_a_bad_value_is_refused_by_nginx_where_it_stands(nginx, line, problem):
    n = nginx(server=line)
    rc, out = n.configtest()
    directive = line.split()[0]
    assert rc != 0 and refused(out, f'"{directive}" directive {problem} '
                               f"in {n.conf}:{lines_of(n, directive)[-1]}"), out


def test_a_register_key_of_the_wrong_size_is_refused(stack, nginx):
    """The register's key is read while nginx reads its configuration, as httpd reads it at
    startup: its identifiers and the session seal are derived from it."""
    short = stack.dir / "nginx-short-register.key"
    short.write_bytes(b"0" * 31)
    n = nginx(replace={f"{stack.keys.dir}/register.key": str(short)})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, f"kmen_register_key_file {short}: must hold exactly 32 "
                               "random bytes (head -c 32 /dev/urandom), has 31"
                               + line_of(n, "kmen_register_key_file")), out


def test_a_database_needs_the_register_key(stack, nginx):
    n = nginx(replace={f"kmen_register_key_file {stack.keys.dir}/register.key;": ""})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, "kmen_register_key_file is required by kmen_sp_entity_id"
                               + line_of(n, "kmen_sp_entity_id")), out


def test_a_third_key_is_refused(stack, nginx):
    key = f"kmen_sp_private_key_file {stack.keys.dir}/sp-key.pem;"
    n = nginx(replace={key: "\n".join([key] * 3)})
    rc, out = n.configtest()
    third = lines_of(n, "kmen_sp_private_key_file")[2]
    assert rc != 0 and refused(out, '"kmen_sp_private_key_file" directive is given a third '
                               "time: at most two, the pair in use and the next one"
                               f" in {n.conf}:{third}"), out


def test_the_endpoints_need_an_sp(stack, nginx):
    n = nginx(replace={f"kmen_sp_entity_id {stack.entity_id};": ""})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, "kmen_endpoints: the server has no kmen_sp_entity_id"
                               + line_of(n, "kmen_endpoints")), out


def test_the_endpoints_location_must_be_the_endpoint_path(nginx):
    n = nginx(replace={"location /kmen/ {": "location /sso/ {"})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, "kmen_endpoints: location /sso/ is not below "
                               "kmen_endpoint_path /kmen" + line_of(n, "kmen_endpoints")), out


# --- kmen_session_zone: the session cache's shared-memory zone ----------------------------
def in_http(*lines):
    """config_text's replace: LINES at the top of http{}."""
    return {"http {\n": "http {\n" + "".join(f"    {line}\n" for line in lines)}


def test_a_session_zone_is_made_and_kept_across_a_reload(nginx):
    """nginx -t accepts it; nginx maps the zone (its init would stop nginx if it failed) and
    serves; a reload with the same zone takes it over."""
    n = nginx(replace=in_http("kmen_session_zone kmen_sessions 1m;"))
    rc, out = n.configtest()
    assert rc == 0 and "test is successful" in out, out
    n.start()
    assert metadata(n.base_url).status_code == 200
    rc, out = n.reload()
    assert rc == 0, out
    assert metadata(n.base_url).status_code == 200
    log = n.read_error_log()
    assert "[emerg]" not in log and "[alert]" not in log and "kmen_session_zone" not in log, log


@pytest.mark.parametrize("lines, problem", [
    (["kmen_session_zone kmen_sessions lots;"], "expects a size such as 10m"),
    (["kmen_session_zone kmen_sessions 16k;"], "expects a size of at least 32k"),
    (["kmen_session_zone kmen_sessions 1m;", "kmen_session_zone other 1m;"], "is duplicate"),
])
def test_a_bad_session_zone_is_refused_where_it_stands(nginx, lines, problem):
    n = nginx(replace=in_http(*lines))
    rc, out = n.configtest()
    assert rc != 0 and refused(out, f'"kmen_session_zone" directive {problem} '
                               f"in {n.conf}:{lines_of(n, 'kmen_session_zone')[-1]}"), out


# --- serving ----------------------------------------------------------------------------
def same_response(a, b):
    assert a.content == b.content
    for header in ("Content-Type", "Cache-Control"):
        assert a.headers.get(header) == b.headers.get(header), header


def test_metadata_equals_httpds(stack, nginx):
    n = nginx().start()
    r = metadata(n.base_url)
    same_response(r, metadata(stack.base_url))
    assert r.headers["Content-Type"] == "application/samlmetadata+xml"
    assert f'entityID="{stack.entity_id}"'.encode() in r.content


def test_metadata_with_two_key_pairs_equals_httpds(stack, nginx):
    """The key files given twice (a rollover): both certificates published, in order."""
    key, cert = stack.dir / "nginx-next-key.pem", stack.dir / "nginx-next-cert.pem"
    if not key.exists():
        self_signed(key, cert, "localhost")
        key.chmod(0o644)  # test keys: httpd's children read them
    node = stack.new_httpd(extra=f"KmenSPPrivateKeyFile {key}\nKmenSPCertificateFile {cert}")
    first = f"kmen_sp_certificate_file {stack.keys.dir}/sp-cert.pem;"
    n = nginx(replace={first: f"{first}\n    kmen_sp_private_key_file {key};"
                              f"\n    kmen_sp_certificate_file {cert};"}).start()
    r = metadata(n.base_url)
    same_response(r, metadata(node.base_url))
    assert r.content.count(b"<ds:X509Certificate>") == 4, r.text  # 2 pairs x signing, encryption


def test_other_methods_and_names(nginx):
    n = nginx().start()
    r = requests.post(n.base_url + "/kmen/metadata", data="x", timeout=10)
    assert r.status_code == 405 and r.headers.get("Allow") == "GET, HEAD", r.headers
    assert requests.head(n.base_url + "/kmen/metadata", timeout=10).status_code == 200
    r = requests.get(n.base_url + "/kmen/nothing", timeout=10)
    assert r.status_code == 404 and "Stránka nenalezena" in r.text, r.text  # httpd's page


def sp_type(response):
    return re.search(rb"<eidas:SPType[^>]*>(\w+)<", response.content)[1].decode()


def test_a_reload_keeps_serving_with_the_new_configuration(nginx):
    """nginx -s reload reads the configuration again in the running master: the module is
    not initialised twice, and the new configuration's SP serves (kmen_sp_type private)."""
    n = nginx().start()
    assert sp_type(metadata(n.base_url)) == "public"
    master = n.proc.pid
    n.write_config(n.conf.read_text().replace("kmen_allow_http on;",
                                              "kmen_allow_http on;\n    kmen_sp_type private;"))
    rc, out = n.reload()
    assert rc == 0, out
    assert poll(lambda: sp_type(metadata(n.base_url)) == "private"), n.read_error_log()
    assert n.proc.poll() is None and n.proc.pid == master
    assert "[emerg]" not in n.read_error_log()


def test_a_refused_reload_leaves_the_running_configuration_serving(stack, nginx):
    """nginx -s reload reads the configuration itself first and refuses a bad key without
    signalling; a SIGHUP makes the running master read it: it refuses it and goes on serving
    with the configuration it has."""
    n = nginx().start()
    before = metadata(n.base_url).content
    n.write_config(n.conf.read_text().replace(f"{stack.keys.dir}/sp-key.pem",
                                              "/nonexistent/sp-key.pem"))
    refusal = "/nonexistent/sp-key.pem: cannot read"
    rc, out = n.reload()
    assert rc != 0 and refusal in out, out
    refusals = n.read_error_log().count(refusal)  # nginx -s reload's own, in the same log
    n.proc.send_signal(signal.SIGHUP)
    assert poll(lambda: n.read_error_log().count(refusal) > refusals), n.read_error_log()
    assert metadata(n.base_url).content == before
    assert n.proc.poll() is None


# --- logins: /kmen/login and /kmen/acs over the core's login sequence -------------------
def login_start(s, n, return_to="/app/"):
    """GET N's /kmen/login?ReturnTo=RETURN_TO as a browser: the response."""
    r = s.get(n.base_url + "/kmen/login", params={"ReturnTo": return_to},
              allow_redirects=False)
    flow.browser_cookies(s)
    return r


def nia_answer(s, stack, n, **respond):
    """A login started on N, answered at the NIA simulator: the form fields it posts."""
    r = login_start(s, n)
    assert r.status_code == 303 and flow.location(r).startswith(stack.sso_url + "?"), r.text
    ticket, _ = flow.idp_page(s, flow.location(r))
    _, fields = flow.respond(s, ticket, **respond)
    return fields


def no_session_cookie(r):
    c = flow.cookie_attrs(r, "kmen_session")
    return not (c and c["value"])


def test_login_start_is_httpds(stack, nginx, s):
    """A signed AuthnRequest by HTTP-Redirect to NIA, the outstanding request stored, and the
    login-state cookie of the same name and attributes as httpd's for its request."""
    n = nginx().start()
    requests_before = stack.count("authn_request")
    r = login_start(s, n)
    assert r.status_code == 303 and r.headers["Cache-Control"] == "no-store", r.text
    loc = flow.location(r)
    assert loc.startswith(stack.sso_url + "?")
    assert {"SAMLRequest", "SigAlg", "Signature"} <= set(parse_qs(urlsplit(loc).query))
    assert flow.redirect_message(loc).get("ID")
    assert stack.count("authn_request") == requests_before + 1
    name, attrs = flow.state_cookie(r)
    with requests.Session() as other:
        httpd_name, httpd_attrs = flow.state_cookie(login_start(other, stack))
    assert attrs and attrs["value"] and httpd_attrs["value"] != attrs["value"]
    assert {k: v for k, v in attrs.items() if k != "value"} == \
        {k: v for k, v in httpd_attrs.items() if k != "value"}
    assert name.startswith("kmen_session_state_") and httpd_name.startswith(name[:-8])


def test_the_login_start_limit_is_the_servers(stack, nginx):
    """kmen_login_start_limit 2: a client's third login start within the minute answers 429
    with Retry-After and starts nothing, at the login endpoint and at a protected location
    alike (the default, 60, would start them all)."""
    n = nginx(replace=in_http("kmen_session_zone kmen_sessions 1m;"),
              server="kmen_login_start_limit 2;\n" + proxied(stack, "/app/")).start()
    before = stack.count("authn_request")
    starts = [get_json(n.port, path)[:2] for path in ("/kmen/login?ReturnTo=/app/", "/app/",
                                                      "/app/", "/kmen/login?ReturnTo=/app/")]
    assert [status for status, _ in starts] == [303, 303, 429, 429], starts
    assert all(1 <= int(headers["Retry-After"]) <= 60 for _, headers in starts[2:]), starts
    assert stack.count("authn_request") == before + 2
    assert "login start limit of 2 a minute reached by client 127.0.0.1" in n.read_error_log()


@pytest.mark.parametrize("return_to", ["//evil.example/", "http://evil.example/", "/\\evil",
                                       "/app/../../x"])
def test_a_return_url_that_is_not_local_is_not_followed(stack, nginx, s, return_to):
    n = nginx().start()
    requests_before = stack.count("authn_request")
    r = login_start(s, n, return_to)
    assert r.status_code == 400 and "Location" not in r.headers, r.headers
    assert not flow.set_cookies(r)
    assert stack.count("authn_request") == requests_before
    assert "KMEN0623" in n.read_error_log()


def no_person_data_in(log, stack, identity):
    """Neither the person's BSI nor any AIFO the register holds for them is in LOG."""
    bsi = stack.bsi(identity)
    assert bsi.rsplit("/", 1)[-1] not in log
    agendas = [r[0] for r in stack.query("SELECT DISTINCT agenda FROM kmen.client_aifo")]
    for agenda in agendas:
        assert stack.gateway.aifo(bsi, agenda) not in log, agenda


@pytest.mark.parametrize("finished_by", ["nginx", "httpd"])
def test_a_login_on_nginx_makes_a_session_httpd_accepts(stack, nginx, s, rows, finished_by):
    """Started on nginx, NIA's Response posted to nginx's ACS (or, the login state being the
    same cookie in the same database, to httpd's): the session cookie, a session row, 303 back
    to where the login started; httpd's node then serves the session, headers and all."""
    n = nginx().start()
    fields = nia_answer(s, stack, n)
    before = rows("session")
    acs = (n.base_url if finished_by == "nginx" else stack.base_url) + "/kmen/acs"
    r = flow.post_acs(s, acs, fields)
    assert r.status_code == 303 and urlsplit(flow.location(r)).path == "/app/", n.read_error_log()
    cookie = flow.cookie_attrs(r, "kmen_session")
    assert cookie["value"] and "httponly" in cookie and cookie["samesite"] == "Lax", cookie
    assert cookie["path"] == "/" and "max-age" not in cookie, cookie
    assert rows("session") == before + 1
    flow.browser_cookies(s)
    h = flow.headers_of(s, stack.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-Given-Name") == "Ji%C5%99%C3%AD"
    no_person_data_in(n.read_error_log(), stack, "cz-jiri")


def test_a_replayed_response_is_refused_and_writes_no_session(stack, nginx, s, rows):
    n = nginx().start()
    fields = nia_answer(s, stack, n)
    state = flow.held_states(s)
    assert flow.post_acs(s, n.base_url + "/kmen/acs", fields).status_code == 303
    before = rows("session")
    again = flow.post_acs(s, n.base_url + "/kmen/acs", fields)
    assert again.status_code == 400 and no_session_cookie(again), again.text
    with requests.Session() as other:  # with the login state the first post was given
        r = other.post(n.base_url + "/kmen/acs", data=fields, allow_redirects=False,
                       headers={"Cookie": "; ".join(f"{k}={v}" for k, v in state.items())})
        assert r.status_code == 400 and no_session_cookie(r), r.text
    assert rows("session") == before
    assert "SAML response refused" in n.read_error_log()


@pytest.mark.parametrize("fault", ["tampered_assertion", "tampered_response", "wrong_key"])
def test_a_tampered_response_is_refused(stack, nginx, s, rows, fault):
    n = nginx().start()
    fields = nia_answer(s, stack, n, fault=fault)
    before = rows("session")
    r = flow.post_acs(s, n.base_url + "/kmen/acs", fields)
    assert r.status_code == 400 and no_session_cookie(r), r.text
    assert rows("session") == before
    no_person_data_in(n.read_error_log(), stack, "cz-jiri")


@pytest.mark.parametrize("respond, status", [({"action": "cancel"}, 401),
                                             ({"loa": "low"}, 403)])
def test_the_other_outcomes_answer_httpds_status(stack, nginx, s, rows, respond, status):
    """A cancelled login, and one below the LoA asked for (substantial, the default)."""
    n = nginx().start()
    fields = nia_answer(s, stack, n, **respond)
    before = rows("session")
    r = flow.post_acs(s, n.base_url + "/kmen/acs", fields)
    assert r.status_code == status and no_session_cookie(r), r.text
    assert rows("session") == before


def test_a_form_without_a_response_is_refused(nginx, s):
    """Nor one above httpd's limit of 512 KiB, whose body is not read; the connection then
    serves its next request."""
    n = nginx(replace=in_http("client_max_body_size 2m;")).start()
    r = s.post(n.base_url + "/kmen/acs", data={"SAMLResponse": "A" * (600 * 1024)},
               allow_redirects=False)
    assert r.status_code == 400 and no_session_cookie(r), r.text
    assert "unreadable or oversized form body" in n.read_error_log()
    assert s.get(n.base_url + "/kmen/metadata").status_code == 200
    r = s.post(n.base_url + "/kmen/acs", data={"RelayState": "x"}, allow_redirects=False)
    assert r.status_code == 400 and no_session_cookie(r), r.text
    assert "no SAMLResponse" in n.read_error_log()
    r = s.get(n.base_url + "/kmen/acs", allow_redirects=False)
    assert r.status_code == 405 and r.headers.get("Allow") == "POST"


# --- the directive table and docs/nginx.md ------------------------------------------------
def server_fields():
    """{nginx name: (httpd name, TYPE)} of the server settings of core/conf_fields.h
    (KMEN_SERVER_FIELDS) that nginx names: the rows nginx's table is expanded from."""
    text = (REPO / "core" / "conf_fields.h").read_text().replace("\\\n", " ")
    server = text[:text.index("#define KMEN_DIR_FIELDS")]
    rows = re.findall(r'X\((\w+),\s*\w+,[^()]*?,\s*\w+,\s*"(\w+)",\s*"(\w+)"\)', server)
    assert len(rows) > 40, rows
    return {nginx: (httpd, kind) for kind, httpd, nginx in rows}


def location_fields():
    """{nginx name: httpd name} of the location settings (KMEN_DIR_FIELDS), which nginx's
    table expands as its location directives, by the server settings' row (FIELD_ROW)."""
    text = (REPO / "core" / "conf_fields.h").read_text().replace("\\\n", " ")
    rows = re.findall(r'"(Kmen\w+)",\s*"(kmen_\w+)"\)', text.split("define KMEN_DIR_FIELDS")[1])
    assert len(rows) > 10, rows
    return {nginx: httpd for httpd, nginx in rows}


def documented_directives():
    """{nginx name: (httpd name or None, the rest of its cell)} of docs/nginx.md's table."""
    rows = re.findall(r"^\| (?:\[(\w+)\]\([^)]*\)|[^|]*?) \| `(\w+)`([^|]*)\|",
                      (REPO / "docs" / "nginx.md").read_text(), re.M)
    return {nginx: (httpd or None, rest) for httpd, nginx, rest in rows}


def a_value(nginx_name, kind):
    """A value the directive takes: one of its TYPE's, or of its own form."""
    own = {"kmen_session_zone": "kmen_test 1m", "kmen_error_document": "/error.html",
           "kmen_endpoint_path": "/sso", "kmen_home_country": "SK",
           "kmen_register_agenda": "A1234", "kmen_login_agenda": "A1234",
           "kmen_database_pool_size": "2",
           "kmen_evidence_callback_certificate": "sha256/" + "A" * 43 + "="}
    by_type = {"STR": "https://portal.example.cz/", "FILE": "/etc/kmen/some.pem", "INT": "5",
               "FLAG": "on", "ENCODING": "raw", "NAMEID": "transient"}
    return own.get(nginx_name) or by_type[kind]


def nginx_t(make, line):
    """nginx -t of a configuration whose http{} holds LINE alone (no SP is made)."""
    n = make()
    n.conf.write_text(f"load_module {NGINX_MODULE_SO};\nevents {{\n}}\n"
                      f"http {{\n    {line}\n}}\n")
    return n.configtest()


def test_every_server_setting_is_a_directive_nginx_takes(nginx):
    """Each server field nginx names is one of its directives: nginx -t takes it with a value
    of its type, but those docs/nginx.md says nginx refuses (not on nginx yet), which it
    refuses where they stand, with that reason."""
    documented = documented_directives()
    bad = []
    for name, (_, kind) in sorted(server_fields().items()):
        rc, out = nginx_t(nginx, f"{name} {a_value(name, kind)};")
        not_yet = "not on nginx yet" in documented.get(name, (None, ""))[1]
        if not_yet and not (rc != 0 and f'"{name}" directive is not on nginx yet (docs/nginx.md)'
                            in out):
            bad.append(f"{name}: docs/nginx.md says refused, nginx -t says {out!r}")
        elif not not_yet and rc != 0:
            bad.append(f"{name}: {out!r}")
    assert not bad, "\n".join(bad)


def test_every_server_setting_is_documented_beside_httpds(nginx):
    """docs/nginx.md's table has a row for each server field nginx names, beside httpd's
    name; every directive it documents is one nginx knows."""
    documented = documented_directives()
    fields = server_fields()
    assert {name: documented.get(name, (None,))[0] for name in fields} == \
        {name: httpd for name, (httpd, _) in fields.items()}
    unknown = [name for name in documented
               if 'unknown directive "' + name + '"' in nginx_t(nginx, f"{name} x;")[1]]
    assert not unknown, unknown


def test_every_location_setting_is_documented_beside_httpds():
    """docs/nginx.md's table has a row for each location field, beside httpd's name."""
    documented = documented_directives()
    fields = location_fields()
    assert {name: documented.get(name, (None,))[0] for name in fields} == fields


# --- protected locations: kmen_auth, the identity headers for upstreams --------------------
FORGED = [("Kmen-Client-Id", "FORGED-client-id"),
          ("KMEN-GIVEN-NAME", "FORGED-given-name"),
          ("kMeN-oRiGiN", "FORGED-origin"),
          ("Kmen-Aifo", "FORGED-aifo"),
          ("Kmen-Signature", "FORGED-signature")]


def proxied(stack, *locations, protected=("/app/",)):
    """config_text's SERVER: each of LOCATIONS proxied to the stack's portal (whose
    …headers.json answers the headers it got), those in PROTECTED with kmen_auth on."""
    return "\n".join(f"location {loc} {{ {'kmen_auth on; ' if loc in protected else ''}"
                     f"proxy_pass http://127.0.0.1:{stack.portal_port}; }}"
                     for loc in locations)


def get_json(port, path, forged=(), cookie=None, method="GET"):
    """(status, response headers, the portal's JSON of the headers it got, or the body)."""
    lines = [f"{name}: {value}" for name, value in forged]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    status, headers, body = flow.send_raw(port, path, lines, method=method)
    return status, dict(headers), json.loads(body) if status == 200 else body


def kmen_headers(received):
    """{lower-case name: value} of the Kmen-* headers the portal got."""
    return {n.lower(): v for n, v in received.items() if n.lower().startswith("kmen-")}


@pytest.fixture(scope="module")
def apache_login(stack):
    """A session made by a login on the Apache node: (its Cookie header, the Kmen-* headers
    the portal got from httpd for it)."""
    return login_on_apache(stack, "cz-jiri")


def login_on_apache(stack, identity):
    with requests.Session() as s:
        flow.login(s, stack, identity=identity)
        genuine = kmen_headers(flow.headers_of(s, stack.base_url + "/app/headers.json"))
        return "; ".join(f"{c.name}={c.value}" for c in s.cookies), genuine


def test_kmen_auth_needs_the_register(stack, nginx):
    n = nginx(server="location /app/ { kmen_auth on; }",
              replace={f"kmen_database '{stack.site().conninfo}';": "",
                       f"kmen_register_key_file {stack.keys.dir}/register.key;": ""})
    rc, out = n.configtest()
    assert rc != 0 and refused(out, "kmen_auth: the server has no kmen_sp_entity_id with "
                               "kmen_database" + line_of(n, "location /app/ { kmen_auth")), out


def test_an_apache_session_opens_on_nginx_with_the_same_headers(stack, nginx, apache_login):
    """The session httpd made opens on nginx (same database, register key, cookie): the
    upstream gets the Kmen-* headers httpd's backend got, names and values, and none of the
    forged ones."""
    cookie, genuine = apache_login
    assert genuine["kmen-origin"] == "nia" and genuine["kmen-client-id"], genuine
    n = nginx(server=proxied(stack, "/app/")).start()
    status, _, received = get_json(n.port, "/app/headers.json", FORGED, cookie)
    assert status == 200, (received, n.read_error_log())
    assert "FORGED" not in json.dumps(received), received
    assert kmen_headers(received) == genuine


def test_the_session_zone_answers_while_the_database_is_down(stack, nginx):
    """A session opened once is in kmen_session_zone, which nginx trusts for
    kmen_session_cache_ttl: with the database stopped it still opens, whichever of the two
    workers (which share the zone's memory) answers. A person no test asks evidence for: a
    session that asked for evidence reads its states from the database at every request, on
    nginx as on httpd, and answers 503 without it."""
    cookie, genuine = login_on_apache(stack, "cz-petr")
    assert "kmen-evidence" not in genuine, genuine
    n = nginx(server=proxied(stack, "/app/"),
              replace={**in_http("kmen_session_zone kmen_sessions 1m;",
                                 "kmen_session_cache_ttl 600;"),
                       "worker_processes 1;": "worker_processes 2;"}).start()
    status, _, received = get_json(n.port, "/app/headers.json", cookie=cookie)
    assert status == 200 and kmen_headers(received) == genuine, received
    with stack.postgres_down():
        for _ in range(4):
            status, _, received = get_json(n.port, "/app/headers.json", FORGED, cookie)
            assert status == 200, (received, n.read_error_log())
            assert kmen_headers(received) == genuine


def test_an_internal_redirect_sets_the_headers_once(stack, nginx, apache_login):
    """nginx runs the access phase again in the location an internal redirect (here
    try_files to a named location) lands in: the headers of the first pass are not kept
    beside the second's."""
    cookie, genuine = apache_login
    n = nginx(server="location /a/ { kmen_auth on; try_files /nonexistent @app; }\n"
              f"location @app {{ kmen_auth on; proxy_pass http://127.0.0.1:{stack.portal_port}; }}"
              ).start()
    status, _, received = get_json(n.port, "/a/headers.json", FORGED, cookie)
    assert status == 200, received
    assert kmen_headers(received) == genuine


def test_signed_headers(stack, nginx, apache_login):
    """kmen_header_secret_file: Kmen-Signature over the other Kmen-* headers, as
    KmenHeaderSecretFile signs them (t/integration/test_attributes.py)."""
    cookie, genuine = apache_login
    n = nginx(server=proxied(stack, "/app/")
              + f"\nkmen_header_secret_file {stack.keys.header_secret};").start()
    status, _, received = get_json(n.port, "/app/headers.json", cookie=cookie)
    assert status == 200, received
    mine = kmen_headers(received)
    t, mac = re.fullmatch(r"t=(\d+), v1=([0-9a-f]{64})", mine.pop("kmen-signature")).groups()
    assert mine == genuine
    text = f"t={t}\n" + "".join(sorted(f"{name}:{value}\n" for name, value in mine.items()))
    key = stack.keys.header_secret.read_bytes()
    assert hmac.compare_digest(hmac.new(key, text.encode(), hashlib.sha256).hexdigest(), mac)


def high_location(stack):
    """config_text's SERVER: location /high/, protected at kmen_loa high, proxied to the
    stack's portal."""
    return (f"location /high/ {{ kmen_auth on; kmen_loa high; "
            f"proxy_pass http://127.0.0.1:{stack.portal_port}; }}")


def login_asked(stack, status, headers):
    """A response (STATUS, HEADERS) that starts a login, as httpd's: a 303 to NIA with the
    AuthnRequest, whose outstanding request is stored. (the LoAs it asks for, its SPType,
    where the stored request returns to, the LoA it stored: 1 low ... 3 high)."""
    location = headers["Location"]
    assert status == 303 and location.startswith(stack.sso_url + "?"), (status, headers)
    req = flow.redirect_message(location)
    stored = stack.query("SELECT return_to, min_loa FROM kmen.authn_request WHERE id = %s",
                         (req.get("ID"),))
    assert len(stored) == 1, req.get("ID")
    loas = [c.text.strip() for c in
            req.iterfind("samlp:RequestedAuthnContext/saml:AuthnContextClassRef", SAML_NS)]
    return loas, req.findtext("samlp:Extensions/eidas:SPType", namespaces=SAML_NS), *stored[0]


def test_proxy_set_header_takes_the_place_of_an_identity_header(stack, nginx, apache_login):
    """nginx's upstreams send a request header that proxy_set_header also sets only once, the
    configured one, finding it by its hash: the identity's headers carry the same hash as
    nginx's own (a wrong one would send both, and the portal would get them joined)."""
    cookie, genuine = apache_login
    n = nginx(server=f"location /app/ {{ kmen_auth on; proxy_set_header Kmen-Loa set-here; "
                     f"proxy_pass http://127.0.0.1:{stack.portal_port}; }}").start()
    status, _, received = get_json(n.port, "/app/headers.json", cookie=cookie)
    assert status == 200, (received, n.read_error_log())
    got = kmen_headers(received)
    assert got["kmen-loa"] == "set-here" and genuine["kmen-loa"] == "substantial", got
    assert {k: v for k, v in got.items() if k != "kmen-loa"} == \
        {k: v for k, v in genuine.items() if k != "kmen-loa"}, got


def test_a_session_below_the_locations_loa_logs_in_again_at_its_loa(stack, nginx,
                                                                     apache_login):
    """kmen_loa high: the substantial session opens, but is not enough here (KmenLoA): the
    access phase sends it to NIA asking for high, not to a login at the default again."""
    cookie, _ = apache_login
    n = nginx(server=proxied(stack, "/app/") + "\n" + high_location(stack)).start()
    status, _, received = get_json(n.port, "/app/headers.json", cookie=cookie)
    assert status == 200 and kmen_headers(received)["kmen-loa"] == "substantial", received
    status, headers, _ = get_json(n.port, "/high/headers.json", cookie=cookie)
    assert login_asked(stack, status, headers) == \
        ([LOA + "high"], "public", "/high/headers.json", 3), n.read_error_log()


def test_forged_headers_never_reach_an_upstream(stack, nginx):
    """Without a session: not through an unprotected location of a server{} with an SP (as
    httpd strips them on every request), and a protected one sends the browser to log in."""
    n = nginx(server=proxied(stack, "/app/", "/public/")).start()
    status, _, received = get_json(n.port, "/public/headers.json", FORGED)
    assert status == 200 and not kmen_headers(received), received
    status, headers, _ = get_json(n.port, "/app/headers.json", FORGED)
    assert status == 303 and headers["Location"].startswith(stack.sso_url + "?"), headers


def test_no_session_get_starts_the_login_at_the_locations_settings(stack, nginx):
    """A GET or HEAD without a session (or with a cookie that opens none) starts the login
    itself, as httpd's check_authn: the AuthnRequest to NIA at the location's settings (the
    default LoA here, the server{}'s kmen_sp_type), the outstanding request stored to return
    to the URL asked for, the login-state cookie."""
    n = nginx(sp_type="private", server=proxied(stack, "/app/")).start()
    status, headers, _ = get_json(n.port, "/app/headers.json?a=1&b=%C5%99")
    assert login_asked(stack, status, headers) == \
        ([LOA + "substantial"], "private", "/app/headers.json?a=1&b=%C5%99", 2)
    assert headers["Set-Cookie"].startswith("kmen_session_state_"), headers
    assert headers["Cache-Control"] == "no-store", headers
    for method in ("GET", "HEAD"):
        status, headers, _ = get_json(n.port, "/app/", cookie="kmen_session=" + "A" * 43,
                                      method=method)
        assert login_asked(stack, status, headers)[2] == "/app/", (method, headers)


def test_a_login_link_asks_for_what_returntos_location_says(stack, nginx):
    """<kmen_endpoint_path>/login?ReturnTo= (a page's link) asks for what the location
    ReturnTo names says, with kmen_auth or without, as httpd's lookup finds it: its own
    kmen_loa and kmen_sp_type, or the server{}'s where it sets none or no location takes
    ReturnTo. A location's return does not answer the login's request instead."""
    n = nginx(sp_type="private", server="kmen_loa high;\n"
              "location /low/ { kmen_loa low; kmen_sp_type public; return 302 /public/; }\n"
              + proxied(stack, "/plain/", protected=())).start()
    for return_to, asked in [("/anywhere/", ([LOA + "high"], "private", "/anywhere/", 3)),
                             ("/plain/x?a=1", ([LOA + "high"], "private", "/plain/x?a=1", 3)),
                             ("/low/%78?a=1", ([LOA + "low"], "public", "/low/%78?a=1", 1))]:
        with requests.Session() as s:
            r = login_start(s, n, return_to)
            assert login_asked(stack, r.status_code, r.headers) == asked, return_to


def test_no_session_post_is_refused(stack, nginx):
    n = nginx(server=proxied(stack, "/app/")).start()
    status, headers, body = get_json(n.port, "/app/form", method="POST")
    assert status == 401 and "Location" not in headers, (headers, body)
    # the core's line, ending as httpd's with the request ID (nginx's $request_id)
    assert re.search(r"\[info\] .*login needed: a POST without a session cannot go through NIA "
                     r"\[req [0-9a-f]{32}\], client: ", n.read_error_log()), n.read_error_log()


def test_database_down_is_503_and_the_error_log_holds_no_identifier(stack, nginx, apache_login):
    """Without a zone every request asks the database: stopped, 503 with Retry-After, and
    nginx keeps serving once it is back. Nothing of the person's BSI in nginx's log."""
    cookie, genuine = apache_login
    n = nginx(server=proxied(stack, "/app/")).start()
    with stack.postgres_down():
        status, headers, body = get_json(n.port, "/app/headers.json", cookie=cookie)
        assert status == 503 and headers.get("Retry-After") == "30", (headers, body)
        assert "Služba je dočasně nedostupná".encode() in body, body  # httpd's page
    status, _, received = poll_ok(n.port, cookie)
    assert status == 200 and kmen_headers(received) == genuine
    log = n.read_error_log()
    assert "[alert]" not in log and "[emerg]" not in log and "signal" not in log, log
    secret = stack.bsi("cz-jiri").rsplit("/", 1)[-1]
    assert not any(spelling in log for spelling in spellings(secret)), "the BSI in nginx's log"


def poll_ok(port, cookie):
    """The first 200 for the session, once the database is back."""
    answer = []
    poll(lambda: answer.append(get_json(port, "/app/headers.json", cookie=cookie))
         or answer[-1][0] == 200, timeout=30)
    return answer[-1]


def test_a_login_entirely_on_nginx(stack, nginx, s, rows):
    """A protected location without a session sends the browser to NIA, nginx's ACS takes
    the Response, then the location again: the upstream gets the identity's headers."""
    n = nginx(server=proxied(stack, "/app/")).start()
    to_nia = flow.start(s, n.base_url + "/app/headers.json")
    assert to_nia.startswith(stack.sso_url + "?"), to_nia
    ticket, _ = flow.idp_page(s, to_nia)
    _, fields = flow.respond(s, ticket)
    before = rows("session")
    r = flow.post_acs(s, n.base_url + "/kmen/acs", fields)
    assert r.status_code == 303, n.read_error_log()
    assert urlsplit(flow.location(r)).path == "/app/headers.json"
    assert rows("session") == before + 1
    h = flow.headers_of(s, n.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-Given-Name") == "Ji%C5%99%C3%AD"
    no_person_data_in(n.read_error_log(), stack, "cz-jiri")


def test_a_login_at_a_high_location(stack, nginx, s):
    """kmen_loa high without a session: the AuthnRequest asks NIA for high; a login at high
    lands back on the location, whose upstream gets the identity, at high."""
    n = nginx(server=high_location(stack)).start()
    r = s.get(n.base_url + "/high/headers.json", allow_redirects=False)
    flow.browser_cookies(s)
    assert login_asked(stack, r.status_code, r.headers) == \
        ([LOA + "high"], "public", "/high/headers.json", 3)
    ticket, _ = flow.idp_page(s, flow.location(r))
    _, fields = flow.respond(s, ticket, loa="high")
    r = flow.post_acs(s, n.base_url + "/kmen/acs", fields)
    assert r.status_code == 303, n.read_error_log()
    assert urlsplit(flow.location(r)).path == "/high/headers.json"
    flow.browser_cookies(s)
    h = flow.headers_of(s, n.base_url + "/high/headers.json")
    assert flow.header(h, "Kmen-LoA") == "high"
    assert flow.header(h, "Kmen-Given-Name") == "Ji%C5%99%C3%AD"


# --- /kmen/health -------------------------------------------------------------------------
def health_of(url):
    """(status, the JSON, Retry-After) of URL's /kmen/health, its age_seconds dropped (it
    counts the seconds since the metadata file changed: one more between two requests)."""
    r = requests.get(url + "/kmen/health", timeout=10)
    assert r.headers.get("Content-Type") == "application/json", r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    doc = r.json()
    assert isinstance(doc["idp_metadata"].pop("age_seconds"), int), doc
    return r.status_code, doc, r.headers.get("Retry-After")


def test_health_is_httpds_and_follows_the_database(stack, nginx):
    """The same report as httpd's for the same site (the core's), "fetch": null as httpd's
    without KmenIdPMetadataURL; 503 "unavailable" with Retry-After, as httpd's, with the
    database stopped; 200 once it is back."""
    n = nginx().start()
    answer = health_of(n.base_url)
    status, doc, _ = answer
    assert status == 200 and doc["database"] == "ok" and doc["status"] != "unavailable", doc
    assert doc["idp_metadata"]["fetch"] is None and doc["idp_metadata"]["valid"] is True, doc
    assert answer == health_of(stack.base_url)
    with stack.postgres_down():
        answer = health_of(n.base_url)
        status, doc, retry_after = answer
        assert status == 503 and doc["status"] == "unavailable" and retry_after == "30", answer
        assert doc["database"] == "down" and doc["reason"] == "the database does not answer", doc
        assert answer == health_of(stack.base_url)
    assert poll(lambda: health_of(n.base_url)[0] == 200), n.read_error_log()
    assert requests.head(n.base_url + "/kmen/health", timeout=10).status_code == 200
    r = requests.post(n.base_url + "/kmen/health", data="x", timeout=10)
    assert r.status_code == 405 and r.headers.get("Allow") == "GET, HEAD", r.headers


# --- logout: /kmen/logout, /kmen/slo --------------------------------------------------------
SLO_COOKIE = "kmen_session_logout"


def opens(port, cookie):
    """The status of a protected location on nginx (PORT) for the session COOKIE."""
    return get_json(port, "/app/headers.json", cookie=f"kmen_session={cookie}")[0]


@pytest.fixture(scope="module")
def uncached_node(stack):
    """An Apache node that asks the database for every request (KmenSessionCacheTTL 0): a
    node that opened a session trusts its own cached copy for KmenSessionCacheTTL, whichever
    node ended it."""
    return stack.new_httpd(extra="KmenSessionCacheTTL 0")


def opens_on_apache(node, cookie):
    r = requests.get(node.base_url + "/app/headers.json", cookies={"kmen_session": cookie},
                     allow_redirects=False, timeout=10)
    return r.status_code


def logout_on_nginx(s, stack, n, return_to="/public/"):
    """GET nginx's /kmen/logout?ReturnTo=RETURN_TO, then the sim answers the LogoutRequest
    as NIA does (an unsigned LogoutResponse in a form the browser posts): its fields."""
    r = s.get(n.base_url + "/kmen/logout", params={"ReturnTo": return_to},
              allow_redirects=False)
    assert r.status_code == 303, (r.status_code, n.read_error_log())
    to_idp = flow.location(r)
    assert to_idp.startswith(stack.sso_url) and "SAMLRequest" in to_idp, to_idp
    assert flow.cookie_attrs(r, "kmen_session")["max-age"] == "0"
    assert s.cookies.get(SLO_COOKIE), r.headers
    flow.browser_cookies(s)
    url, fields = flow.auto_post_form(s.get(to_idp, allow_redirects=False))
    assert url == stack.base_url + "/kmen/slo" and "SAMLResponse" in fields, url
    return fields


@pytest.mark.parametrize("logged_in_on", ["nginx", "apache"])
def test_a_logout_through_nginx_ends_the_session_everywhere(stack, nginx, s, rows, uncached_node,
                                                            logged_in_on):
    """A session made on nginx or on the Apache node, logged out through nginx's /kmen/logout;
    NIA's unsigned LogoutResponse posted to nginx's /kmen/slo lands on ReturnTo: the cookie
    opens nothing on either server any more, and its row is gone."""
    n = nginx(server=proxied(stack, "/app/")).start()
    before = rows("session")
    if logged_in_on == "apache":
        flow.login(s, stack, identity="cz-jiri")
    else:
        ticket, _ = flow.idp_page(s, flow.start(s, n.base_url + "/kmen/login?ReturnTo=/app/"))
        _, fields = flow.respond(s, ticket)
        assert flow.post_acs(s, n.base_url + "/kmen/acs", fields).status_code == 303
    cookie = s.cookies.get("kmen_session")
    assert opens(n.port, cookie) == 200 and opens_on_apache(uncached_node, cookie) == 200
    assert rows("session") == before + 1
    fields = logout_on_nginx(s, stack, n)
    assert rows("session") == before, "the session row outlived the logout's start"
    r = flow.post_acs(s, n.base_url + "/kmen/slo", fields)
    assert r.status_code == 303 and urlsplit(flow.location(r)).path == "/public/", r.headers
    assert flow.cookie_attrs(r, SLO_COOKIE)["max-age"] == "0"
    assert opens(n.port, cookie) == 303 and opens_on_apache(uncached_node, cookie) == 303
    log = n.read_error_log()
    assert "KMEN0638: logout completed at the IdP" in log, log
    no_person_data_in(log, stack, "cz-jiri")


def unsolicited_logout_response(stack, in_response_to):
    """An unsigned LogoutResponse as NIA sends it, answering IN_RESPONSE_TO."""
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    xml = (f'<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{uuid.uuid4().hex}" '
           f'Version="2.0" IssueInstant="{issued}" Destination="{stack.base_url}/kmen/slo" '
           f'InResponseTo="{in_response_to}"><saml:Issuer>urn:microsoft:cgg2010:fpsts'
           f'</saml:Issuer><samlp:Status><samlp:StatusCode '
           f'Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
           f'</samlp:LogoutResponse>')
    return {"SAMLResponse": base64.b64encode(xml.encode()).decode()}


def test_a_forged_or_replayed_logout_response_changes_nothing(stack, nginx, s, rows):
    """At nginx's /kmen/slo: a LogoutResponse that answers no logout of this browser (none
    started, or another browser's) sends the person home and ends no session; NIA's own,
    once honoured, is refused when replayed with its logout-state cookie restored."""
    n = nginx(server=proxied(stack, "/app/")).start()
    with requests.Session() as victim:
        flow.login(victim, stack, identity="cz-marie")
        cookie = victim.cookies.get("kmen_session")
        before = rows("session")
        r = flow.post_acs(victim, n.base_url + "/kmen/slo",
                          unsolicited_logout_response(stack, "_" + "A" * 43))
        assert r.status_code == 303 and urlsplit(flow.location(r)).path == "/", r.headers
        flow.login(s, stack, identity="cz-jiri")
        fields = logout_on_nginx(s, stack, n)
        state = s.cookies.get(SLO_COOKIE)
        r = flow.post_acs(victim, n.base_url + "/kmen/slo", fields)  # another browser's
        assert urlsplit(flow.location(r)).path == "/", r.headers
        assert opens(n.port, cookie) == 200 and rows("session") == before
    assert urlsplit(flow.location(flow.post_acs(s, n.base_url + "/kmen/slo", fields))).path \
        == "/public/"
    s.cookies.set(SLO_COOKIE, state)
    assert urlsplit(flow.location(flow.post_acs(s, n.base_url + "/kmen/slo", fields))).path \
        == "/"
    log = n.read_error_log()
    assert "LogoutResponse refused: no logout-state cookie" in log, log
    assert "LogoutResponse refused: the logout was answered before (a replay)" in log, log


def test_nias_logout_request_at_nginx_ends_the_session(stack, nginx, s, rows, uncached_node):
    """NIA's own LogoutRequest brought to nginx's /kmen/slo: the login's session ends on
    both servers, NIA gets its signed LogoutResponse; the same request again is a 400."""
    n = nginx(server=proxied(stack, "/app/")).start()
    login = flow.login(s, stack, identity="cz-zofie")
    index = flow.session_index(login.kmen_fields, stack.keys.sp_key)
    cookie = s.cookies.get("kmen_session")
    before = rows("session")
    r = s.get(stack.sim_url + "/admin/idp-logout", allow_redirects=False,
              params={"identity": "cz-zofie", "session_index": index})
    to_sp = flow.location(r).replace(stack.base_url, n.base_url)
    r = s.get(to_sp, allow_redirects=False)
    assert r.status_code == 303 and flow.location(r).startswith(stack.sso_url), r.headers
    assert flow.redirect_message(flow.location(r), "SAMLResponse").tag.endswith("}LogoutResponse")
    assert rows("session") == before - 1
    assert opens(n.port, cookie) == 303 and opens_on_apache(uncached_node, cookie) == 303
    assert requests.get(to_sp, allow_redirects=False, timeout=10).status_code == 400


def test_a_logout_from_another_site_asks_first_on_nginx(stack, nginx, s):
    """A cross-site GET of nginx's /kmen/logout ends nothing: a page whose form posts the
    session's token, which then logs out."""
    n = nginx(server=proxied(stack, "/app/")).start()
    flow.login(s, stack, identity="cz-jiri")
    cookie = s.cookies.get("kmen_session")
    r = s.get(n.base_url + "/kmen/logout?ReturnTo=/public/",
              headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False)
    assert r.status_code == 200 and opens(n.port, cookie) == 200, r.text
    token = re.search(r'name="token" value="([0-9a-f]{64})"', r.text)[1]
    r = s.post(n.base_url + "/kmen/logout", data={"token": "0" * 64, "ReturnTo": "/public/"},
               allow_redirects=False)
    assert r.status_code == 200 and opens(n.port, cookie) == 200, r.text
    r = s.post(n.base_url + "/kmen/logout", data={"token": token, "ReturnTo": "/public/"},
               allow_redirects=False)
    assert r.status_code == 303 and flow.location(r).startswith(stack.sso_url), r.headers
    assert opens(n.port, cookie) == 303


# --- a location's settings: kmen_agenda, kmen_eidas_policy and kmen_verify_path, ------------
# --- kmen_requested_attributes, kmen_force_authn, kmen_cache_control_private, kmen_require ---
def location(stack, path, *lines, upstream=True):
    """config_text's SERVER: location PATH protected (kmen_auth on) with LINES, proxied to
    the stack's portal unless UPSTREAM is False."""
    proxy = f"proxy_pass http://127.0.0.1:{stack.portal_port};" if upstream else ""
    return f"location {path} {{ kmen_auth on; {' '.join(lines)} {proxy} }}"


def agenda_node(stack, agenda):
    """An Apache node whose /filing has KmenAgenda AGENDA."""
    return stack.new_httpd(locations=f"""<Location /filing>
    AuthType Kmen
    Require valid-user
    KmenAgenda {agenda}
    ProxyPass http://127.0.0.1:{stack.portal_port}/filing
</Location>""")


def test_an_agenda_location_gets_that_agendas_aifo_as_on_httpd(stack, nginx, apache_login):
    """kmen_agenda: Kmen-Aifo, the client's AIFO in that agenda, translated once at the
    gateway and stored (httpd's node then finds it stored), the same header as httpd's
    KmenAgenda gives; none where the location has no agenda; never in nginx's log."""
    cookie, genuine = apache_login
    n = nginx(server=location(stack, "/filing/", "kmen_agenda A9147;") + "\n"
              + proxied(stack, "/app/")).start()
    calls = stack.gateway.count()
    status, _, received = get_json(n.port, "/filing/headers.json", FORGED, cookie)
    assert status == 200, (received, n.read_error_log())
    mine = kmen_headers(received)
    assert mine.pop("kmen-aifo") == stack.gateway.aifo(stack.bsi("cz-jiri"), "A9147")
    assert mine == genuine
    assert stack.gateway.count() == calls + 1  # aifo-to-aifo from the register's agenda
    assert get_json(n.port, "/filing/headers.json", cookie=cookie)[2] == received
    assert stack.gateway.count() == calls + 1  # stored: no second translation
    assert "kmen-aifo" not in kmen_headers(get_json(n.port, "/app/headers.json",
                                                    cookie=cookie)[2])
    on_httpd = requests.get(agenda_node(stack, "A9147").base_url + "/filing/headers.json",
                            headers={"Cookie": cookie}, allow_redirects=False, timeout=10)
    assert on_httpd.status_code == 200 and kmen_headers(on_httpd.json()) == \
        kmen_headers(received)
    no_person_data_in(n.read_error_log(), stack, "cz-jiri")


def test_an_agenda_location_answers_503_while_the_gateway_is_down(stack, nginx, apache_login):
    """An agenda the client has no AIFO in yet needs the gateway: down, 503 with Retry-After
    as httpd's; back, the AIFO."""
    cookie, _ = apache_login
    n = nginx(server=location(stack, "/filing/", "kmen_agenda A9148;")).start()
    stack.gateway.mode = "down"
    try:
        status, headers, body = get_json(n.port, "/filing/headers.json", cookie=cookie)
        assert status == 503 and headers.get("Retry-After") == "30", (headers, body)
    finally:
        stack.gateway.heal()
    status, _, received = get_json(n.port, "/filing/headers.json", cookie=cookie)
    assert status == 200 and kmen_headers(received)["kmen-aifo"] == \
        stack.gateway.aifo(stack.bsi("cz-jiri"), "A9148")
    no_person_data_in(n.read_error_log(), stack, "cz-jiri")


@pytest.fixture(scope="module")
def pending_login(stack):
    """A foreigner's session whose verification is pending (logged in at the Apache node's
    /app/, KmenEidasPolicy verify): its Cookie header."""
    with requests.Session() as s:
        flow.login(s, stack, identity="es-garcia")
        return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def local(url):
    """The path and query of URL: nginx writes a Location of its own absolute, httpd as it
    was given (a local path); a browser goes to the same place."""
    parts = urlsplit(url or "")
    return f"{parts.path}?{parts.query}"


def httpd_answer(stack, path, cookie, method="GET"):
    """(status, local(Location)) of the Apache node's answer to PATH for the session
    COOKIE."""
    r = requests.request(method, stack.base_url + path, headers={"Cookie": cookie},
                         allow_redirects=False, timeout=10)
    return r.status_code, local(r.headers.get("Location"))


def test_a_pending_foreigner_goes_where_httpd_sends_them(stack, nginx, pending_login):
    """kmen_eidas_policy verify (the default) with kmen_verify_path: a GET is sent there to
    come back, a POST refused (403), the verification page itself served with the pending
    identity; kmen_eidas_policy accept takes the minimal data set; a verify location
    without kmen_verify_path refuses, and says why in nginx's spelling. httpd's answers,
    for the same session, are the same."""
    cookie = pending_login
    n = nginx(server="\n".join([location(stack, "/app/", "kmen_verify_path /app/verify/;"),
                                location(stack, "/info/", "kmen_eidas_policy accept;"),
                                location(stack, "/noverify/")])).start()
    status, headers, _ = get_json(n.port, "/app/somewhere?x=1", cookie=cookie)
    assert (status, local(headers.get("Location"))) == \
        httpd_answer(stack, "/app/somewhere?x=1", cookie) == \
        (303, "/app/verify/?ReturnTo=%2fapp%2fsomewhere%3fx%3d1"), headers
    assert get_json(n.port, "/app/", cookie=cookie, method="POST")[0] == 403 == \
        httpd_answer(stack, "/app/", cookie, "POST")[0]
    for path in ("/app/verify/headers.json", "/info/headers.json"):
        status, _, received = get_json(n.port, path, FORGED, cookie)
        assert status == 200, (path, received)
        assert kmen_headers(received)["kmen-client-status"] == "pending"
        on_httpd = requests.get(stack.base_url + path, headers={"Cookie": cookie}, timeout=10)
        assert kmen_headers(received) == kmen_headers(on_httpd.json())
    status, _, body = get_json(n.port, "/noverify/headers.json", cookie=cookie)
    assert status == 403 and b"Verification needed" in body, body
    log = n.read_error_log()
    assert "KMEN0632: a pending foreigner at /noverify/headers.json, which has no " \
        "kmen_verify_path" in log
    assert "KMEN0635: a pending foreigner at /app/: a POST is not sent on to " \
        "kmen_verify_path" in log


ATTRIBUTES = ["kmen_requested_attributes PersonIdentifier! CurrentGivenName! "
              "CurrentFamilyName! DateOfBirth!;",
              "kmen_requested_attributes isAgeOver=40! age http://www.stork.gov.eu/1.0/eMail;",
              "kmen_requested_attributes phonenumber tradresaid CurrentAddress BirthName;"]


def asked_of_nia(s, stack, url):
    """What the AuthnRequest of the login URL starts asks NIA for, as the sim received it:
    (its requested attributes, ForceAuthn)."""
    r = s.get(url, allow_redirects=False)
    assert r.status_code == 303 and flow.location(r).startswith(stack.sso_url), r.headers
    flow.idp_page(s, flow.location(r))
    request = flow.sim_json(s, stack, "/last-request")
    return request["requested_attributes"], request["force_authn"]


def test_a_locations_login_asks_for_its_attributes_and_force_authn(stack, nginx, s):
    """kmen_requested_attributes and kmen_force_authn: the login a location starts asks NIA
    for them, as httpd's for KmenRequestedAttributes (/attrs) and KmenForceAuthn On
    (/app/sign); a nested location inherits its parent's attributes."""
    n = nginx(server=location(stack, "/attrs/", *ATTRIBUTES) + "\n"
              + location(stack, "/app/", "kmen_requested_attributes DateOfBirth! PlaceOfBirth;",
                         "location /app/sign/ { kmen_force_authn on; }")).start()
    attrs = asked_of_nia(s, stack, n.base_url + "/attrs/")
    assert attrs == asked_of_nia(s, stack, stack.base_url + "/attrs/")
    assert attrs[1] is False and len(attrs[0]) == 11, attrs
    default, force = (asked_of_nia(s, stack, n.base_url + path) for path in ("/app/", "/app/sign/"))
    assert default[1] is False and force[1] is True
    assert default[0] == force[0] and [a["name"].rsplit("/", 1)[-1] for a in force[0]] == \
        ["DateOfBirth", "PlaceOfBirth"], force
    assert asked_of_nia(s, stack, stack.base_url + "/app/sign/")[1] is True


def cache_control(port, path, cookie=None):
    """The Cache-Control of nginx's answer to PATH (None: none)."""
    status, headers, body = flow.send_raw(port, path, [f"Cookie: {cookie}"] if cookie else [])
    assert status == 200, (status, body)
    return dict(headers).get("Cache-Control")


def test_authenticated_answers_are_private(stack, nginx, apache_login):
    """kmen_cache_control_private, on by default: as httpd's, Cache-Control private on an
    authenticated answer, public and s-maxage dropped, private or no-store of the backend's
    kept; off, the backend's as it is; an anonymous answer as the backend gave it."""
    cookie, _ = apache_login
    n = nginx(server=proxied(stack, "/app/", "/public/") + "\n"
              + location(stack, "/shared/", "kmen_cache_control_private off;")).start()
    public = "?cc=public,%20max-age=600,%20s-maxage=600"
    assert cache_control(n.port, "/app/cacheable?cc=", cookie) == "private"
    assert cache_control(n.port, "/app/cacheable" + public, cookie) == "private, max-age=600"
    assert cache_control(n.port, "/app/cacheable?cc=no-store", cookie) == "no-store"
    assert cache_control(n.port, "/shared/cacheable" + public, cookie) == \
        "public, max-age=600, s-maxage=600"
    assert cache_control(n.port, "/public/cacheable" + public) == \
        "public, max-age=600, s-maxage=600"


def test_kmen_require_answers_as_httpds_require(stack, nginx, apache_login, pending_login):
    """kmen_require origin and status: httpd's Require kmen-origin and kmen-status, the same
    words checked by the same code: a session they do not grant gets 403 (httpd's answer
    with AuthzSendForbiddenOnFailure On), one they do the upstream; of several lines, one
    granting is enough, as of several Require lines."""
    czech, genuine = apache_login
    foreign = pending_login
    mine = genuine["kmen-client-status"]  # new at the first login, returning after
    others = " ".join({"new", "linked", "returning"} - {mine})
    n = nginx(server="\n".join([
        location(stack, "/eidas-only/", "kmen_require origin eidas;",
                 "kmen_eidas_policy accept;"),
        location(stack, "/returning/", f"kmen_require status {others} {mine.upper()};"),
        location(stack, "/others/", f"kmen_require status {others};"),
        location(stack, "/either/", f"kmen_require status {others};", "kmen_require origin NIA;",
                 "kmen_eidas_policy accept;")])
    ).start()
    assert get_json(n.port, "/eidas-only/headers.json", cookie=czech)[0] == 403 == \
        httpd_answer(stack, "/eidas-only/", czech)[0]
    assert get_json(n.port, "/eidas-only/headers.json", cookie=foreign)[0] == 200 == \
        httpd_answer(stack, "/eidas-only/", foreign)[0]
    assert get_json(n.port, "/returning/headers.json", cookie=czech)[0] == 200
    assert get_json(n.port, "/others/headers.json", cookie=czech)[0] == 403
    assert get_json(n.port, "/either/headers.json", cookie=czech)[0] == 200
    assert get_json(n.port, "/either/headers.json", cookie=foreign)[0] == 403


# --- cross-border evidence: the callback and the documents ------------------------------
def evidence_node(stack, nginx):
    """nginx with the site's kmen_evidence_secret_file, started."""
    return nginx(server=f"kmen_evidence_secret_file {stack.keys.dir}/evidence.secret;").start()


def nginx_callback(n, stack, body, secret=None):
    """The evidence service's callback, BODY (a dict) signed with the site's secret or
    SECRET, posted to N."""
    raw = json.dumps(body).encode()
    return requests.post(n.base_url + "/kmen/evidence", data=raw, timeout=20, headers={
        "Content-Type": "application/json",
        "Kmen-Evidence-Signature": evsim.sign(secret or stack.evidence_secret, raw, None)})


def test_evidence_is_delivered_to_nginx_and_served_to_its_client(stack, nginx, s):
    """A request a person made through httpd, answered by the evidence service's callback at
    nginx (the same row, the same sealed document), the document served by nginx to that
    client's session only, as a sandboxed download; a callback signed with another key
    stores nothing."""
    n = evidence_node(stack, nginx)
    flow.login(s, stack, identity="cz-zofie")
    request, _ = ask(s, stack, page("birth-certificate", "IT", uuid.uuid4().hex[:8]))
    data = b"%PDF-1.4\n% delivered at nginx\n%%EOF\n"
    assert nginx_callback(n, stack, received(request, data),
                          secret=b"not the evidence secret!").status_code == 401
    assert row_of(stack, request)[0][0] == "requested"
    r = nginx_callback(n, stack, received(request, data))
    assert r.status_code == 204, (r.text, n.read_error_log()[-2000:])
    assert nginx_callback(n, stack, received(request, data)).status_code == 409
    cookie = {"kmen_session": s.cookies.get("kmen_session")}
    check_download(requests.get(f"{n.base_url}/kmen/evidence/{request}", cookies=cookie,
                                timeout=20), data, PDF, f"evidence-{request}.pdf")
    with requests.Session() as other:
        flow.login(other, stack, identity="cz-jiri")
        r = requests.get(f"{n.base_url}/kmen/evidence/{request}", timeout=20,
                         cookies={"kmen_session": other.cookies.get("kmen_session")})
        assert r.status_code == 404 and data not in r.content
    assert requests.get(f"{n.base_url}/kmen/evidence/{request}", timeout=20).status_code == 404
    assert "evidence callback answered 204" in n.read_error_log()


# --- kmen_error_document: the portal's own error page ---------------------------------------
def test_the_error_document_answers_for_the_pages(stack, nginx, s):
    """Where nginx would send one of its pages, kmen_error_document answers instead (an
    internal redirect, as httpd's KmenErrorDocument): with the page's status and the headers
    set beside it (a 429's Retry-After), $kmen_error naming the page as httpd's
    REDIRECT_KMEN_ERROR does, and $request_id the ID the error log gives."""
    n = nginx(replace=in_http("kmen_session_zone kmen_sessions 1m;"),
              server="kmen_error_document /errors/kmen.html;\n"
                     "kmen_login_start_limit 1;\n"
                     "location = /errors/kmen.html "
                     '{ return 200 "error=$kmen_error id=$request_id\\n"; }').start()
    r = s.get(n.base_url + "/kmen/login", params={"ReturnTo": "//evil.example/"},
              allow_redirects=False)
    answered = re.fullmatch(r"error=bad_request id=([0-9a-f]{32})\n", r.text)
    assert r.status_code == 400 and answered, (r.status_code, r.text)
    assert f"ReturnTo is not a local path, refused [req {answered[1]}]" in n.read_error_log()
    assert login_start(s, n).status_code == 303
    r = login_start(s, n)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60, r.headers
    assert r.text.startswith("error=too_many_logins id="), r.text


# --- what a worker keeps of the sessions it opened (core/session_kept.c) --------------------
WORKER = "X-Nginx-Worker"


def kept_workers(nginx, stack, ttl):
    """A written Nginx with two workers sharing kmen_session_zone with kmen_session_cache_ttl
    TTL, each connection given to either (reuseport), the upstream told which worker serves
    it; /app/ protected."""
    n = nginx(server=proxied(stack, "/app/"),
              replace={**in_http("kmen_session_zone kmen_sessions 1m;",
                                 f"kmen_session_cache_ttl {ttl};"),
                       "worker_processes 1;": "worker_processes 2;",
                       "kmen_auth on; ": f"kmen_auth on; proxy_set_header {WORKER} $pid; "})
    n.conf.write_text(re.sub(r"(listen 127\.0\.0\.1:\d+)", r"\1 reuseport",
                             n.conf.read_text()))
    return n


def connection_to_each_worker(n, cookie):
    """Kept-alive connections to N holding the session COOKIE, at least one served by each of
    its two workers, each having opened the session (and kept it): {worker's pid: session}."""
    found = {}
    for _ in range(40):
        other = requests.Session()
        other.headers["Cookie"] = f"kmen_session={cookie}"
        r = other.get(n.base_url + "/app/headers.json", allow_redirects=False, timeout=10)
        assert r.status_code == 200, (r.status_code, n.read_error_log())
        found.setdefault({k.lower(): v for k, v in r.json().items()}[WORKER.lower()], other)
        if len(found) == 2:
            return found
    raise AssertionError(f"one worker took every connection: {list(found)}")


def starts_a_login(other, n, stack):
    r = other.get(n.base_url + "/app/headers.json", allow_redirects=False, timeout=10)
    return r.status_code == 303 and flow.location(r).startswith(stack.sso_url)


def test_a_logout_on_one_worker_ends_the_session_in_every_worker_at_once(stack, nginx, s):
    """Each worker reuses a session it opened for a moment, as each httpd child does; a
    logout through any worker drops every worker's copy at once (the zone's generation): the
    old cookie starts a login on every connection the next time, whichever worker serves it."""
    n = kept_workers(nginx, stack, 600).start()
    flow.login(s, stack, identity="cz-jiri")
    others = connection_to_each_worker(n, s.cookies.get("kmen_session"))
    for other in others.values():  # kept again, should a copy have lapsed meanwhile
        assert other.get(n.base_url + "/app/headers.json", allow_redirects=False,
                         timeout=10).status_code == 200
    logout_on_nginx(s, stack, n)
    for worker, other in others.items():
        assert starts_a_login(other, n, stack), f"worker {worker} still opens the session"


@pytest.mark.parametrize("ttl", [0, 2])
def test_a_session_ended_on_another_node_lasts_no_longer_than_the_cache_ttl(
        stack, nginx, s, uncached_node, ttl):
    """A session ended on another node (the Apache one: the same database, not the same
    zone): nginx trusts what it opened for kmen_session_cache_ttl, as an Apache node trusts its
    cache for KmenSessionCacheTTL, and a worker's copy no longer than that: with 0 the next
    request is refused; with 2 it is served a while longer, then refused however often it is
    asked meanwhile (using a copy does not extend it)."""
    n = kept_workers(nginx, stack, ttl).start()
    flow.login(s, stack, identity="cz-petr")
    other = requests.Session()
    other.headers["Cookie"] = f"kmen_session={s.cookies.get('kmen_session')}"
    for _ in range(3):
        assert other.get(n.base_url + "/app/headers.json", allow_redirects=False,
                         timeout=10).status_code == 200
    r = s.get(uncached_node.base_url + "/kmen/logout?ReturnTo=/public/", allow_redirects=False)
    assert r.status_code == 303, r.text
    if ttl == 0:
        assert starts_a_login(other, n, stack), "served after it ended"
        return
    assert not starts_a_login(other, n, stack), "not served from the zone"
    assert poll(lambda: starts_a_login(other, n, stack), timeout=30, every=0.1), \
        "served longer than kmen_session_cache_ttl"


# --- the backend's commands: Kmen-Link-System, Kmen-Potential-Contact, Kmen-Complete, --------
# --- Kmen-Evidence-Request, acted on as httpd's output filter acts on them -------------------
def sent_kmen_headers(headers):
    """The names of the Kmen-* headers among an answer's HEADERS (the browser's view)."""
    return [name for name in headers if name.lower().startswith("kmen-")]


def command(port, path, cookie=None, method="GET"):
    """(status, response headers, body) of nginx's answer to PATH, which the portal answers
    with a command; asserts that the browser got none of them, whatever the answer."""
    status, headers, body = flow.send_raw(port, path, [f"Cookie: {cookie}"] if cookie else [],
                                          method=method)
    assert not sent_kmen_headers(dict(headers)), headers
    return status, dict(headers), body


def test_the_backends_commands_act_as_on_httpd(stack, nginx, apache_login):
    """Kmen-Link-System where kmen_accept_link_system is on links the system to the session's
    client; Kmen-Potential-Contact where kmen_accept_contact is on (no login needed) records a
    potential client; Kmen-Complete: link= where kmen_allow_link is on asks the register, which
    refuses an unknown client (409, the backend's page replaced, also unbuffered (proxy_buffering
    off) and to a HEAD); Kmen-Evidence-Request where
    kmen_accept_evidence_request is on, without an evidence service, is ignored as on httpd.
    The same commands in a location without the switch, or to no session, change nothing.
    No command reaches the browser, acted on or not."""
    cookie, genuine = apache_login
    cid = genuine["kmen-client-id"]
    n = nginx(server="\n".join([
        location(stack, "/app/", "kmen_accept_link_system on;", "kmen_allow_link on;",
                 "kmen_accept_evidence_request on;"),
        location(stack, "/plain/"),
        location(stack, "/unbuffered/", "kmen_allow_link on;", "proxy_buffering off;"),
        f"location /desk/ {{ kmen_accept_contact on; "
        f"proxy_pass http://127.0.0.1:{stack.portal_port}; }}",
        proxied(stack, "/public/", protected=())])).start()
    clients = stack.count("client")
    assert command(n.port, "/app/link?system=ngx-linked", cookie)[0] == 200
    assert command(n.port, "/plain/link?system=ngx-plain", cookie)[0] == 200
    assert command(n.port, "/public/link?system=ngx-public")[0] == 200
    systems = kmen.systems(stack, cid)
    assert "ngx-linked" in systems and not {"ngx-plain", "ngx-public"} & set(systems), systems
    status, _, body = command(n.port, "/desk/contact?email=ngx.desk%40example.cz&name=Desk")
    assert status == 200 and b'id="contact"' in body, body
    assert command(n.port, "/public/contact?email=ngx.public%40example.cz")[0] == 200
    potential = re.findall(r"KMEN0676: potential client from a contact: ([0-9a-f-]{36})",
                           n.read_error_log())
    assert len(potential) == 1 and stack.count("client") == clients + 1, potential
    assert stack.query("SELECT potential FROM kmen.client WHERE client_id = %s",
                       potential) == [(True,)]
    unknown = uuid.uuid4()
    status, headers, body = command(n.port, f"/app/complete?value=link={unknown}", cookie)
    assert status == 409 and b"The verification cannot be completed" in body, (status, body)
    assert b"Verified" not in body and headers.get("Content-Length") == str(len(body))
    status, _, unbuffered = command(n.port, f"/unbuffered/complete?value=link={unknown}", cookie)
    assert status == 409 and unbuffered.split(b"Request ID")[0] == body.split(b"Request ID")[0]
    status, headers, nothing = command(n.port, f"/app/complete?value=link={unknown}", cookie,
                                       method="HEAD")
    assert status == 409 and nothing == b"", (headers, nothing)
    assert command(n.port, f"/plain/complete?value=link={unknown}", cookie)[0] == 200
    # a country no other test asks in: the portal asks a client once per page and query
    assert command(n.port, "/app/evidence-request?type=birth-certificate&country=PL",
                   cookie)[0] == 200
    assert command(n.port, "/plain/evidence-request?type=birth-certificate&country=PL",
                   cookie)[0] == 200
    log = n.read_error_log()
    assert "[alert]" not in log and "[crit]" not in log and "[error]" not in log, log
    for line in ["Kmen-Link-System ignored: kmen_accept_link_system is off for /plain/link",
                 "KMEN0675: Kmen-Potential-Contact ignored: kmen_accept_contact is off",
                 "KMEN0674: potential client link: ",
                 "Kmen-Complete ignored: link= not sent from kmen_verify_path or a "
                 "kmen_allow_link place",
                 "KMEN0681: Kmen-Evidence-Request ignored: no kmen_evidence_url",
                 "Kmen-Evidence-Request ignored: kmen_accept_evidence_request is off for "
                 "/plain/evidence-request"]:
        assert line in log, (line, log)
    assert kmen_headers(get_json(n.port, "/app/headers.json", cookie=cookie)[2]) == genuine
    no_person_data_in(log, stack, "cz-jiri")


def test_an_evidence_request_sends_the_person_to_the_evidence_service(stack, nginx,
                                                                      apache_login):
    """Kmen-Evidence-Request where kmen_accept_evidence_request is on and the server{} has
    kmen_evidence_url: the request recorded and the backend's answer replaced by a 303 to the
    evidence service, with the request's id, type, country and the page to return to, as
    httpd sends it (command(): the command never reaches the browser)."""
    cookie, _ = apache_login
    n = nginx(server=location(stack, "/app/", "kmen_accept_evidence_request on;")
              + f"\nkmen_evidence_url {stack.evidence_url};").start()
    before = stack.count("evidence")
    # a country no other test asks in: the portal asks a client once per page and query
    status, headers, body = command(n.port, "/app/evidence-request?type=birth-certificate"
                                    "&country=AT", cookie)
    assert status == 303 and body == b"", (status, headers, body)
    p = urlsplit(headers["Location"])
    assert f"{p.scheme}://{p.netloc}{p.path}" == stack.evidence_url, headers
    q = {k: v[0] for k, v in parse_qs(p.query).items()}
    assert set(q) == {"request", "type", "country", "return"} and q["country"] == "AT", q
    assert urlsplit(q["return"]).path == "/app/evidence-request", q
    assert stack.count("evidence") == before + 1


def test_a_foreigners_verification_completes_on_nginx(stack, nginx, rows):
    """Kmen-Complete from kmen_verify_path for a pending foreigner: the database down, 503 with
    Retry-After and still pending; an unknown client to link, 409 and still pending; new, the
    backend's page passes, the register has the new client (its audit row as httpd writes
    it) and the session is upgraded at once on nginx, and on httpd's node once its cache
    lets go of the pending one."""
    with requests.Session() as s:
        flow.login(s, stack, identity="hu-nagy")
        cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    n = nginx(server=location(stack, "/app/", "kmen_verify_path /app/verify/;"),
              replace=in_http("kmen_session_zone kmen_sessions 1m;",
                              "kmen_session_cache_ttl 600;")).start()

    def status_of():
        return kmen_headers(get_json(n.port, "/app/verify/headers.json", cookie=cookie)[2])

    assert status_of()["kmen-client-status"] == "pending"
    links = rows("client_pseudonym")
    with stack.postgres_down():
        status, headers, body = command(n.port, "/app/verify/complete?value=new", cookie)
        assert status == 503 and headers.get("Retry-After") == "30", (headers, body)
        assert b"Temporarily unavailable" in body and b"Verified" not in body
    answers = []
    poll(lambda: answers.append(command(n.port, f"/app/verify/complete?value=link="
                                        f"{uuid.uuid4()}", cookie)) or answers[-1][0] != 503,
         timeout=30)
    assert answers[-1][0] == 409 and b"The verification cannot be completed" in answers[-1][2]
    assert status_of()["kmen-client-status"] == "pending" and rows("client_pseudonym") == links
    status, _, body = command(n.port, "/app/verify/complete?value=new", cookie)
    assert status == 200 and b'id="verified"' in body, body
    mine = kmen_headers(get_json(n.port, "/app/headers.json", cookie=cookie)[2])
    assert mine["kmen-client-status"] == "new" and mine["kmen-client-id"], mine
    assert rows("client_pseudonym") == links + 1
    assert stack.query("SELECT outcome FROM kmen.audit WHERE event = 'complete' "
                       "AND client_id = %s", (mine["kmen-client-id"],)) == [("new",)]

    def on_httpd():  # once its session cache's copy (KmenSessionCacheTTL) has expired
        r = requests.get(stack.base_url + "/app/headers.json", headers={"Cookie": cookie},
                         allow_redirects=False, timeout=10)
        return r.status_code == 200 and kmen_headers(r.json())

    assert poll(lambda: on_httpd() == mine, timeout=30), on_httpd()
