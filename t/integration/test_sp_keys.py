# SPDX-License-Identifier: GPL-2.0-or-later
"""SP key rollover: KmenSPPrivateKeyFile and KmenSPCertificateFile given twice. The first
pair signs; /kmen/metadata publishes both certificates; the assertion is decrypted with the
key whose certificate NIA names in the EncryptedKey (X509IssuerSerial, as the sim and NIA
write it). The walk follows docs/operations.md "SP key rollover" on a site of its own, with
the sim encrypting to the old or the new certificate of the metadata it has registered."""

import re
from pathlib import Path

import pytest
import requests
from cryptography import x509
from lxml import etree

from t.lib import flow
from t.lib.httpd import config_text
from t.lib.keys import cert_base64, self_signed
from t.lib.stack import Stack

from t.integration.test_startup import configtest_of, logged, where

MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}


@pytest.fixture(scope="module")
def site():
    """A site of its own (its httpd is restarted with other keys), and a new key pair."""
    with Stack() as st:
        new_key, new_cert = st.dir / "new-key.pem", st.dir / "new-cert.pem"
        self_signed(new_key, new_cert, "localhost")
        new_key.chmod(0o644)  # test keys: httpd children read them
        st.new = (new_key, new_cert)
        st.old = (st.keys.sp_key, st.keys.sp_cert)
        yield st


def serial(cert):
    return str(x509.load_pem_x509_certificate(Path(cert).read_bytes()).serial_number)


def restart_with(st, *pairs):
    """Restart the site's httpd with these (key, certificate) pairs, in this order."""
    k = st.keys.dir
    lines = "\n".join(f"KmenSPPrivateKeyFile {key}\nKmenSPCertificateFile {cert}"
                      for key, cert in pairs)
    text = config_text(st.httpd.dir, st.httpd.port, st.portal_port, st.site())
    one = f"KmenSPPrivateKeyFile {k}/sp-key.pem\nKmenSPCertificateFile {k}/sp-cert.pem"
    assert one in text
    st.httpd.stop()
    st.httpd.write_config(text.replace(one, lines))
    st.httpd.start()


def published(st, use):
    """The certificates (base64) /kmen/metadata publishes for USE, in order."""
    r = requests.get(st.base_url + "/kmen/metadata")
    assert r.status_code == 200, r.text
    doc = etree.fromstring(r.content)
    return ["".join(c.split()) for c in doc.xpath(
        f'//md:SPSSODescriptor/md:KeyDescriptor[@use="{use}"]//ds:X509Certificate/text()',
        namespaces=MD)]


def nia_registers(st, encrypt_to, reload=True):
    """NIA reads the SP's metadata anew (RELOAD: the operator registered it again) and
    encrypts to its ENCRYPT_TO-th encryption certificate; the serial numbers it holds."""
    r = requests.get(st.sim_url + "/admin/sp-metadata",
                     params={"reload": "1" if reload else "0", "encrypt_to": encrypt_to})
    assert r.status_code == 200, r.text
    return r.json()["encryption_serials"]


def decrypted_with(st, since):
    """The KMEN0630 lines logged after offset SINCE of the error log."""
    return re.findall(r"KMEN0630: assertion decrypted with (.*?)(?: \[req \S+\])?$",
                      st.httpd.read_error_log()[since:], re.M)


def logs_in_with(st, which, key):
    since = len(st.httpd.read_error_log())
    with requests.Session() as s:
        flow.login(s, st)
    assert decrypted_with(st, since) == [f"{which} key {key}"]


def test_rollover_with_nia_encrypting_to_the_old_and_the_new_key(site):
    st, (old_key, old_cert), (new_key, new_cert) = site, site.old, site.new
    old_b64, new_b64 = cert_base64(old_cert), cert_base64(new_cert)

    # 1. one key: published once for each use
    assert published(st, "encryption") == [old_b64] and published(st, "signing") == [old_b64]
    assert nia_registers(st, 0) == [serial(old_cert)]
    logs_in_with(st, "the first", old_key)

    # 2. the next key added second: both published, the old one first; NIA may encrypt to
    #    either (before and after it registers the new metadata)
    restart_with(st, site.old, site.new)
    assert published(st, "encryption") == [old_b64, new_b64]
    assert published(st, "signing") == [old_b64, new_b64]
    logs_in_with(st, "the first", old_key)  # NIA has not read the new metadata yet
    assert nia_registers(st, 1) == [serial(old_cert), serial(new_cert)]
    logs_in_with(st, "the second", new_key)
    nia_registers(st, 0)
    logs_in_with(st, "the first", old_key)

    # 3. the order switched: the new key signs (NIA knows its certificate already)
    restart_with(st, site.new, site.old)
    assert published(st, "signing") == [new_b64, old_b64]
    logs_in_with(st, "the second", old_key)  # NIA still encrypts to the old certificate
    nia_registers(st, 0)
    logs_in_with(st, "the first", new_key)


def test_old_key_removed_while_nia_still_encrypts_to_it(site):
    """Removed too early: NIA's Response is refused with a reason that names the certificate
    it was encrypted to, and nothing is written but the refusal's audit line; once NIA
    encrypts to the new key, logins work."""
    st, (old_key, old_cert), (new_key, new_cert) = site, site.old, site.new
    restart_with(st, site.new, site.old)
    assert nia_registers(st, 1) == [serial(new_cert), serial(old_cert)]  # the old one
    restart_with(st, site.new)
    assert published(st, "encryption") == [cert_base64(new_cert)]
    since = len(st.httpd.read_error_log())
    with requests.Session() as s:
        loc = flow.start(s, st.base_url + "/app/")
        ticket, _ = flow.idp_page(s, loc)
        acs, fields = flow.respond(s, ticket)
        before = {t: st.count(t) for t in ("session", "client", "replay")}
        r = flow.post_acs(s, acs, fields)
        assert r.status_code == 400, r.text[:300]
        assert {t: st.count(t) for t in before} == before
    log = st.httpd.read_error_log()[since:]
    assert ("SAML response refused: the EncryptedKey is for a certificate that is not a "
            f"KmenSPCertificateFile (serial number {serial(old_cert)})") in log, log
    assert not decrypted_with(st, since)
    nia_registers(st, 0)  # NIA registers the metadata with the new key only
    logs_in_with(st, "the first", new_key)


# --- configtest refusals: on the shared site's configuration ---------------------------------

def pair_lines(key, cert):
    return f"KmenSPPrivateKeyFile {key}\nKmenSPCertificateFile {cert}"


def second_pair_config(stack, key, cert, extra=""):
    k = stack.keys.dir
    one = pair_lines(f"{k}/sp-key.pem", f"{k}/sp-cert.pem")
    return configtest_of(stack, replace={one: one + "\n" + pair_lines(key, cert) + extra})


def second_line(h, directive):
    """" (<httpd.conf>:<line>)" of DIRECTIVE's second occurrence."""
    lines = h.conf.read_text().splitlines()
    numbers = [i for i, line in enumerate(lines, 1) if line.startswith(directive + " ")]
    return f" ({h.conf}:{numbers[1]})"


def test_a_second_pair_passes_configtest(stack):
    rc, out, _ = second_pair_config(stack, stack.keys.wrong_key, stack.keys.wrong_cert)
    assert rc == 0 and "Syntax OK" in out, out


def test_a_second_key_not_of_the_second_certificate(stack):
    rc, out, h = second_pair_config(stack, stack.keys.wrong_key, stack.keys.sp_cert)
    assert rc != 0 and logged(out, f"KmenSPPrivateKeyFile {stack.keys.wrong_key}"
                              f"{second_line(h, 'KmenSPPrivateKeyFile')}: does not belong to "
                              "the second KmenSPCertificateFile"), out
    assert where(h, "KmenSPPrivateKeyFile") != second_line(h, "KmenSPPrivateKeyFile")


def test_a_second_key_without_a_certificate(stack):
    k = stack.keys.dir
    one = pair_lines(f"{k}/sp-key.pem", f"{k}/sp-cert.pem")
    rc, out, h = configtest_of(stack, replace={
        one: one + f"\nKmenSPPrivateKeyFile {stack.keys.wrong_key}"})
    assert rc != 0 and logged(out, f"KmenSPPrivateKeyFile {stack.keys.wrong_key}"
                              f"{second_line(h, 'KmenSPPrivateKeyFile')}: a second key needs a "
                              "second KmenSPCertificateFile, its certificate"), out


def test_an_unreadable_second_certificate(stack):
    rc, out, h = second_pair_config(stack, stack.keys.wrong_key, "/nonexistent/next.crt")
    assert rc != 0 and logged(out, "KmenSPCertificateFile /nonexistent/next.crt"
                              f"{second_line(h, 'KmenSPCertificateFile')}: cannot read: No "
                              "such file or directory"), out


def test_three_keys_refused(stack):
    rc, out, h = second_pair_config(
        stack, stack.keys.wrong_key, stack.keys.wrong_cert,
        extra="\n" + pair_lines(stack.keys.sp_key, stack.keys.sp_cert))
    assert rc != 0 and "KmenSPPrivateKeyFile given a third time: at most two, the pair in use " \
        "and the next one" in out, out
    assert re.search(rf"line \d+ of {re.escape(str(h.conf))}", out), out
