# SPDX-License-Identifier: GPL-2.0-or-later
"""Taking a genuine NIA Response apart and putting hostile ones together.

Everything starts from what the simulator really sent (signed, encrypted): the test holds
the SP's private key, so it can read the assertion, and it holds the IdP's and a stranger's
keys, so a case can re-sign whatever it must to make exactly one thing wrong.

XML that must keep a signature made by someone else travels as text: lxml, moving an element
between trees, may rename namespace prefixes, and exclusive c14n (which the signatures use)
sees prefixes. XML that is signed afresh afterwards is edited with lxml.
"""

import base64
import os
import re
import uuid

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS, "xenc": XENC}
NATURAL = "http://eidas.europa.eu/attributes/naturalperson/"
PERSON_IDENTIFIER = NATURAL + "PersonIdentifier"
FAMILY_NAME = NATURAL + "CurrentFamilyName"
GIVEN_NAME = NATURAL + "CurrentGivenName"

KEY_TRANSPORT = {
    "oaep": XENC + "rsa-oaep-mgf1p",
    "rsa15": XENC + "rsa-1_5",
}
CONTENT = {
    "aes256-cbc": (XENC + "aes256-cbc", 32),
    "aes128-gcm": ("http://www.w3.org/2009/xmlenc11#aes128-gcm", 16),
    "tripledes-cbc": (XENC + "tripledes-cbc", 24),
}
SIGNATURE = {
    "rsa-sha256": (xmlsec.constants.TransformRsaSha256, xmlsec.constants.TransformSha256),
    "rsa-sha1": (xmlsec.constants.TransformRsaSha1, xmlsec.constants.TransformSha1),
    "rsa-sha256/sha1": (xmlsec.constants.TransformRsaSha256, xmlsec.constants.TransformSha1),
    "hmac-sha256": (xmlsec.constants.TransformHmacSha256, xmlsec.constants.TransformSha256),
}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False,
                          huge_tree=False)


def parse(text):
    if isinstance(text, str):
        text = text.encode()
    return etree.fromstring(text, _PARSER)


def text_of(element):
    """Serialised element, no XML declaration."""
    return etree.tostring(element, encoding="unicode")


def strip_decl(text):
    if isinstance(text, bytes):
        text = text.decode()
    return re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", text)


def new_id():
    return "_" + uuid.uuid4().hex


def b64(data):
    return base64.b64encode(data).decode()


class Forge:
    """The keys of one run and what can be done with them."""

    def __init__(self, keys):
        self.keys = keys
        self.sp_key = self._private(keys.sp_key)
        self.sp_cert = self._cert(keys.sp_cert)
        self.sp_public = self.sp_cert.public_key()

    @staticmethod
    def _private(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)

    @staticmethod
    def _cert(path):
        with open(path, "rb") as f:
            return x509.load_pem_x509_certificate(f.read())

    def signer(self, who):
        """(key file, cert file) of 'idp' or 'wrong'."""
        return {"idp": (self.keys.idp_key, self.keys.idp_cert),
                "wrong": (self.keys.wrong_key, self.keys.wrong_cert)}[who]

    # --- encryption ---------------------------------------------------------------------
    def decrypt(self, encrypted_assertion):
        """The plaintext (bytes, exactly as encrypted) of an EncryptedAssertion element."""
        data = encrypted_assertion.find("xenc:EncryptedData", NS)
        enc_key = data.find(".//xenc:EncryptedKey", NS)
        alg = enc_key.find("xenc:EncryptionMethod", NS).get("Algorithm")
        wrapped = base64.b64decode(enc_key.findtext("xenc:CipherData/xenc:CipherValue",
                                                    namespaces=NS))
        if alg.endswith("rsa-1_5"):
            key = self.sp_key.decrypt(wrapped, padding.PKCS1v15())
        else:
            key = self.sp_key.decrypt(wrapped, padding.OAEP(
                mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
        content_alg = data.find("xenc:EncryptionMethod", NS).get("Algorithm")
        blob = base64.b64decode(data.findtext("xenc:CipherData/xenc:CipherValue", namespaces=NS))
        if "gcm" in content_alg:
            return AESGCM(key).decrypt(blob[:12], blob[12:], None)
        algo, iv = ((algorithms.TripleDES(key), 8) if "tripledes" in content_alg
                    else (algorithms.AES(key), 16))
        d = Cipher(algo, modes.CBC(blob[:iv])).decryptor()
        plain = d.update(blob[iv:]) + d.finalize()
        return plain[:-plain[-1]]

    def content_cipher(self, plaintext, content="aes256-cbc"):
        """(content key, EncryptionMethod URI, IV + cipher text) of PLAINTEXT (bytes)."""
        content_uri, key_len = CONTENT[content]
        key = os.urandom(key_len)
        if content == "aes128-gcm":
            iv = os.urandom(12)
            return key, content_uri, iv + AESGCM(key).encrypt(iv, plaintext, None)
        block = 8 if content == "tripledes-cbc" else 16
        algo = algorithms.TripleDES(key) if block == 8 else algorithms.AES(key)
        n = block - len(plaintext) % block
        padded = plaintext + os.urandom(n - 1) + bytes([n])
        iv = os.urandom(block)
        e = Cipher(algo, modes.CBC(iv)).encryptor()
        return key, content_uri, iv + e.update(padded) + e.finalize()

    def encrypted_key(self, key, transport="oaep", key_info=""):
        """An xenc:EncryptedKey (text) wrapping KEY for the SP's certificate; KEY_INFO: its
        ds:KeyInfo (text), the reference to the certificate it is for (default: none)."""
        if transport == "rsa15":
            wrapped = self.sp_public.encrypt(key, padding.PKCS1v15())
            method = f'<xenc:EncryptionMethod Algorithm="{KEY_TRANSPORT["rsa15"]}"/>'
        else:
            wrapped = self.sp_public.encrypt(key, padding.OAEP(
                mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
            method = (f'<xenc:EncryptionMethod Algorithm="{KEY_TRANSPORT["oaep"]}">'
                      f'<ds:DigestMethod Algorithm="{DS}sha1"/></xenc:EncryptionMethod>')
        return (f'<xenc:EncryptedKey xmlns:xenc="{XENC}" xmlns:ds="{DS}">{method}{key_info}'
                f'<xenc:CipherData><xenc:CipherValue>{b64(wrapped)}</xenc:CipherValue>'
                f'</xenc:CipherData></xenc:EncryptedKey>')

    @staticmethod
    def encrypted_assertion(content_uri, blob, in_keyinfo=(), beside=()):
        """An EncryptedAssertion (text): one EncryptedData (BLOB) with the EncryptedKeys
        IN_KEYINFO in its KeyInfo, and the EncryptedKeys BESIDE after it."""
        key_info = f'<ds:KeyInfo xmlns:ds="{DS}">{"".join(in_keyinfo)}</ds:KeyInfo>'
        return (f'<saml:EncryptedAssertion xmlns:saml="{SAML}">'
                f'<xenc:EncryptedData xmlns:xenc="{XENC}" Type="{XENC}Element">'
                f'<xenc:EncryptionMethod Algorithm="{content_uri}"/>'
                f'{key_info if in_keyinfo else ""}'
                f'<xenc:CipherData><xenc:CipherValue>{b64(blob)}</xenc:CipherValue>'
                f'</xenc:CipherData></xenc:EncryptedData>{"".join(beside)}'
                f'</saml:EncryptedAssertion>')

    def encrypt(self, plaintext, transport="oaep", content="aes256-cbc"):
        """An EncryptedAssertion (text) holding PLAINTEXT for the SP's certificate, as anyone
        holding that (public) certificate can make one: the EncryptedKey in the
        EncryptedData's KeyInfo, as NIA puts it."""
        if isinstance(plaintext, str):
            plaintext = plaintext.encode()
        key, content_uri, blob = self.content_cipher(plaintext, content)
        return self.encrypted_assertion(content_uri, blob,
                                        in_keyinfo=[self.encrypted_key(key, transport)])

    # --- signatures ---------------------------------------------------------------------
    def sign(self, xml, who="idp", alg="rsa-sha256", keyinfo_cert=None):
        """XML (text or bytes) with an enveloped signature of its root element, placed after
        the root's Issuer, referencing the root's ID; exclusive c14n. WHO: 'idp' or 'wrong'.
        KEYINFO_CERT: the certificate put into KeyInfo (default: the signer's own)."""
        root = parse(strip_decl(xml) if isinstance(xml, (str, bytes)) else text_of(xml))
        sign_method, digest = SIGNATURE[alg]
        sig = xmlsec.template.create(root, xmlsec.constants.TransformExclC14N, sign_method,
                                     ns="ds")
        issuer = root.find("saml:Issuer", NS)
        if issuer is not None:
            issuer.addnext(sig)
        else:
            root.insert(0, sig)
        ref = xmlsec.template.add_reference(sig, digest, uri="#" + root.get("ID"))
        xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
        key_file, cert_file = self.signer(who)
        if alg.startswith("hmac"):
            # Key confusion: the "secret" is the IdP's public certificate.
            with open(self.keys.idp_cert, "rb") as f:
                key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataHmac, f.read())
        else:
            key = xmlsec.Key.from_file(str(key_file), xmlsec.constants.KeyDataFormatPem)
            x509data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
            xmlsec.template.x509_data_add_certificate(x509data)
            key.load_cert_from_file(str(keyinfo_cert or cert_file),
                                    xmlsec.constants.KeyDataFormatPem)
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        xmlsec.tree.add_ids(root, ["ID"])
        ctx.sign(sig)
        return text_of(root)

    @staticmethod
    def unsign(xml):
        """XML without the ds:Signature children of its root (lxml; for re-signing)."""
        root = parse(strip_decl(xml))
        for sig in root.findall("ds:Signature", NS):
            root.remove(sig)
        return text_of(root)


# --- text surgery that keeps someone else's signature intact -----------------------------
def element_span(text, local, start=0, prefix_re=r"(?:[\w.-]+:)?"):
    """(start, end) of the first element named LOCAL (any prefix) in TEXT from START,
    nesting of the same name counted. For well-formed text from our own sources only."""
    open_re = re.compile(r"<(" + prefix_re + re.escape(local) + r")(?=[\s/>])")
    m = open_re.search(text, start)
    if not m:
        raise ValueError(f"no <{local}> in the text")
    qname = m.group(1)
    tag_re = re.compile(r"<(/?)" + re.escape(qname) + r"(?=[\s/>])[^>]*?(/?)>")
    depth = 0
    for t in tag_re.finditer(text, m.start()):
        closing, empty = t.group(1), t.group(2)
        if closing:
            depth -= 1
        elif not empty:
            depth += 1
        if depth == 0:
            return m.start(), t.end()
    raise ValueError(f"<{local}> is not closed")


def cut(text, local, start=0):
    """(text without the element, the element's text)."""
    a, b = element_span(text, local, start)
    return text[:a] + text[b:], text[a:b]


def insert_after(text, local, piece, start=0):
    """PIECE right after the first element LOCAL."""
    _, b = element_span(text, local, start)
    return text[:b] + piece + text[b:]


def insert_before(text, local, piece, start=0):
    a, _ = element_span(text, local, start)
    return text[:a] + piece + text[a:]


def insert_into_end(text, local, piece):
    """PIECE as the last child of the first element LOCAL."""
    a, b = element_span(text, local)
    close = text.rindex("</", a, b)
    return text[:close] + piece + text[close:]


def set_attr(text, local, attr, value):
    """Replace (or add) ATTR on the first start tag of LOCAL (text surgery; breaks any
    signature over it, which is the point when it is used)."""
    a, _ = element_span(text, local)
    end = text.index(">", a)
    tag = text[a:end]
    if re.search(r"\s" + attr + r'="[^"]*"', tag):
        tag = re.sub(r"(\s" + attr + r')="[^"]*"', lambda m: f'{m.group(1)}="{value}"', tag)
    else:
        tag = tag.rstrip("/") + f' {attr}="{value}"' + ("/" if tag.endswith("/") else "")
    return text[:a] + tag + text[end:]
