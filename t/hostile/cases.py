# SPDX-License-Identifier: GPL-2.0-or-later
"""The hostile SAML Responses: each case takes a genuine answer of the NIA simulator and
makes one thing wrong about it (or wraps it, or buries it in something the parser must not
swallow). A case returns an Attempt: what to POST, where, with which pre-login cookie.

Expected outcome of every case: a 4xx, no session cookie, no new kmen.session or kmen.client
row, no crashed child. Comments and CDATA inside the signed text keep the IdP's signature
valid (exclusive c14n skips a comment and reads CDATA as text), but NIA sends neither and
readers disagree about them, so they are refused too. The case marked SAME_PERSON spells
the identifier with character references, which the parser turns into the very same text:
for it, logging in the person the IdP signed for is also correct, and any other person
would be a failure.

The classic signature-wrapping shapes XSW1-XSW8 (Somorovsky et al., "On Breaking SAML",
2012) are the cases named xsw1_ ... xsw8_; the other wrapping cases are variants of them.
"""

import base64
import os
import re
import datetime
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from t.lib import flow

from .forge import (DS, FAMILY_NAME, GIVEN_NAME, NS, PERSON_IDENTIFIER, SAML, SAMLP, Forge,
                    b64, cut, element_span, insert_after, insert_into_end, new_id, parse,
                    set_attr, strip_decl, text_of)

REFUSED = "4xx"
SAME_PERSON = "4xx or the signed person"
LOA = "http://eidas.europa.eu/LoA/"
SUCCESS = ('<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
           '</samlp:Status>')
VICTIM = "cz-marie"


@dataclass
class Attempt:
    """One POST to an ACS. FIELDS are form-encoded; BODY (bytes) is sent as it is (with
    CONTENT_TYPE). COOKIE: the Cookie header ("name=value" of the pre-login state cookie), or None for none."""
    url: str
    fields: Optional[dict] = None
    body: Optional[bytes] = None
    content_type: str = "application/x-www-form-urlencoded"
    cookie: Optional[str] = None
    stream: bool = False  # send BODY through a raw socket, ready for an early answer


@dataclass
class Case:
    name: str
    category: str
    what: str
    build: Callable
    expected: str = REFUSED
    canary: bool = False  # the case points an entity or XInclude at the canary server


CASES = []


def case(category, what, expected=REFUSED, canary=False):
    def register(fn):
        CASES.append(Case(fn.__name__, category, what, fn, expected, canary))
        return fn
    return register


@dataclass
class Genuine:
    """A login started at /app/ and answered by the simulator, not yet posted."""
    session: requests.Session
    acs: str
    ticket: str
    state: str              # the browser's login-state cookie, as "name=value"
    request_id: str         # the AuthnRequest's ID (the genuine Response's InResponseTo)
    fields: dict
    response: str           # the Response as the sim signed it (no XML declaration)
    plain: str              # the decrypted, IdP-signed assertion, as encrypted
    encrypted: str = field(default="")  # the sim's EncryptedAssertion, as it is in response

    @property
    def response_root(self):
        return parse(self.response)

    def attempt(self, response, cookie="same", url=None):
        """An Attempt posting RESPONSE (text) with this browser's state cookie."""
        return Attempt(url=url or self.acs,
                       fields={"SAMLResponse": base64.b64encode(response.encode()).decode()},
                       cookie=self.state if cookie == "same" else cookie)


class Context:
    """What cases need: the stack, the forge, fresh genuine answers, a second node. STACK:
    a Stack, or a Portal (t/lib/portal.py) whose server's ACS takes every case."""

    def __init__(self, stack, canary_url=""):
        self.stack = stack
        self.forge = Forge(stack.keys)
        self.canary_url = canary_url
        self._node_b = None

    def node_b(self):
        if self._node_b is None:
            self._node_b = self.stack.new_httpd()
        return self._node_b

    def nodes(self):
        return [self.stack.node] + ([self._node_b] if self._node_b else [])

    def genuine(self, identity="cz-jiri", loa="substantial"):
        s = requests.Session()
        loc = flow.start(s, self.stack.base_url + "/app/")
        state = "; ".join(f"{k}={v}" for k, v in flow.held_states(s).items())
        ticket, _ = flow.idp_page(s, loc)
        acs, fields = flow.respond(s, ticket, identity=identity, loa=loa)
        acs = self.stack.url(acs)
        response = strip_decl(base64.b64decode(fields["SAMLResponse"]))
        root = parse(response)
        enc = root.find("saml:EncryptedAssertion", NS)
        _, encrypted = cut(response, "EncryptedAssertion")
        return Genuine(s, acs, ticket, state, root.get("InResponseTo"), fields, response,
                       strip_decl(self.forge.decrypt(enc)), encrypted)

    def victim(self):
        return self.stack.bsi(VICTIM)

    # --- building blocks ------------------------------------------------------------------
    def assertion(self, g, edit=None, sign="idp", alg="rsa-sha256", keyinfo_cert=None,
                  new_assertion_id=False):
        """The genuine assertion without its signature, edited by EDIT(lxml root), then
        signed by SIGN ('idp', 'wrong' or None)."""
        root = parse(self.forge.unsign(g.plain))
        if new_assertion_id:
            root.set("ID", new_id())
        if edit:
            edit(root)
        if not sign:
            return text_of(root)
        return self.forge.sign(text_of(root), sign, alg, keyinfo_cert)

    def response(self, g, parts, edit=None, sign="idp", alg="rsa-sha256", keyinfo_cert=None,
                 response_id=None):
        """A Response with the genuine one's attributes and Issuer, then PARTS (text) after
        the Status; EDIT(lxml root) before signing by SIGN ('idp', 'wrong' or None)."""
        root = g.response_root
        attrs = {k: v for k, v in root.attrib.items()}
        if response_id:
            attrs["ID"] = response_id
        text = self.response_text(attrs, SUCCESS + "".join(parts))
        if edit:
            r = parse(text)
            edit(r)
            text = text_of(r)
        return self.forge.sign(text, sign, alg, keyinfo_cert) if sign else text

    @staticmethod
    def response_text(attrs, body, issuer="urn:microsoft:cgg2010:fpsts"):
        a = "".join(f' {k}="{v}"' for k, v in attrs.items())
        return (f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}"{a}>'
                f'<saml:Issuer>{issuer}</saml:Issuer>{body}</samlp:Response>')

    def rebuilt(self, g, edit_assertion=None, edit_response=None, sign_assertion="idp",
                sign_response="idp", alg="rsa-sha256", transport="oaep",
                content="aes256-cbc"):
        """One defect in an otherwise flawless Response: the assertion edited and signed
        again, encrypted again, the Response edited and signed again."""
        a = self.assertion(g, edit_assertion, sign_assertion, alg)
        enc = self.forge.encrypt(a, transport, content)
        return self.response(g, [enc], edit_response, sign_response, alg)

    def unsigned(self, g, *assertions):
        """An Attempt posting an unsigned Response (the attacker holds no IdP key) that
        carries each of ASSERTIONS (text) encrypted to the SP, as anyone can: the SP's
        certificate is public."""
        return g.attempt(self.response(g, [self.forge.encrypt(a) for a in assertions],
                                       sign=None))

    def evil_edit(self, a):
        """Turn the assertion into one about the victim (new ID, unsigned)."""
        victim = self.victim()
        a.set("ID", new_id())
        a.find("saml:Subject/saml:NameID", NS).text = victim
        set_value(a, PERSON_IDENTIFIER, victim)
        set_value(a, GIVEN_NAME, "Marie")
        set_value(a, FAMILY_NAME, "Nováková")

    def evil(self, g):
        return self.assertion(g, self.evil_edit, sign=None)

    def evil_clone(self, g):
        """The evil assertion under the genuine one's ID: a signed copy the attacker edited,
        so that a verifier looking the signature's Reference up by ID may find either."""
        return set_attr(self.evil(g), "Assertion", "ID", parse(g.plain).get("ID"))

    def when(self, delta):
        t = datetime.datetime.now(datetime.timezone.utc) + delta
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def value_element(a, name):
    return a.find(f"saml:AttributeStatement/saml:Attribute[@Name='{name}']/saml:AttributeValue",
                  NS)


def set_value(a, name, value):
    value_element(a, name).text = value


def plain_without_signature(g):
    """(the genuine assertion without its ds:Signature, that Signature) as text."""
    return cut(g.plain, "Signature")


def put_inside(text, local, piece):
    """PIECE as the last child of the first element LOCAL, which may be empty (<x/>)."""
    a, b = element_span(text, local)
    if text[b - 2:b] == "/>":
        qname = text[a + 1:b].split()[0].rstrip("/>")
        return text[:b - 2] + ">" + piece + f"</{qname}>" + text[b:]
    return insert_into_end(text, local, piece)


def deflate(text):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(text.encode()) + c.flush()


# =========================================================================================
# Signatures
# =========================================================================================
@case("signature", "both signatures removed, assertion re-encrypted")
def signature_stripped(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, sign_assertion=None, sign_response=None))


@case("signature", "IdP-signed assertion, family name edited after signing; Response unsigned")
def signed_then_edited_attribute(ctx):
    g = ctx.genuine()
    edited = g.plain.replace("Dvořák", "Podvodník").replace("Dvo&#345;&#225;k", "Podvodn&#237;k")
    assert edited != g.plain
    return ctx.unsigned(g, edited)


@case("signature", "PersonIdentifier (not NameID) edited to the victim's after signing")
def signed_then_edited_person_identifier(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    a, b = element_span(g.plain, "AttributeStatement")
    edited = g.plain[:a] + g.plain[a:b].replace(bsi, ctx.victim()) + g.plain[b:]
    assert edited != g.plain
    return ctx.unsigned(g, edited)


@case("signature", "LoA raised substantial -> high after signing")
def signed_then_edited_loa(ctx):
    g = ctx.genuine()
    edited = g.plain.replace(LOA + "substantial", LOA + "high")
    return ctx.unsigned(g, edited)


@case("signature", "valid assertion re-encrypted under the IdP's Response signature "
                   "(Response digest no longer matches)")
def response_signature_broken_assertion_valid(ctx):
    g = ctx.genuine()
    return g.attempt(g.response.replace(g.encrypted, ctx.forge.encrypt(g.plain)))


@case("signature", "Response signed by a key not in the metadata, assertion unsigned")
def wrong_key_response(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, sign_assertion=None, sign_response="wrong"))


@case("signature", "assertion signed by a key not in the metadata, Response unsigned")
def wrong_key_assertion(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, sign_assertion="wrong", sign_response=None))


@case("signature", "Response and assertion both signed by a key not in the metadata")
def wrong_key_both(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, sign_assertion="wrong", sign_response="wrong"))


@case("signature", "signed by the wrong key, KeyInfo carries the IdP's certificate")
def wrong_key_idp_cert_in_keyinfo(ctx):
    g = ctx.genuine()
    idp_cert = ctx.stack.keys.idp_cert
    a = ctx.assertion(g, sign="wrong", keyinfo_cert=idp_cert)
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(a)], sign="wrong",
                                  keyinfo_cert=idp_cert))


@case("signature", "victim assertion, Response signed by the wrong key")
def wrong_key_victim_assertion(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(ctx.evil(g))], sign="wrong"))


@case("signature", "genuine Response with one DigestValue character changed")
def digest_value_altered(ctx):
    g = ctx.genuine()
    a, b = element_span(g.response, "DigestValue")
    digest = g.response[a:b]
    i = digest.index(">") + 1
    flipped = digest[:i] + ("A" if digest[i] != "A" else "B") + digest[i + 1:]
    return g.attempt(g.response[:a] + flipped + g.response[b:])


@case("signature", "genuine Response with its SignatureValue altered")
def signature_value_altered(ctx):
    g = ctx.genuine()
    a, b = element_span(g.response, "SignatureValue")
    value = g.response[a:b]
    i = value.index(">") + 5
    flipped = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
    return g.attempt(g.response[:a] + flipped + g.response[b:])


@case("signature", "Response signature element emptied (SignedInfo without Reference)")
def signature_without_reference(ctx):
    g = ctx.genuine()
    a, b = element_span(g.response, "Reference")
    return g.attempt(g.response[:a] + g.response[b:])


# =========================================================================================
# XML signature wrapping
# =========================================================================================
def wrapped_response(ctx, g, body, response_id=None):
    attrs = dict(g.response_root.attrib)
    attrs["ID"] = response_id or new_id()
    return ctx.response_text(attrs, body)


@case("wrapping", "evil Response root carries the IdP's Response signature; the signed "
                  "original Response moved into samlp:Extensions")
def xsw_response_in_extensions(ctx):
    g = ctx.genuine()
    original, sig = cut(g.response, "Signature")
    body = (sig + f"<samlp:Extensions>{original}</samlp:Extensions>" + SUCCESS
            + ctx.forge.encrypt(ctx.evil(g)))
    return g.attempt(wrapped_response(ctx, g, body))


@case("wrapping", "XSW1: evil Response root carries the IdP's Response signature; the "
                  "original Response, its signature cut out, is that signature's last child")
def xsw1_response_in_signature(ctx):
    g = ctx.genuine()
    original, sig = cut(g.response, "Signature")
    sig = insert_into_end(sig, "Signature", original)
    body = sig + SUCCESS + ctx.forge.encrypt(ctx.evil(g))
    return g.attempt(wrapped_response(ctx, g, body))


@case("wrapping", "XSW2: evil Response root; the original Response, its signature cut out, "
                  "before the IdP's Response signature (a detached signature)")
def xsw2_response_before_signature(ctx):
    g = ctx.genuine()
    original, sig = cut(g.response, "Signature")
    body = original + sig + SUCCESS + ctx.forge.encrypt(ctx.evil(g))
    return g.attempt(wrapped_response(ctx, g, body))


@case("wrapping", "evil Response root; the signed original Response inside the moved "
                  "signature's ds:Object")
def xsw_response_in_object(ctx):
    g = ctx.genuine()
    original, sig = cut(g.response, "Signature")
    sig = insert_into_end(sig, "Signature", f'<ds:Object xmlns:ds="{DS}">{original}</ds:Object>')
    body = sig + SUCCESS + ctx.forge.encrypt(ctx.evil(g))
    return g.attempt(wrapped_response(ctx, g, body))


@case("wrapping", "evil Response with the original's ID; original (signed) in Extensions")
def xsw_response_same_id(ctx):
    g = ctx.genuine()
    original, sig = cut(g.response, "Signature")
    body = (sig + f"<samlp:Extensions>{original}</samlp:Extensions>" + SUCCESS
            + ctx.forge.encrypt(ctx.evil(g)))
    return g.attempt(wrapped_response(ctx, g, body, g.response_root.get("ID")))


@case("wrapping", "evil unsigned Response root; the intact signed Response as its last child")
def xsw_response_original_as_child(ctx):
    g = ctx.genuine()
    body = SUCCESS + ctx.forge.encrypt(ctx.evil(g)) + g.response
    return g.attempt(wrapped_response(ctx, g, body))


@case("wrapping", "XSW3: evil clone (the genuine's ID) before the signed assertion, both in "
                  "one EncryptedData")
def xsw3_clone_before_signed_assertion(ctx):
    g = ctx.genuine()
    return ctx.unsigned(g, ctx.evil_clone(g) + g.plain)


@case("wrapping", "XSW4: evil clone (the genuine's ID) wraps the intact signed assertion as "
                  "its last child")
def xsw4_clone_wraps_signed_assertion(ctx):
    g = ctx.genuine()
    evil = insert_into_end(ctx.evil_clone(g), "Assertion", g.plain)
    return ctx.unsigned(g, evil)


@case("wrapping", "XSW5: evil clone carries the genuine signature; the genuine assertion, its "
                  "signature cut out, appended at the end of the Response (encrypted too)")
def xsw5_clone_signed_original_at_end(ctx):
    g = ctx.genuine()
    genuine, sig = plain_without_signature(g)
    evil = insert_after(ctx.evil_clone(g), "Issuer", sig)
    return ctx.unsigned(g, evil, genuine)


@case("wrapping", "XSW6: evil clone carries the genuine signature; the genuine assertion, its "
                  "signature cut out, is that signature's last child")
def xsw6_clone_signed_original_in_signature(ctx):
    g = ctx.genuine()
    genuine, sig = plain_without_signature(g)
    evil = insert_after(ctx.evil_clone(g), "Issuer", insert_into_end(sig, "Signature", genuine))
    return ctx.unsigned(g, evil)


@case("wrapping", "XSW7: evil clone in samlp:Extensions, the genuine signed encrypted "
                  "assertion in its place")
def xsw7_clone_in_extensions(ctx):
    g = ctx.genuine()
    attrs = dict(g.response_root.attrib)
    body = f"<samlp:Extensions>{ctx.evil_clone(g)}</samlp:Extensions>" + SUCCESS + g.encrypted
    return g.attempt(ctx.response_text(attrs, body))


@case("wrapping", "XSW8: evil assertion carries the genuine assertion's signature; the "
                  "genuine assertion, its signature cut out, inside that signature's ds:Object")
def xsw8_assertion_in_signature_object(ctx):
    g = ctx.genuine()
    genuine, sig = plain_without_signature(g)
    sig = insert_into_end(sig, "Signature", f'<ds:Object xmlns:ds="{DS}">{genuine}</ds:Object>')
    evil = insert_after(ctx.evil(g), "Issuer", sig)
    return ctx.unsigned(g, evil)


@case("wrapping", "evil assertion carries the genuine signature; genuine assertion in "
                  "saml:Advice")
def xsw_assertion_in_advice(ctx):
    g = ctx.genuine()
    genuine, sig = plain_without_signature(g)
    evil = insert_after(ctx.evil(g), "Issuer", sig)
    evil = insert_after(evil, "Conditions", f'<Advice xmlns="{SAML}">{genuine}</Advice>')
    return ctx.unsigned(g, evil)


@case("wrapping", "as xsw_assertion_in_advice, the evil assertion with the genuine's ID")
def xsw_assertion_same_id_in_advice(ctx):
    g = ctx.genuine()
    genuine, sig = plain_without_signature(g)
    evil = insert_after(ctx.evil_clone(g), "Issuer", sig)
    evil = insert_after(evil, "Conditions", f'<Advice xmlns="{SAML}">{genuine}</Advice>')
    return ctx.unsigned(g, evil)


@case("wrapping", "evil unsigned assertion; the intact signed assertion in its saml:Advice")
def xsw_signed_assertion_in_advice(ctx):
    g = ctx.genuine()
    evil = insert_after(ctx.evil(g), "Conditions", f'<Advice xmlns="{SAML}">{g.plain}</Advice>')
    return ctx.unsigned(g, evil)


@case("wrapping", "evil unsigned assertion; the signed assertion in its "
                  "SubjectConfirmationData")
def xsw_signed_assertion_in_subject_confirmation(ctx):
    g = ctx.genuine()
    evil = put_inside(ctx.evil(g), "SubjectConfirmationData", g.plain)
    return ctx.unsigned(g, evil)


@case("wrapping", "signed assertion (plaintext) in samlp:Extensions, evil encrypted one "
                  "in its place")
def xsw_signed_assertion_in_extensions(ctx):
    g = ctx.genuine()
    attrs = dict(g.response_root.attrib)
    body = (f"<samlp:Extensions>{g.plain}</samlp:Extensions>" + SUCCESS
            + ctx.forge.encrypt(ctx.evil(g)))
    return g.attempt(ctx.response_text(attrs, body))


@case("wrapping", "signed assertion under samlp:Status/StatusDetail, evil encrypted one "
                  "in its place")
def xsw_signed_assertion_under_status(ctx):
    g = ctx.genuine()
    attrs = dict(g.response_root.attrib)
    status = SUCCESS.replace("</samlp:Status>",
                             f"<samlp:StatusDetail>{g.plain}</samlp:StatusDetail></samlp:Status>")
    return g.attempt(ctx.response_text(attrs, status + ctx.forge.encrypt(ctx.evil(g))))


@case("wrapping", "signed assertion and evil assertion in one EncryptedData")
def xsw_two_in_one_encrypted_data(ctx):
    g = ctx.genuine()
    return ctx.unsigned(g, g.plain + ctx.evil(g))


@case("wrapping", "evil assertion, then the signed one, in one EncryptedData")
def xsw_two_in_one_encrypted_data_evil_first(ctx):
    g = ctx.genuine()
    return ctx.unsigned(g, ctx.evil(g) + g.plain)


@case("wrapping", "evil encrypted assertion beside the signed encrypted one (signed first)")
def evil_beside_signed(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.response(g, [g.encrypted, ctx.forge.encrypt(ctx.evil(g))], sign=None))


@case("wrapping", "evil encrypted assertion beside the signed encrypted one (evil first)")
def evil_before_signed(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(ctx.evil(g)), g.encrypted], sign=None))


@case("wrapping", "evil encrypted assertion, the signed one beside it in plaintext")
def evil_encrypted_signed_plaintext(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.response(g, [g.plain, ctx.forge.encrypt(ctx.evil(g))], sign=None))


@case("wrapping", "genuine signed Response with an evil plaintext assertion appended")
def evil_plaintext_in_signed_response(ctx):
    g = ctx.genuine()
    return g.attempt(insert_after(g.response, "EncryptedAssertion", ctx.evil(g)))


# =========================================================================================
# Shape: how many assertions, and in which form
# =========================================================================================
@case("shape", "two encrypted assertions, each IdP-signed, Response IdP-signed")
def two_signed_assertions(ctx):
    g = ctx.genuine()
    a1 = ctx.assertion(g)
    a2 = ctx.assertion(g, new_assertion_id=True)
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(a1), ctx.forge.encrypt(a2)]))


@case("shape", "two IdP-signed assertions in one EncryptedData, Response IdP-signed")
def two_signed_assertions_one_encrypted_data(ctx):
    g = ctx.genuine()
    a1 = ctx.assertion(g)
    a2 = ctx.assertion(g, new_assertion_id=True)
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(a1 + a2)]))


@case("shape", "encrypted assertion plus a plaintext one, all IdP-signed")
def encrypted_plus_plaintext(ctx):
    g = ctx.genuine()
    a1 = ctx.assertion(g)
    a2 = ctx.assertion(g, new_assertion_id=True)
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(a1), a2]))


@case("shape", "plaintext assertion only, assertion and Response IdP-signed")
def plaintext_only(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.response(g, [ctx.assertion(g)]))


@case("shape", "Success status, no assertion at all, Response IdP-signed")
def success_without_assertion(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.response(g, []))


@case("shape", "the decrypted signed assertion itself posted as the SAMLResponse")
def assertion_as_message(ctx):
    g = ctx.genuine()
    return g.attempt(g.plain)


@case("shape", "IdP-signed LogoutResponse posted to the ACS")
def logout_response_at_acs(ctx):
    g = ctx.genuine()
    root = g.response_root
    text = (f'<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{new_id()}" '
            f'Version="2.0" IssueInstant="{root.get("IssueInstant")}" '
            f'Destination="{root.get("Destination")}" InResponseTo="{g.request_id}">'
            f'<saml:Issuer>urn:microsoft:cgg2010:fpsts</saml:Issuer>{SUCCESS}'
            f'</samlp:LogoutResponse>')
    return g.attempt(ctx.forge.sign(text))


# =========================================================================================
# Envelope, audience, time, request binding (everything else IdP-signed and valid)
# =========================================================================================
def set_scd(attr, value):
    def edit(a):
        scd = a.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
        if value is None:
            scd.attrib.pop(attr, None)
        else:
            scd.set(attr, value)
    return edit


def set_conditions(attr, value):
    return lambda a: a.find("saml:Conditions", NS).set(attr, value)


def set_root(attr, value):
    def edit(r):
        if value is None:
            r.attrib.pop(attr, None)
        else:
            r.set(attr, value)
    return edit


def elsewhere(url):
    return url.replace("localhost", "jina-sluzba.example.cz")


@case("envelope", "Destination is another SP's ACS")
def wrong_destination(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, edit_response=set_root("Destination", elsewhere(g.acs))))


@case("envelope", "no Destination")
def no_destination(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, edit_response=set_root("Destination", None)))


@case("envelope", "Destination differs only by a trailing slash")
def destination_trailing_slash(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, edit_response=set_root("Destination", g.acs + "/")))


@case("envelope", "SubjectConfirmationData Recipient is another SP's ACS")
def wrong_recipient(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, edit_assertion=set_scd("Recipient", elsewhere(g.acs))))


@case("envelope", "Audience is another SP")
def wrong_audience(ctx):
    g = ctx.genuine()
    edit = lambda a: setattr(a.find("saml:Conditions/saml:AudienceRestriction/saml:Audience",
                                    NS), "text", "https://jina-sluzba.example.cz/")
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("envelope", "a second AudienceRestriction naming another SP")
def second_audience_restriction(ctx):
    g = ctx.genuine()

    def edit(a):
        cond = a.find("saml:Conditions", NS)
        ar = parse(f'<AudienceRestriction xmlns="{SAML}"><Audience>'
                   f'https://jina-sluzba.example.cz/</Audience></AudienceRestriction>')
        cond.append(ar)
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("envelope", "no AudienceRestriction")
def no_audience_restriction(ctx):
    g = ctx.genuine()

    def edit(a):
        cond = a.find("saml:Conditions", NS)
        cond.remove(cond.find("saml:AudienceRestriction", NS))
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("envelope", "Response Issuer is not the IdP")
def wrong_response_issuer(ctx):
    g = ctx.genuine()
    edit = lambda r: setattr(r.find("saml:Issuer", NS), "text", "urn:example:falesna-nia")
    return g.attempt(ctx.rebuilt(g, edit_response=edit))


@case("envelope", "assertion Issuer is not the IdP")
def wrong_assertion_issuer(ctx):
    g = ctx.genuine()
    edit = lambda a: setattr(a.find("saml:Issuer", NS), "text", "urn:example:falesna-nia")
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("time", "Conditions expired two hours ago")
def expired_conditions(ctx):
    g = ctx.genuine()

    def edit(a):
        set_conditions("NotBefore", ctx.when(datetime.timedelta(hours=-3)))(a)
        set_conditions("NotOnOrAfter", ctx.when(datetime.timedelta(hours=-2)))(a)
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("time", "SubjectConfirmationData expired four minutes ago (past the 180 s skew)")
def expired_subject_confirmation(ctx):
    g = ctx.genuine()
    edit = set_scd("NotOnOrAfter", ctx.when(datetime.timedelta(minutes=-4)))
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("time", "Conditions NotBefore two hours ahead")
def future_not_before(ctx):
    g = ctx.genuine()
    edit = set_conditions("NotBefore", ctx.when(datetime.timedelta(hours=2)))
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("time", "NotOnOrAfter is not an xs:dateTime")
def malformed_not_on_or_after(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, edit_assertion=set_conditions("NotOnOrAfter", "tomorrow")))


@case("request", "InResponseTo (Response and assertion) names a request the SP never "
                 "issued; the state cookie names it too")
def unknown_in_response_to(ctx):
    g = ctx.genuine()
    rid = new_id()
    r = ctx.rebuilt(g, edit_assertion=set_scd("InResponseTo", rid),
                    edit_response=set_root("InResponseTo", rid))
    return g.attempt(r, cookie=f"{flow.state_cookie_name(rid)}={rid}")


@case("request", "assertion's InResponseTo differs from the Response's")
def assertion_in_response_to_mismatch(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, edit_assertion=set_scd("InResponseTo", new_id())))


@case("request", "unsolicited: no InResponseTo anywhere, no state cookie")
def unsolicited(ctx):
    g = ctx.genuine()
    r = ctx.rebuilt(g, edit_assertion=set_scd("InResponseTo", None),
                    edit_response=set_root("InResponseTo", None))
    return g.attempt(r, cookie=None)


@case("request", "unsolicited: no InResponseTo anywhere, the browser's own state cookie")
def unsolicited_with_state_cookie(ctx):
    g = ctx.genuine()
    r = ctx.rebuilt(g, edit_assertion=set_scd("InResponseTo", None),
                    edit_response=set_root("InResponseTo", None))
    return g.attempt(r)


@case("request", "genuine Response for another browser's login (this one's state, under "
                 "its own name and under the name of the other login's cookie)")
def response_for_another_login(ctx):
    g = ctx.genuine()
    mine = requests.Session()
    flow.start(mine, ctx.stack.base_url + "/app/")
    (name, value), = flow.held_states(mine).items()
    other = flow.state_cookie_name(g.request_id)
    return g.attempt(g.response, cookie=f"{name}={value}; {other}={value}")


@case("request", "second Response to an AuthnRequest already consumed by a login")
def reused_in_response_to(ctx):
    g = ctx.genuine()
    first = flow.post_acs(g.session, g.acs, g.fields)
    assert first.status_code == 303, f"setup login failed: {first.status_code}"
    _, fields = flow.respond(g.session, g.ticket)
    return Attempt(url=g.acs, fields=fields, cookie=g.state)


@case("request", "the same Response posted twice to the same node")
def replay_same_node(ctx):
    g = ctx.genuine()
    first = flow.post_acs(g.session, g.acs, g.fields)
    assert first.status_code == 303, f"setup login failed: {first.status_code}"
    return Attempt(url=g.acs, fields=g.fields, cookie=g.state)


@case("request", "the Response accepted on node A replayed on node B (same database)")
def replay_other_node(ctx):
    node_b = ctx.node_b()
    g = ctx.genuine()
    first = flow.post_acs(g.session, g.acs, g.fields)
    assert first.status_code == 303, f"setup login failed: {first.status_code}"
    return Attempt(url=node_b.base_url + "/kmen/acs", fields=g.fields, cookie=g.state)


@case("request", "a fresh Response posted to node B while node A already consumed the "
                 "AuthnRequest (same assertion re-signed under a new Response ID)")
def replay_other_node_new_response_id(ctx):
    node_b = ctx.node_b()
    g = ctx.genuine()
    first = flow.post_acs(g.session, g.acs, g.fields)
    assert first.status_code == 303, f"setup login failed: {first.status_code}"
    r = ctx.response(g, [ctx.forge.encrypt(g.plain)], response_id=new_id())
    return g.attempt(r, url=node_b.base_url + "/kmen/acs")


def replayed_assertion_for_new_request(ctx, url=None):
    """Login 1 accepted; then the same assertion ID, IdP-signed again for a second login's
    request (everything valid but the assertion ID, which the replay cache knows)."""
    g1 = ctx.genuine()
    first = flow.post_acs(g1.session, g1.acs, g1.fields)
    assert first.status_code == 303, f"setup login failed: {first.status_code}"
    g2 = ctx.genuine()
    a = ctx.assertion(g1, set_scd("InResponseTo", g2.request_id))
    return g2.attempt(ctx.response(g2, [ctx.forge.encrypt(a)]), url=url)


@case("request", "an accepted assertion's ID, IdP-signed anew for a fresh request "
                 "(only the replay cache can refuse it)")
def replay_assertion_id_fresh_request(ctx):
    return replayed_assertion_for_new_request(ctx)


@case("request", "as replay_assertion_id_fresh_request, posted to node B")
def replay_assertion_id_fresh_request_other_node(ctx):
    return replayed_assertion_for_new_request(ctx, ctx.node_b().base_url + "/kmen/acs")


@case("assurance", "AuthnContextClassRef is not an eIDAS LoA")
def loa_not_eidas(ctx):
    g = ctx.genuine()
    edit = lambda a: setattr(a.find("saml:AuthnStatement/saml:AuthnContext/"
                                    "saml:AuthnContextClassRef", NS), "text",
                             "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("assurance", "SubjectConfirmation method holder-of-key instead of bearer")
def not_bearer(ctx):
    g = ctx.genuine()
    edit = lambda a: a.find("saml:Subject/saml:SubjectConfirmation", NS).set(
        "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


@case("assurance", "a second PersonIdentifier attribute, the victim's, after the person's own "
                   "(IdP-signed; the last one used to win)")
def second_person_identifier(ctx):
    g = ctx.genuine()
    victim = ctx.victim()

    def edit(a):
        own = value_element(a, PERSON_IDENTIFIER).getparent()
        second = parse(text_of(own))
        second.find("saml:AttributeValue", NS).text = victim
        own.addnext(second)
    return g.attempt(ctx.rebuilt(g, edit_assertion=edit))


# =========================================================================================
# Parser: DTDs, entities, XInclude, sizes, encodings
# =========================================================================================
def with_doctype(g, doctype, issuer_text=None):
    """The genuine Response (signature intact) behind DOCTYPE; ISSUER_TEXT replaces the
    Response Issuer's text (an entity reference, say)."""
    text = g.response
    if issuer_text is not None:
        text = text.replace("<saml:Issuer>urn:microsoft:cgg2010:fpsts</saml:Issuer>",
                            f"<saml:Issuer>{issuer_text}</saml:Issuer>", 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + "\n" + text


def laughs(depth=10, width=10):
    """(the entity declarations of a billion-laughs DTD, the reference that expands them):
    WIDTH ** (DEPTH - 1) copies of "lol"."""
    ents = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * width}">' for i in range(1, depth)]
    return "".join(ents), f"&l{depth - 1};"


@case("parser", "an element with an undeclared namespace prefix in samlp:Extensions")
def undeclared_prefix(ctx):
    g = ctx.genuine()
    attrs = dict(g.response_root.attrib)
    body = "<samlp:Extensions><nowhere:Thing/></samlp:Extensions>" + SUCCESS + g.encrypted
    return g.attempt(ctx.response_text(attrs, body))


@case("parser", "DOCTYPE with nested internal entities (billion laughs) used in Issuer")
def billion_laughs(ctx):
    g = ctx.genuine()
    ents, ref = laughs()
    return g.attempt(with_doctype(g, f"<!DOCTYPE samlp:Response [{ents}]>", ref))


@case("parser", "DOCTYPE whose internal entity spells the IdP's name (signature would "
                "still hold after substitution)")
def internal_entity_issuer(ctx):
    g = ctx.genuine()
    return g.attempt(with_doctype(
        g, '<!DOCTYPE samlp:Response [<!ENTITY nia "urn:microsoft:cgg2010:fpsts">]>', "&nia;"))


@case("parser", "external entity: file:///etc/passwd in Issuer")
def external_entity_file(ctx):
    g = ctx.genuine()
    return g.attempt(with_doctype(
        g, '<!DOCTYPE samlp:Response [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"))


@case("parser", "external entity over HTTP (canary server) in Issuer", canary=True)
def external_entity_http(ctx):
    g = ctx.genuine()
    url = ctx.canary_url + "/entity"
    return g.attempt(with_doctype(
        g, f'<!DOCTYPE samlp:Response [<!ENTITY x SYSTEM "{url}">]>', "&x;"))


@case("parser", "external DTD subset over HTTP (canary server)", canary=True)
def external_dtd(ctx):
    g = ctx.genuine()
    return g.attempt(with_doctype(
        g, f'<!DOCTYPE samlp:Response SYSTEM "{ctx.canary_url}/dtd">'))


@case("parser", "external parameter entity over HTTP (canary server)", canary=True)
def external_parameter_entity(ctx):
    g = ctx.genuine()
    return g.attempt(with_doctype(
        g, f'<!DOCTYPE samlp:Response [<!ENTITY % p SYSTEM "{ctx.canary_url}/pe"> %p;]>'))


def with_xinclude(g, href, parse_as="text"):
    inc = (f'<samlp:Extensions><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
           f'href="{href}" parse="{parse_as}"/></samlp:Extensions>')
    return insert_after(g.response, "Signature", inc)


@case("parser", "XInclude of file:///etc/passwd in the signed Response's Extensions")
def xinclude_file(ctx):
    g = ctx.genuine()
    return g.attempt(with_xinclude(g, "file:///etc/passwd"))


@case("parser", "XInclude over HTTP (canary server)", canary=True)
def xinclude_http(ctx):
    g = ctx.genuine()
    return g.attempt(with_xinclude(g, ctx.canary_url + "/xinclude", "xml"))


@case("parser", "20,000 nested elements in Extensions")
def deep_nesting(ctx):
    g = ctx.genuine()
    depth = 20000
    deep = "<samlp:Extensions>" + "<x>" * depth + "</x>" * depth + "</samlp:Extensions>"
    return g.attempt(insert_after(g.response, "Signature", deep))


@case("parser", "genuine Response declared UTF-16 but sent as UTF-8")
def wrong_encoding_declaration(ctx):
    g = ctx.genuine()
    return g.attempt('<?xml version="1.0" encoding="UTF-16"?>' + g.response)


@case("parser", "NUL byte inside the Response's Issuer")
def nul_byte(ctx):
    g = ctx.genuine()
    return g.attempt(g.response.replace("urn:microsoft:cgg2010:fpsts",
                                        "urn:microsoft:cgg2010:fpsts\x00evil", 1))


@case("parser", "the genuine Response, then a NUL byte and a second Response (libxml2 stops "
                "reading at the NUL)")
def nul_after_root(ctx):
    g = ctx.genuine()
    return g.attempt(g.response + "\x00" + ctx.response(g, [ctx.forge.encrypt(ctx.evil(g))]))


def with_cipher_value(ctx, g, replacement, of_the_key=False):
    """The genuine assertion encrypted, in an unsigned Response, the CipherValue element of
    its EncryptedData (or, OF_THE_KEY, of its EncryptedKey) replaced by REPLACEMENT."""
    enc = ctx.forge.encrypt(g.plain)
    a = enc.index("<xenc:CipherValue>") if of_the_key else enc.rindex("<xenc:CipherValue>")
    b = enc.index("</xenc:CipherValue>", a) + len("</xenc:CipherValue>")
    return g.attempt(ctx.response(g, [enc[:a] + replacement + enc[b:]], sign=None))


@case("parser", "an EncryptedKey whose CipherData holds text, no CipherValue (xmlsec 1.2.37 "
                "leaks memory on it)")
def cipher_data_without_value(ctx):
    g = ctx.genuine()
    return with_cipher_value(ctx, g, "AAAA", of_the_key=True)


@case("parser", "invalid UTF-8 byte in the Response")
def invalid_utf8(ctx):
    g = ctx.genuine()
    raw = g.response.encode().replace(b"<samlp:Status>", b"<samlp:Status>\xff\xfe", 1)
    return Attempt(url=g.acs, fields={"SAMLResponse": base64.b64encode(raw).decode()},
                   cookie=g.state)


@case("transport", "5 MB SAMLResponse (genuine base64 then padding)")
def body_5mb(ctx):
    return big_body(ctx, 5 << 20)


@case("transport", "50 MB SAMLResponse")
def body_50mb(ctx):
    return big_body(ctx, 50 << 20)


def big_body(ctx, size):
    g = ctx.genuine()
    b64 = base64.b64encode(g.response.encode()).decode()
    pad = "A" * (size - len(b64))
    body = ("SAMLResponse=" + requests.utils.quote(b64, safe="") + pad).encode()
    return Attempt(url=g.acs, body=body, cookie=g.state, stream=True)


@case("transport", "SAMLResponse that is not base64 at all")
def malformed_base64(ctx):
    g = ctx.genuine()
    return Attempt(url=g.acs, fields={"SAMLResponse": "%%% not <base64> at all! ~~~"},
                   cookie=g.state)


@case("transport", "SAMLResponse in the URL-safe base64 alphabet")
def urlsafe_base64(ctx):
    g = ctx.genuine()
    value = base64.urlsafe_b64encode(g.response.encode()).decode()
    if "-" not in value and "_" not in value:
        value = "-_" + value
    return Attempt(url=g.acs, fields={"SAMLResponse": value}, cookie=g.state)


@case("transport", "base64 with the genuine Response cut in half")
def truncated_xml(ctx):
    g = ctx.genuine()
    half = g.response.encode()[:len(g.response) // 2]
    return Attempt(url=g.acs, fields={"SAMLResponse": base64.b64encode(half).decode()},
                   cookie=g.state)


@case("transport", "base64 of the genuine Response with the last 3 characters cut")
def truncated_base64(ctx):
    g = ctx.genuine()
    return Attempt(url=g.acs, fields={"SAMLResponse": g.fields["SAMLResponse"][:-3]},
                   cookie=g.state)


@case("transport", "empty SAMLResponse")
def empty_response(ctx):
    g = ctx.genuine()
    return Attempt(url=g.acs, fields={"SAMLResponse": ""}, cookie=g.state)


@case("transport", "no SAMLResponse field, 5,000 other fields")
def no_response_many_fields(ctx):
    g = ctx.genuine()
    body = "&".join(f"f{i}=x" for i in range(5000)).encode()
    return Attempt(url=g.acs, body=body, cookie=g.state)


@case("transport", "genuine Response deflated as for the Redirect binding")
def deflated_response(ctx):
    g = ctx.genuine()
    return Attempt(url=g.acs, fields={"SAMLResponse": base64.b64encode(
        deflate(g.response)).decode()}, cookie=g.state)


# =========================================================================================
# Algorithms (everything else IdP-signed and valid)
# =========================================================================================
@case("algorithm", "key transport RSA PKCS#1 v1.5 (rsa-1_5)")
def rsa15_key_transport(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, transport="rsa15"))


@case("algorithm", "RSA-SHA1 signatures with SHA-1 digests")
def sha1_signatures(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, alg="rsa-sha1"))


@case("algorithm", "RSA-SHA256 signatures over SHA-1 digests")
def sha1_digests(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, alg="rsa-sha256/sha1"))


@case("algorithm", "SHA-1 on the Response only; assertion RSA-SHA256")
def sha1_response_only(ctx):
    g = ctx.genuine()
    a = ctx.assertion(g)
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(a)], alg="rsa-sha1"))


@case("algorithm", "content encryption 3DES-CBC")
def tripledes_content(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, content="tripledes-cbc"))


@case("algorithm", "HMAC-SHA256 'signature' keyed with the IdP's public certificate")
def hmac_key_confusion(ctx):
    g = ctx.genuine()
    a = ctx.assertion(g, sign=None)
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(a)], alg="hmac-sha256"))


# =========================================================================================
# Nodes lasso turns into another class: an element name or an xsi:type it knows (a logout
# request, an ECP or PAOS header, a dump of lasso's own objects) where an assertion's parts
# belong. lasso reports some at GLib's ERROR level, which GLib makes fatal; others crash it
# outright (NULL dereference) or make it open a file. One such Response, built by anyone
# with the SP's public certificate, ended an httpd child and every request on it.
# =========================================================================================
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ECP = "urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp"
PAOS = "urn:liberty:paos:2003-08"
LASSO = "http://www.entrouvert.org/namespaces/lasso/0.0"


def with_value_child(ctx, g, child):
    """The genuine assertion, unsigned, its first attribute value replaced by CHILD."""
    def edit(a):
        value = a.find("saml:AttributeStatement/saml:Attribute/saml:AttributeValue", NS)
        value.text = None
        value.append(parse(child))
    return ctx.unsigned(g, ctx.assertion(g, edit, sign=None))


def typed_assertion(ctx, g, local, xsi_type, ns):
    """The genuine assertion, unsigned, with xsi:type=XSI_TYPE (prefix:name, the prefix
    bound to NS) added on the first element LOCAL, the prefixes declared there; an eIDAS
    attribute value keeps the type it has under NIA's prefix "b:" beside it. Also the
    span of LOCAL's start tag."""
    a = ctx.assertion(g, sign=None)
    prefix = xsi_type.split(":")[0]
    for attr, value in (("xmlns:xsi", XSI), (f"xmlns:{prefix}", ns), ("xsi:type", xsi_type)):
        a = set_attr(a, local, attr, value)
    start, _ = element_span(a, local)
    return a, start, a.index(">", start)


def with_xsi_type(ctx, g, local, xsi_type, ns=SAMLP):
    """As typed_assertion, with XSI_TYPE the element's only type."""
    a, start, end = typed_assertion(ctx, g, local, xsi_type, ns)
    tag = re.sub(r'\s(?!xsi:)[\w.-]+:type="[^"]*"', "", a[start:end])
    return ctx.unsigned(g, a[:start] + tag + a[end:])


def metadata_fifo(ctx):
    """A FIFO httpd's children may open: a reader blocks on it until the test ends."""
    path = ctx.stack.dir / "metadata.fifo"
    if not path.exists():
        os.mkfifo(path, 0o666)
        path.chmod(0o666)
    return path


for name, what, child in [
        ("ecp_request_in_attribute_value", "an ECP Request header", f'<ecp:Request xmlns:ecp="{ECP}"/>'),
        ("ecp_relay_state_in_attribute_value", "an ECP RelayState header",
         f'<ecp:RelayState xmlns:ecp="{ECP}"/>'),
        ("paos_response_in_attribute_value", "a PAOS Response header",
         f'<paos:Response xmlns:paos="{PAOS}"/>'),
        ("logout_request_in_attribute_value", "a LogoutRequest without NameID",
         f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}"/>'),
        ("lasso_session_in_attribute_value", "lasso's own Session dump, a Status without its "
         "provider (NULL dereference in lasso)",
         f'<Session xmlns="{LASSO}"><Status><x/></Status></Session>'),
        ("lasso_identity_in_attribute_value", "lasso's own Identity dump, a Federation without "
         "its provider (NULL dereference in lasso)", f'<Identity xmlns="{LASSO}"><Federation/></Identity>'),
        ("lasso_provider_in_attribute_value", "lasso's own Provider dump with an unknown role "
         "(lasso reads past its table of roles)", f'<Provider xmlns="{LASSO}" ProviderRole="sp"/>')]:
    CASES.append(Case(name, "lasso", f"{what} as an attribute value (unsigned assertion)",
                      lambda ctx, child=child: with_value_child(ctx, ctx.genuine(), child)))

for name, local, xsi_type in [
        ("subject_typed_as_logout_request", "Subject", "samlp:LogoutRequest"),
        ("conditions_typed_as_manage_name_id_request", "Conditions", "samlp:ManageNameIDRequest"),
        ("attribute_value_typed_as_lasso_session", "AttributeValue", "l:Session"),
        ("attribute_value_typed_as_logout_request", "AttributeValue", "samlp:LogoutRequest"),
        ("assertion_typed_as_lasso_identity", "Assertion", "l:Identity")]:
    CASES.append(Case(name, "lasso", f"the assertion's {local} typed xsi:type={xsi_type}",
                      lambda ctx, local=local, xsi_type=xsi_type: with_xsi_type(
                          ctx, ctx.genuine(), local, xsi_type,
                          LASSO if xsi_type.startswith("l:") else SAMLP)))


@case("lasso", "an attribute value typed twice: its eIDAS type under NIA's prefix, lasso's "
               "Session under another prefix of the same namespace")
def attribute_value_typed_twice(ctx):
    g = ctx.genuine()
    a, start, end = typed_assertion(ctx, g, "AttributeValue", "l:Session", LASSO)
    assert re.search(r'\sb:type="tn:', a[start:end])
    return ctx.unsigned(g, a)


@case("lasso", "an attribute value typed as NIA types STORK's (tn:eMailType, accepted on "
               "text) holding lasso's own Session dump (unsigned assertion)")
def stork_typed_value_holding_lasso_session(ctx):
    g = ctx.genuine()

    def edit(a):
        value = a.find("saml:AttributeStatement/saml:Attribute/saml:AttributeValue", NS)
        value.getparent().replace(value, parse(
            f'<saml:AttributeValue xmlns:saml="{SAML}" xmlns:xsi="{XSI}" '
            'xmlns:tn="http://www.stork.gov.eu/1.0" xsi:type="tn:eMailType">'
            f'<Session xmlns="{LASSO}"><Status><x/></Status></Session></saml:AttributeValue>'))
    return ctx.unsigned(g, ctx.assertion(g, edit, sign=None))


@case("lasso", "lasso's own Provider dump as an attribute value, naming a metadata file to "
               "read (a FIFO here: a reader would hang)")
def lasso_provider_reads_a_file(ctx):
    g = ctx.genuine()
    return with_value_child(ctx, g, f'<Provider xmlns="{LASSO}" ProviderRole="SP">'
                                    f'<MetadataFilePath>{metadata_fifo(ctx)}</MetadataFilePath>'
                                    '</Provider>')


@case("lasso", "the plaintext of the EncryptedAssertion is lasso's own Identity dump")
def encrypted_lasso_identity(ctx):
    g = ctx.genuine()
    return ctx.unsigned(g, f'<Identity xmlns="{LASSO}"><Federation/></Identity>')


@case("lasso", "the Response's Status typed xsi:type=samlp:LogoutRequest (genuine assertion)")
def status_typed_as_logout_request(ctx):
    g = ctx.genuine()
    status = SUCCESS.replace("<samlp:Status>", f'<samlp:Status xmlns:xsi="{XSI}" '
                                               'xsi:type="samlp:LogoutRequest">')
    return g.attempt(ctx.response_text(dict(g.response_root.attrib), status + g.encrypted))


@case("lasso", "the plaintext of the EncryptedAssertion is a LogoutRequest")
def encrypted_logout_request(ctx):
    g = ctx.genuine()
    return ctx.unsigned(g, f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" ID="{new_id()}"/>')


# =========================================================================================
# One cipher text, one reading. mod_kmen decrypts the assertion once, with the one
# EncryptedKey NIA sends, and reads the plaintext as UTF-8 only; lasso never decrypts. A
# second key would let two readers that pick different keys (lasso 2.8.1 takes the first key
# beside the EncryptedData, mod_kmen took the one in its KeyInfo) read two documents out of
# one AES-CBC cipher text, blocks searched for each key: the two-key polyglot. Another
# encoding makes the same bytes another document. Each case below is otherwise genuine:
# the IdP's assertion, signed, and the Response signed by the IdP.
# =========================================================================================
def with_keys(ctx, g, in_keyinfo, beside, plaintext=None, sign="idp"):
    """G's Response (signed by SIGN) around PLAINTEXT (bytes; default: the genuine signed
    assertion) encrypted once, with EncryptedKeys in the EncryptedData's KeyInfo and beside
    it as IN_KEYINFO and BESIDE name them: "right" wraps the content key, "other" another."""
    key, uri, blob = ctx.forge.content_cipher(plaintext or g.plain.encode())
    wrap = lambda which: ctx.forge.encrypted_key(key if which == "right" else os.urandom(32))
    enc = ctx.forge.encrypted_assertion(uri, blob, [wrap(k) for k in in_keyinfo],
                                        [wrap(k) for k in beside])
    return g.attempt(ctx.response(g, [enc], sign=sign))


for name, what, in_keyinfo, beside in [
        ("two_keys_beside", "two EncryptedKeys beside the EncryptedData, the right one first",
         [], ["right", "other"]),
        ("two_keys_beside_wrong_first", "two EncryptedKeys beside the EncryptedData, another "
         "content key first (the one lasso 2.8.1 would take)", [], ["other", "right"]),
        ("key_in_keyinfo_and_beside", "the right EncryptedKey in KeyInfo, another beside",
         ["right"], ["other"]),
        ("key_beside_and_in_keyinfo", "the right EncryptedKey beside, another in KeyInfo",
         ["other"], ["right"]),
        ("two_keys_in_keyinfo", "two EncryptedKeys in the EncryptedData's KeyInfo",
         ["other", "right"], []),
        ("no_encrypted_key", "an EncryptedData without any EncryptedKey", [], [])]:
    CASES.append(Case(name, "decryption", what,
                      lambda ctx, k=in_keyinfo, b=beside: with_keys(ctx, ctx.genuine(), k, b)))


@case("decryption", "the two-key polyglot's shape: the EncryptedData's own key opens a benign "
                    "Latin-1 assertion, the first of two keys beside it another content key; "
                    "unsigned")
def two_key_polyglot(ctx):
    g = ctx.genuine()
    benign = (f"<?xml version='1.0' encoding='L1'?><saml:Assertion xmlns:saml=\"{SAML}\" "
              f'ID="_\xe9\xfe\x8f"/>').encode("latin-1")
    return with_keys(ctx, g, ["right"], ["other", "other"], plaintext=benign, sign=None)


@case("decryption", "an EncryptedKey in samlp:Extensions besides the EncryptedAssertion's own")
def key_outside_encrypted_assertion(ctx):
    g = ctx.genuine()
    stray = ctx.forge.encrypted_key(os.urandom(32))
    return g.attempt(ctx.response(g, [g.encrypted], edit=lambda r: r.insert(
        1, parse(f'<samlp:Extensions xmlns:samlp="{SAMLP}">{stray}</samlp:Extensions>'))))


# The SP holds one or two keys and decrypts with the one whose certificate the EncryptedKey
# names (NIA: a WS-Security SecurityTokenReference holding X509IssuerSerial); a key it
# does not name is never tried.
WSSE = ("http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-wssecurity-secext-1.0.xsd")


def issuer_serial(serial):
    return (f'<ds:KeyInfo><o:SecurityTokenReference xmlns:o="{WSSE}"><ds:X509Data>'
            f'<ds:X509IssuerSerial><ds:X509IssuerName>CN=localhost</ds:X509IssuerName>'
            f'<ds:X509SerialNumber>{serial}</ds:X509SerialNumber></ds:X509IssuerSerial>'
            f'</ds:X509Data></o:SecurityTokenReference></ds:KeyInfo>')


def with_key_info(ctx, key_info, wrapped_for_us=True):
    """The genuine signed assertion, encrypted with an EncryptedKey whose KeyInfo is
    KEY_INFO, in a Response signed by the IdP; WRAPPED_FOR_US=False: the content key
    wrapped with another RSA key than the SP's."""
    g = ctx.genuine()
    key, uri, blob = ctx.forge.content_cipher(g.plain.encode())
    enc_key = ctx.forge.encrypted_key(key, key_info=key_info)
    if not wrapped_for_us:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        wrapped = other.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()),
                                                  algorithm=hashes.SHA1(), label=None))
        enc_key = re.sub(r"<xenc:CipherValue>[^<]*<", f"<xenc:CipherValue>{b64(wrapped)}<",
                         enc_key)
    enc = ctx.forge.encrypted_assertion(uri, blob, in_keyinfo=[enc_key])
    return g.attempt(ctx.response(g, [enc]))


@case("decryption", "the EncryptedKey names by X509IssuerSerial a certificate that is not "
                    "the SP's (the content key is wrapped for the SP's all the same)")
def key_named_not_ours(ctx):
    return with_key_info(ctx, issuer_serial(ctx.forge.sp_cert.serial_number + 1))


@case("decryption", "the EncryptedKey names the SP's certificate by X509IssuerSerial, its "
                    "content key wrapped for another RSA key")
def key_named_ours_wrapped_for_another(ctx):
    return with_key_info(ctx, issuer_serial(ctx.forge.sp_cert.serial_number),
                         wrapped_for_us=False)


@case("decryption", "the EncryptedKey's X509SerialNumber is a line of markup and a line "
                    "break, not a number (it must not reach the log as written)")
def key_named_by_markup(ctx):
    return with_key_info(ctx, issuer_serial("1&lt;/x&gt;\nKMEN0630: forged"))


@case("decryption", "the EncryptedKey names another certificate by ds:X509Certificate "
                    "(the IdP's)")
def key_named_by_another_certificate(ctx):
    cert = "".join(open(ctx.forge.keys.idp_cert).read().splitlines()[1:-1])
    return with_key_info(ctx, f'<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
                              f'</ds:X509Certificate></ds:X509Data></ds:KeyInfo>')


def declared(encoding, text):
    return f"<?xml version='1.0' encoding='{encoding}'?>{text}"


for name, what, plaintext in [
        ("plaintext_latin1", "the signed assertion in Latin-1, declared so (what it says is "
         "unchanged: characters outside Latin-1 as references)",
         lambda g: declared("ISO-8859-1", g.plain).encode("latin-1", "xmlcharrefreplace")),
        ("plaintext_utf16", "the signed assertion in UTF-16 with a byte order mark",
         lambda g: declared("UTF-16", g.plain).encode("utf-16")),
        ("plaintext_nul", "the signed assertion, a NUL byte, then lasso's Identity dump",
         lambda g: g.plain.encode() + f'\x00<Identity xmlns="{LASSO}"><Federation/></Identity>'
         .encode()),
        ("plaintext_overlong_utf8", "the signed assertion with an overlong UTF-8 '/' in the "
         "NameID", lambda g: g.plain.encode().replace(b"CZ/", b"CZ\xc0\xaf", 1))]:
    CASES.append(Case(name, "decryption", what, lambda ctx, plaintext=plaintext: (
        lambda g: with_keys(ctx, g, ["right"], [], plaintext=plaintext(g)))(ctx.genuine())))


@case("decryption", "the genuine Response declared ISO-8859-1 (its bytes and signatures "
                    "unchanged)")
def response_latin1(ctx):
    g = ctx.genuine()
    return g.attempt(declared("ISO-8859-1", g.response))


# =========================================================================================
# URIs the XML-security layer would dereference while verifying or decrypting: a signature
# Reference, an XSLT transform, a KeyInfo RetrievalMethod, an EncryptedData's
# CipherReference. Each points at the canary server (or a FIFO a reader would hang on);
# nothing may be fetched or opened, whatever the signature.
# =========================================================================================
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"


@case("fetch", "the Response signature's Reference URI is the canary server", canary=True)
def reference_uri_http(ctx):
    g = ctx.genuine()
    return g.attempt(set_attr(g.response, "Reference", "URI", ctx.canary_url + "/reference"))


@case("fetch", "an XSLT transform in the Response signature, calling document() on the "
               "canary server", canary=True)
def xslt_transform(ctx):
    g = ctx.genuine()
    xslt = (f'<ds:Transform xmlns:ds="{DS}" Algorithm="{XSLT}"><xsl:stylesheet version="1.0" '
            'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">'
            f'<xsl:copy-of select="document(\'{ctx.canary_url}/xslt\')"/></xsl:template>'
            '</xsl:stylesheet></ds:Transform>')
    return g.attempt(insert_into_end(g.response, "Transforms", xslt))


@case("fetch", "a RetrievalMethod to the canary server in the Response signature's KeyInfo",
      canary=True)
def retrieval_method_http(ctx):
    g = ctx.genuine()
    method = (f'<ds:RetrievalMethod xmlns:ds="{DS}" URI="{ctx.canary_url}/retrieval" '
              f'Type="{DS}X509Data"/>')
    return g.attempt(insert_into_end(g.response, "KeyInfo", method))


def cipher_reference(ctx, g, uri):
    """The genuine assertion encrypted, its cipher text replaced by a CipherReference."""
    return with_cipher_value(ctx, g, f'<xenc:CipherReference URI="{uri}"/>')


@case("fetch", "the EncryptedData's cipher text by CipherReference from the canary server",
      canary=True)
def cipher_reference_http(ctx):
    g = ctx.genuine()
    return cipher_reference(ctx, g, ctx.canary_url + "/cipher")


@case("fetch", "the EncryptedData's cipher text by CipherReference from a local file (a FIFO: "
               "a reader would hang)")
def cipher_reference_file(ctx):
    g = ctx.genuine()
    return cipher_reference(ctx, g, f"file://{metadata_fifo(ctx)}")


# =========================================================================================
# Comments, whitespace, other spellings inside the signed identifiers
# =========================================================================================
def in_signed_assertion(ctx, g, old, new):
    """The genuine signed assertion with OLD replaced by NEW (text), re-encrypted, in an
    unsigned Response (the attacker cannot re-sign it)."""
    edited = g.plain.replace(old, new)
    assert edited != g.plain
    return ctx.unsigned(g, edited)


def split_bsi(ctx, join):
    """The BSI at its last '-': (original, head + JOIN + tail)."""
    bsi = ctx.stack.bsi("cz-jiri")
    i = bsi.rindex("-")
    return bsi, bsi[:i] + join + bsi[i:]


@case("canonicalisation", "comment inside PersonIdentifier (a truncating reader would see "
                          "another identifier)")
def comment_in_person_identifier(ctx):
    g = ctx.genuine()
    bsi, split = split_bsi(ctx, "<!-- -->")
    return in_signed_assertion(ctx, g, f">{bsi}</AttributeValue>", f">{split}</AttributeValue>")


@case("canonicalisation", "comment inside NameID")
def comment_in_name_id(ctx):
    g = ctx.genuine()
    bsi, split = split_bsi(ctx, "<!---->")
    return in_signed_assertion(ctx, g, f">{bsi}</NameID>", f">{split}</NameID>")


@case("canonicalisation", "PersonIdentifier as CDATA")
def cdata_person_identifier(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    return in_signed_assertion(ctx, g, f">{bsi}</AttributeValue>",
                               f"><![CDATA[{bsi[:8]}]]>{bsi[8:]}</AttributeValue>")


@case("canonicalisation", "PersonIdentifier's last part as CDATA (a reader that skips CDATA "
                          "sees a shorter, still well-formed identifier)")
def cdata_tail_person_identifier(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    i = bsi.rindex("-") + 1
    return in_signed_assertion(ctx, g, f">{bsi}</AttributeValue>",
                               f">{bsi[:i]}<![CDATA[{bsi[i:]}]]></AttributeValue>")


@case("canonicalisation", "NameID's last part as CDATA")
def cdata_tail_name_id(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    i = bsi.rindex("-") + 1
    return in_signed_assertion(ctx, g, f">{bsi}</NameID>", f">{bsi[:i]}<![CDATA[{bsi[i:]}]]></NameID>")


@case("canonicalisation", "PersonIdentifier spelled with character references", SAME_PERSON)
def charref_person_identifier(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    spelled = "".join(f"&#{ord(c)};" for c in bsi[:6]) + bsi[6:]
    return in_signed_assertion(ctx, g, f">{bsi}</AttributeValue>",
                               f">{spelled}</AttributeValue>")


@case("canonicalisation", "whitespace added around the signed PersonIdentifier")
def whitespace_person_identifier(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    return in_signed_assertion(ctx, g, f">{bsi}</AttributeValue>",
                               f">\n {bsi}\t</AttributeValue>")


@case("canonicalisation", "whitespace added inside the signed NameID")
def whitespace_name_id(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    return in_signed_assertion(ctx, g, f">{bsi}</NameID>", f"> {bsi} </NameID>")


@case("canonicalisation", "comment and the victim's identifier appended to the signed "
                          "PersonIdentifier, Response signed with the wrong key")
def comment_victim_suffix_wrong_key(ctx):
    g = ctx.genuine()
    bsi = ctx.stack.bsi("cz-jiri")
    edited = g.plain.replace(f">{bsi}</AttributeValue>",
                             f">{bsi}<!---->{ctx.victim()[6:]}</AttributeValue>")
    return g.attempt(ctx.response(g, [ctx.forge.encrypt(edited)], sign="wrong"))


# =========================================================================================
# Controls: the generator's own output must be accepted where nothing is wrong, else the
# refusals above prove nothing. Not counted as cases.
# =========================================================================================
CONTROLS = []


def control(what):
    def register(fn):
        CONTROLS.append(Case(fn.__name__, "control", what, fn, "303"))
        return fn
    return register


@control("the simulator's answer as it is")
def control_genuine(ctx):
    g = ctx.genuine()
    return g.attempt(g.response)


@control("assertion re-encrypted by the generator; Response signature removed "
         "(the IdP-signed assertion alone suffices)")
def control_reencrypted_assertion_signed(ctx):
    g = ctx.genuine()
    return ctx.unsigned(g, g.plain)


@control("assertion and Response signed again by the generator with the IdP key")
def control_resigned_both(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g))


@control("assertion unsigned, Response signed by the generator with the IdP key")
def control_resigned_response_only(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, sign_assertion=None))


@control("AES-128-GCM content encryption by the generator, IdP-signed")
def control_aes_gcm(ctx):
    g = ctx.genuine()
    return g.attempt(ctx.rebuilt(g, content="aes128-gcm"))
