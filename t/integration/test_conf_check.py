# SPDX-License-Identifier: GPL-2.0-or-later
"""The core's configuration checks (core/conf_check.c, t/unit/conf_check_test.c) as both servers
say them: the same bad configuration stops `apache2 -t` and `nginx -t`, each naming the
directive in its own spelling, with its value and the file:line where it stands (for a missing
one: httpd names nothing more in the main server, nginx the line of the kmen_sp_entity_id that
needs it)."""

import re

import pytest

from t.lib import REPO
from t.lib.httpd import Httpd, config_text as httpd_config_text
from t.lib.nginx import Nginx, config_text as nginx_config_text

# Each directive as (httpd, nginx) spell it.
ENTITY_ID = ("KmenSPEntityID", "kmen_sp_entity_id")
ALLOW_HTTP = ("KmenAllowHTTP", "kmen_allow_http")
ACS_BASE_URL = ("KmenACSBaseURL", "kmen_acs_base_url")
KEY = ("KmenSPPrivateKeyFile", "kmen_sp_private_key_file")
CERT = ("KmenSPCertificateFile", "kmen_sp_certificate_file")
ENC_KEY = ("KmenSPEncryptionKeyFile", "kmen_sp_encryption_key_file")
HEADER_PREFIX = ("KmenHeaderPrefix", "kmen_header_prefix")
SERVERS = {"httpd": 0, "nginx": 1}

# (edit, the directive refused, its occurrence (1: the second), its value (None: the site's
# entity ID; "": none, it is missing), the problem as httpd says it, as nginx says it).
# An edit drops the directive's line, or adds one with VALUE after the demo switch (the last
# of the site's SP directives in both configurations).
CASES = {
    "http-entity-id": (
        ("drop", ALLOW_HTTP, None), ENTITY_ID, 0, None,
        "NIA logins need https (KmenAllowHTTP On only for a demo)",
        "NIA logins need https (kmen_allow_http on only for a demo)"),
    # nginx let this one through while it checked the URLs itself: the scheme alone
    "acs-base-url-with-a-query": (
        ("add", ACS_BASE_URL, "https://portal.example.cz/?a=b"), ACS_BASE_URL, 0,
        "https://portal.example.cz/?a=b",
        "expected https://host[:port][/prefix], without query, fragment or user",
        "expected https://host[:port][/prefix], without query, fragment or user"),
    "acs-base-url-not-absolute": (
        ("add", ACS_BASE_URL, "portal.example.cz"), ACS_BASE_URL, 0, "portal.example.cz",
        "expected an absolute https URL", "expected an absolute https URL"),
    "encryption-key-without-its-certificate": (
        ("add", ENC_KEY, "/nonexistent/enc-key.pem"), ENC_KEY, 0, "/nonexistent/enc-key.pem",
        "needs a KmenSPEncryptionCertificateFile, its certificate",
        "needs a kmen_sp_encryption_certificate_file, its certificate"),
    "second-key-without-a-second-certificate": (
        ("add", KEY, "/nonexistent/next-key.pem"), KEY, 1, "/nonexistent/next-key.pem",
        "a second key needs a second KmenSPCertificateFile, its certificate",
        "a second key needs a second kmen_sp_certificate_file, its certificate"),
    # empty, it would strip every request header; this one no header name may hold
    "header-prefix-not-a-header-name": (
        ("add", HEADER_PREFIX, "Kmen@-"), HEADER_PREFIX, 0, "Kmen@-",
        "expected the start of a header name: letters, digits and !#$%&'*+-.^_`|~, at least one",
        "expected the start of a header name: letters, digits and !#$%&'*+-.^_`|~, at least one"),
    "missing-certificate": (
        ("drop", CERT, None), CERT, 0, "", "is required", "is required"),
}


def edited(text, edit, server):
    """TEXT, a configuration of SERVER, with EDIT made."""
    action, directive, value = edit
    name, line_end = directive[SERVERS[server]], ";" if server == "nginx" else ""
    lines = text.splitlines()
    if action == "drop":
        kept = [line for line in lines if not line.strip().startswith(name + " ")]
        assert len(kept) == len(lines) - 1, name
        return "\n".join(kept)
    switch = next(i for i, line in enumerate(lines)
                  if line.strip().startswith(ALLOW_HTTP[SERVERS[server]] + " "))
    indent = lines[switch][:len(lines[switch]) - len(lines[switch].lstrip())]
    lines.insert(switch + 1, f"{indent}{name} {value}{line_end}")
    return "\n".join(lines)


def lines_of(conf, name):
    """The numbers of the lines of CONF that give the directive NAME."""
    return [i for i, line in enumerate(conf.read_text().splitlines(), 1)
            if re.match(re.escape(name) + "[ ;]", line.strip())]


def httpd_refusal(h, directive, second, value, problem):
    name = directive[0]
    if not value:
        return f"{name} {problem}"
    return f"{name} {value} ({h.conf}:{lines_of(h.conf, name)[second]}): {problem}"


def nginx_refusal(n, directive, second, value, problem):
    name = directive[1]
    if not value:
        entity_id = lines_of(n.conf, ENTITY_ID[1])[0]
        return f"{name} {problem} by {ENTITY_ID[1]} in {n.conf}:{entity_id}"
    return f"{name} {value}: {problem} in {n.conf}:{lines_of(n.conf, name)[second]}"


@pytest.mark.parametrize("case", CASES)
def test_httpd_refuses_it_in_its_spelling(stack, case):
    edit, directive, second, value, problem, _ = CASES[case]
    h = Httpd(parent=stack.dir)
    try:
        text = httpd_config_text(h.dir, h.port, stack.portal_port, stack.site())
        rc, out = h.write_config(edited(text, edit, "httpd")).configtest()
        message = httpd_refusal(h, directive, second, stack.entity_id if value is None else value,
                                problem)
        assert rc != 0 and re.search(r"KMEN0642: mod_kmen: " + re.escape(message) + "$", out,
                                     re.M), (message, out)
    finally:
        h.cleanup()


@pytest.mark.parametrize("case", CASES)
def test_nginx_refuses_it_in_its_spelling(stack, nginx_module, case):
    edit, directive, second, value, _, problem = CASES[case]
    n = Nginx(parent=stack.dir)
    try:
        text = nginx_config_text(n.dir, n.port, stack.site())
        rc, out = n.write_config(edited(text, edit, "nginx")).configtest()
        message = nginx_refusal(n, directive, second, stack.entity_id if value is None else value,
                                problem)
        assert rc != 0 and re.search(r"^nginx: \[emerg\] " + re.escape(message) + "$", out,
                                     re.M), (message, out)
    finally:
        n.cleanup()


def test_the_unedited_configurations_pass(stack, nginx_module):
    """The cases' base: what each server refuses is the edit alone."""
    h, n = Httpd(parent=stack.dir), Nginx(parent=stack.dir)
    try:
        rc, out = h.write_config(httpd_config_text(h.dir, h.port, stack.portal_port,
                                                   stack.site())).configtest()
        assert rc == 0 and "Syntax OK" in out, out
        rc, out = n.write_config(nginx_config_text(n.dir, n.port, stack.site())).configtest()
        assert rc == 0 and "test is successful" in out, out
    finally:
        h.cleanup()
        n.cleanup()


def test_nginx_names_its_directives_as_the_field_list_does():
    """The rows of the module's directive table written by hand (the server and location
    settings' are expanded from the list itself) agree with the nginx column of core/conf_fields.h, by
    which the core spells nginx's refusals."""
    fields = (REPO / "core" / "conf_fields.h").read_text().replace("\\\n", " ")
    column = dict(re.findall(r'X\(\w+,\s*\w+,[^()]*?,\s*\w+,\s*"(\w+)",\s*"(\w+)"\)', fields))
    assert len(column) > 40, column
    table = (REPO / "nginx" / "ngx_http_kmen_module.c").read_text()
    # each entry up to the next: kmen_auth and kmen_endpoints name no httpd directive
    entries = [(name, httpd[0]) for name, rest in
               re.findall(r'ngx_string\("(\w+)"\)(.*?)(?=ngx_string|ngx_null_command)', table, re.S)
               for httpd in [re.findall(r'AS(?:_[A-Z]+)?\("(\w+)"', rest)] if httpd]
    assert "kmen_sp_type" in {name for name, _ in entries}, entries
    assert {httpd: column[httpd] for _, httpd in entries} == {
        httpd: nginx for nginx, httpd in entries}
