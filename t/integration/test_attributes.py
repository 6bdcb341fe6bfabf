# SPDX-License-Identifier: GPL-2.0-or-later
"""The attributes as NIA types and releases them, through the simulator (t/sim/nia_idp.py):
typed STORK and Czech (moris) values, isAgeOver asked with its age, age, and what the
backend sees of each, the address parts and an attribute mod_kmen maps to no header of its
own (Kmen-Attr-*). /attrs (t/lib/httpd.py, t/lib/nginx.py's portal_server) asks
isAgeOver=40! age eMail phonenumber tradresaid CurrentAddress BirthName. On httpd and on
nginx (the `portal` fixture)."""

import base64
import datetime
import hashlib
import hmac
import re
from urllib.parse import unquote

import pytest
import requests

from t.lib import flow
from t.lib.portal import Portal
from t.sim import identities

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def login_attrs(s, portal, identity):
    """Log IDENTITY in at /attrs/; (the backend's headers, the assertion the sim sent)."""
    r = flow.login(s, portal, identity=identity, path="/attrs/")
    assertion = flow.decrypt_assertion(r.kmen_fields, portal.keys.sp_key)
    return flow.headers_of(s, portal.base_url + "/attrs/headers.json"), assertion


def value_of(assertion, name):
    """The AttributeValue element of attribute NAME in ASSERTION."""
    values = assertion.findall(f".//{{{SAML}}}Attribute[@Name='{name}']/{{{SAML}}}AttributeValue")
    assert len(values) == 1, (name, values)
    return values[0]


def type_namespace(value):
    """The namespace the value's xsi:type names (prefix resolved on the element)."""
    prefix, _ = value.get(XSI_TYPE).split(":")
    return value.nsmap[prefix]


def age_of(key):
    born = datetime.date.fromisoformat(identities.IDENTITIES[key].birth_date)
    today = datetime.date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_is_age_over_is_requested_with_its_age(portal, s):
    flow.idp_page(s, flow.start(s, portal.base_url + "/attrs/"))
    requested = {a["name"]: a for a in
                 flow.sim_json(s, portal, "/last-request")["requested_attributes"]}
    over = requested[identities.IS_AGE_OVER]
    assert over["required"] is True and over["values"] == ["40"], over
    age = requested[identities.AGE]
    assert age["required"] is False and age["values"] == [], age
    # bare names of the STORK and Czech claims are taken from their own namespaces
    assert {identities.EMAIL, identities.PHONE, identities.TR_ADDRESS_ID,
            identities.CURRENT_ADDRESS} <= requested.keys()
    assert requested[identities.PERSON_IDENTIFIER]["values"] == []


def test_typed_stork_and_czech_values_are_accepted(portal, s):
    h, assertion = login_attrs(s, portal, "cz-jiri")
    # the sim types each value in its attribute's own namespace, as NIA does
    for name, namespace in ((identities.EMAIL, identities.STORK),
                            (identities.PHONE, identities.MORIS),
                            (identities.AGE, identities.STORK),
                            (identities.GIVEN_NAME, identities.NATURAL)):
        value = value_of(assertion, name)
        assert type_namespace(value) == namespace.rstrip("/"), (name, value.attrib)
    assert unquote(flow.header(h, "Kmen-Email")) == "jiri.dvorak@example.cz", h
    assert unquote(flow.header(h, "Kmen-Phone")) == "+420777123456", h


def test_is_age_over_answers_the_requested_age(portal):
    """isAgeOver=40: the one over 40 is, the one under is not (at the default 18 both
    would be); Kmen-Age is the age NIA released."""
    for key in ("cz-jiri", "cz-zofie"):
        with requests.Session() as other:
            h, assertion = login_attrs(other, portal, key)
            expect = "true" if age_of(key) >= 40 else "false"
            assert value_of(assertion, identities.IS_AGE_OVER).text == expect
            assert flow.header(h, "Kmen-Is-Age-Over") == expect, (key, h)
            assert flow.header(h, "Kmen-Age") == str(age_of(key)), (key, h)
    assert age_of("cz-jiri") >= 40 > age_of("cz-zofie")


def test_address_reaches_the_backend_in_parts(portal, s):
    """CurrentAddress and tradresaid, base64 of NIA's XML fragments (an undeclared eidas:
    prefix, CRLF between elements), reach the backend decoded into their parts; the raw
    values stay in Kmen-Address and Kmen-Address-Id."""
    h, assertion = login_attrs(s, portal, "cz-jiri")
    raw = value_of(assertion, identities.CURRENT_ADDRESS).text
    assert b"<eidas:Thoroughfare>" in base64.b64decode(raw)
    address = identities.IDENTITIES["cz-jiri"].address
    expect = {"Street": address.street, "Number": address.number,
              "Postcode": address.post_code, "Town": address.town, "Area": address.area,
              "Ruian-Id": address.ruian_code}
    for part, value in expect.items():
        assert unquote(flow.header(h, f"Kmen-Address-{part}") or "") == value, (part, h)
    assert unquote(flow.header(h, "Kmen-Address")) == raw
    assert flow.header(h, "Kmen-Address-Id"), h


def test_address_parts_are_absent_without_an_address(portal, s):
    """A person NIA holds no address for: no part headers at all."""
    h, _ = login_attrs(s, portal, "cz-radek")
    assert not [name for name in h if name.lower().startswith("kmen-address")], h


@pytest.fixture(scope="module")
def signing_portal(stack, server):
    """A node of SERVER that signs the headers (KmenHeaderSecretFile,
    kmen_header_secret_file); httpd's also copies KMEN_ATTR_BIRTHNAME into
    X-Seen-Birth-Name at /attrs (nginx passes no environment variables)."""
    if server == "nginx":
        return Portal(stack, server, stack.new_nginx(
            server=f"kmen_header_secret_file {stack.keys.header_secret};"))
    return Portal(stack, server, stack.new_httpd(
        extra=f"LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so\n"
              f"KmenHeaderSecretFile {stack.keys.header_secret}",
        locations="""<Location /attrs>
    RequestHeader set X-Seen-Birth-Name "%{KMEN_ATTR_BIRTHNAME}e" env=KMEN_ATTR_BIRTHNAME
</Location>"""))


def signed_text(received, t):
    lines = sorted(f"{k.lower()}:{v}" for k, v in received.items()
                   if k.lower().startswith("kmen-") and k.lower() != "kmen-signature")
    return f"t={t}\n" + "\n".join(lines) + "\n"


def test_unmapped_attribute_reaches_the_backend_signed(s, signing_portal):
    """BirthName, which mod_kmen maps to no header of its own, arrives as Kmen-Attr-BirthName
    (and on httpd KMEN_ATTR_BIRTHNAME), covered by Kmen-Signature; forged Kmen-Attr-* headers
    in any spelling do not arrive; no identifier does."""
    portal = signing_portal
    _, assertion = login_attrs(s, portal, "cz-jiri")
    assert value_of(assertion, identities.BIRTH_NAME).text == "Dvořák"
    url = portal.base_url + "/attrs/headers.json"
    r = s.get(url, headers={"Kmen-Attr-BirthName": "FORGED", "Kmen-Attr-Forged": "FORGED",
                            "kmen_attr_evil": "FORGED"}, allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    h = r.json()
    assert unquote(flow.header(h, "Kmen-Attr-BirthName")) == "Dvořák", h
    if portal.server == "httpd":
        assert flow.header(h, "X-Seen-Birth-Name").encode("latin-1").decode() == "Dvořák", h
    assert "FORGED" not in str(h), h
    attrs = [k for k in h if k.lower().startswith("kmen-attr-")]
    assert attrs == ["Kmen-Attr-BirthName"], attrs
    t, mac = re.fullmatch(r"t=(\d+), v1=([0-9a-f]{64})", flow.header(h, "Kmen-Signature")).groups()
    key = portal.keys.header_secret.read_bytes()
    assert hmac.compare_digest(
        hmac.new(key, signed_text(h, t).encode(), hashlib.sha256).hexdigest(), mac)
    assert "kmen-attr-birthname:" in signed_text(h, t)
    assert portal.bsi("cz-jiri").rsplit("/", 1)[-1] not in str(h)
