# SPDX-License-Identifier: GPL-2.0-or-later
"""Login through the NIA simulator: success, the AuthnRequest, every refusal, LoA, logout;
on httpd and on nginx (the `portal` fixture)."""

import base64
import re
import zlib
from urllib.parse import parse_qs, quote, unquote, urlsplit

import lxml.html
import pytest
import requests

from t.lib import flow, poll

LOA = "http://eidas.europa.eu/LoA/"
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


# --- helpers -------------------------------------------------------------------------
def begin(s, portal, path="/app/"):
    """Start a login at PATH and open the sim's picker; the ticket."""
    ticket, _ = flow.idp_page(s, flow.start(s, portal.base_url + path))
    return ticket


def sends_to_idp(r, portal):
    return r.status_code in flow.REDIRECTS and flow.location(r).startswith(portal.sso_url)


def session_cookie_set(r):
    """Whether the response gives the browser a (non-empty, unexpired) kmen_session."""
    c = flow.cookie_attrs(r, "kmen_session")
    return bool(c and c["value"] and c.get("max-age") != "0")


def assert_refused(s, portal, r, status, sessions_before):
    assert r.status_code == status, f"{r.status_code}: {r.text[:300]}"
    assert not session_cookie_set(r), flow.set_cookies(r)
    assert portal.count("session") == sessions_before, "a session row was written"
    assert sends_to_idp(s.get(portal.base_url + "/app/", allow_redirects=False), portal)


def assert_session_dead(portal, cookie_value):
    r = requests.get(portal.base_url + "/app/", allow_redirects=False,
                     headers={"Cookie": f"kmen_session={cookie_value}"})
    assert sends_to_idp(r, portal), f"old session still works: {r.status_code}"


def bsi_tail(portal, identity):
    """The distinctive part of the BSI (after CC/CC/): absent from everything we see."""
    return portal.bsi(identity).rsplit("/", 1)[-1]


# --- successful logins ---------------------------------------------------------------
def test_czech_login(portal, s):
    r = s.get(portal.base_url + "/app/", allow_redirects=False)
    assert r.status_code == 303
    loc = flow.location(r)
    assert loc.startswith(portal.sso_url + "?") and "SAMLRequest" in parse_qs(urlsplit(loc).query)
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, loc)
    requested = flow.sim_json(s, portal, "/last-request")["requested_attributes"]
    acs, fields = flow.respond(s, ticket, identity="cz-jiri", loa="substantial")
    assert portal.url(acs) == portal.acs_url
    acs_r = flow.post_acs(s, portal.url(acs), fields)
    assert acs_r.status_code == 303, acs_r.text[:300]
    assert urlsplit(flow.location(acs_r)).path == "/app/"
    c = flow.cookie_attrs(acs_r, "kmen_session")
    assert c and c["value"]
    assert "httponly" in c and c.get("samesite", "").lower() == "lax"
    assert "secure" not in c  # KmenCookieSecure Off

    h = flow.headers_of(s, portal.base_url + "/app/headers.json")
    expect = {"Kmen-Given-Name": "Ji%C5%99%C3%AD", "Kmen-Family-Name": "Dvo%C5%99%C3%A1k",
              "Kmen-Birth-Date": "1980-05-17", "Kmen-Origin": "nia",
              "Kmen-LoA": "substantial", "Kmen-Country": "CZ"}
    for name, value in expect.items():
        assert flow.header(h, name) == value, (name, h)
    assert ISO_8601.match(flow.header(h, "Kmen-Auth-Instant") or ""), h
    if any(a["name"].endswith("/eMail") for a in requested):  # NIA releases what was asked
        assert re.search(r"@|%40", flow.header(h, "Kmen-Email") or ""), h
    else:
        assert flow.header(h, "Kmen-Email") is None, h

    page = s.get(portal.base_url + "/app/")
    assert page.status_code == 200
    secret = bsi_tail(portal, "cz-jiri")
    seen = [str(acs_r.headers), acs_r.text, str(h), str(page.headers), page.text]
    assert not any(secret in text for text in seen), "the BSI reached the browser or backend"
    assert secret not in portal.log()
    assert secret not in portal.node.read_access_log()


def test_foreign_login(portal, s):
    flow.login(s, portal, identity="sk-kovac", path="/info/")  # KmenEidasPolicy accept
    h = flow.headers_of(s, portal.base_url + "/info/headers.json")
    assert flow.header(h, "Kmen-Origin") == "eidas"
    assert flow.header(h, "Kmen-Country") == "SK"
    assert flow.header(h, "Kmen-Given-Name") == "%C4%BDubom%C3%ADr"
    assert flow.header(h, "Kmen-Client-Status") in ("new", "returning")
    assert bsi_tail(portal, "sk-kovac") not in str(h)


def test_stronger_loa_than_required_is_accepted(portal, s):
    flow.login(s, portal, identity="cz-marie", loa="high")
    h = flow.headers_of(s, portal.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-LoA") == "high"


def test_unsigned_assertion_in_signed_response_is_accepted(portal, s):
    ticket = begin(s, portal)
    acs, fields = flow.respond(s, ticket, fault="unsigned_assertion_only")
    r = flow.post_acs(s, portal.url(acs), fields)
    assert r.status_code == 303, r.text[:300]


def test_session_from_one_node_is_valid_on_another(stack, s):
    node_b = stack.new_httpd()
    flow.login(s, stack, identity="cz-jiri")
    h = flow.headers_of(s, node_b.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-Given-Name") == "Ji%C5%99%C3%AD"


# --- the AuthnRequest ----------------------------------------------------------------
def test_force_authn_per_location(portal, s):
    """KmenForceAuthn On (/app/sign): the AuthnRequest of a login started for that location
    carries ForceAuthn="true" (the sim records it), one for /app/ "false". A session
    that exists is used there as anywhere (as mellon and Shibboleth do)."""
    loc = flow.start(s, portal.base_url + "/app/")
    assert flow.redirect_message(loc).get("ForceAuthn") == "false"
    flow.idp_page(s, loc)
    assert flow.sim_json(s, portal, "/last-request")["force_authn"] is False
    loc = flow.start(s, portal.base_url + "/app/sign/headers.json")
    assert flow.redirect_message(loc).get("ForceAuthn") == "true"
    ticket, _ = flow.idp_page(s, loc)
    assert flow.sim_json(s, portal, "/last-request")["force_authn"] is True
    acs, fields = flow.respond(s, ticket)
    assert flow.post_acs(s, portal.url(acs), fields).status_code == 303
    first = s.cookies.get("kmen_session")
    assert flow.headers_of(s, portal.base_url + "/app/sign/headers.json")


def test_login_link_forces_authn_of_its_location(portal, s, rows):
    """/kmen/login with ReturnTo=/app/sign/ (KmenForceAuthn On) authenticates anew at NIA
    even with a session, and the new session replaces the old one."""
    flow.login(s, portal, identity="cz-jiri", path="/app/sign/")
    first = s.cookies.get("kmen_session")
    assert first and flow.headers_of(s, portal.base_url + "/app/sign/headers.json")
    before = rows("session")
    again = s.get(portal.base_url + "/kmen/login?ReturnTo=/app/sign/headers.json",
                  allow_redirects=False)
    loc = flow.location(again)
    assert loc.startswith(portal.sso_url) and flow.redirect_message(loc).get("ForceAuthn") == "true"
    flow.browser_cookies(s)
    ticket, _ = flow.idp_page(s, loc)
    acs, fields = flow.respond(s, ticket)
    done = flow.post_acs(s, portal.url(acs), fields)
    assert done.status_code == 303 and flow.location(done).endswith("/app/sign/headers.json")
    assert s.cookies.get("kmen_session") != first and rows("session") == before
    assert flow.headers_of(s, portal.base_url + "/app/sign/headers.json")


@pytest.mark.parametrize("path,loa", [("/app/", "substantial"), ("/high/", "high")])
def test_authn_request(portal, s, path, loa):
    begin(s, portal, path)
    req = flow.sim_json(s, portal, "/last-request")
    assert req["signature_verified"] is True
    assert req["sig_alg"].endswith("rsa-sha256")
    assert req["comparison"] == "minimum"
    assert req["loa"] == [LOA + loa]
    assert req["sp_type"] == "public"
    assert req["nameid_format"].endswith(":nameid-format:persistent")
    assert req["issuer"] == portal.entity_id
    assert req["acs_url"] == portal.stack.acs_url  # the SP's, whichever server asks
    assert req["destination"] == portal.sso_url
    names = {a["name"].rsplit("/", 1)[-1] for a in req["requested_attributes"]}
    assert {"PersonIdentifier", "CurrentGivenName", "CurrentFamilyName",
            "DateOfBirth"} <= names


# --- refusals ------------------------------------------------------------------------
FORGED = ["expired", "future", "wrong_audience", "wrong_destination", "wrong_recipient",
          "wrong_issuer", "wrong_in_response_to", "unsolicited", "unsigned", "wrong_key",
          "two_assertions", "plaintext", "plaintext_and_encrypted", "tampered_assertion",
          "tampered_response", "rsa15", "sha1"]


@pytest.mark.parametrize("fault", FORGED)
def test_invalid_response_is_refused(portal, s, rows, fault):
    before = rows("session")
    acs, fields = flow.respond(s, begin(s, portal), fault=fault)
    assert_refused(s, portal, flow.post_acs(s, portal.url(acs), fields), 400, before)


def test_transient_nameid_format_gets_nias_persistent_answer(stack, rows):
    """With KmenNameIDFormat transient the AuthnRequest asks for transient, NIA (the sim, as
    NIA does) answers with a persistent NameID all the same, and the login works."""
    node = stack.new_httpd(extra="KmenNameIDFormat transient")
    with requests.Session() as b:
        loc = flow.start(b, f"http://localhost:{node.port}/app/")
        ticket, _ = flow.idp_page(b, loc)
        assert flow.sim_json(b, stack, "/last-request")["nameid_format"].endswith(":transient")
        acs, fields = flow.respond(b, ticket)
        assertion = flow.decrypt_assertion(fields, stack.keys.sp_key)
        name_id = assertion.find("saml:Subject/saml:NameID", flow.NS)
        assert name_id.get("Format").endswith(":nameid-format:persistent")
        before = rows("session")
        done = flow.post_acs(b, f"http://localhost:{node.port}/kmen/acs", fields)
        assert done.status_code == 303 and rows("session") == before + 1
    assert "KMEN0696" in node.read_error_log()


def test_default_clock_skew_is_180_seconds(portal, s, rows):
    """NIA writes NotBefore = IssueInstant: with NIA's clock 150 s ahead the login still
    works (KmenClockSkew 180 by default, as Shibboleth's); 240 s ahead it is refused."""
    before = rows("session")
    acs, fields = flow.respond(s, begin(s, portal), fault="clock_ahead_150s")
    assert flow.post_acs(s, portal.url(acs), fields).status_code == 303
    assert rows("session") == before + 1
    with requests.Session() as other:
        acs, fields = flow.respond(other, begin(other, portal), fault="clock_ahead_240s")
        r = flow.post_acs(other, portal.url(acs), fields)
        assert_refused(other, portal, r, 400, before + 1)
    assert "not yet valid (NotBefore)" in portal.log()


@pytest.mark.parametrize("action,fault", [("cancel", ""), ("login", "authn_failed_quirk")])
def test_cancelled_or_failed_login(portal, s, rows, action, fault):
    before = rows("session")
    acs, fields = flow.respond(s, begin(s, portal), action=action, fault=fault)
    assert_refused(s, portal, flow.post_acs(s, portal.url(acs), fields), 401, before)


def loa_below_location_minimum(portal, s, rows):
    """The answer to a login at low where the location asks for substantial: refused."""
    before = rows("session")
    acs, fields = flow.respond(s, begin(s, portal), loa="low")
    r = flow.post_acs(s, portal.url(acs), fields)
    assert_refused(s, portal, r, 403, before)
    return r


def test_loa_below_location_minimum(portal, s, rows):
    loa_below_location_minimum(portal, s, rows)


def test_loa_below_location_minimum_offers_a_stronger_login(portal, s, rows):
    """The page offers the stronger login, back to where the refused one started."""
    r = loa_below_location_minimum(portal, s, rows)
    links = [h.lower() for h in lxml.html.fromstring(r.text).xpath("//a/@href")]
    assert "/kmen/login?returnto=%2fapp%2f" in links, r.text


def test_replayed_response(portal, s, rows):
    acs, fields = flow.respond(s, begin(s, portal))
    acs = portal.url(acs)
    flow.browser_cookies(s)
    state = {c.name: c.value for c in s.cookies}
    assert flow.post_acs(s, acs, fields).status_code == 303
    before = rows("session")
    assert flow.post_acs(s, acs, fields).status_code == 400
    with requests.Session() as other:
        r = other.post(acs, data=fields, allow_redirects=False,
                       headers={"Cookie": "; ".join(f"{k}={v}" for k, v in state.items())})
        assert r.status_code == 400
        assert not session_cookie_set(r)
    assert rows("session") == before


def test_response_without_state_cookie(portal, s, rows):
    acs, fields = flow.respond(s, begin(s, portal))
    before = rows("session")
    with requests.Session() as other:
        r = other.post(portal.url(acs), data=fields, allow_redirects=False)
        assert r.status_code == 400
        assert not session_cookie_set(r)
    assert rows("session") == before


def test_unauthenticated_post_gets_401(portal, s):
    """The page (httpd's, on either server) offers a login that returns to the URL."""
    r = s.post(portal.base_url + "/app/", data={"x": "1"}, allow_redirects=False)
    assert r.status_code == 401
    assert "Location" not in r.headers
    assert "Je potřeba se přihlásit" in r.text and "Login needed" in r.text, r.text
    links = [h.lower() for h in lxml.html.fromstring(r.text).xpath("//a/@href")]
    assert "/kmen/login?returnto=%2fapp%2f" in links, r.text


# --- LoA step-up and authorization ---------------------------------------------------
def test_step_up_to_high(portal, s):
    flow.login(s, portal, identity="cz-jiri", loa="substantial")
    r = s.get(portal.base_url + "/high/", allow_redirects=False)
    assert sends_to_idp(r, portal), r.status_code
    ticket, _ = flow.idp_page(s, flow.location(r))
    assert flow.sim_json(s, portal, "/last-request")["loa"] == [LOA + "high"]
    acs, fields = flow.respond(s, ticket, identity="cz-jiri", loa="high")
    r = flow.post_acs(s, portal.url(acs), fields)
    assert r.status_code == 303 and urlsplit(flow.location(r)).path == "/high/"
    h = flow.headers_of(s, portal.base_url + "/high/headers.json")
    assert flow.header(h, "Kmen-LoA") == "high"


def test_eidas_only_refuses_czech_session(portal, s):
    flow.login(s, portal, identity="cz-zofie")
    assert s.get(portal.base_url + "/eidas-only/", allow_redirects=False).status_code == 403


def test_eidas_only_admits_foreign_session(portal, s):
    flow.login(s, portal, identity="es-garcia")  # pending at /app/; /eidas-only/ accepts
    assert s.get(portal.base_url + "/eidas-only/", allow_redirects=False).status_code == 200


# --- logout --------------------------------------------------------------------------
def test_logout_started_by_the_portal(portal, s, rows):
    login = flow.login(s, portal, identity="cz-jiri")
    index = flow.session_index(login.kmen_fields, portal.keys.sp_key)
    cookie = s.cookies.get("kmen_session")
    before = rows("session")

    answer = flow.logout_at_sim(s, portal, "/public/")
    back, fields = flow.auto_post_form(answer)  # NIA posts its LogoutResponse, unsigned
    assert back == portal.stack.base_url + "/kmen/slo"  # the SP's, whichever server asked
    logout = flow.sim_json(s, portal, "/last-logout")
    assert logout["name_id"] == portal.bsi("cz-jiri")
    assert logout["session_index"] == index
    assert logout["signature_verified"] is True

    r = flow.post_acs(s, portal.url(back), fields)
    assert urlsplit(flow.location(r)).path == "/public/"
    assert_session_dead(portal, cookie)
    assert rows("session") == before - 1


def test_logout_started_by_nia(portal, s, rows):
    login = flow.login(s, portal, identity="cz-zofie")
    index = flow.session_index(login.kmen_fields, portal.keys.sp_key)
    cookie = s.cookies.get("kmen_session")
    before = rows("session")
    kept = requests.Session()  # another connection, kept alive: its child holds the session
    kept.headers["Cookie"] = f"kmen_session={cookie}"
    for _ in range(3):
        assert kept.get(portal.base_url + "/app/", allow_redirects=False).status_code == 200

    r = s.get(portal.sim_url + "/admin/idp-logout", allow_redirects=False,
              params={"identity": "cz-zofie", "session_index": index})
    to_sp = flow.location(r)
    assert to_sp.startswith(portal.stack.base_url + "/kmen/slo")  # the SP's
    r = s.get(portal.url(to_sp), allow_redirects=False)
    to_idp = flow.location(r)
    assert to_idp.startswith(portal.sso_url)
    assert flow.redirect_message(to_idp, "SAMLResponse").tag.endswith("}LogoutResponse")
    assert s.get(to_idp, allow_redirects=False).status_code == 200
    answer = flow.sim_json(s, portal, "/last-logout-response")
    assert answer["signature_verified"] is True
    assert answer["status"].endswith(":status:Success")
    assert_session_dead(portal, cookie)
    assert poll(lambda: sends_to_idp(kept.get(portal.base_url + "/app/", allow_redirects=False),
                                     portal), timeout=30), "the kept-alive connection still gets in"
    assert rows("session") == before - 1


def test_logout_request_from_nia_is_carried_out_once(portal, s, rows):
    """A LogoutRequest is carried out once (its ID in the replay cache, on every node), and
    only while it is recent (its IssueInstant at most 5 minutes and the clock skew ago): a
    captured copy replayed later ends nothing."""
    login = flow.login(s, portal, identity="cz-zofie")
    index = flow.session_index(login.kmen_fields, portal.keys.sp_key)
    r = s.get(portal.sim_url + "/admin/idp-logout", allow_redirects=False,
              params={"identity": "cz-zofie", "session_index": index})
    to_sp = portal.url(flow.location(r))
    assert s.get(to_sp, allow_redirects=False).status_code == 303
    replayed = requests.get(to_sp, allow_redirects=False)
    assert replayed.status_code == 400
    assert "LogoutRequest refused: the LogoutRequest was carried out before (a replay)" in \
        portal.log()

    login = flow.login(s, portal, identity="cz-zofie")
    index = flow.session_index(login.kmen_fields, portal.keys.sp_key)
    before = rows("session")
    r = s.get(portal.sim_url + "/admin/idp-logout", allow_redirects=False,
              params={"identity": "cz-zofie", "session_index": index, "age": 3600})
    assert s.get(portal.url(flow.location(r)), allow_redirects=False).status_code == 400
    assert rows("session") == before
    assert "the LogoutRequest's IssueInstant is not recent" in portal.log()


def test_logout_request_for_another_destination_ends_nothing(portal, s, rows):
    """NIA signs every portal's LogoutRequests with one key: one addressed to another
    portal's logout URL is refused here, however well signed."""
    login = flow.login(s, portal, identity="cz-zofie")
    index = flow.session_index(login.kmen_fields, portal.keys.sp_key)
    before = rows("session")
    r = s.get(portal.sim_url + "/admin/idp-logout", allow_redirects=False,
              params={"identity": "cz-zofie", "session_index": index,
                      "destination": "https://other.example.cz/kmen/slo"})
    assert s.get(portal.url(flow.location(r)), allow_redirects=False).status_code == 400
    assert rows("session") == before
    assert s.get(portal.base_url + "/app/", allow_redirects=False).status_code == 200
    assert "LogoutRequest refused: its Destination is not this SP's logout URL" in \
        portal.log()


# --- forged logout requests -------------------------------------------------------------
def _unsigned(query):
    return "&".join(p for p in query.split("&") if not p.startswith(("Signature=", "SigAlg=")))


def _tampered(query):
    """The SAMLRequest re-encoded with another SessionIndex; the IdP's signature kept."""
    params = dict(p.split("=", 1) for p in query.split("&"))
    xml = zlib.decompress(base64.b64decode(unquote(params["SAMLRequest"])), -15)
    xml = re.sub(rb"(<(?:\w+:)?SessionIndex>)[^<]*", rb"\1_other", xml)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    params["SAMLRequest"] = quote(base64.b64encode(deflate.compress(xml) + deflate.flush()),
                                  safe="")
    return "&".join(f"{k}={v}" for k, v in params.items())


def _flipped_signature(query):
    params = dict(p.split("=", 1) for p in query.split("&"))
    sig = bytearray(base64.b64decode(unquote(params["Signature"])))
    sig[10] ^= 1
    params["Signature"] = quote(base64.b64encode(bytes(sig)), safe="")
    return "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("forge", [_unsigned, _tampered, _flipped_signature],
                         ids=["unsigned", "tampered", "signature_altered"])
def test_forged_logout_request_is_refused(portal, s, rows, forge):
    """A LogoutRequest at /kmen/slo that NIA did not sign as it stands (no signature, a
    signed request edited, a signature altered) logs nobody out: 400, session alive."""
    login = flow.login(s, portal, identity="cz-eva")
    index = flow.session_index(login.kmen_fields, portal.keys.sp_key)
    before = rows("session")
    r = s.get(portal.sim_url + "/admin/idp-logout", allow_redirects=False,
              params={"identity": "cz-eva", "session_index": index})
    to_sp = urlsplit(portal.url(flow.location(r)))
    forged = f"{to_sp.scheme}://{to_sp.netloc}{to_sp.path}?{forge(to_sp.query)}"
    r = s.get(forged, allow_redirects=False)
    assert r.status_code == 400, (r.status_code, r.headers.get("Location"))
    assert rows("session") == before
    assert s.get(portal.base_url + "/app/", allow_redirects=False).status_code == 200
