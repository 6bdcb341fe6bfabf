#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the NIA simulator against lasso, the SAML library mod_kmen uses.

A lasso service provider (separate signing and encryption keys, as NIA lets an SP have)
sends AuthnRequests by Redirect and by POST, the simulator answers them genuinely and with
each fault, and lasso says which Responses it accepts; then single logout both ways.
Run: /usr/bin/python3 t/sim/selfcheck.py   (exit status 0 when everything is as expected;
lasso's GLib warnings about NIA's OriginalIssuer attributes go to stderr)
"""

import base64
import html
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlencode, urlsplit

import lasso

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from identities import person_identifier  # noqa: E402

PORT = int(os.environ.get("NIA_SIM_PORT", "18081"))
IDP_URL = f"http://127.0.0.1:{PORT}"
IDP_ID = "urn:microsoft:cgg2010:fpsts"
SP_ID = "https://kmen.example.cz/kmen"
SP_ACS = "https://kmen.example.cz/kmen/acs"
SP_SLO = "https://kmen.example.cz/kmen/logout"
EIDAS_EXTENSIONS = """<samlp:Extensions xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" \
xmlns:eidas="http://eidas.europa.eu/saml-extensions"><eidas:SPType>public</eidas:SPType>\
<eidas:RequestedAttributes>{}</eidas:RequestedAttributes></samlp:Extensions>"""
NP = "http://eidas.europa.eu/attributes/naturalperson/"
REQUESTED = (NP + "PersonIdentifier", NP + "CurrentGivenName", NP + "CurrentFamilyName",
             NP + "DateOfBirth", NP + "CurrentAddress", "http://www.stork.gov.eu/1.0/eMail")

# fault -> does lasso accept the Response? None: print only (the module's own checks).
LASSO_VERDICTS = {
    "": True, "unsigned_assertion_only": True, "rsa15": True, "authn_failed_quirk": True,
    "tampered_assertion": False, "tampered_response": False, "wrong_key": False,
    "unsigned": False, "expired": None, "future": None, "wrong_audience": None,
    "wrong_destination": None, "wrong_recipient": None, "wrong_issuer": False,
    "wrong_in_response_to": None, "unsolicited": None, "two_assertions": None,
    "plaintext": True, "plaintext_and_encrypted": None, "sha1": None,
}


def make_keys(tmp):
    for name in ("idp", "wrong", "spsig", "spenc"):
        subprocess.run(["openssl", "req", "-utf8", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", f"{tmp}/{name}-key.pem", "-out", f"{tmp}/{name}-cert.pem",
                        "-subj", f"/O=Zkouška, s.r.o./CN={name}.example.cz"],
                       check=True, capture_output=True)


def cert_body(path):
    with open(path) as f:
        return "".join(line.strip() for line in f if "-----" not in line)


def key_descriptor(use, path):
    return (f'<KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f'{cert_body(path)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>')


def write_sp_metadata(tmp):
    redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    with open(f"{tmp}/sp-metadata.xml", "w") as f:
        f.write(
            f'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{SP_ID}">'
            f'<SPSSODescriptor AuthnRequestsSigned="true" '
            f'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'{key_descriptor("signing", f"{tmp}/spsig-cert.pem")}'
            f'{key_descriptor("encryption", f"{tmp}/spenc-cert.pem")}'
            f'<SingleLogoutService Binding="{redirect}" Location="{SP_SLO}"/>'
            f'<AssertionConsumerService index="0" isDefault="true" '
            f'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{SP_ACS}"/>'
            f'</SPSSODescriptor></EntityDescriptor>')


def start_sim(tmp):
    sim = subprocess.Popen(
        [sys.executable, f"{HERE}/nia_idp.py", "--port", str(PORT), "--base-url", IDP_URL,
         "--key", f"{tmp}/idp-key.pem", "--cert", f"{tmp}/idp-cert.pem",
         "--wrong-key", f"{tmp}/wrong-key.pem", "--wrong-cert", f"{tmp}/wrong-cert.pem",
         "--sp-metadata-file", f"{tmp}/sp-metadata.xml",
         "--metadata-out", f"{tmp}/idp-metadata.xml"],
        stdout=subprocess.PIPE, stderr=open(f"{tmp}/sim.log", "w"), text=True)
    line = sim.stdout.readline()
    if not line.startswith("nia_idp listening on"):
        sim.kill()
        sys.exit(f"the simulator did not start: {line!r}, see {tmp}/sim.log")
    return sim


def sp_server(tmp):
    server = lasso.Server(f"{tmp}/sp-metadata.xml", f"{tmp}/spsig-key.pem", None,
                          f"{tmp}/spsig-cert.pem")
    server.setEncryptionPrivateKey(f"{tmp}/spenc-key.pem")
    server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
    server.addProvider(lasso.PROVIDER_ROLE_IDP, f"{tmp}/idp-metadata.xml")
    return server


def fetch(method, url, form=None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=30)
    target = parts.path + ("?" + parts.query if parts.query else "")
    body = urlencode(form) if form is not None else None
    conn.request(method, target, body,
                 {"Content-Type": "application/x-www-form-urlencoded"} if form else {})
    reply = conn.getresponse()
    return reply.status, reply.getheader("Location"), reply.read().decode()


def form_value(page, name):
    found = re.search(f'name="{name}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def authn_request(server, method=lasso.HTTP_METHOD_REDIRECT):
    login = lasso.Login(server)
    login.initAuthnRequest(IDP_ID, method)
    request = login.request
    request.nameIdPolicy.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT
    request.nameIdPolicy.allowCreate = True
    request.assertionConsumerServiceUrl = SP_ACS
    context = lasso.Samlp2RequestedAuthnContext()
    context.comparison = "minimum"
    context.authnContextClassRef = ("http://eidas.europa.eu/LoA/substantial",)
    request.requestedAuthnContext = context
    request.extensions = lasso.Node.newFromXmlNode(EIDAS_EXTENSIONS.format("".join(
        f'<eidas:RequestedAttribute Name="{n}" isRequired="true"/>' for n in REQUESTED)))
    login.msgRelayState = "/kmen/zpet?a=1&b=ž"
    login.buildAuthnRequestMsg()
    return login


def send_request(login):
    if login.msgBody:
        return fetch("POST", login.msgUrl, {"SAMLRequest": login.msgBody,
                                            "RelayState": login.msgRelayState})
    return fetch("GET", login.msgUrl)


def respond(ticket, fault="", action="login", identity="cz-jiri"):
    status, _, page = fetch("POST", IDP_URL + "/respond", {
        "ticket": ticket, "identity": identity, "loa": "substantial", "action": action,
        "fault": fault})
    assert status == 200, page
    return form_value(page, "SAMLResponse"), form_value(page, "RelayState")


def lasso_accepts(server, saml_response):
    """(accepted, login or error) as mod_kmen's use of lasso would see it."""
    login = lasso.Login(server)
    # MAYBE (lasso's default): a signature on the Response or on the assertion will do.
    login.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_MAYBE)
    try:
        login.processAuthnResponseMsg(saml_response)
        login.acceptSso()
        return True, login
    except lasso.Error as e:
        return False, e


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def expect(self, what, ok, detail=""):
        print(f"ok   {what}" if ok else f"FAIL {what}: {detail}")
        self.passed += bool(ok)
        self.failed += not ok


def check_request_record(checks, login):
    record = json.loads(fetch("GET", IDP_URL + "/last-request")[2])
    checks.expect("last-request records the AuthnRequest",
                  record["id"] == login.request.id and record["issuer"] == SP_ID
                  and record["acs_url"] == SP_ACS and record["comparison"] == "minimum"
                  and record["sp_type"] == "public" and record["signature_verified"]
                  and [a["name"] for a in record["requested_attributes"]] == list(REQUESTED),
                  json.dumps(record)[:200])


def check_genuine(checks, server, ticket):
    saml_response, relay = respond(ticket)
    xml = base64.b64decode(saml_response).decode()
    checks.expect("Response looks like NIA's",
                  "SecurityTokenReference" in xml and "aes256-cbc" in xml
                  and "rsa-oaep-mgf1p" in xml and "<saml:Assertion" not in xml)
    accepted, login = lasso_accepts(server, saml_response)
    checks.expect("lasso accepts the genuine Response", accepted, "" if accepted else login)
    if not accepted:
        return None
    assertion = login.response.assertion[0].exportToXml()
    bsi = person_identifier("cz-jiri", SP_ID)
    checks.expect("NameID is the BSI and names decrypt",
                  login.nameIdentifier.content == bsi and "Dvořák" in assertion
                  and "OriginalIssuer" in assertion)
    checks.expect("RelayState is echoed", relay == "/kmen/zpet?a=1&b=ž", repr(relay))
    return login


def check_faults(checks, server, ticket):
    for fault, expected in LASSO_VERDICTS.items():
        accepted, detail = lasso_accepts(server, respond(ticket, fault)[0])
        fault = fault or "(no fault)"
        verdict = "accepts" if accepted else f"refuses ({detail})"
        if expected is None:
            print(f"info lasso {verdict}: {fault}")
        else:
            checks.expect(f"lasso {'accepts' if expected else 'refuses'} {fault}",
                          accepted == expected, "" if accepted == expected else verdict)
    accepted, detail = lasso_accepts(server, respond(ticket, action="cancel")[0])
    checks.expect("cancel comes back as a refused login", not accepted, str(detail))
    checks.expect("an unknown fault is refused", fetch("POST", IDP_URL + "/respond", {
        "ticket": ticket, "identity": "cz-jiri", "loa": "low", "fault": "nonsense"})[0] == 400)


def check_bad_requests(checks, server):
    login = authn_request(server)
    url = re.sub(r"Signature=(.)", lambda m: "Signature=" + ("B" if m.group(1) != "B" else "C"),
                 login.msgUrl)
    checks.expect("a broken query signature is refused", fetch("GET", url)[0] == 400)
    server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA1
    status, _, page = fetch("GET", authn_request(server).msgUrl)
    server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
    checks.expect("SigAlg rsa-sha1 is refused", status == 400, page.strip())


def check_sp_logout(checks, server, login):
    logout = lasso.Logout(server)
    logout.setSessionFromDump(login.session.dump())
    logout.initRequest(IDP_ID, lasso.HTTP_METHOD_REDIRECT)
    logout.buildRequestMsg()
    status, location, _ = fetch("GET", logout.msgUrl)
    checks.expect("SP-initiated logout answers 302 to the SP",
                  status == 302 and location.startswith(SP_SLO + "?"), str(status))
    logout.processResponseMsg(urlsplit(location).query)  # raises unless signed correctly
    record = json.loads(fetch("GET", IDP_URL + "/last-logout")[2])
    checks.expect("last-logout records NameID and SessionIndex",
                  record["name_id"] == login.nameIdentifier.content
                  and record["session_index"] == login.session.getAssertions()[0]
                  .authnStatement[0].sessionIndex, json.dumps(record)[:200])


def check_idp_logout(checks, server, login):
    index = login.session.getAssertions()[0].authnStatement[0].sessionIndex
    status, location, _ = fetch("GET", f"{IDP_URL}/admin/idp-logout?"
                                + urlencode({"identity": "cz-jiri", "session_index": index}))
    checks.expect("IdP-initiated logout redirects to the SP", status == 302, str(status))
    logout = lasso.Logout(server)
    logout.setSessionFromDump(login.session.dump())
    logout.processRequestMsg(urlsplit(location).query)
    logout.validateRequest()
    logout.buildResponseMsg()
    status, _, _ = fetch("GET", logout.msgUrl)
    record = json.loads(fetch("GET", IDP_URL + "/last-logout-response")[2])
    checks.expect("the SP's LogoutResponse is verified and recorded",
                  status == 200 and record["status"].endswith(":Success"), json.dumps(record))


def run(tmp):
    checks = Checks()
    server = sp_server(tmp)
    for method in (lasso.HTTP_METHOD_REDIRECT, lasso.HTTP_METHOD_POST):
        login = authn_request(server, method)
        status, _, page = send_request(login)
        checks.expect(f"AuthnRequest by {'POST' if login.msgBody else 'Redirect'} is taken",
                      status == 200, page[:200])
        check_request_record(checks, login)
    ticket = form_value(page, "ticket")
    sp_login = check_genuine(checks, server, ticket)
    check_faults(checks, server, ticket)
    check_bad_requests(checks, server)
    if sp_login:
        check_sp_logout(checks, server, sp_login)
        check_idp_logout(checks, server, sp_login)
    return checks


def main():
    with tempfile.TemporaryDirectory(prefix="nia_selfcheck-") as tmp:
        make_keys(tmp)
        write_sp_metadata(tmp)
        sim = start_sim(tmp)
        try:
            checks = run(tmp)
        finally:
            sim.terminate()
            sim.wait()
        if checks.failed:
            print(open(f"{tmp}/sim.log").read()[-3000:], file=sys.stderr)
    print(f"{checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
