# SPDX-License-Identifier: GPL-2.0-or-later
"""The NIA simulator's in-process signing and encryption (t/sim/xmlsec_inprocess.py, which
`make bench` uses for its ten thousand logins) against the xmlsec1 program the test suite
uses: what one signs the other verifies, what one encrypts the other decrypts, and a
tampered document does not verify."""

import sys
from pathlib import Path

import pytest
from lxml import etree
from saml2.sigver import (RSA_OAEP_MGF1P, CryptoBackendXmlSec1, SignatureError,
                          get_xmlsec_binary, pre_signature_part, read_cert_from_file)
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from t.lib.keys import make_keys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from nia_idp import encryption_template, signature_template  # noqa: E402
from xmlsec_inprocess import InProcessXmlSec  # noqa: E402

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("simcrypto"))


def assertion(with_template_of=None):
    text = (f'<saml:Assertion xmlns:saml="{SAML}" ID="_a1" Version="2.0" '
            f'IssueInstant="2026-12-06T00:00:00Z"><saml:Issuer>urn:test</saml:Issuer>'
            f'<saml:Subject><saml:NameID>Jiří Novák</saml:NameID></saml:Subject>'
            f'</saml:Assertion>')
    root = etree.fromstring(text.encode())
    if with_template_of:
        template = pre_signature_part("_a1", read_cert_from_file(with_template_of, "pem"))
        root.find(f"{{{SAML}}}Issuer").addnext(etree.fromstring(str(template).encode()))
    return etree.tostring(root).decode()


def test_signed_in_process_verifies_with_xmlsec1(keys):
    signed = InProcessXmlSec(get_xmlsec_binary()).sign_statement(
        assertion(keys.idp_cert), ASSERTION, str(keys.idp_key), "_a1")
    program = CryptoBackendXmlSec1(get_xmlsec_binary())
    assert program.validate_signature(signed, str(keys.idp_cert), "pem", ASSERTION, "_a1")
    tampered = signed.replace("Novák", "Nováková")
    with pytest.raises(SignatureError):
        program.validate_signature(tampered, str(keys.idp_cert), "pem", ASSERTION, "_a1")


def test_signed_by_xmlsec1_and_in_process_alike(keys):
    """RSA PKCS#1 v1.5 signatures are deterministic: both give the same document."""
    backends = (InProcessXmlSec(get_xmlsec_binary()), CryptoBackendXmlSec1(get_xmlsec_binary()))
    docs = [etree.fromstring(b.sign_statement(assertion(keys.idp_cert), ASSERTION,
                                              str(keys.idp_key), "_a1").encode())
            for b in backends]
    assert etree.tostring(docs[0], method="c14n") == etree.tostring(docs[1], method="c14n")


def test_encrypted_in_process_decrypts_with_xmlsec1(keys):
    """Twice with one backend, which keeps its keys manager: each time a new session key
    (the two differ), and each decrypts."""
    cert_b64 = read_cert_from_file(str(keys.sp_cert), "pem")
    wrapped = f'<EncryptedAssertion xmlns="{SAML}">{assertion()}</EncryptedAssertion>'
    backend = InProcessXmlSec(get_xmlsec_binary())
    encrypted = [backend.encrypt_assertion(
        wrapped, str(keys.sp_cert), encryption_template(cert_b64, RSA_OAEP_MGF1P), "aes-256",
        "/*/*[@ID='_a1']") for _ in range(2)]
    assert encrypted[0] != encrypted[1]
    for text in encrypted:
        assert "Novák" not in text and "EncryptedData" in text
        plain = CryptoBackendXmlSec1(get_xmlsec_binary()).decrypt(text, str(keys.sp_key))
        assert "<saml:NameID>Jiří Novák</saml:NameID>" in plain


@pytest.mark.parametrize("algs", [(DIGEST_SHA256, SIG_RSA_SHA256), (DIGEST_SHA1, SIG_RSA_SHA1)])
def test_signature_template_is_pysaml2s(keys, algs):
    """The simulator makes pysaml2's signature template once per certificate and copies it:
    each copy is what pre_signature_part gives for its ID, and the first copy's ID is not
    left in the next."""
    cert = read_cert_from_file(str(keys.idp_cert), "pem")
    for ident in ("_first", "_second"):
        expected = etree.fromstring(str(pre_signature_part(ident, cert, digest_alg=algs[0],
                                                           sign_alg=algs[1])).encode())
        assert (etree.tostring(signature_template(ident, cert, *algs))
                == etree.tostring(expected))
