# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile XML at /kmen/slo: the parser attacks of the ACS suite (t/hostile/cases.py, the
parser category) sent as NIA's logout messages, a LogoutRequest by HTTP-Redirect, a
LogoutResponse by HTTP-Redirect and by HTTP-POST. NIA's LogoutResponse is unsigned, so its
XML is parsed before anything else: nobody needs a key to send these.

A LogoutRequest must get a 400 and log nobody out (its query signature is checked before
anything parses it); a LogoutResponse (which ends nothing here: the session is already gone
when NIA answers) must change nothing either and send the person home. None may fetch
anything (the canary server), take long (an entity expansion) or crash a child. Oversized
LogoutResponses (a body over the limit, a DEFLATE bomb) are refused the same way.
"""

import base64
import time
from urllib.parse import quote

import pytest

from t.hostile.cases import SUCCESS, deflate, laughs
from t.hostile.forge import SAML, SAMLP
from t.hostile.runner import Canary
from t.lib import flow

IDP = "urn:microsoft:cgg2010:fpsts"
# Far more than a request takes here (a few ms), far less than an expansion would.
ANSWER_WITHIN = 5.0


def doctype(root, entities):
    return f"<!DOCTYPE {root} [{''.join(entities)}]>"


def message(kind, stack, name_id, prolog=""):
    """A LogoutRequest or LogoutResponse from the IdP to this SP, unsigned, NAME_ID (or the
    Issuer's text for a response) spliced in as it is (entity references included)."""
    head = (f'<samlp:{kind} xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_hostile" '
            f'Version="2.0" IssueInstant="{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}" '
            f'Destination="{stack.base_url}/kmen/slo">')
    if kind == "LogoutRequest":
        body = f"<saml:Issuer>{IDP}</saml:Issuer>"
        body += f"<saml:NameID>{name_id}</saml:NameID>" if name_id is not None else ""
    else:
        body = f"<saml:Issuer>{name_id}</saml:Issuer>{SUCCESS}"
    return prolog + head + body + f"</samlp:{kind}>"


def redirect_query(param, xml):
    return f"{param}={quote(base64.b64encode(deflate(xml)), safe='')}"


def payloads(canary_url, victim_bsi):
    """(name, the NameID/Issuer text, the prolog) for each parser attack."""
    ents, ref = laughs()
    # lasso logs a LogoutRequest without a NameID at GLib's ERROR level, which always
    # ends the process: parsed unsigned, this one request took down an httpd child.
    yield "no_name_id", None, None
    yield "billion_laughs", ref, [ents]
    yield "internal_entity_victim", "&v;", [f'<!ENTITY v "{victim_bsi}">']
    yield "external_entity_file", "&x;", ['<!ENTITY x SYSTEM "file:///etc/passwd">']
    yield "external_entity_http", "&x;", [f'<!ENTITY x SYSTEM "{canary_url}/entity">']
    yield "external_parameter_entity", victim_bsi, [
        f'<!ENTITY % p SYSTEM "{canary_url}/parameter"> %p;']
    yield "xinclude_http", (f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                            f'href="{canary_url}/xinclude" parse="text"/>'), None


PARSER_CASES = ("billion_laughs", "internal_entity_victim", "external_entity_file",
                "external_entity_http", "external_parameter_entity", "xinclude_http")
CASES = ([("LogoutRequest", "redirect", "no_name_id")]
         + [("LogoutRequest", "redirect", n) for n in PARSER_CASES]
         + [("LogoutResponse", b, n) for b in ("redirect", "post") for n in PARSER_CASES])


@pytest.fixture(scope="module")
def canary():
    c = Canary()
    yield c
    c.stop()


def send(s, stack, binding, param, xml):
    url = f"{stack.base_url}/kmen/slo"
    if binding == "post":
        return s.post(url, data={param: base64.b64encode(xml.encode()).decode()},
                      allow_redirects=False, timeout=60)
    return s.get(f"{url}?{redirect_query(param, xml)}", allow_redirects=False, timeout=60)


@pytest.mark.parametrize("kind,binding,name", CASES, ids=[f"{k}-{b}-{n}" for k, b, n in CASES])
def test_hostile_xml_at_slo_changes_nothing(stack, s, rows, canary, no_crash, kind, binding,
                                            name):
    flow.login(s, stack, identity="cz-eva")
    victim = stack.bsi("cz-eva")
    text, prolog = next((t, p) for n, t, p in payloads(canary.url, victim) if n == name)
    root = f"samlp:{kind}"
    xml = message(kind, stack, text, doctype(root, prolog) if prolog else "")
    param = "SAMLRequest" if kind == "LogoutRequest" else "SAMLResponse"
    sessions, audit = rows("session"), rows("audit")

    started = time.monotonic()
    r = send(s, stack, binding, param, xml)
    took = time.monotonic() - started

    if kind == "LogoutRequest":
        assert r.status_code == 400, (r.status_code, r.headers.get("Location"))
    else:  # the local session is gone by then anyway: back to the site, nothing else
        assert r.status_code in (302, 303) and flow.location(r).startswith(stack.base_url + "/")
    assert took < ANSWER_WITHIN, f"{took:.1f} s"
    assert canary.hits == []
    assert (rows("session"), rows("audit")) == (sessions, audit)
    assert s.get(stack.base_url + "/app/", allow_redirects=False).status_code == 200


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_oversized_logout_response_changes_nothing(stack, s, rows, no_crash, binding):
    """A LogoutResponse of 1 MiB: by HTTP-POST over the 64 KiB body limit, by HTTP-Redirect
    a few KiB of DEFLATE that inflate past the 64 KiB the module inflates at most."""
    flow.login(s, stack, identity="cz-eva")
    filler = "A" * (1024 * 1024)
    xml = message("LogoutResponse", stack, IDP).replace("</samlp:LogoutResponse>",
                                                        f"<!--{filler}--></samlp:LogoutResponse>")
    sessions, audit = rows("session"), rows("audit")
    r = send(s, stack, binding, "SAMLResponse", xml)
    assert r.status_code == 303 and flow.location(r) == stack.base_url + "/"
    why = ("unreadable or oversized form body" if binding == "post"
           else "SAMLResponse is not base64 (or, by HTTP-Redirect, DEFLATE within 64 KiB)")
    assert f"LogoutResponse refused: {why}" in stack.httpd.read_error_log()
    assert (rows("session"), rows("audit")) == (sessions, audit)
    assert s.get(stack.base_url + "/app/", allow_redirects=False).status_code == 200
