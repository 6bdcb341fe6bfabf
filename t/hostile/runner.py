# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a hostile case against a running stack and judge what came back; write RESULTS.md.

A case passes when the answer is a 4xx, no session cookie is set, kmen.session and
kmen.client have no new row, no httpd child crashed (the error logs of every node are read
for it) and nothing fetched the canary server. SAME_PERSON cases may also log in the person
the IdP signed for, and no one else.
"""

import datetime
import http.server
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import requests

from t.lib import flow

from .cases import SAME_PERSON

# httpd's parent logs a child's death with AH00052 "exit signal", nginx's master a worker's
# with "exited on signal"
CRASH_MARKERS = ("Segmentation fault", "exit signal", "AH00052", "exited on signal",
                 "AddressSanitizer", "runtime error:", "double free", "stack smashing")
REFUSAL_RE = re.compile(r"(?:SAML response refused|LogoutResponse refused): (.*?) (?:\[vhost [^]]*\] )?\[req")
WATCHED_TABLES = ("session", "client")


@dataclass
class Answer:
    status: int
    headers: list            # [(name, value)], duplicates kept
    body: bytes

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def session_cookie(self, name="kmen_session"):
        """The value of a live session cookie this answer sets, else None."""
        for header in self.all("Set-Cookie"):
            first, _, rest = header.partition(";")
            k, _, v = first.strip().partition("=")
            if k == name and v and "max-age=0" not in rest.lower().replace(" ", ""):
                return v
        return None


@dataclass
class Result:
    name: str
    category: str
    what: str
    expected: str
    status: Optional[int] = None
    reason: str = ""
    session: bool = False
    rows: dict = field(default_factory=dict)
    crash: list = field(default_factory=list)
    error: str = ""
    canary_hits: list = field(default_factory=list)
    person: str = ""          # for a login that happened: "signed person" or "OTHER PERSON"
    location: str = ""
    seconds: float = 0.0

    @property
    def refused(self):
        return (self.status is not None and 400 <= self.status < 500 and not self.session
                and not any(self.rows.values()))

    @property
    def same_person_login(self):
        return (self.status == 303 and self.session and self.person == "signed person"
                and not self.rows.get("client"))

    @property
    def crashed(self):
        return bool(self.crash)

    @property
    def accepted(self):
        """Something was let in that must not be."""
        if self.expected == SAME_PERSON and self.same_person_login:
            return False
        return self.status is not None and not self.refused

    @property
    def ok(self):
        if self.crashed or self.error or self.canary_hits or self.status is None:
            return False
        if self.expected == "303":
            return self.status == 303 and self.session
        if self.expected == SAME_PERSON and self.same_person_login:
            return True
        return self.refused

    def got(self):
        if self.error:
            return f"no answer ({self.error})"
        s = str(self.status)
        if self.reason:
            s += f" ({self.reason})"
        if self.location:
            s += f" -> {self.location}"
        if self.person:
            s += f", logged in: {self.person}"
        if self.canary_hits:
            s += f", FETCHED {', '.join(self.canary_hits)}"
        if self.crash:
            sanitizer = any("runtime error" in c or "Sanitizer" in c for c in self.crash)
            s += ", SANITIZER REPORT" if sanitizer else ", CRASH"
        return s

    def rows_text(self):
        added = [f"+{n} {t}" for t, n in self.rows.items() if n]
        return ", ".join(added) if added else "none"

    def describe(self):
        lines = [f"{self.name} [{self.category}] {self.what}",
                 f"  expected {self.expected}, got {self.got()}",
                 f"  session cookie: {'yes' if self.session else 'no'}, rows: {self.rows_text()}"]
        lines += [f"  error log: {line}" for line in self.crash]
        return "\n".join(lines)


class Canary:
    """An HTTP server that only records what reaches it: entities and XIncludes point here."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                body = b"<!ENTITY canary 'fetched'>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def stream_post(url, body, headers, timeout=60.0):
    """POST BODY over a raw socket, stopping early when the server answers (or hangs up)
    before taking it all, as httpd does past a body limit; the Answer."""
    u = urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
    try:
        head = [f"POST {u.path or '/'} HTTP/1.1", f"Host: {u.netloc}",
                f"Content-Length: {len(body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        view, sent = memoryview(body), 0
        try:
            while sent < len(body):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sent += sock.send(view[sent:sent + (256 << 10)])
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        sock.close()
    return parse_answer(data)


def parse_answer(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        raise ConnectionError(f"no HTTP answer ({len(data)} bytes)")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if ":" in line]
    return Answer(status, headers, body)


def send(attempt):
    headers = {}
    if attempt.cookie is not None:
        headers["Cookie"] = attempt.cookie
    if attempt.stream:
        headers["Content-Type"] = attempt.content_type
        return stream_post(attempt.url, attempt.body, headers)
    if attempt.body is not None:
        headers["Content-Type"] = attempt.content_type
    r = requests.post(attempt.url, data=attempt.fields if attempt.fields is not None
                      else attempt.body, headers=headers, allow_redirects=False, timeout=60)
    pairs = [(k, v) for k in r.raw.headers for v in r.raw.headers.getlist(k)]
    return Answer(r.status_code, pairs, r.content)


class LogWatch:
    """New text in the error logs of every httpd node since the last mark."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.offsets = {}

    def mark(self):
        for node in self.ctx.nodes():
            self.offsets[node.error_log] = self._size(node.error_log)

    @staticmethod
    def _size(path):
        return path.stat().st_size if path.exists() else 0

    def new_text(self):
        out = []
        for node in self.ctx.nodes():
            path = node.error_log
            if not path.exists():
                continue
            with open(path, "rb") as f:
                f.seek(self.offsets.get(path, 0))
                out.append(f.read().decode(errors="replace"))
        return "".join(out)


def crash_lines(text):
    return [line for line in text.splitlines() if any(m in line for m in CRASH_MARKERS)]


def saml_response_of(attempt):
    """The SAMLResponse form field an Attempt posts, or None (no form, no such field, or a
    body past the ACS's limit, which never reaches the Response checks)."""
    if attempt.fields is not None:
        return attempt.fields.get("SAMLResponse")
    if attempt.body is None or len(attempt.body) > 1 << 20 or \
            attempt.content_type != "application/x-www-form-urlencoded":
        return None
    values = parse_qs(attempt.body.decode("latin-1"), keep_blank_values=True).get("SAMLResponse")
    return values[0] if values else None


class Runner:
    def __init__(self, ctx, canary=None):
        self.ctx = ctx
        self.canary = canary
        self.watch = LogWatch(ctx)
        self._signed_person = None
        # case name -> the SAMLResponse it posted (None: none), for the differential test
        self.responses = {}

    def signed_person_client(self):
        """Kmen-Client-Id of cz-jiri, the person every genuine answer is about."""
        if self._signed_person is None:
            with requests.Session() as s:
                flow.login(s, self.ctx.stack, identity="cz-jiri")
                h = flow.headers_of(s, self.ctx.stack.base_url + "/app/headers.json")
                self._signed_person = flow.header(h, "Kmen-Client-Id")
        return self._signed_person

    def counts(self):
        return {t: self.ctx.stack.count(t) for t in WATCHED_TABLES}

    def run(self, case):
        res = Result(case.name, case.category, case.what, case.expected)
        if case.expected == SAME_PERSON:
            self.signed_person_client()
        started = time.monotonic()
        attempt = case.build(self.ctx)       # setup errors are the harness's, not results
        self.responses[case.name] = saml_response_of(attempt)
        if self.canary:
            self.canary.hits.clear()
        self.watch.mark()
        before = self.counts()
        try:
            answer = send(attempt)
        except (requests.ConnectionError, ConnectionError, OSError) as e:
            answer, res.error = None, f"{type(e).__name__}: {e}"
        res.seconds = time.monotonic() - started
        after = self.counts()
        res.rows = {t: after[t] - before[t] for t in WATCHED_TABLES}
        time.sleep(0.01)
        text = self.watch.new_text()
        res.crash = crash_lines(text)
        m = REFUSAL_RE.search(text)
        res.reason = m.group(1) if m else ""
        if self.canary:
            res.canary_hits = list(self.canary.hits)
        if answer is not None:
            res.status = answer.status
            cookie = answer.session_cookie()
            res.session = cookie is not None
            loc = answer.all("Location")
            res.location = loc[0] if loc and answer.status in (301, 302, 303, 307, 308) else ""
            if b"root:x:0:0" in answer.body:
                res.error = "the answer shows /etc/passwd"
            if cookie and case.expected != "303":
                res.person = self.person_of(cookie)
        return res

    def person_of(self, cookie):
        r = requests.get(self.ctx.stack.base_url + "/app/headers.json", allow_redirects=False,
                         headers={"Cookie": f"kmen_session={cookie}"})
        if r.status_code != 200:
            return f"(session not usable: {r.status_code})"
        client = flow.header(r.json(), "Kmen-Client-Id")
        return "signed person" if client == self.signed_person_client() else "OTHER PERSON"


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def results_markdown(sections):
    """RESULTS.md's hostile part: SECTIONS is [(server, results, controls, module, seconds)],
    one for each server the cases ran on."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "<!-- SPDX-License-Identifier: GPL-2.0-or-later -->",
        "# Hostile SAML Responses: results",
        "",
        f"Written by `make test-hostile` (t/integration/test_hostile.py), {when}, on "
        f"{' and '.join(s[0] for s in sections)}: every case posted to the server's "
        "/kmen/acs, in a section of its own.",
        "Every case starts from the NIA simulator's genuine signed and encrypted answer to a "
        "login started at /app/ (t/hostile/cases.py says what each one changes). Expected: "
        "a 4xx, no session cookie, no new kmen.session or kmen.client row, no crashed child "
        f"or worker, nothing fetched. \"{SAME_PERSON}\": the change keeps the IdP's signature "
        "valid (exclusive c14n reads the text the same), so logging in the person the IdP "
        "signed for is correct too; any other person would be a failure. \"got\" shows the "
        "status and the reason from the error log.",
    ]
    for section in sections:
        out += server_section(*section)
    return "\n".join(out) + "\n"


def server_section(server, results, controls, module, seconds):
    """The lines of one server's cases and controls."""
    tried = len(results)
    accepted = sum(r.accepted for r in results)
    crashes = sum(r.crashed or bool(r.error) for r in results)
    failed = [r for r in results if not r.ok]
    ctrl_ok = sum(c.ok for c in controls)
    out = ["", f"## {server}: `{module}`, {seconds:.1f} s", "",
           "| case | expected | got | session? | rows? |",
           "|---|---|---|---|---|"]
    for r in results:
        out.append(f"| `{r.name}` ({r.category}): {md_cell(r.what)} | {md_cell(r.expected)} | "
                   f"{md_cell(r.got())} | {'yes' if r.session else 'no'} | "
                   f"{r.rows_text()} |")
    out += ["", f"**{server}: {tried} tried, {accepted} accepted, {crashes} crashes**"
                f"{'' if not failed else f' ({len(failed)} not as expected)'}", "",
            "Controls (the generator's own, correctly signed output must be accepted, so the "
            f"refusals above are the defect's doing): {ctrl_ok} of {len(controls)} accepted.",
            "", "| control | expected | got |", "|---|---|---|"]
    for c in controls:
        out.append(f"| `{c.name}`: {md_cell(c.what)} | 303 + session | {md_cell(c.got())} |")
    return out
