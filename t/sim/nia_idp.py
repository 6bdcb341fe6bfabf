#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulator of NIA, the Czech national identity provider, for mod_kmen's tests.

It answers SAML 2.0 AuthnRequests and LogoutRequests as NIA does (eIDAS profile): the
Response signed, the assertion signed and then encrypted with NIA's algorithms and NIA's
shape of key reference, NIA's attribute names and quirks. A picker page chooses the person,
the level of assurance and, for negative tests, deliberate defects ("faults").

Run it with Debian's Python (python3-pysaml2, python3-lxml, xmlsec1):

  /usr/bin/python3 t/sim/nia_idp.py --port 8081 --base-url http://127.0.0.1:8081 \\
      --key KEY.pem --cert CERT.pem --wrong-key WKEY.pem --wrong-cert WCERT.pem \\
      (--sp-metadata-url URL | --sp-metadata-file FILE) \\
      --metadata-out DIR/idp-metadata.xml [--entity-id urn:microsoft:cgg2010:fpsts] \\
      [--seal-key SKEY.pem --seal-cert SCERT.pem] [--next-key NKEY.pem --next-cert NCERT.pem]

Endpoints:
  GET  /metadata                    the IdP metadata (also written to --metadata-out)
  GET  /FPSTS/saml2/basic           AuthnRequest, LogoutRequest or LogoutResponse (Redirect)
  POST /FPSTS/saml2/basic           AuthnRequest (POST binding, enveloped signature)
  POST /respond                     the picker's form: ticket, identity, loa, action, fault
  GET  /last-request                the last AuthnRequest as JSON
  GET  /last-logout                 the last LogoutRequest from the SP as JSON
  GET  /last-logout-response        the last LogoutResponse from the SP as JSON
  GET  /admin/idp-logout?identity=KEY&session_index=IDX[&destination=URL]   IdP-initiated logout
  GET  /admin/logout-answer?binding=post|redirect&signed=0|1&status=CODE
                                    how to answer the next LogoutRequest only (default, as
                                    NIA does: unsigned, HTTP-POST, Success)
  GET  /admin/metadata?fault=none|forged|tampered|sha1|unsigned|unavailable   what /metadata
                                    serves
  GET  /admin/rollover?phase=current|announced|switched|done   NIA's signing-key rollover
  GET  /admin/sp-metadata?reload=0|1&encrypt_to=N&encrypt_use=encryption|signing
                                    reload=1: read the SP's metadata again, as NIA does when
                                    the SP registers it anew; encrypt_to: encrypt from now on
                                    to the Nth encryption certificate of the metadata read
                                    (default 0, the first), or with encrypt_use=signing (a
                                    fault NIA never makes) its Nth signing certificate;
                                    answers the serial numbers of its encryption and signing
                                    certificates and the one used
"""

import argparse
import base64
import copy
import datetime
import functools
import html
import json
import os
import secrets
import signal
import sys
import tempfile
import textwrap
import threading
import traceback
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, unquote_plus, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.mdstore import InMemoryMetaData
from saml2.pack import http_redirect_message
from saml2.s_utils import decode_base64_and_inflate
from saml2.sigver import (RSA_1_5, RSA_OAEP_MGF1P, CryptoBackendXmlSec1, RSACrypto,
                          XmlsecError, get_xmlsec_binary, pre_signature_part,
                          read_cert_from_file)
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

# identities.py and xmlsec_inprocess.py lie beside this file, whether it is run as a script
# or loaded by path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from identities import (FAMILY_NAME, IDENTITIES, MORIS, MORIS_ALIAS,  # noqa: E402
                        NATURAL, STORK, IS_AGE_OVER, person_identifier, released_attributes)
from xmlsec_inprocess import InProcessXmlSec  # noqa: E402

__all__ = ["person_identifier", "IDENTITIES", "main"]

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
EIDAS = "http://eidas.europa.eu/saml-extensions"
CLAIMS = "http://schemas.xmlsoap.org/ws/2009/09/identity/claims"
WSFED = "http://docs.oasis-open.org/wsfed/federation/200706"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS, "eidas": EIDAS}

SSO_PATH = "/FPSTS/saml2/basic"
STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
NAMEID = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
STATUS_ATTRIBUTE = "urn:oasis:names:tc:SAML:2.0:protocol/statuscode"
URI_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
AES256_CBC = XENC + "aes256-cbc"
LOA = "http://eidas.europa.eu/LoA/"
LOA_LEVELS = ("low", "substantial", "high")
VALIDITY = datetime.timedelta(hours=1)
ELSEWHERE = "https://jina-sluzba.example.cz"
RECORDS = ("/last-request", "/last-logout", "/last-logout-response")

# Faults that only change one value of the Response or its assertion: (field, value).
VALUE_FAULTS = {
    "wrong_audience": ("audience", ELSEWHERE + "/"),
    "wrong_destination": ("destination", ELSEWHERE + "/acs"),
    "wrong_recipient": ("recipient", ELSEWHERE + "/acs"),
    "wrong_issuer": ("issuer", "urn:example:falesna-nia"),
    "wrong_in_response_to": ("in_response_to", "random"),
    "unsolicited": ("in_response_to", None),
}
# clock_ahead_*: NIA's clock ahead of the SP's (NotBefore = IssueInstant, as NIA writes it)
TIME_FAULTS = {"expired": datetime.timedelta(hours=-2), "future": datetime.timedelta(hours=1),
               "clock_ahead_150s": datetime.timedelta(seconds=150),
               "clock_ahead_240s": datetime.timedelta(seconds=240)}
FAULTS = frozenset(VALUE_FAULTS) | frozenset(TIME_FAULTS) | {
    "unsigned", "unsigned_assertion_only", "wrong_key", "two_assertions", "plaintext",
    "plaintext_and_encrypted", "tampered_assertion", "tampered_response",
    "authn_failed_quirk", "rsa15", "sha1"}


class SamlError(Exception):
    """A message the simulator refuses; the text tells the tester why."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def query_signer(key_file):
    with open(key_file, "rb") as f:
        return RSACrypto(load_pem_private_key(f.read(), None))


def new_id():
    return "_" + secrets.token_hex(16)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def instant(t, ms=True):
    # NIA writes the Response's IssueInstant in seconds and the assertion's in milliseconds.
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond // 1000:03d}" if ms else "") + "Z"


def qname(ns, local):
    return f"{{{ns}}}{local}"


def sub(parent, ns, local, text=None, attrib=None, nsmap=None, **attrs):
    """A child element; attributes whose value is None are left out."""
    values = {**(attrib or {}), **attrs}
    element = etree.SubElement(parent, qname(ns, local),
                               {k: v for k, v in values.items() if v is not None}, nsmap=nsmap)
    element.text = text
    return element


def parse_xml(data):
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def to_bytes(element):
    return etree.tostring(element, encoding="UTF-8", xml_declaration=True)


def child_text(root, path):
    found = root.find(path, NS)
    return found.text.strip() if found is not None and found.text else None


def node_name(element):
    """The element's name as xmlsec1 --id-attr wants it: namespace:local."""
    return element.tag[1:].replace("}", ":")


def pem(b64):
    return "-----BEGIN CERTIFICATE-----\n" + textwrap.fill(b64, 64) + "\n-----END CERTIFICATE-----\n"


# --- the service provider, from its metadata -------------------------------------------

@dataclass
class ServiceProvider:
    entity_id: str
    signing_certs: list
    signing_cert_files: list
    encryption_certs: list
    encryption_cert_files: list
    acs_urls: list
    default_acs: str
    slo_url: Optional[str]
    slo_post_url: Optional[str]


def _write_cert(tmpdir, b64):
    with tempfile.NamedTemporaryFile("w", dir=tmpdir, suffix=".pem", delete=False) as f:
        f.write(pem(b64))
    return f.name


def _default_service(services):
    defaults = [s for s in services if s.get("is_default") == "true"]
    return (defaults or sorted(services, key=lambda s: int(s.get("index", 0))))[0]


def parse_sp_metadata(text, tmpdir):
    md = InMemoryMetaData(None)
    md.parse(text)
    entity_id = next((e for e in md.keys() if "spsso_descriptor" in md[e]), None)
    if entity_id is None:
        raise SamlError("SP metadata has no SPSSODescriptor", 502)
    acs = md.service(entity_id, "spsso_descriptor", "assertion_consumer_service",
                     BINDING_HTTP_POST) or []
    slo = md.service(entity_id, "spsso_descriptor", "single_logout_service",
                     BINDING_HTTP_REDIRECT) or []
    slo_post = md.service(entity_id, "spsso_descriptor", "single_logout_service",
                          BINDING_HTTP_POST) or []
    # As ADFS reads them: a KeyDescriptor without use serves both; one with use="signing"
    # is never encrypted to, one with use="encryption" never verifies a signature.
    signing = ["".join(c.split()) for c in md.certs(entity_id, "spsso", "signing")]
    encryption = ["".join(c.split()) for c in md.certs(entity_id, "spsso", "encryption")]
    if not acs or not signing or not encryption:
        raise SamlError("SP metadata lacks an HTTP-POST AssertionConsumerService, a signing "
                        "or an encryption certificate", 502)
    return ServiceProvider(
        entity_id=entity_id, signing_certs=signing,
        signing_cert_files=[_write_cert(tmpdir, c) for c in signing],
        encryption_certs=encryption,
        encryption_cert_files=[_write_cert(tmpdir, c) for c in encryption],
        acs_urls=[s["location"] for s in acs], default_acs=_default_service(acs)["location"],
        slo_url=(slo[0].get("response_location") or slo[0]["location"]) if slo else None,
        slo_post_url=(slo_post[0].get("response_location") or slo_post[0]["location"])
        if slo_post else None)


class SpSource:
    """The SP's metadata, read when first needed (the SP starts after us) and cached."""

    def __init__(self, url, path, tmpdir):
        self.url, self.path, self.tmpdir = url, path, tmpdir
        self.lock = threading.Lock()
        self.sp = None

    def get(self, reload=False):
        with self.lock:
            if reload or self.sp is None:
                self.sp = parse_sp_metadata(self._read(), self.tmpdir)
            return self.sp

    def _read(self):
        try:
            if self.url:
                with urllib.request.urlopen(self.url, timeout=10) as reply:
                    return reply.read()
            with open(self.path, "rb") as f:
                return f.read()
        except OSError as e:
            raise SamlError(f"cannot read the SP metadata: {e}", 502) from e


# --- receiving SAML messages -----------------------------------------------------------

@dataclass
class Message:
    root: etree._Element
    relay_state: Optional[str]
    sp: ServiceProvider
    sig_alg: str
    signer_serial: str  # the serial number of the SP certificate the signature verified with


# How NIA answers an SP's LogoutRequest.
NIA_LOGOUT_ANSWER = {"binding": "post", "signed": False, "status": "Success"}


def unsigned_redirect(location, root, relay_state):
    message = http_redirect_message(etree.tostring(root, encoding="unicode"), location,
                                    relay_state or "", "SAMLResponse", sign=False)
    return dict(message["headers"])["Location"]


def raw_query(query):
    """name -> value exactly as received, still URL-encoded: the signature covers these."""
    params = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        params.setdefault(unquote_plus(name), value)
    return params


@functools.lru_cache(maxsize=64)
def certificate(cert_b64):
    """A certificate (base64 DER) parsed once: the SP's are used at every message, and
    parsing one, its public key most, costs more than checking a signature with it."""
    cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64))
    return cert, cert.public_key()


def serial_of(cert_b64):
    return str(certificate(cert_b64)[0].serial_number)


def verify_query_signature(raw, kind, certs):
    """Check the Redirect binding's signature over the raw query with the SP's signing
    certificates (CERTS, base64); return its SigAlg and the serial number of the one that
    verified it."""
    if "Signature" not in raw or "SigAlg" not in raw:
        raise SamlError("the query is not signed (no Signature or SigAlg)")
    sig_alg = unquote_plus(raw["SigAlg"])
    if sig_alg != SIG_RSA_SHA256:
        raise SamlError(f"SigAlg {sig_alg} not accepted: only {SIG_RSA_SHA256}")
    signed = "&".join(f"{n}={raw[n]}" for n in (kind, "RelayState", "SigAlg") if n in raw)
    signature = base64.b64decode(unquote_plus(raw["Signature"]))
    for cert in certs:
        key = certificate(cert)[1]
        try:
            key.verify(signature, signed.encode(), PKCS1v15(), SHA256())
            return sig_alg, serial_of(cert)
        except InvalidSignature:
            continue
    raise SamlError("the query signature does not verify with the SP's signing certificate")


def verify_xml_signature(xmlsec, root, data, sp):
    """Check an enveloped signature over the whole message with the SP's signing
    certificates; return its SignatureMethod and the serial number of the one that
    verified it."""
    signature = root.find("ds:Signature", NS)
    if signature is None:
        raise SamlError("the message is not signed (no ds:Signature)")
    sig_alg = signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm")
    if sig_alg != SIG_RSA_SHA256:
        raise SamlError(f"SignatureMethod {sig_alg} not accepted: only {SIG_RSA_SHA256}")
    if signature.find("ds:SignedInfo/ds:Reference", NS).get("URI") != "#" + root.get("ID"):
        raise SamlError("the signature does not refer to the message")
    for cert, cert_file in zip(sp.signing_certs, sp.signing_cert_files):
        try:
            if xmlsec.validate_signature(data, cert_file, "pem", node_name(root), root.get("ID")):
                return sig_alg, serial_of(cert)
        except XmlsecError:
            continue
    raise SamlError("the XML signature does not verify with the SP's signing certificate")


def with_sp(idp, issuer, verify):
    """verify(sp) for the SP in the metadata; the SP may have restarted with other keys or
    another entityID, so on failure read its metadata again and retry once."""
    def check(sp):
        if issuer != sp.entity_id:
            raise SamlError(f"unknown Issuer {issuer!r} (the SP is {sp.entity_id!r})")
        return sp, verify(sp)
    try:
        return check(idp.sp.get())
    except SamlError:
        return check(idp.sp.get(reload=True))


def check_destination(idp, root):
    if root.get("Destination") != idp.sso_url:
        raise SamlError(f"Destination {root.get('Destination')!r} is not {idp.sso_url!r}")


def receive_redirect(idp, query):
    raw = raw_query(query)
    kind = next((k for k in ("SAMLRequest", "SAMLResponse") if k in raw), None)
    if kind is None:
        raise SamlError("no SAMLRequest or SAMLResponse in the query")
    try:
        root = parse_xml(decode_base64_and_inflate(unquote_plus(raw[kind])))
    except Exception as e:
        raise SamlError(f"{kind} cannot be decoded: {e}") from e
    sp, (sig_alg, signer) = with_sp(idp, child_text(root, "saml:Issuer"),
                                    lambda sp: verify_query_signature(raw, kind, sp.signing_certs))
    check_destination(idp, root)
    relay = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    return Message(root, relay, sp, sig_alg, signer)


def receive_post(idp, form):
    try:
        data = base64.b64decode(form["SAMLRequest"])
        root = parse_xml(data)
    except Exception as e:
        raise SamlError(f"SAMLRequest cannot be decoded: {e}") from e
    sp, (sig_alg, signer) = with_sp(idp, child_text(root, "saml:Issuer"),
                                    lambda sp: verify_xml_signature(idp.xmlsec, root, data, sp))
    check_destination(idp, root)
    return Message(root, form.get("RelayState"), sp, sig_alg, signer)


def parse_authn_request(msg):
    root = msg.root
    policy = root.find("samlp:NameIDPolicy", NS)
    context = root.find("samlp:RequestedAuthnContext", NS)
    return {
        "id": root.get("ID"),
        "issuer": child_text(root, "saml:Issuer"),
        "destination": root.get("Destination"),
        "acs_url": root.get("AssertionConsumerServiceURL"),
        "nameid_format": policy.get("Format") if policy is not None else None,
        "comparison": context.get("Comparison") if context is not None else None,
        "loa": [c.text.strip() for c in
                root.iterfind("samlp:RequestedAuthnContext/saml:AuthnContextClassRef", NS)],
        "sp_type": child_text(root, "samlp:Extensions/eidas:SPType"),
        "force_authn": root.get("ForceAuthn") in ("true", "1"),
        "requested_attributes": [
            {"name": a.get("Name"), "required": a.get("isRequired") in ("true", "1"),
             "values": [v.text for v in a.iterfind("eidas:AttributeValue", NS)]}
            for a in root.iterfind("samlp:Extensions/eidas:RequestedAttributes/"
                                   "eidas:RequestedAttribute", NS)],
        "signature_verified": True,
        "sig_alg": msg.sig_alg,
        "signer_serial": msg.signer_serial,
    }


def requested_age(root):
    """The age isAgeOver asks about (eidas:AttributeValue), 18 when it names none."""
    value = root.find(f"samlp:Extensions/eidas:RequestedAttributes/eidas:RequestedAttribute"
                      f"[@Name='{IS_AGE_OVER}']/eidas:AttributeValue", NS)
    return int(value.text) if value is not None and (value.text or "").strip().isdigit() else 18


# --- building SAML messages ------------------------------------------------------------

@dataclass
class Ticket:
    """An AuthnRequest waiting on the picker page."""
    request: dict
    relay_state: Optional[str]
    sp_entity_id: str
    acs_url: str
    age_over: int


@dataclass
class Envelope:
    """Where, when and to whom the Response and its assertions say they are."""
    issuer: str
    destination: str
    recipient: str
    audience: str
    in_response_to: Optional[str]
    issued: datetime.datetime

    @property
    def not_after(self):
        return self.issued + VALIDITY


@dataclass
class Subject:
    key: str
    name_id: str
    name_id_format: str
    attributes: list
    loa: str
    client_ip: str


def envelope(idp, ticket, faults):
    fields = {"issuer": idp.entity_id, "destination": ticket.acs_url,
              "recipient": ticket.acs_url, "audience": ticket.sp_entity_id,
              "in_response_to": ticket.request["id"]}
    for fault in faults & VALUE_FAULTS.keys():
        field, value = VALUE_FAULTS[fault]
        fields[field] = new_id() if value == "random" else value
    shift = sum((TIME_FAULTS[f] for f in faults & TIME_FAULTS.keys()), datetime.timedelta())
    return Envelope(issued=now() + shift, **fields)


def protocol_element(local, issuer, destination, issued, **attrs):
    """A samlp message with NIA's attribute order and its Issuer."""
    values = dict(ID=new_id(), Version="2.0", IssueInstant=instant(issued, ms=False),
                  Destination=destination, **attrs)
    root = etree.Element(qname(SAMLP, local), {k: v for k, v in values.items() if v is not None},
                         nsmap={"samlp": SAMLP, "saml": SAML})
    sub(root, SAML, "Issuer", issuer)
    return root


def add_status(parent, codes, message=None):
    status = sub(parent, SAMLP, "Status")
    code = status
    for value in codes:
        code = sub(code, SAMLP, "StatusCode", Value=STATUS + value)
    if message:
        sub(status, SAMLP, "StatusMessage", message)


TYPED_NAMESPACES = (NATURAL, STORK, MORIS, MORIS_ALIAS)


def add_attribute(statement, issuer, name, value, friendly=None):
    # NIA marks every attribute with the WS-Federation claim's OriginalIssuer, and types
    # the value of each eIDAS, STORK and Czech claim with that attribute's schema type in
    # the attribute's own namespace (tn:CurrentFamilyNameType, tn:eMailType, …).
    friendly = friendly or name.rsplit("/", 1)[-1]
    attr = sub(statement, SAML, "Attribute", nsmap={"a": CLAIMS}, attrib={
        "Name": name, "NameFormat": URI_FORMAT, "FriendlyName": friendly,
        qname(CLAIMS, "OriginalIssuer"): issuer})
    namespace = next((ns for ns in TYPED_NAMESPACES if name.startswith(ns)), None)
    if namespace:
        sub(attr, SAML, "AttributeValue", value, nsmap={"b": XSI, "tn": namespace.rstrip("/")},
            attrib={qname(XSI, "type"): f"tn:{friendly}Type"})
    else:
        sub(attr, SAML, "AttributeValue", value)


def assertion_element(env, subject, session_index, faults):
    assertion = etree.Element(qname(SAML, "Assertion"), {
        "ID": "_" + str(uuid.uuid4()), "IssueInstant": instant(env.issued), "Version": "2.0"},
        nsmap={None: SAML})
    sub(assertion, SAML, "Issuer", env.issuer)
    subj = sub(assertion, SAML, "Subject")
    sub(subj, SAML, "NameID", subject.name_id, Format=subject.name_id_format)
    sub(sub(subj, SAML, "SubjectConfirmation", Method=BEARER), SAML, "SubjectConfirmationData",
        InResponseTo=env.in_response_to, NotOnOrAfter=instant(env.not_after),
        Recipient=env.recipient)
    conditions = sub(assertion, SAML, "Conditions", NotBefore=instant(env.issued),
                     NotOnOrAfter=instant(env.not_after))
    sub(sub(conditions, SAML, "AudienceRestriction"), SAML, "Audience", env.audience)
    statement = sub(assertion, SAML, "AttributeStatement")
    for name, value in subject.attributes:
        add_attribute(statement, env.issuer, name, value)
    if "authn_failed_quirk" in faults:
        add_attribute(statement, env.issuer, STATUS_ATTRIBUTE, STATUS + "AuthnFailed",
                      "StatusCode")
    authn = sub(assertion, SAML, "AuthnStatement", AuthnInstant=instant(env.issued),
                SessionIndex=session_index)
    sub(authn, SAML, "SubjectLocality", Address=subject.client_ip)
    sub(sub(authn, SAML, "AuthnContext"), SAML, "AuthnContextClassRef", LOA + subject.loa)
    return assertion


def tamper_assertion(assertion):
    """Change a value under the assertion's signature: the family name, else the NameID."""
    target = assertion.find(f"saml:AttributeStatement/saml:Attribute[@Name='{FAMILY_NAME}']/"
                            "saml:AttributeValue", NS)
    if target is None:
        target = assertion.find("saml:Subject/saml:NameID", NS)
    target.text = "Podvodník"


def tamper_response(response):
    """Change one character (the last digit of the seconds) of the signed IssueInstant."""
    issued = response.get("IssueInstant")
    response.set("IssueInstant", issued[:-2] + str((int(issued[-2]) + 1) % 10) + "Z")


def with_assertions(response, assertions):
    """The Response with the assertions' text inside. Spliced as text because lxml, moving
    an element into another tree, may rewrite its namespace prefixes to the new parent's,
    and that breaks a signature made over the old ones."""
    text = etree.tostring(response, encoding="unicode")
    end = text.rindex("</samlp:Response>")
    return parse_xml((text[:end] + "".join(assertions) + text[end:]).encode())


@functools.lru_cache(maxsize=16)
def _signature_template(cert, digest_alg, sign_alg):
    # pysaml2 builds it through its own object tree and ElementTree: made each time, it
    # cost more CPU than the two RSA signatures of a Response together.
    return parse_xml(str(pre_signature_part("", cert, digest_alg=digest_alg,
                                            sign_alg=sign_alg)).encode())


def signature_template(ident, cert, digest_alg, sign_alg):
    """pysaml2's ds:Signature template (exc-c14n, CERT in its KeyInfo) for the element with
    ID IDENT, as a new element: a copy of the one made once per certificate and algorithms."""
    template = copy.deepcopy(_signature_template(cert, digest_alg, sign_alg))
    template.find("ds:SignedInfo/ds:Reference", NS).set("URI", "#" + ident)
    return template


def dotnet_name(name):
    """A distinguished name as .NET (and so NIA) writes it: most specific part first,
    ", " between parts, values with special characters in double quotes."""
    parts = []
    for rdn in reversed(name.rdns):
        for attr in rdn:
            value = attr.value
            if any(c in value for c in ',+="<>#;\n'):
                value = '"' + value.replace('"', '""') + '"'
            parts.append(f"{attr.rfc4514_attribute_name}={value}")
    return ", ".join(parts)


@functools.lru_cache(maxsize=64)
def encryption_template(cert_b64, key_transport):
    """NIA's EncryptedData: the key reference is a WS-Security SecurityTokenReference to
    the SP's encryption certificate by issuer and serial number."""
    cert = certificate(cert_b64)[0]
    digest = (f'<DigestMethod Algorithm="{DIGEST_SHA1}"/>' if key_transport == RSA_OAEP_MGF1P
              else "")
    return (
        f'<xenc:EncryptedData xmlns:xenc="{XENC}" Type="{XENC}Element">'
        f'<xenc:EncryptionMethod Algorithm="{AES256_CBC}"/>'
        f'<KeyInfo xmlns="{DS}"><e:EncryptedKey xmlns:e="{XENC}">'
        f'<e:EncryptionMethod Algorithm="{key_transport}">{digest}</e:EncryptionMethod>'
        f'<KeyInfo><o:SecurityTokenReference xmlns:o="{WSSE}"><X509Data><X509IssuerSerial>'
        f'<X509IssuerName>{html.escape(dotnet_name(cert.issuer))}</X509IssuerName>'
        f'<X509SerialNumber>{cert.serial_number}</X509SerialNumber>'
        f'</X509IssuerSerial></X509Data></o:SecurityTokenReference></KeyInfo>'
        f'<e:CipherData><e:CipherValue/></e:CipherData></e:EncryptedKey></KeyInfo>'
        f'<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>')


class Idp:
    """The simulator's keys, the SP it serves and what it has seen."""

    def __init__(self, args, tmpdir):
        self.entity_id = args.entity_id
        self.base_url = args.base_url.rstrip("/")
        self.sso_url = self.base_url + SSO_PATH
        self.key_file, self.cert = args.key, read_cert_from_file(args.cert, "pem")
        self.wrong_key_file, self.wrong_cert = args.wrong_key, read_cert_from_file(
            args.wrong_cert, "pem")
        self.query_signer = query_signer(args.key)
        # NIA's seal signs the metadata; the next key is a signing-key rollover's new key.
        self.seal = ((args.seal_key, read_cert_from_file(args.seal_cert, "pem"))
                     if args.seal_key else None)
        self.next = ((args.next_key, read_cert_from_file(args.next_cert, "pem"),
                      query_signer(args.next_key)) if args.next_key else None)
        self.phase = "current"      # rollover: current, announced, switched, done
        self.metadata_fault = None  # what GET /metadata serves: see set_metadata
        self.xmlsec = (InProcessXmlSec if os.environ.get("KMEN_SIM_CRYPTO") == "in-process"
                       else CryptoBackendXmlSec1)(get_xmlsec_binary())
        self.sp = SpSource(args.sp_metadata_url, args.sp_metadata_file, tmpdir)
        self.tickets = {}
        self.sessions = {}   # SessionIndex -> (identity key, NameID, NameID Format)
        self.records = {}    # "/last-…" path -> what the last such message said
        self.logout_answer = dict(NIA_LOGOUT_ANSWER)  # for the next LogoutRequest only
        self.encrypt_to = 0  # which encryption certificate of the SP's metadata
        self.encrypt_use = "encryption"  # "signing": a fault, to its signing certificates

    def signing_certs(self):
        """The signing certificates the metadata publishes in the current rollover phase."""
        if self.next is None or self.phase == "current":
            return [self.cert]
        return [self.next[1]] if self.phase == "done" else [self.cert, self.next[1]]

    def active_key(self):
        """(key file, certificate, query signer) NIA signs with now: the next key once the
        rollover has switched to it."""
        if self.next is not None and self.phase in ("switched", "done"):
            return self.next
        return self.key_file, self.cert, self.query_signer

    def metadata(self, fault=None):
        """NIA's federation metadata as NIA's AD FS publishes it: a UTF-8 byte-order mark, an
        ID on the EntityDescriptor and no validUntil, an enveloped signature (exc-c14n,
        rsa-sha256) by the seal key (not the key signing Responses), a WS-Federation
        RoleDescriptor before the IDPSSODescriptor. FAULT: None, "forged" (signed by the
        wrong key), "tampered" (signed, then a certificate replaced), "sha1" (signed by the
        seal key with RSA-SHA1 and a SHA-1 digest) or "unsigned"."""
        sso = html.escape(self.sso_url)
        keys = "".join(
            f'  <KeyDescriptor use="signing"><KeyInfo xmlns="{DS}"><X509Data>'
            f'<X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>\n'
            for cert in self.signing_certs())
        text = (
            f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'ID="_{uuid.uuid4()}" entityID="{html.escape(self.entity_id)}">\n'
            f' <RoleDescriptor xmlns:xsi="{XSI}" xmlns:fed="{WSFED}" '
            f'xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="{WSFED}">\n'
            f'{keys}'
            f'  <fed:PassiveRequestorEndpoint><EndpointReference xmlns="{WSA}"><Address>'
            f'{sso}</Address></EndpointReference></fed:PassiveRequestorEndpoint>\n'
            f' </RoleDescriptor>\n'
            f' <IDPSSODescriptor protocolSupportEnumeration="{SAMLP}" '
            f'WantAuthnRequestsSigned="true">\n{keys}'
            f'  <SingleLogoutService Binding="{BINDING_HTTP_REDIRECT}" Location="{sso}"/>\n'
            f'  <NameIDFormat>{NAMEID}persistent</NameIDFormat>\n'
            f'  <NameIDFormat>{NAMEID}transient</NameIDFormat>\n'
            f'  <SingleSignOnService Binding="{BINDING_HTTP_REDIRECT}" Location="{sso}"/>\n'
            f'  <SingleSignOnService Binding="{BINDING_HTTP_POST}" Location="{sso}"/>\n'
            f' </IDPSSODescriptor>\n</EntityDescriptor>\n')
        if self.seal is None or fault == "unsigned":
            return "\ufeff" + text
        key_file, cert = (self.wrong_key_file, self.wrong_cert) if fault == "forged" else self.seal
        root = parse_xml(text.encode())
        sign_alg, digest = ((SIG_RSA_SHA1, DIGEST_SHA1) if fault == "sha1"
                            else (SIG_RSA_SHA256, DIGEST_SHA256))
        root.insert(0, signature_template(root.get("ID"), cert, digest, sign_alg))
        signed = self.xmlsec.sign_statement(to_bytes(root).decode(), node_name(root), key_file,
                                            root.get("ID"))
        if fault == "tampered":
            signed = signed.replace(self.signing_certs()[0], self.wrong_cert)
        return "\ufeff" + signed

    def sign(self, element, faults):
        """Enveloped XML-DSig (exc-c14n) after the element's Issuer; a new tree."""
        key_file, cert = ((self.wrong_key_file, self.wrong_cert) if "wrong_key" in faults
                          else self.active_key()[:2])
        sig_alg, digest = ((SIG_RSA_SHA1, DIGEST_SHA1) if "sha1" in faults
                           else (SIG_RSA_SHA256, DIGEST_SHA256))
        element.find("saml:Issuer", NS).addnext(
            signature_template(element.get("ID"), cert, digest, sig_alg))
        signed = self.xmlsec.sign_statement(to_bytes(element).decode(), node_name(element),
                                            key_file, element.get("ID"))
        return parse_xml(signed.encode())

    def encrypt(self, assertion, sp, faults):
        """The assertion as the text of NIA's EncryptedAssertion. It is wrapped as text so
        that it keeps its own namespace declaration inside the encrypted data, as NIA's does."""
        key_transport = RSA_1_5 if "rsa15" in faults else RSA_OAEP_MGF1P
        wrapped = (f'<EncryptedAssertion xmlns="{SAML}">'
                   + etree.tostring(assertion, encoding="unicode") + "</EncryptedAssertion>")
        certs, files = ((sp.signing_certs, sp.signing_cert_files) if self.encrypt_use == "signing"
                        else (sp.encryption_certs, sp.encryption_cert_files))
        if self.encrypt_to >= len(certs):
            raise SamlError(f"the SP's metadata has no {self.encrypt_use} certificate "
                            f"{self.encrypt_to}", 502)
        cert, cert_file = certs[self.encrypt_to], files[self.encrypt_to]
        encrypted = self.xmlsec.encrypt_assertion(
            wrapped, cert_file, encryption_template(cert, key_transport),
            "aes-256", f"/*/*[@ID='{assertion.get('ID')}']")
        return etree.tostring(parse_xml(encrypted.encode()), encoding="unicode")

    def subject(self, ticket, key, loa, client_ip):
        request = ticket.request
        # NIA answers with a persistent NameID whatever NameIDPolicy asked for.
        name_id = person_identifier(key, ticket.sp_entity_id)
        name_format = NAMEID + "persistent"
        requested = [a["name"] for a in request["requested_attributes"]]
        attributes = released_attributes(key, ticket.sp_entity_id, requested, ticket.age_over)
        return Subject(key, name_id, name_format, attributes, loa, client_ip)

    def signed_assertion(self, env, subject, faults):
        session_index = new_id()
        self.sessions[session_index] = (subject.key, subject.name_id, subject.name_id_format)
        assertion = assertion_element(env, subject, session_index, faults)
        if not faults & {"unsigned", "unsigned_assertion_only"}:
            assertion = self.sign(assertion, faults)
        if "tampered_assertion" in faults:
            tamper_assertion(assertion)
        return assertion

    def login_response(self, ticket, subject, faults):
        sp = self.sp.get()
        env = envelope(self, ticket, faults)
        response = protocol_element("Response", env.issuer, env.destination, env.issued,
                                    InResponseTo=env.in_response_to)
        add_status(response, ["Success"])
        count = 2 if faults & {"two_assertions", "plaintext_and_encrypted"} else 1
        assertions = []
        for i in range(count):
            assertion = self.signed_assertion(env, subject, faults)
            plain = "plaintext" in faults or ("plaintext_and_encrypted" in faults and i == 0)
            assertions.append(etree.tostring(assertion, encoding="unicode") if plain
                              else self.encrypt(assertion, sp, faults))
        return self.finish(with_assertions(response, assertions), faults)

    def cancel_response(self, ticket, faults):
        env = envelope(self, ticket, faults)
        response = protocol_element("Response", env.issuer, env.destination, env.issued,
                                    InResponseTo=env.in_response_to)
        add_status(response, ["Responder", "AuthnFailed"],
                   "Uživatel přihlášení zrušil. / The user cancelled the login.")
        return self.finish(response, faults)

    def finish(self, response, faults):
        if "unsigned" not in faults:
            response = self.sign(response, faults)
        if "tampered_response" in faults:
            tamper_response(response)
        return to_bytes(response)

    def redirect(self, location, kind, root, relay_state=None):
        """The Location of a Redirect-binding message signed over its query (rsa-sha256)."""
        message = http_redirect_message(
            etree.tostring(root, encoding="unicode"), location, relay_state or "", kind,
            sigalg=SIG_RSA_SHA256, sign=True, backend=self.active_key()[2])
        return dict(message["headers"])["Location"]

    def logout_response(self, msg):
        """NIA's answer to the SP's LogoutRequest: (the SP's logout URL, the LogoutResponse's
        XML, or None when it goes by HTTP-Redirect, then its Location). NIA posts it unsigned;
        /admin/logout-answer changes that for the next one."""
        answer, self.logout_answer = self.logout_answer, dict(NIA_LOGOUT_ANSWER)
        root = msg.root
        name_id = root.find("saml:NameID", NS)
        self.records["/last-logout"] = {
            "id": root.get("ID"), "issuer": child_text(root, "saml:Issuer"),
            "name_id": child_text(root, "saml:NameID"),
            "name_id_format": name_id.get("Format") if name_id is not None else None,
            "session_index": child_text(root, "samlp:SessionIndex"),
            "signature_verified": True}
        if not msg.sp.slo_url:
            raise SamlError("the SP metadata has no HTTP-Redirect SingleLogoutService")
        post = answer["binding"] == "post"
        slo_url = (msg.sp.slo_post_url if post else None) or msg.sp.slo_url
        response = protocol_element("LogoutResponse", self.entity_id, slo_url, now(),
                                    InResponseTo=root.get("ID"))
        add_status(response, answer["status"].split("/"))
        self.records["/last-logout"]["answer"] = dict(answer, url=slo_url)
        if not post:
            if answer["signed"]:
                return slo_url, None, self.redirect(slo_url, "SAMLResponse", response,
                                                    msg.relay_state)
            return slo_url, None, unsigned_redirect(slo_url, response, msg.relay_state)
        if answer["signed"]:
            response = self.sign(response, frozenset())
        return slo_url, to_bytes(response), None

    def logout_request(self, key, session_index, age=0, destination=None):
        """An IdP-initiated LogoutRequest for a person's login at the SP, issued AGE seconds
        ago, to the SP's logout URL (or to DESTINATION, for a test: another SP's)."""
        sp = self.sp.get()
        if not sp.slo_url:
            raise SamlError("the SP metadata has no HTTP-Redirect SingleLogoutService")
        session = self.sessions.get(session_index)
        if session and session[0] == key:
            name_id, name_format = session[1], session[2]
        else:
            name_id, name_format = person_identifier(key, sp.entity_id), NAMEID + "persistent"
        request = protocol_element("LogoutRequest", self.entity_id, destination or sp.slo_url,
                                   now() - datetime.timedelta(seconds=age))
        sub(request, SAML, "NameID", name_id, Format=name_format)
        if session_index:
            sub(request, SAMLP, "SessionIndex", session_index)
        return self.redirect(sp.slo_url, "SAMLRequest", request)

    def record_logout_response(self, msg):
        code = msg.root.find("samlp:Status/samlp:StatusCode", NS)
        self.records["/last-logout-response"] = {
            "id": msg.root.get("ID"), "in_response_to": msg.root.get("InResponseTo"),
            "issuer": child_text(msg.root, "saml:Issuer"),
            "status": code.get("Value") if code is not None else None,
            "signature_verified": True}

    def new_ticket(self, msg):
        request = parse_authn_request(msg)
        if not request["id"]:
            raise SamlError("the AuthnRequest has no ID")
        if request["acs_url"] and request["acs_url"] not in msg.sp.acs_urls:
            raise SamlError(f"AssertionConsumerServiceURL {request['acs_url']!r} is not in the "
                            f"SP metadata ({', '.join(msg.sp.acs_urls)})")
        self.records["/last-request"] = request
        token = secrets.token_urlsafe(16)
        self.tickets[token] = Ticket(request, msg.relay_state, msg.sp.entity_id,
                                     request["acs_url"] or msg.sp.default_acs,
                                     requested_age(msg.root))
        return token, self.tickets[token]


# --- pages -----------------------------------------------------------------------------

def page(title, body):
    return (f'<!DOCTYPE html>\n<html lang="cs">\n<head><meta charset="utf-8">'
            f'<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body>\n</html>\n')


def requested_minimum(loas):
    levels = [u[len(LOA):] for u in loas if u.startswith(LOA) and u[len(LOA):] in LOA_LEVELS]
    return min(levels, key=LOA_LEVELS.index, default="substantial")


# The picker's lists of people and faults, the same on every page: made once.
PEOPLE_INPUTS = "\n".join(
    f'<label><input type="radio" name="identity" value="{html.escape(k)}"'
    f'{" checked" * (i == 0)}> {html.escape(p.display_name)} ({html.escape(p.country)})'
    f'</label><br>' for i, (k, p) in enumerate(IDENTITIES.items()))
FAULT_OPTIONS = "".join(f'<option value="{f}">{f}</option>' for f in sorted(FAULTS))


def picker_page(token, ticket):
    e = html.escape
    request = ticket.request
    chosen = requested_minimum(request["loa"])
    names = {"low": "nízká / low", "substantial": "značná / substantial", "high": "vysoká / high"}
    loas = "".join(f'<option value="{v}"{" selected" * (v == chosen)}>{names[v]}</option>'
                   for v in LOA_LEVELS)
    return page("Přihlášení – NIA (simulátor) / Sign-in – NIA (simulator)", f"""\
<h1>Národní identitní autorita – simulátor / National identity authority – simulator</h1>
<p>Služba / Service: <code>{e(request["issuer"] or "")}</code></p>
<form method="post" action="/respond">
<input type="hidden" name="ticket" value="{e(token)}">
<fieldset><legend>Osoba / Person</legend>
{PEOPLE_INPUTS}
</fieldset>
<p><label>Úroveň záruky / Level of assurance: <select name="loa">{loas}</select></label></p>
<p><label>test fault: <select name="fault"><option value="" selected>–</option>{FAULT_OPTIONS}\
</select></label></p>
<p><button type="submit" name="action" value="login" id="login">Přihlásit / Log in</button>
<button type="submit" name="action" value="cancel" id="cancel">Zrušit / Cancel</button></p>
</form>""")


def post_page(acs_url, response, relay_state):
    e = html.escape
    relay = (f'<input type="hidden" name="RelayState" value="{e(relay_state)}">\n'
             if relay_state is not None else "")
    return page("Přesměrování / Redirecting", f"""\
<form method="post" action="{e(acs_url)}" id="samlform">
<input type="hidden" name="SAMLResponse" value="{base64.b64encode(response).decode()}">
{relay}<noscript><p>Pokračujte tlačítkem. / Press the button to continue.</p>
<button type="submit">Pokračovat / Continue</button></noscript>
</form>
<script>document.getElementById('samlform').submit();</script>""")


# --- HTTP ------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "nia_idp"

    @property
    def idp(self):
        return self.server.idp

    def do_GET(self):
        url = urlsplit(self.path)
        routes = {"/metadata": self.get_metadata, SSO_PATH: self.get_sso,
                  "/admin/idp-logout": self.get_idp_logout,
                  "/admin/logout-answer": self.get_logout_answer,
                  "/admin/metadata": self.get_admin_metadata,
                  "/admin/rollover": self.get_rollover,
                  "/admin/sp-metadata": self.get_sp_metadata}
        if url.path in RECORDS:
            self.get_record(url.path)
        else:
            self.serve(routes.get(url.path), url.query)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(),
                                              keep_blank_values=True).items()}
        routes = {SSO_PATH: self.post_sso, "/respond": self.post_respond}
        self.serve(routes.get(urlsplit(self.path).path), form)

    def serve(self, route, arg):
        if route is None:
            return self.reply(404, "text/plain", "not found\n")
        try:
            route(arg)
        except SamlError as e:
            self.log_message("refused: %s", e)
            self.reply(e.status, "text/plain", f"{e}\n")
        except Exception as e:  # a test should see why rather than a dropped connection
            self.log_error("%s", traceback.format_exc())
            self.reply(500, "text/plain", f"simulator error: {e!r}\n")

    def reply(self, status, content_type, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def redirect_to(self, location):
        self.reply(302, "text/plain", f"{location}\n", [("Location", location)])

    def get_metadata(self, _):
        fault = self.idp.metadata_fault
        if fault == "unavailable":
            return self.reply(503, "text/plain", "metadata unavailable\n")
        self.reply(200, "application/samlmetadata+xml", self.idp.metadata(fault))

    def get_admin_metadata(self, query):
        """?fault=none|forged|tampered|sha1|unsigned|unavailable: what GET /metadata serves."""
        fault = parse_qs(query).get("fault", ["none"])[0]
        if fault not in ("none", "forged", "tampered", "sha1", "unsigned", "unavailable"):
            raise SamlError(f"unknown metadata fault {fault!r}")
        self.idp.metadata_fault = None if fault == "none" else fault
        self.reply(200, "text/plain", f"metadata fault {fault}\n")

    def get_rollover(self, query):
        """?phase=current|announced|switched|done: NIA's yearly signing-key rollover. announced:
        the metadata publishes both keys, NIA still signs with the old one; switched: NIA signs
        with the new one; done: the metadata has only the new one."""
        phase = parse_qs(query).get("phase", [""])[0]
        if self.idp.next is None or phase not in ("current", "announced", "switched", "done"):
            raise SamlError(f"no rollover phase {phase!r} (or no --next-key)")
        self.idp.phase = phase
        self.reply(200, "text/plain", f"rollover {phase}\n")

    def get_record(self, path):
        record = self.idp.records.get(path)
        self.reply(200 if record else 404, "application/json", json.dumps(record, indent=1))

    def get_sso(self, query):
        self.dispatch(receive_redirect(self.idp, query))

    def post_sso(self, form):
        self.dispatch(receive_post(self.idp, form))

    def dispatch(self, msg):
        kind = etree.QName(msg.root).localname
        if kind == "AuthnRequest":
            token, ticket = self.idp.new_ticket(msg)
            self.reply(200, "text/html", picker_page(token, ticket))
        elif kind == "LogoutRequest":
            slo_url, posted, location = self.idp.logout_response(msg)
            if posted is None:
                self.redirect_to(location)
            else:
                self.reply(200, "text/html", post_page(slo_url, posted, msg.relay_state))
        elif kind == "LogoutResponse":
            self.idp.record_logout_response(msg)
            self.reply(200, "text/html", page("Odhlášeno / Logged out",
                                              "<p>Odhlášení dokončeno. / Logout complete.</p>"))
        else:
            raise SamlError(f"unexpected message {kind}")

    def post_respond(self, form):
        ticket = self.idp.tickets.get(form.get("ticket"))
        if ticket is None:
            raise SamlError("unknown ticket")
        faults = frozenset(f.strip() for f in form.get("fault", "").split(",") if f.strip())
        if faults - FAULTS:
            raise SamlError(f"unknown fault {', '.join(sorted(faults - FAULTS))}")
        if form.get("action") == "cancel":
            response = self.idp.cancel_response(ticket, faults)
        else:
            key, loa = form.get("identity"), form.get("loa", "substantial")
            if key not in IDENTITIES or loa not in LOA_LEVELS:
                raise SamlError(f"unknown identity {key!r} or level of assurance {loa!r}")
            subject = self.idp.subject(ticket, key, loa, self.client_address[0])
            response = self.idp.login_response(ticket, subject, faults)
        self.reply(200, "text/html", post_page(ticket.acs_url, response, ticket.relay_state))

    def get_logout_answer(self, query):
        params = {k: v[0] for k, v in parse_qs(query).items()}
        answer = {"binding": params.get("binding", "post"),
                  "signed": params.get("signed", "0") == "1",
                  "status": params.get("status", "Success")}
        if answer["binding"] not in ("post", "redirect"):
            raise SamlError(f"unknown binding {answer['binding']!r}")
        self.idp.logout_answer = answer
        self.reply(200, "application/json", json.dumps(answer))

    def get_sp_metadata(self, query):
        params = {k: v[0] for k, v in parse_qs(query).items()}
        sp = self.idp.sp.get(reload=params.get("reload") == "1")
        if "encrypt_to" in params:
            self.idp.encrypt_to = int(params["encrypt_to"])
        use = params.get("encrypt_use", "encryption")
        if use not in ("encryption", "signing"):
            raise SamlError(f"unknown encrypt_use {use!r}")
        self.idp.encrypt_use = use
        self.reply(200, "application/json",
                   json.dumps({"encryption_serials": [serial_of(c) for c in sp.encryption_certs],
                               "signing_serials": [serial_of(c) for c in sp.signing_certs],
                               "encrypt_to": self.idp.encrypt_to, "encrypt_use": use}))

    def get_idp_logout(self, query):
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if params.get("identity") not in IDENTITIES:
            raise SamlError(f"unknown identity {params.get('identity')!r}")
        self.redirect_to(self.idp.logout_request(params["identity"],
                                                 params.get("session_index"),
                                                 int(params.get("age", 0)),
                                                 params.get("destination")))


# --- start -----------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="NIA identity-provider simulator")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--base-url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--wrong-key", required=True)
    p.add_argument("--wrong-cert", required=True)
    sp = p.add_mutually_exclusive_group(required=True)
    sp.add_argument("--sp-metadata-url")
    sp.add_argument("--sp-metadata-file")
    p.add_argument("--metadata-out", required=True)
    p.add_argument("--seal-key", help="signs the metadata (NIA's seal); unsigned without it")
    p.add_argument("--seal-cert")
    p.add_argument("--next-key", help="the new signing key of a rollover (/admin/rollover)")
    p.add_argument("--next-cert")
    p.add_argument("--entity-id", default="urn:microsoft:cgg2010:fpsts")
    return p.parse_args(argv)


def write_atomically(path, text):
    # A caller waits for the file to appear: it must never see half of it.
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="nia_idp-") as tmpdir:
        idp = Idp(args, tmpdir)
        write_atomically(args.metadata_out, idp.metadata())
        server = ThreadingHTTPServer((args.host, args.port), Handler)
        server.idp = idp
        print(f"nia_idp listening on {args.base_url}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


if __name__ == "__main__":
    main()
