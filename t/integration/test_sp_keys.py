# SPDX-License-Identifier: GPL-2.0-or-later
"""SP key rollover: KmenSPPrivateKeyFile and KmenSPCertificateFile given twice. The first
pair signs; /kmen/metadata publishes both certificates; the assertion is decrypted with the
key whose certificate NIA names in the EncryptedKey (X509IssuerSerial, as the sim and NIA
write it). The walk follows docs/operations.md "SP key rollover" on a site of its own, with
the sim encrypting to the old or the new certificate of the metadata it has registered.

Separate encryption keys (KmenSPEncryptionKeyFile, KmenSPEncryptionCertificateFile, also
once or twice): the signing pairs are published use="signing" only and decrypt nothing,
the encryption pairs are published use="encryption" only and decrypt; the sim, as ADFS,
encrypts to an encryption certificate and verifies requests with a signing one."""

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
        newer_key, newer_cert = st.dir / "newer-key.pem", st.dir / "newer-cert.pem"
        self_signed(newer_key, newer_cert, "localhost")
        newer_key.chmod(0o644)
        st.newer = (newer_key, newer_cert)
        st.old = (st.keys.sp_key, st.keys.sp_cert)
        yield st


def serial(cert):
    return str(x509.load_pem_x509_certificate(Path(cert).read_bytes()).serial_number)


def restart_with(st, *pairs, encryption=()):
    """Restart the site's httpd with these (key, certificate) pairs, in this order, and the
    ENCRYPTION pairs as KmenSPEncryptionKeyFile and KmenSPEncryptionCertificateFile."""
    k = st.keys.dir
    lines = "\n".join([pair_lines(key, cert) for key, cert in pairs]
                      + [encryption_lines(key, cert) for key, cert in encryption])
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


def nia_registers(st, encrypt_to, reload=True, use="encryption"):
    """NIA reads the SP's metadata anew (RELOAD: the operator registered it again) and
    encrypts to its ENCRYPT_TO-th encryption certificate (USE "signing": a fault, to its
    signing certificate); the serial numbers of the encryption certificates it holds."""
    return sim_registration(st, encrypt_to, reload, use)["encryption_serials"]


def sim_registration(st, encrypt_to, reload=True, use="encryption"):
    r = requests.get(st.sim_url + "/admin/sp-metadata",
                     params={"reload": "1" if reload else "0", "encrypt_to": encrypt_to,
                             "encrypt_use": use})
    assert r.status_code == 200, r.text
    return r.json()


def decrypted_with(st, since):
    """The KMEN0630 lines logged after offset SINCE of the error log."""
    return re.findall(r"KMEN0630: assertion decrypted with (.*?)(?: \[req \S+\])?$",
                      st.httpd.read_error_log()[since:], re.M)


def logs_in_with(st, which, key):
    since = len(st.httpd.read_error_log())
    with requests.Session() as s:
        flow.login(s, st)
    assert decrypted_with(st, since) == [f"{which} key {key}"]


def request_signer(st):
    """The serial number of the SP certificate the sim verified the last AuthnRequest with."""
    r = requests.get(st.sim_url + "/last-request")
    assert r.status_code == 200, r.text
    return r.json()["signer_serial"]


def refused_and_nothing_written(st, message):
    """A login whose Response is refused (400) with MESSAGE logged; no row written."""
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
    assert f"SAML response refused: {message}" in log, log
    assert not decrypted_with(st, since)


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
    refused_and_nothing_written(st, "the EncryptedKey is for a certificate that is not a "
                                f"KmenSPCertificateFile (serial number {serial(old_cert)})")
    nia_registers(st, 0)  # NIA registers the metadata with the new key only
    logs_in_with(st, "the first", new_key)


def test_separate_signing_and_encryption_keys(site):
    """The old pair signs only, the new pair decrypts only: each is published for its use
    alone, the sim encrypts to the new one and verifies requests with the old one."""
    st, (old_key, old_cert), (new_key, new_cert) = site, site.old, site.new
    restart_with(st, site.old, encryption=[site.new])
    assert published(st, "signing") == [cert_base64(old_cert)]
    assert published(st, "encryption") == [cert_base64(new_cert)]
    registration = sim_registration(st, 0)
    assert registration["encryption_serials"] == [serial(new_cert)]
    assert registration["signing_serials"] == [serial(old_cert)]
    logs_in_with(st, "the first", new_key)
    assert request_signer(st) == serial(old_cert)


def test_switch_to_separate_keys_without_a_gap(site):
    """docs/operations.md "Separate signing and encryption keys": the current pair also named
    as the first encryption pair keeps decrypting what NIA encrypts to it until NIA has
    registered the new encryption certificate; then it is removed from the encryption pairs."""
    st, (old_key, old_cert), (new_key, new_cert) = site, site.old, site.new
    restart_with(st, site.old)
    nia_registers(st, 0)
    restart_with(st, site.old, encryption=[site.old, site.new])
    assert published(st, "signing") == [cert_base64(old_cert)]
    assert published(st, "encryption") == [cert_base64(old_cert), cert_base64(new_cert)]
    logs_in_with(st, "the first", old_key)  # NIA has not read the new metadata yet
    assert nia_registers(st, 1) == [serial(old_cert), serial(new_cert)]
    logs_in_with(st, "the second", new_key)
    restart_with(st, site.old, encryption=[site.new])
    logs_in_with(st, "the first", new_key)
    assert request_signer(st) == serial(old_cert)


def test_assertion_encrypted_to_the_signing_key_refused(site):
    """NIA encrypting to the signing-only certificate (a metadata registered before the
    keys were separated, say): refused by the key's name, nothing written, though the SP
    holds that key."""
    st, (old_key, old_cert) = site, site.old
    restart_with(st, site.old, encryption=[site.new])
    nia_registers(st, 0, use="signing")
    refused_and_nothing_written(
        st, f"the EncryptedKey is for the signing-only KmenSPPrivateKeyFile {old_key} "
        f"(serial number {serial(old_cert)}), not a KmenSPEncryptionCertificateFile")
    nia_registers(st, 0)
    logs_in_with(st, "the first", site.new[0])


def test_rollover_of_the_encryption_key_alone(site):
    """docs/operations.md: the next encryption pair added second, NIA registers it, the order
    switched, the old one removed; the signing key stays throughout."""
    st, (old_key, old_cert) = site, site.old
    (enc_key, enc_cert), (next_key, next_cert) = site.new, site.newer
    restart_with(st, site.old, encryption=[site.new])
    nia_registers(st, 0)
    restart_with(st, site.old, encryption=[site.new, site.newer])
    assert published(st, "encryption") == [cert_base64(enc_cert), cert_base64(next_cert)]
    assert published(st, "signing") == [cert_base64(old_cert)]
    logs_in_with(st, "the first", enc_key)  # NIA has not read the new metadata yet
    assert nia_registers(st, 1) == [serial(enc_cert), serial(next_cert)]
    logs_in_with(st, "the second", next_key)
    restart_with(st, site.old, encryption=[site.newer, site.new])
    logs_in_with(st, "the first", next_key)
    restart_with(st, site.old, encryption=[site.newer])
    assert nia_registers(st, 0) == [serial(next_cert)]
    logs_in_with(st, "the first", next_key)
    assert request_signer(st) == serial(old_cert)


# --- configtest refusals: on the shared site's configuration ---------------------------------

def pair_lines(key, cert):
    return f"KmenSPPrivateKeyFile {key}\nKmenSPCertificateFile {cert}"


def encryption_lines(key, cert):
    return f"KmenSPEncryptionKeyFile {key}\nKmenSPEncryptionCertificateFile {cert}"


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


def encryption_config(stack, lines):
    """configtest of the shared site's configuration with LINES after its key pair."""
    k = stack.keys.dir
    one = pair_lines(f"{k}/sp-key.pem", f"{k}/sp-cert.pem")
    return configtest_of(stack, replace={one: one + "\n" + lines})


def test_separate_encryption_pairs_pass_configtest(stack):
    rc, out, _ = encryption_config(stack, "\n".join([
        encryption_lines(stack.keys.wrong_key, stack.keys.wrong_cert),
        encryption_lines(stack.keys.sp_key, stack.keys.sp_cert)]))
    assert rc == 0 and "Syntax OK" in out, out


@pytest.mark.parametrize("directive,other,needs", [
    ("KmenSPEncryptionKeyFile", "wrong_key", "needs a KmenSPEncryptionCertificateFile, its "
     "certificate"),
    ("KmenSPEncryptionCertificateFile", "wrong_cert", "needs a KmenSPEncryptionKeyFile, its key")])
def test_one_of_the_encryption_pair_without_the_other(stack, directive, other, needs):
    path = getattr(stack.keys, other)
    rc, out, h = encryption_config(stack, f"{directive} {path}")
    assert rc != 0 and logged(out, f"{directive} {path}{where(h, directive)}: {needs}"), out


def test_a_second_encryption_key_without_a_certificate(stack):
    k = stack.keys
    rc, out, h = encryption_config(stack, encryption_lines(k.wrong_key, k.wrong_cert)
                                   + f"\nKmenSPEncryptionKeyFile {k.sp_key}")
    assert rc != 0 and logged(out, f"KmenSPEncryptionKeyFile {k.sp_key}"
                              f"{second_line(h, 'KmenSPEncryptionKeyFile')}: a second key needs "
                              "a second KmenSPEncryptionCertificateFile, its certificate"), out


@pytest.mark.parametrize("second", [False, True])
def test_an_encryption_key_not_of_its_certificate(stack, second):
    k = stack.keys
    good = encryption_lines(k.sp_key, k.sp_cert) + "\n" if second else ""
    rc, out, h = encryption_config(stack, good + encryption_lines(k.wrong_key, k.sp_cert))
    at = second_line(h, "KmenSPEncryptionKeyFile") if second else where(
        h, "KmenSPEncryptionKeyFile")
    assert rc != 0 and logged(out, f"KmenSPEncryptionKeyFile {k.wrong_key}{at}: does not belong "
                              f"to {'the second ' if second else ''}"
                              "KmenSPEncryptionCertificateFile"), out


def test_three_encryption_keys_refused(stack):
    k = stack.keys
    rc, out, h = encryption_config(stack, "\n".join(
        encryption_lines(key, cert) for key, cert in
        [(k.sp_key, k.sp_cert), (k.wrong_key, k.wrong_cert), (k.sp_key, k.sp_cert)]))
    assert rc != 0 and "KmenSPEncryptionKeyFile given a third time: at most two, the pair in " \
        "use and the next one" in out, out
    assert re.search(rf"line \d+ of {re.escape(str(h.conf))}", out), out
