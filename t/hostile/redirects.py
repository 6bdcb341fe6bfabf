# SPDX-License-Identifier: GPL-2.0-or-later
"""Open-redirect payloads for ReturnTo / RelayState, how a browser reads a Location, and a
small keep-alive HTTP/1.1 client that sends request targets byte for byte.

Payloads are made here from parts (shapes of "go elsewhere" x hosts x ways of encoding,
script schemes in case and control-character variants, CRLF injections, dot segments,
very long values), not taken from any list. Each payload is the raw query value as it goes
on the wire after "ReturnTo=".
"""

import random
import re
import socket
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

# --- how a browser reads a Location (the WHATWG URL parser, as far as hosts go) ------------
SPECIAL = ("http", "https", "ws", "wss", "ftp", "file")
C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def browser_origin(location, base):
    """(scheme, host[:port]) a browser would go to for LOCATION on page BASE: leading and
    trailing C0 controls and spaces stripped, tab/CR/LF removed anywhere, '\\' read as '/'
    in special schemes, any number of slashes before the authority. host is None for a
    non-special scheme (javascript:, data:, ...)."""
    b = urlsplit(base)
    base_scheme, base_netloc = b.scheme, b.netloc.lower()
    s = location.strip(C0_AND_SPACE)
    s = re.sub(r"[\t\n\r]", "", s)
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", s)
    if m:
        scheme, rest = m.group(1).lower(), s[m.end():]
        if scheme not in SPECIAL:
            return scheme, None
        rest = rest.replace("\\", "/")
        if scheme == base_scheme and not rest.startswith("//"):
            return base_scheme, base_netloc       # "http:foo" is relative to the page
        authority_and_more = rest.lstrip("/")
    else:
        scheme = base_scheme
        t = s.replace("\\", "/")
        if not t.startswith("//"):
            return base_scheme, base_netloc       # a path, a query or a fragment
        authority_and_more = t.lstrip("/")
    authority = re.split(r"[/?#]", authority_and_more, maxsplit=1)[0]
    host = authority.rsplit("@", 1)[-1]
    try:
        host = unicodedata.normalize("NFKC", host).lower()
    except ValueError:
        pass
    for dot in ("\u3002", "\uff0e", "\uff61"):
        host = host.replace(dot, ".")
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    if default and host.endswith(default):
        host = host[:-len(default)]
    return scheme, host


def urllib_origin(location, base):
    u = urlsplit(urljoin(base, location))
    return u.scheme.lower(), u.netloc.lower()


def leaves_site(location, base):
    """Why LOCATION would take a browser off BASE's origin (by urllib or by the browser's
    reading), or None."""
    b = urlsplit(base)
    site = (b.scheme, b.netloc.lower())
    for how, origin in (("urllib", urllib_origin), ("browser", browser_origin)):
        got = origin(location, base)
        if got != site:
            return f"{how} reads it as {got[0]}://{got[1]}"
    return None


def normalised_path(location):
    """The path a browser requests for a path-absolute LOCATION after removing dot
    segments; in URL paths "%2e" counts as "." (WHATWG URL, path state)."""
    path = re.split(r"[?#]", location, maxsplit=1)[0]
    out = []
    segments = path.split("/")[1:]
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        low = seg.lower()
        if low in ("..", ".%2e", "%2e.", "%2e%2e"):
            if out:
                out.pop()
            if last:
                out.append("")
        elif low in (".", "%2e"):
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


# --- payloads ------------------------------------------------------------------------------
EVIL = "evil.example"
HOSTS = [
    EVIL, EVIL + ":8443", "127.0.0.2", "2130706434", "0x7f.1", "[::ffff:7f00:2]",
    "evil\u3002example", "evil\uff0eexample", "\uff45vil.example", "xn--vil-8na.example",
    "{site}.evil.example", "{site}@" + EVIL, EVIL + "\\@{site}", EVIL + "#@{site}",
    EVIL + "?@{site}", EVIL + "%00.{site}",
]
SHAPES = [
    # scheme-relative and its spellings
    "//{h}", "///{h}", "////{h}", "//{h}/", "//{h}/app/", "//{h}?x", "//{h}#x",
    "/\\{h}", "\\/{h}", "\\\\{h}", "/\\/{h}", "\\{h}", "/\\\\{h}",
    # absolute
    "http://{h}", "https://{h}", "HtTpS://{h}", "http:/{h}", "http:{h}", "https:{h}",
    "http:\\\\{h}", "https:/\\{h}", "ftp://{h}", "file://{h}/etc/passwd",
    # control characters and odd spaces that a browser drops or a server may
    " //{h}", "\t//{h}", "/\t/{h}", "/\n/{h}", "/\r/{h}", "/\r\n/{h}", "\x00//{h}",
    "/\x00/{h}", "/\x0b/{h}", "/\x0c/{h}", "/\x7f/{h}", "/ /{h}", "/\x01/{h}", "/\x1f/{h}",
    "/\u3000/{h}", "/\u00a0/{h}", "/\ufeff/{h}", "/\u200b/{h}",
    # already percent-encoded (decoded once by the server)
    "%2F%2F{h}", "%2f%2f{h}", "/%2F{h}", "/%2f{h}", "%5C%5C{h}", "/%5C{h}", "/%5c{h}",
    "%2F%5C{h}", "/%09/{h}", "/%0a/{h}", "/%0d/{h}", "%09//{h}", "/%20/{h}",
    # double-encoded
    "%252F%252F{h}", "/%252F{h}", "/%255C{h}", "%255C%255C{h}", "/%2509/{h}",
    # unicode look-alikes of '/' and '\'
    "/\u2215{h}", "\u2215\u2215{h}", "/\uff0f{h}", "\uff0f\uff0f{h}", "/\uff3c{h}",
    "/\u29f8{h}", "/\u2044{h}", "/\u3033{h}",
    # overlong UTF-8 for '/'
    "/%c0%af{h}", "%c0%af%c0%af{h}", "/%e0%80%af{h}",
    # userinfo
    "//user:pw@{h}", "//{site}@{h}", "http://{site}@{h}", "//{site}:@{h}", "/@{h}",
    "//@{h}", "//:@{h}",
    # dot segments on the way to a second slash
    "/.//{h}", "/..//{h}", "/x/..//{h}", "/%2e%2e//{h}", "/%2e//{h}", "/./\\{h}",
    "/x/../\\{h}", "/.%2e//{h}",
    # the host as a local path (legitimate if kept local)
    "/{h}", "{h}",
]
SCRIPT_BODIES = ["alert(document.domain)", "//%0aalert(1)", "alert`1`"]
SCHEMES = ["javascript", "data", "vbscript"]
DATA_BODIES = ["text/html,<script>alert(1)</script>", "text/html;base64,PHNjcmlwdD4=",
               ",x"]
CRLF_INJECTIONS = [
    "/%0d%0aX-Injected:%20yes", "/%0aX-Injected:%20yes", "/%0dX-Injected:%20yes",
    "/%0d%0aSet-Cookie:%20kmen_session=evil", "/%0d%0a%0d%0a<script>alert(1)</script>",
    "/%0D%0AX-Injected:%20yes", "%0d%0aX-Injected:%20yes", "/x%0d%0aLocation:%20//evil.example",
    "/%E5%98%8A%E5%98%8DX-Injected:%20yes", "/%c4%8d%c4%8aX-Injected:%20yes",
    "/%u000d%u000aX-Injected:%20yes", "/%250d%250aX-Injected:%20yes",
    "/%0d%20X-Injected:%20yes", "/%00%0d%0aX-Injected:%20yes", "/%0b%0cX-Injected:%20yes",
    "/%e2%80%a8X-Injected:%20yes", "/%e2%80%a9X-Injected:%20yes", "/%c2%85X-Injected:%20yes",
    "/\r\nX-Injected: yes", "/%0d%0a%09X-Injected:%20yes", "/%0d%0a%20X-Injected:%20yes",
]
DOT_SEGMENTS = [
    "/.", "/..", "/./", "/../", "/./app/", "/../app/", "/app/./", "/app/../", "/app/.",
    "/app/..", "/%2e/", "/%2e%2e/", "/.%2e/", "/%2e./", "/%2E%2E/", "/app/%2e%2e/",
    "/app/..%2f", "/app/%2e%2e%2f..%2f", "/app/...", "/app/.../", "/..;/", "/app/..;/x",
    "/app/.%00./", "/app/%252e%252e/", "/..\\", "/app/..\\..\\", "/app/.\\",
    "/app/x/../../..", "/app/x/./../../", "/app//", "/app//x", "/app/%2f/x",
]


def encode_minimal(value):
    """Percent-encode what cannot stand in a query value as it is (controls, space,
    non-ASCII, '%', '&', '#', '+'); the rest goes on the wire as it is."""
    return quote(value, safe="/:@!$'()*,;=?.~-_\\[]{}|^`<>\"")


def encode_full(value):
    return quote(value, safe="")


def encode_double(value):
    return quote(quote(value, safe=""), safe="")


def case_variants(word, rng, n=4):
    out = {word, word.upper(), word.capitalize()}
    while len(out) < n + 3:
        out.add("".join(c.upper() if rng.random() < 0.5 else c for c in word))
    return sorted(out)


def obfuscated_schemes(word, rng):
    """WORD with a control character or space inside or in front: browsers drop tabs and
    newlines inside and strip leading controls."""
    out = []
    for ch in ("\t", "\n", "\r", "\x00", "\x01", " "):
        i = rng.randrange(1, len(word))
        out.append(word[:i] + ch + word[i:])
        out.append(ch + word)
    return out


def payloads(site_netloc, seed=20260301):
    """[(label, raw query value)] without duplicates; SITE_NETLOC is host:port of the site
    (for userinfo and subdomain tricks)."""
    rng = random.Random(seed)
    seen, out = set(), []

    def add(label, raw):
        if raw not in seen:
            seen.add(raw)
            out.append((label, raw))

    for shape in SHAPES:
        for host in HOSTS:
            value = shape.replace("{h}", host.replace("{site}", site_netloc))
            value = value.replace("{site}", site_netloc)
            add(f"shape {shape!r} host {host!r} minimal", encode_minimal(value))
            if rng.random() < 0.25:
                add(f"shape {shape!r} host {host!r} full", encode_full(value))
            if rng.random() < 0.12:
                add(f"shape {shape!r} host {host!r} double", encode_double(value))
    for scheme in SCHEMES:
        bodies = DATA_BODIES if scheme == "data" else SCRIPT_BODIES
        spellings = case_variants(scheme, rng) + obfuscated_schemes(scheme, rng)
        for word in spellings:
            for body in bodies:
                for prefix in ("", "/"):     # "/javascript:..." is a local path
                    value = prefix + word + ":" + body
                    add(f"scheme {word!r}", encode_minimal(value))
                    if rng.random() < 0.3:
                        add(f"scheme {word!r} full", encode_full(value))
    for raw in CRLF_INJECTIONS:
        add("crlf", raw if "\r" not in raw else encode_minimal(raw))
        add("crlf (value encoded again)", encode_full(raw))
    for raw in DOT_SEGMENTS:
        add("dot segment", encode_minimal(raw))
        add("dot segment (encoded)", encode_full(raw))
    for n in (1023, 1024, 1025, 2048, 2049, 4000, 7000):
        add(f"long {n}", "/" + "a" * (n - 1))
        add(f"long {n} scheme-relative", "//" + EVIL + "/" + "a" * (n - 14))
    add("long slashes", "/" * 3000)
    add("long encoded slashes", "%2F" * 2000)
    add("long backslashes", "%5C" * 1500)
    add("empty", "")
    return out


# Local paths that must keep working (the test would prove nothing if all were refused).
LOCAL = ["/", "/app/", "/app/page", "/app/page?x=1%26y=2", "/app/%2520space",
         "/app/a%252Fb", "/info/x-y_z~1", "/app/page%3Fq%3D1", "/app/@user", "/app/a:b"]

# Whole query strings: the parameter twice, in other spellings, behind other separators.
QUERIES = [
    "ReturnTo=/app/&ReturnTo=//evil.example", "ReturnTo=//evil.example&ReturnTo=/app/",
    "returnto=//evil.example", "RETURNTO=//evil.example", "ReturnTo%3D//evil.example",
    "x=1;ReturnTo=//evil.example", "x=1&&ReturnTo=//evil.example", "&ReturnTo=//evil.example",
    "ReturnTo", "ReturnTo=", "ReturnTo==//evil.example", "Return%54o=//evil.example",
    "ReturnTo[]=//evil.example", "ReturnTo=/app/%26ReturnTo=//evil.example",
    " ReturnTo=//evil.example", "ReturnTo =//evil.example", "ReturnTo=/%00//evil.example",
]


# --- a keep-alive client that sends the request target as it is -------------------------------
@dataclass
class RawAnswer:
    status: int
    head: bytes
    headers: list
    body: bytes

    def get(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class RawClient:
    """HTTP/1.1 GETs over one connection (reopened when the server closes it)."""

    def __init__(self, host, port, timeout=10.0):
        self.addr, self.timeout, self.sock, self.buf = (host, port), timeout, None, b""
        self.connections = 0

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock, self.buf = None, b""

    def get(self, target, host_header, headers=()):
        if isinstance(target, str):
            target = target.encode("latin-1")
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        req = (b"GET " + target + b" HTTP/1.1\r\nHost: " + host_header.encode()
               + b"\r\n" + extra.encode() + b"\r\n")
        for attempt in (1, 2):
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=self.timeout)
                self.connections += 1
            try:
                self.sock.sendall(req)
                return self._read()
            except (ConnectionError, socket.timeout, EOFError):
                self.close()
                if attempt == 2:
                    raise

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _read(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = []
        for line in lines[1:]:
            k, _, v = line.decode("latin-1").partition(":")
            headers.append((k.strip(), v.strip()))
        hmap = {k.lower(): v for k, v in headers}
        if "content-length" in hmap:
            n = int(hmap["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        elif hmap.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked()
        else:
            try:
                while True:
                    self._fill()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
            self.close()
        if hmap.get("connection", "").lower() == "close":
            self.close()
        return RawAnswer(status, head, headers, body)

    def _chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self._fill()
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]
            if size == 0:
                return body
