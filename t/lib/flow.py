# SPDX-License-Identifier: GPL-2.0-or-later
"""A browser's walk through a NIA login, one step per function, on a requests.Session.

Browsers treat http://localhost as a secure context and so keep and send Secure cookies
there (the pre-login state cookie is SameSite=None; Secure); requests does not, so
browser_cookies() clears the Secure flag of cookies held for localhost before each step.
Tests that care about cookie attributes read the Set-Cookie header itself.
"""

import base64
import hashlib
import http.client
import re
import socket
import zlib
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

REDIRECTS = (302, 303)
NS = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
      "xenc": "http://www.w3.org/2001/04/xmlenc#"}


def browser_cookies(s):
    for c in s.cookies:
        if c.secure and re.match(r"(localhost|127\.0\.0\.1)(\.local)?$", c.domain.lstrip(".")):
            c.secure = False


def origin(url):
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


def location(r):
    """The Location of a redirect, made absolute."""
    assert r.status_code in REDIRECTS, f"expected a redirect, got {r.status_code}: {r.text[:500]}"
    return urljoin(r.url, r.headers["Location"])


def start(s, url):
    """GET a protected URL; the redirect's Location (the IdP's SSO URL with SAMLRequest)."""
    r = s.get(url, allow_redirects=False)
    browser_cookies(s)
    return location(r)


def idp_page(s, loc):
    """GET the sim's SSO URL; (ticket, html) of its identity picker."""
    r = s.get(loc, allow_redirects=False)
    assert r.status_code == 200, f"sim answered {r.status_code}: {r.text[:500]}"
    s.kmen_sim_url = origin(r.url)  # respond() posts back to the same sim
    return picker_ticket(r.text), r.text


def picker_ticket(page):
    """The ticket of the sim's identity picker PAGE (HTML)."""
    form = lxml.html.fromstring(page).xpath('//form[@method="post" and @action="/respond"]')
    assert form, f"no picker form on the sim's page:\n{page[:1000]}"
    return form[0].xpath('.//input[@name="ticket"]/@value')[0]


def respond(s, ticket, identity="cz-jiri", loa="substantial", action="login", fault="",
            sim_url=None):
    """Answer the sim's picker; (acs_url, fields) of the auto-posting form it returns."""
    sim_url = sim_url or s.kmen_sim_url
    r = s.post(f"{sim_url}/respond", allow_redirects=False,
               data={"ticket": ticket, "identity": identity, "loa": loa,
                     "action": action, "fault": fault})
    assert r.status_code == 200, f"sim /respond answered {r.status_code}: {r.text[:500]}"
    return auto_post_form(r)


def auto_post_form(r):
    """(action URL, hidden fields) of the sim's page that posts a SAML message on."""
    return page_form(r.text, r.url)


def page_form(page, url):
    """(action URL, hidden fields) of the auto-posting form of PAGE (HTML) got from URL."""
    form = lxml.html.fromstring(page).xpath('//form[@id="samlform"]')
    assert form, f"no samlform on the sim's answer:\n{page[:1000]}"
    fields = {i.get("name"): i.get("value") or ""
              for i in form[0].xpath('.//input[@type="hidden"]') if i.get("name")}
    return urljoin(url, form[0].get("action")), fields


def post_acs(s, acs_url, fields):
    """POST a SAML form (a Response to the ACS, a LogoutResponse to /kmen/slo) as the
    browser's auto-post would, no redirects."""
    browser_cookies(s)
    return s.post(acs_url, data=fields, allow_redirects=False)


def login(s, stack, identity="cz-jiri", loa="substantial", path="/app/"):
    """The whole login at STACK (a Stack, or a Portal of t/lib/portal.py: its ACS takes
    NIA's answer); asserts the ACS's 303 back to PATH and returns that response.
    The response's .kmen_fields holds what the sim posted (for decrypt_assertion)."""
    loc = start(s, stack.base_url + path)
    assert loc.startswith(stack.sso_url), f"not sent to the IdP: {loc}"
    ticket, _ = idp_page(s, loc)
    acs, fields = respond(s, ticket, identity=identity, loa=loa)
    r = post_acs(s, stack.url(acs), fields)
    assert r.status_code == 303, f"ACS answered {r.status_code}: {r.text[:500]}"
    assert urlsplit(location(r)).path == urlsplit(path).path, r.headers["Location"]
    r.kmen_fields = fields
    return r


def logout_at_sim(s, stack, return_to="/public/"):
    """GET /kmen/logout?ReturnTo=RETURN_TO and follow it to the sim, which answers the
    LogoutRequest: its response (by default, as NIA: a page posting the LogoutResponse)."""
    r = s.get(stack.base_url + "/kmen/logout", params={"ReturnTo": return_to},
              allow_redirects=False)
    to_idp = location(r)
    assert to_idp.startswith(stack.sso_url) and "SAMLRequest" in to_idp, to_idp
    browser_cookies(s)
    return s.get(to_idp, allow_redirects=False)


def sim_json(s, stack, path):
    r = s.get(stack.sim_url + path)
    assert r.status_code == 200, f"sim {path}: {r.status_code} {r.text[:300]}"
    return r.json()


def redirect_message(loc, param="SAMLRequest"):
    """The XML of a SAML message carried by an HTTP-Redirect binding URL."""
    value = parse_qs(urlsplit(loc).query)[param][0]
    return etree.fromstring(zlib.decompress(base64.b64decode(value), -15))


def set_cookies(r):
    """Every Set-Cookie header of a response, as sent."""
    return r.raw.headers.getlist("Set-Cookie")


def cookie_attrs(r, name):
    """{attribute (lower case): value} of the Set-Cookie for NAME, or None."""
    for header in set_cookies(r):
        first, *rest = [p.strip() for p in header.split(";")]
        if first.split("=", 1)[0] == name:
            attrs = {"value": first.split("=", 1)[1] if "=" in first else ""}
            for a in rest:
                k, _, v = a.partition("=")
                attrs[k.lower()] = v
            return attrs
    return None


# --- the login-state cookies: one per outstanding login (apache/login_state.c) --------
STATE_RE = re.compile(r"(?:__Host-)?kmen_session_state_[0-9a-f]{8}")


def state_cookie_name(request_id, cookie_name="kmen_session"):
    """The login-state cookie of the AuthnRequest REQUEST_ID: its name carries 8 hex digits
    of the ID's SHA-256."""
    return f"{cookie_name}_state_{hashlib.sha256(request_id.encode()).hexdigest()[:8]}"


def state_cookie(r, cookie_name="kmen_session"):
    """(name, {attribute: value}) of the login-state cookie a login start R sets for the
    AuthnRequest it sends the browser to the IdP with."""
    name = state_cookie_name(redirect_message(location(r)).get("ID"), cookie_name)
    return name, cookie_attrs(r, name)


def held_states(s):
    """{name: value} of the login-state cookies the requests.Session S holds."""
    return {c.name: c.value for c in s.cookies if STATE_RE.fullmatch(c.name)}


# --- reading the encrypted assertion with the SP key (the test holds it) -----------
def _rsa_unwrap(enc_key, sp_key):
    alg = enc_key.find("xenc:EncryptionMethod", NS).get("Algorithm")
    cipher = base64.b64decode(enc_key.findtext("xenc:CipherData/xenc:CipherValue",
                                               namespaces=NS))
    if alg.endswith("rsa-1_5"):
        return sp_key.decrypt(cipher, padding.PKCS1v15())
    return sp_key.decrypt(cipher, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()),
                                               algorithm=hashes.SHA1(), label=None))


def _sym_decrypt(alg, key, data):
    if "gcm" in alg:
        return AESGCM(key).decrypt(data[:12], data[12:], None)
    if "tripledes" in alg:
        algo, iv_len = algorithms.TripleDES(key), 8
    else:
        algo, iv_len = algorithms.AES(key), 16
    d = Cipher(algo, modes.CBC(data[:iv_len])).decryptor()
    plain = d.update(data[iv_len:]) + d.finalize()
    return plain[:-plain[-1]]  # XML Encryption padding: the last byte counts it


def decrypt_assertion(fields, sp_key_path):
    """The saml:Assertion (an lxml element) inside the SAMLResponse in FIELDS."""
    resp = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    plain = resp.find("saml:Assertion", NS)
    if plain is not None:
        return plain
    data = resp.find("saml:EncryptedAssertion/xenc:EncryptedData", NS)
    enc_key = resp.find("saml:EncryptedAssertion//xenc:EncryptedKey", NS)
    with open(sp_key_path, "rb") as f:
        sp_key = serialization.load_pem_private_key(f.read(), password=None)
    key = _rsa_unwrap(enc_key, sp_key)
    alg = data.find("xenc:EncryptionMethod", NS).get("Algorithm")
    cipher = base64.b64decode(data.findtext("xenc:CipherData/xenc:CipherValue", namespaces=NS))
    return etree.fromstring(_sym_decrypt(alg, key, cipher))


def session_index(fields, sp_key_path):
    a = decrypt_assertion(fields, sp_key_path)
    return a.find("saml:AuthnStatement", NS).get("SessionIndex")


# --- what the backend received -------------------------------------------------------
def headers_of(s, url):
    """The request headers the portal received for URL (a …headers.json path)."""
    r = s.get(url, allow_redirects=False)
    assert r.status_code == 200, f"GET {url}: {r.status_code} {r.text[:300]}"
    return r.json()


def header(received, name):
    """The value of header NAME (any case) in a headers_of() answer, or None."""
    for k, v in received.items():
        if k.lower() == name.lower():
            return v
    return None


# --- requests exactly as written --------------------------------------------------------
def send_raw(port, path, lines=(), method="GET", body=b""):
    """One request to 127.0.0.1:PORT whose header lines start with exactly LINES (str or
    bytes, as they are: requests would tidy them); Host and Connection follow.
    (status, response headers as a list of (name, value), body bytes)."""
    head = [f"{method} {path} HTTP/1.1".encode()]
    head += [line.encode("latin-1") if isinstance(line, str) else line for line in lines]
    head += [f"Host: localhost:{port}".encode(), b"Connection: close"]
    if method == "POST":
        head += [b"Content-Type: application/x-www-form-urlencoded",
                 f"Content-Length: {len(body)}".encode()]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        return resp.status, resp.getheaders(), resp.read()
