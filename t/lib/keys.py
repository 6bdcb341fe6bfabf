# SPDX-License-Identifier: GPL-2.0-or-later
"""Throwaway keys and certificates for one test run, made with the openssl CLI."""

import base64
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Keys:
    dir: Path
    sp_key: Path
    sp_cert: Path
    idp_key: Path
    idp_cert: Path
    wrong_key: Path
    wrong_cert: Path
    seal_key: Path            # NIA's seal: signs the IdP metadata
    seal_cert: Path
    next_key: Path            # NIA's next signing key (the rollover tests)
    next_cert: Path
    register_key: Path
    header_secret: Path
    evidence_secret: Path     # KmenEvidenceSecretFile, shared with the evidence service
    ca_cert: Path             # trust anchor of the translation gateway's TLS
    translator_key: Path      # the gateway's server key/cert (127.0.0.1)
    translator_cert: Path
    client_key: Path          # mod_kmen's client certificate towards the gateway
    client_cert: Path
    stranger_key: Path        # clientAuth, of the test CA, pinned by no evidence callback
    stranger_cert: Path
    noeku_key: Path           # of the test CA, no extendedKeyUsage at all
    noeku_cert: Path


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def self_signed(key, cert, cn, days=30):
    """An RSA-2048 key and a self-signed SHA-256 certificate for it, valid DAYS days."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", str(days),
             "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(cert))


def signed_by_ca(dir, name, cn, ca_key, ca_cert, ext):
    """An RSA-2048 key and a certificate for it issued by the test CA."""
    key, csr, cert = dir / f"{name}-key.pem", dir / f"{name}.csr", dir / f"{name}-cert.pem"
    extfile = dir / f"{name}.ext"
    extfile.write_text(ext + "\n")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
             "-keyout", str(key), "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(extfile),
             "-out", str(cert))
    return key, cert


def secret_file(path, mode):
    path.write_bytes(os.urandom(32))
    os.chmod(path, mode)
    return path


def make_keys(dir):
    """Every key of a run in DIR; everything but the register key and the header secret
    readable by www-data. The evidence secret is 0644 too: the tests sign callbacks with it
    (httpd reads its copy as root anyway)."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    os.chmod(dir, 0o755)
    pairs = {}
    for name, cn in (("sp", "localhost"), ("idp", "NIA simulator"),
                     ("wrong", "not the IdP"), ("ca", "kmen test CA"),
                     ("seal", "NIA seal"), ("next", "NIA simulator, next key")):
        pairs[name] = (dir / f"{name}-key.pem", dir / f"{name}-cert.pem")
        # NIA's signing certificate: /kmen/health is degraded within 30 days of its end.
        self_signed(*pairs[name], cn, days=400 if name in ("idp", "next") else 30)
    ca_key, ca_cert = pairs["ca"]
    tr_key, tr_cert = signed_by_ca(
        dir, "translator", "127.0.0.1", ca_key, ca_cert,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth")
    cl_key, cl_cert = signed_by_ca(
        dir, "client", "mod_kmen", ca_key, ca_cert, "extendedKeyUsage=clientAuth")
    st_key, st_cert = signed_by_ca(
        dir, "stranger", "another service", ca_key, ca_cert, "extendedKeyUsage=clientAuth")
    ne_key, ne_cert = signed_by_ca(
        dir, "noeku", "mod_kmen without EKU", ca_key, ca_cert, "basicConstraints=CA:FALSE")
    for pem in dir.glob("*.pem"):
        os.chmod(pem, 0o644)  # test keys: httpd children (www-data) read them
    return Keys(dir=dir,
                sp_key=pairs["sp"][0], sp_cert=pairs["sp"][1],
                idp_key=pairs["idp"][0], idp_cert=pairs["idp"][1],
                wrong_key=pairs["wrong"][0], wrong_cert=pairs["wrong"][1],
                seal_key=pairs["seal"][0], seal_cert=pairs["seal"][1],
                next_key=pairs["next"][0], next_cert=pairs["next"][1],
                register_key=secret_file(dir / "register.key", 0o600),
                header_secret=secret_file(dir / "header.secret", 0o600),
                evidence_secret=secret_file(dir / "evidence.secret", 0o644),
                ca_cert=ca_cert, translator_key=tr_key, translator_cert=tr_cert,
                client_key=cl_key, client_cert=cl_cert,
                stranger_key=st_key, stranger_cert=st_cert,
                noeku_key=ne_key, noeku_cert=ne_cert)


def spki_pin(cert):
    """KmenEvidenceCallbackCertificate's value for CERT: sha256/<base64 of the SHA-256 of its
    DER SubjectPublicKeyInfo>, computed as docs/directives.md tells operators to."""
    pem = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def cert_base64(cert):
    """The base64 body of a PEM certificate, as it appears in ds:X509Certificate."""
    lines = Path(cert).read_text().split("\n")
    return "".join(line for line in lines if line and not line.startswith("-----"))
