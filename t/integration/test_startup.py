# SPDX-License-Identifier: GPL-2.0-or-later
"""Startup checks: `apachectl configtest` refuses a configuration a webmaster got wrong,
with one line saying what to fix; a database that is down is no reason to refuse."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from t.lib import flow
from t.lib.httpd import Httpd, config_text, free_port


def site_config(stack, h, replace=None, drop=None, **site_changes):
    site = stack.site()
    for k, v in site_changes.items():
        setattr(site, k, v)
    text = config_text(h.dir, h.port, stack.portal_port, site)
    if drop:
        text = "\n".join(line for line in text.splitlines() if not line.startswith(drop))
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def configtest(stack, **kw):
    rc, out, _ = configtest_of(stack, **kw)
    return rc, out


def configtest_of(stack, timeout=60, **kw):
    """configtest(), and the Httpd whose config it tested (for where a directive stands)."""
    h = Httpd(parent=stack.dir)
    h.write_config(site_config(stack, h, **kw))
    return (*h.configtest(timeout=timeout), h)


def where(h, directive, vhost=None):
    """" (<httpd.conf>:<line>)": where mod_kmen's messages say DIRECTIVE stands in H's config;
    with VHOST (name:port) the virtual host too."""
    lines = h.conf.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1)
                  if line.strip().startswith(directive + " "))
    return f" ({h.conf}:{number}" + (f", virtual host {vhost})" if vhost else ")")


def logged(out, message):
    """MESSAGE is one whole line of mod_kmen's startup log (KMEN0642 for a refusal)."""
    return re.search(r"KMEN\d{4}: mod_kmen: " + re.escape(message) + "$", out, re.M)


def root_only_copy(stack, source, name, mode=0o600):
    """A copy of SOURCE in the stack's directory, owned by root (the tests run as root)."""
    path = stack.dir / name
    path.write_bytes(Path(source).read_bytes())
    os.chown(path, 0, 0)
    path.chmod(mode)
    return path


def test_a_correct_configuration_passes(stack):
    rc, out = configtest(stack)
    assert rc == 0 and "Syntax OK" in out, out


@pytest.mark.parametrize("directive", ["KmenSPEntityID", "KmenSPPrivateKeyFile",
                                       "KmenIdPMetadataFile", "KmenDatabase",
                                       "KmenRegisterKeyFile"])
def test_a_missing_required_directive_is_named(stack, directive):
    rc, out = configtest(stack, drop=directive + " ")
    assert rc != 0 and logged(out, f"{directive} is required"), out


def test_a_directive_missing_in_a_virtual_host_names_it(stack):
    """No line to name: the virtual host that lacks it is named."""
    h = Httpd(parent=stack.dir)
    text = site_config(stack, h)
    kmen = [line for line in text.splitlines()
            if line.startswith("Kmen") and not line.startswith("KmenDatabase ")]
    rest = [line for line in text.splitlines() if not line.startswith("Kmen")]
    h.write_config("\n".join(rest) + f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName vhost.example
    {chr(10).join(kmen)}
</VirtualHost>
""")
    rc, out = h.configtest()
    assert rc != 0 and logged(out, f"KmenDatabase is required (virtual host "
                              f"vhost.example:{h.port})"), out


def test_an_unreadable_key_is_named(stack):
    rc, out, h = configtest_of(stack, replace={
        f"{stack.keys.dir}/sp-key.pem": "/nonexistent/sp-key.pem"})
    assert rc != 0 and logged(out, "KmenSPPrivateKeyFile /nonexistent/sp-key.pem"
                              f"{where(h, 'KmenSPPrivateKeyFile')}: cannot read: No such file "
                              "or directory"), out


def test_a_key_that_does_not_match_the_certificate(stack):
    rc, out, h = configtest_of(stack, replace={
        f"{stack.keys.dir}/sp-key.pem": str(stack.keys.wrong_key)})
    assert rc != 0 and logged(out, f"KmenSPPrivateKeyFile {stack.keys.wrong_key}"
                              f"{where(h, 'KmenSPPrivateKeyFile')}: does not belong to "
                              "KmenSPCertificateFile"), out


def test_expired_idp_metadata(stack):
    expired = stack.dir / "expired-metadata.xml"
    text = re.sub(r"<(\w+:)?EntityDescriptor ",
                  r'<\1EntityDescriptor validUntil="2020-01-01T00:00:00Z" ',
                  stack.idp_metadata.read_text(), count=1)
    assert 'validUntil="2020' in text
    expired.write_text(text)
    expired.chmod(0o644)
    rc, out, h = configtest_of(stack, idp_metadata=expired, idp_metadata_cert=None)
    assert rc != 0 and re.search(
        rf"KMEN0642: mod_kmen: KmenIdPMetadataFile {re.escape(str(expired))}"
        rf"{re.escape(where(h, 'KmenIdPMetadataFile'))}: expired \(validUntil [^)]+2020[^)]*\): "
        r"download NIA's current federation metadata$", out, re.M), out


def test_unparsable_idp_metadata(stack):
    broken = stack.dir / "broken-metadata.xml"
    broken.write_text("<not metadata")
    broken.chmod(0o644)
    rc, out, h = configtest_of(stack, idp_metadata=broken, idp_metadata_cert=None)
    assert rc != 0 and logged(out, f"KmenIdPMetadataFile {broken}"
                              f"{where(h, 'KmenIdPMetadataFile')}: is not well-formed XML"), out


def test_idp_metadata_without_a_signing_certificate(stack):
    """mod_kmen checks NIA's logout messages against these keys itself: none, no start."""
    unsigned = stack.dir / "no-signing-key-metadata.xml"
    text = stack.idp_metadata.read_text().replace('use="signing"', 'use="encryption"')
    assert 'use="encryption"' in text
    unsigned.write_text(text)
    unsigned.chmod(0o644)
    rc, out, h = configtest_of(stack, idp_metadata=unsigned, idp_metadata_cert=None)
    assert rc != 0 and logged(out, f"KmenIdPMetadataFile {unsigned}"
                              f"{where(h, 'KmenIdPMetadataFile')}: has no signing certificate of "
                              "an IdP (KeyDescriptor in IDPSSODescriptor)"), out


def test_http_entity_id_needs_the_demo_switch(stack):
    rc, out, h = configtest_of(stack, drop="KmenAllowHTTP")
    assert rc != 0 and logged(out, f"KmenSPEntityID {stack.entity_id}"
                              f"{where(h, 'KmenSPEntityID')}: NIA logins need https "
                              "(KmenAllowHTTP On only for a demo)"), out


def test_acs_base_url_needs_https_and_is_named_with_its_virtual_host(stack):
    """KmenACSBaseURL: http:// only with KmenAllowHTTP On; a query or a user is no base URL.
    The refusal names the line and the virtual host."""
    h = Httpd(parent=stack.dir)
    for value, problem in [
            ("http://portal.vhost.example", "NIA logins need https (KmenAllowHTTP On only for "
                                            "a demo)"),
            ("https://portal.vhost.example/?a=b", "expected https://host[:port][/prefix], "
                                                  "without query, fragment or user"),
            ("/kmen", "expected an absolute https URL")]:
        h.write_config(site_config(stack, h) + f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName vhost.example
    KmenSPEntityID https://sep.vhost.example/
    KmenAllowHTTP Off
    KmenACSBaseURL {value}
</VirtualHost>
""")
        rc, out = h.configtest()
        assert rc != 0 and logged(out, f"KmenACSBaseURL {value}"
                                  f"{where(h, 'KmenACSBaseURL', f'vhost.example:{h.port}')}: "
                                  f"{problem}"), out
    rc, out = configtest(stack, replace={"KmenAllowHTTP On": "KmenAllowHTTP On\n"
                                         "KmenACSBaseURL http://portal.example:8080/prefix/"})
    assert rc == 0 and "Syntax OK" in out, out


def test_transient_nameid_format_is_accepted_with_a_warning(stack):
    """KmenNameIDFormat transient starts (a configuration saying it must not stop httpd) but
    warns, with its line, that NIA does not honour it."""
    rc, out, h = configtest_of(stack, replace={"KmenAllowHTTP On": "KmenAllowHTTP On\n"
                                               "KmenNameIDFormat transient"})
    assert rc == 0 and "Syntax OK" in out, out
    assert logged(out, f"KmenNameIDFormat transient{where(h, 'KmenNameIDFormat')}: NIA answers "
                  "with a persistent NameID all the same: transient is not honoured"), out
    rc, out = configtest(stack)
    assert rc == 0 and "KmenNameIDFormat" not in out, out


def test_bad_directive_values_are_refused(stack):
    for line, message in [("KmenLoA medium", "KmenLoA: expected low, substantial or high"),
                          ("KmenRegisterAgenda 8566", "expected an agenda code"),
                          ("KmenHeaderEncoding utf7", "KmenHeaderEncoding: expected"),
                          ("KmenHomeCountry CZE", "KmenHomeCountry: expected")]:
        h = Httpd(parent=stack.dir)
        text = site_config(stack, h)
        if line.startswith("KmenLoA"):
            text += f"\n<Location /x>\n{line}\n</Location>\n"
        else:
            text += "\n" + line + "\n"
        h.write_config(text)
        rc, out = h.configtest()
        assert rc != 0 and message in out, (line, out)


def test_database_down_at_startup_is_not_fatal(stack):
    down = f"host=127.0.0.1 port={free_port()} dbname=kmen user=kmen_module connect_timeout=2"
    h = Httpd(parent=stack.dir)
    h.write_config(site_config(stack, h, conninfo=down))
    h.start()
    try:
        r = requests.get(h.base_url + "/kmen/health", timeout=10)
        assert r.status_code == 503
        assert r.json()["database"] == "down"
        r = requests.get(h.base_url + "/app/", allow_redirects=False, timeout=10)
        assert r.status_code == 503 and r.headers.get("Retry-After")
    finally:
        h.stop()


def test_error_document_serves_the_portals_page_with_the_status(stack):
    """KmenErrorDocument: the portal's own page, the original status, and why."""
    h = Httpd(parent=stack.dir)
    (h.dir / "htdocs" / "kmen-error.html").write_text("<p>portal's own error page</p>\n")
    h.write_config(site_config(stack, h) + "\nKmenErrorDocument /kmen-error.html\n")
    h.start()
    try:
        s = requests.Session()
        r = s.get(h.base_url + "/kmen/login?ReturnTo=//evil.example", allow_redirects=False)
        assert r.status_code == 400 and "portal's own error page" in r.text, r.text[:300]
        r = s.post(h.base_url + "/kmen/acs", data={"SAMLResponse": "garbage"})
        assert r.status_code == 400 and "portal's own error page" in r.text
    finally:
        h.stop()


@pytest.mark.parametrize("value", ["-1", "many", "1000001", "60/min"])
def test_a_bad_login_start_limit_is_refused(stack, value):
    rc, out = configtest(stack, replace={"KmenLoginStartLimit 0": f"KmenLoginStartLimit {value}"})
    assert rc != 0
    assert f"KmenLoginStartLimit: expected login starts per minute and client address, 0 to " \
           f"1000000 (0: no limit), got {value}" in out, out


def test_host_cookie_needs_secure(stack):
    """Browsers drop a __Host- cookie that is not Secure: every login would fail."""
    rc, out, h = configtest_of(stack, replace={"KmenCookieSecure Off": "KmenCookieSecure Off\n"
                                               "KmenCookieName __Host-portal_session"})
    assert rc != 0 and logged(out, "KmenCookieName __Host-portal_session"
                              f"{where(h, 'KmenCookieName')}: a __Host- cookie needs "
                              "KmenCookieSecure On"), out


def test_a_virtual_hosts_cookie_mistake_names_the_virtual_host(stack):
    """A refusal of the module's own checks (not only configcheck's) names the virtual host,
    and the line of the directive, here inside it."""
    h = Httpd(parent=stack.dir)
    h.write_config(site_config(stack, h) + f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName vhost.example
    KmenCookieName __Host-vhost_session
</VirtualHost>
""")
    rc, out = h.configtest()
    assert rc != 0 and logged(out, "KmenCookieName __Host-vhost_session"
                              f"{where(h, 'KmenCookieName', f'vhost.example:{h.port}')}: "
                              "a __Host- cookie needs KmenCookieSecure On"), out


def test_secure_cookies_are_host_only_by_default(stack):
    """With KmenCookieSecure On (the default) and no KmenCookieName, the cookies are
    __Host- cookies: Secure, Path=/, no Domain, so no sibling subdomain can set them."""
    node = stack.new_httpd(extra="KmenCookieSecure On")
    r = requests.get(f"http://localhost:{node.port}/app/", allow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    name, _ = flow.state_cookie(r, "__Host-kmen_session")
    assert cookie.startswith(name + "="), cookie
    assert "; Secure" in cookie and "; Path=/" in cookie and "Domain" not in cookie, cookie


def test_an_unknown_session_cache_provider_is_refused(stack):
    """Today's configtest passed it, and the next graceful restart stopped the live server."""
    rc, out, h = configtest_of(stack, replace={'KmenSessionCache "shmcb:':
                                               'KmenSessionCache "shmbc:'})
    value = f"shmbc:{h.dir}/kmen-sessions(1024000)"
    assert rc != 0 and logged(out, f"KmenSessionCache {value}{where(h, 'KmenSessionCache')}: "
                              "no socache provider 'shmbc' (LoadModule socache_shmbc_module?); "
                              "loaded: default, shmcb"), out


def test_a_session_cache_that_cannot_start_is_named(stack):
    """The provider exists (configtest passes); its arguments are refused at start only."""
    h = Httpd(parent=stack.dir)
    h.write_config(site_config(stack, h, replace={"kmen-sessions(1024000)": "kmen-sessions(100)"}))
    assert h.configtest()[0] == 0
    with open(h.dir / "stderr.log", "wb") as out:
        proc = subprocess.Popen(h.command("-DFOREGROUND"), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=h.environment())
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # it started after all: stop it, and fail below
        proc.terminate()
        proc.wait(15)
        rc = 0
    out = h.read_stderr() + h.read_error_log()
    assert rc != 0 and re.search(r"KMEN0643: mod_kmen: " + re.escape(
        f"KmenSessionCache shmcb:{h.dir}/kmen-sessions(100){where(h, 'KmenSessionCache')}: "),
        out), out


def test_a_malformed_database_string_is_refused(stack):
    """Parsed by libpq without connecting (a database that is down still starts: above)."""
    rc, out, h = configtest_of(stack, conninfo="host=127.0.0.1 dbname")
    assert rc != 0 and logged(out, f"KmenDatabase{where(h, 'KmenDatabase')}: libpq cannot parse "
                              'the connection string: missing "=" after "dbname" in connection '
                              "info string"), out


def test_a_translator_without_https_is_refused(stack):
    plain = stack.translator.url.replace("https://", "http://")
    rc, out, h = configtest_of(stack, replace={f"KmenTranslatorURL {stack.translator.url}":
                                               f"KmenTranslatorURL {plain}"})
    assert rc != 0 and logged(out, f"KmenTranslatorURL {plain}{where(h, 'KmenTranslatorURL')}: "
                              "the translation gateway needs an https:// URL"), out


def test_a_virtual_hosts_mistake_names_the_virtual_host(stack):
    h = Httpd(parent=stack.dir)
    text = site_config(stack, h) + f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName vhost.example
    KmenTranslatorURL http://gateway.example
</VirtualHost>
"""
    h.write_config(text)
    rc, out = h.configtest()
    line = text.splitlines().index("    KmenTranslatorURL http://gateway.example") + 1
    assert rc != 0 and logged(out, f"KmenTranslatorURL http://gateway.example ({h.conf}:{line}, "
                              f"virtual host vhost.example:{h.port}): the translation gateway "
                              "needs an https:// URL"), out


@pytest.mark.parametrize("directive,source", [("KmenTranslatorCertificateFile", "client_cert"),
                                              ("KmenTranslatorKeyFile", "client_key"),
                                              ("KmenTranslatorCAFile", "ca_cert")])
def test_a_translator_file_the_children_cannot_read_is_refused(stack, directive, source):
    """httpd's children (www-data) open these at every call: today every first login failed
    with KMEN0652 while configtest said Syntax OK."""
    original = getattr(stack.keys, source)
    private = root_only_copy(stack, original, f"root-only-{source}.pem")
    rc, out, h = configtest_of(stack, replace={f"{directive} {original}":
                                               f"{directive} {private}"})
    assert rc != 0 and logged(out, f"{directive} {private}{where(h, directive)}: httpd's "
                              "children (user www-data) cannot read it (owner uid 0, group gid 0, "
                              "mode 0600)"), out


def test_an_encrypted_sp_key_is_refused_without_a_prompt(stack):
    """OpenSSL's default asks for the passphrase on the terminal: configtest hung there."""
    encrypted = stack.dir / "sp-key-encrypted.pem"
    subprocess.run(["openssl", "pkey", "-in", str(stack.keys.sp_key), "-aes256",
                    "-passout", "pass:x", "-out", str(encrypted)], check=True)
    encrypted.chmod(0o600)
    assert "ENCRYPTED" in encrypted.read_text()
    rc, out, h = configtest_of(stack, timeout=20, replace={
        f"KmenSPPrivateKeyFile {stack.keys.sp_key}": f"KmenSPPrivateKeyFile {encrypted}"})
    assert "pass phrase" not in out, out
    assert rc != 0 and logged(out, f"KmenSPPrivateKeyFile {encrypted}"
                              f"{where(h, 'KmenSPPrivateKeyFile')}: is encrypted: mod_kmen needs "
                              f"an unencrypted key (openssl pkey -in {encrypted} -out <new key "
                              "file>, readable by root only)"), out


def test_a_register_key_every_user_can_read_is_warned_about(stack):
    readable = root_only_copy(stack, stack.keys.register_key, "register-0644.key", mode=0o644)
    rc, out, h = configtest_of(stack, replace={f"KmenRegisterKeyFile {stack.keys.register_key}":
                                               f"KmenRegisterKeyFile {readable}"})
    assert rc == 0 and "Syntax OK" in out, out
    assert logged(out, f"KmenRegisterKeyFile {readable}{where(h, 'KmenRegisterKeyFile')}: every "
                  "local user can read it (mode 0644): chmod o-r it"), out


def test_allow_http_is_warned_about(stack):
    rc, out, h = configtest_of(stack)
    assert rc == 0 and "Syntax OK" in out, out
    assert logged(out, f"KmenAllowHTTP On{where(h, 'KmenAllowHTTP')}: only for a demo: cookies "
                  "and SAML messages travel in clear text"), out
    assert "KmenRegisterKeyFile" not in out, out  # the test site's register key is 0600


def test_health_without_a_translator_is_degraded_but_200(stack):
    """The load balancer keeps the node (people the register knows still log in); the
    webmaster sees that first logins cannot be resolved."""
    r = requests.get(stack.base_url + "/kmen/health", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok" and "reason" not in r.json()
    h = Httpd(parent=stack.dir)
    h.write_config(site_config(stack, h, translator_url=""))
    h.start()
    try:
        r = requests.get(h.base_url + "/kmen/health", timeout=10)
        doc = r.json()
        assert r.status_code == 200, r.text
        assert doc["status"] == "degraded" and doc["translator"] == "not configured", doc
        assert doc["reason"] == "no KmenTranslatorURL: first logins cannot be resolved", doc
        assert doc["database"] == "ok" and doc["idp_metadata"]["valid"] is True, doc
    finally:
        h.stop()
