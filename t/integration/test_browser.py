# SPDX-License-Identifier: GPL-2.0-or-later
"""End to end in a real browser: Debian's headless chromium driven by python3-selenium.

A person opens the portal, picks an identity on the NIA simulator's page, lands on the
portal with their data, logs out through NIA's single logout, and cancels a login. The
browser keeps and sends the cookies itself, so these tests also show whether chromium
accepts mod_kmen's cookies across the two hosts (httpd on localhost, the sim on 127.0.0.1).
With KmenCookieSecure Off the pre-login state cookie has no SameSite attribute, so chromium
treats it as Lax and sends it on the sim's cross-site POST to the ACS only while it is less
than two minutes old (its Lax+POST allowance): each login here takes about a second.

On httpd and on nginx (the `server` parameter). The browser uses the site's address, the
entity ID's, where NIA sends it back; on nginx chromium's resolver takes that address to
an nginx node, as a load balancer would, so that every request of the login reaches nginx.

Chromium's DevTools network log is recorded: failures quote the page, the requests with
their statuses, every cookie chromium refused to store or send (and why), and the portal
server's error log.
"""

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from t.lib import REPO, flow
from t.sim.identities import IDENTITIES, first_login

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking flags chromium's own connections are refused by the
# closed network of the test machines, and it waits on them.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1024", "--lang=cs"]
SCREENSHOTS = REPO / "t" / "e2e" / "screenshots"
WAIT = 10  # seconds for one step (a page load, a redirect chain)

webdriver = pytest.importorskip("selenium.webdriver", reason="python3-selenium is not installed")
from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _pids_using(marker):
    """PIDs of processes whose command line contains MARKER (our profile directory)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


class Browser:
    """A chromium of its own (fresh profile) on PORTAL and what a failing step should
    quote."""

    def __init__(self, portal):
        self.portal = portal
        self.home = portal.stack.base_url  # the site's address
        self.profile = tempfile.mkdtemp(prefix="kmen-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        if portal.base_url != self.home:
            options.add_argument(f"--host-resolver-rules=MAP {urlsplit(self.home).netloc} "
                                 f"127.0.0.1:{portal.http_port}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.events = []
        try:
            self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except BaseException:
            self._reap()
            raise
        self.driver.set_page_load_timeout(WAIT)

    def url(self, path):
        """PATH at the site's address (which reaches the portal's node)."""
        return self.home + path

    def quit(self):
        try:
            self.driver.quit()
        finally:
            self._reap()

    def _reap(self):
        """Kill whatever chromium left running on our profile, by PID, then remove it."""
        for pid in _pids_using(self.profile):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- the DevTools network log ----------------------------------------------------
    def network(self):
        """Every Network.* event so far, in order, as (method, params)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"].startswith("Network."):
                self.events.append((message["method"], message["params"]))
        return self.events

    def documents(self):
        """[(url, status)] of every document response in order, redirects included."""
        seen = []
        for method, p in self.network():
            if p.get("type") != "Document":
                continue
            if method == "Network.requestWillBeSent" and p.get("redirectResponse"):
                seen.append((p["redirectResponse"]["url"], p["redirectResponse"]["status"]))
            elif method == "Network.responseReceived":
                seen.append((p["response"]["url"], p["response"]["status"]))
        return seen

    def status_of(self, url):
        """The HTTP status of the last document response for URL (path compared)."""
        statuses = [s for u, s in self.documents() if urlsplit(u)[:3] == urlsplit(url)[:3]]
        return statuses[-1] if statuses else None

    def refused_cookies(self):
        """['<name>: <reasons> (stored|sent) <url>'] for every cookie chromium blocked."""
        urls, out = {}, []
        for method, p in self.network():
            rid = p.get("requestId")
            if method == "Network.requestWillBeSent":
                urls[rid] = f'{p["request"]["method"]} {p["request"]["url"]}'
            elif method == "Network.responseReceivedExtraInfo":
                for b in p.get("blockedCookies", []):
                    name = (b.get("cookie") or {}).get("name") or b.get("cookieLine", "")
                    out.append(f'{name}: not stored ({", ".join(b["blockedReasons"])}) '
                               f'from the response to {urls.get(rid, rid)}; '
                               f'Set-Cookie: {b.get("cookieLine")}')
            elif method == "Network.requestWillBeSentExtraInfo":
                for a in p.get("associatedCookies", []):
                    if a.get("blockedReasons"):
                        out.append(f'{a["cookie"]["name"]}: not sent '
                                   f'({", ".join(a["blockedReasons"])}) '
                                   f'with {urls.get(rid, rid)}')
        return out

    # --- reading and waiting -----------------------------------------------------------
    def diagnosis(self, what):
        d = self.driver
        try:
            source, url = d.page_source, d.current_url
        except WebDriverException as e:
            source, url = f"(no page: {e})", "?"
        docs = "\n".join(f"  {u if len(u) < 160 else u[:160] + '…'} -> {s}"
                         for u, s in self.documents() if u.startswith("http"))
        refused = "\n".join(f"  {c}" for c in self.refused_cookies()) or "  none"
        return (f"{what}\n--- at {url}\n--- page source:\n{source}\n"
                f"--- documents loaded:\n{docs}\n--- cookies chromium refused:\n{refused}\n"
                f"--- {self.portal.server} error log (tail):\n{self.portal.log()[-6000:]}")

    def wait_for(self, what, condition, timeout=WAIT):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
                lambda d: condition(d))
        except TimeoutException:
            pytest.fail(self.diagnosis(f"waited {timeout} s for {what}"), pytrace=False)

    def wait_for_url(self, url, timeout=WAIT):
        """Wait until the browser shows URL (scheme, host, port, path) and has loaded it."""
        want = urlsplit(url)[:3]
        self.wait_for(f"the page {url}", lambda d: urlsplit(d.current_url)[:3] == want
                      and d.execute_script("return document.readyState") == "complete",
                      timeout)

    def check(self, ok, what):
        if not ok:
            pytest.fail(self.diagnosis(what), pytrace=False)

    def find(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        self.check(found, f"no element {css!r} on the page")
        return found[0]


@pytest.fixture
def browser(site_portal):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} is missing (apt-get install chromium chromium-driver)")
    b = Browser(site_portal)
    try:
        yield b
    finally:
        b.quit()


# --- the steps a person takes ------------------------------------------------------------
def open_picker(b, path="/app/"):
    """Open PATH on the portal; the browser must end on the sim's identity picker."""
    b.driver.get(b.url(path))
    b.wait_for_url(b.portal.sso_url)
    html = b.find("html")
    b.check(html.get_attribute("lang") == "cs", "the sim's picker is not lang=cs")
    radios = b.driver.find_elements(By.CSS_SELECTOR, 'input[type="radio"][name="identity"]')
    b.check(len(radios) >= 2, "the picker shows no identity radio buttons")
    return radios


def log_in(b, identity):
    """The whole login as a person does it; returns {header: shown value} of the portal."""
    served = len(b.portal.node.read_access_log())
    open_picker(b)
    b.find(f'input[name="identity"][value="{identity}"]').click()
    b.find("button#login").click()
    # The sim's page posts itself to the ACS, which sends the browser back to /app/.
    b.wait_for_url(b.url("/app/"))
    b.check(b.status_of(b.url("/kmen/acs")) == 303, f"the ACS did not answer 303 for {identity}")
    b.check(b.status_of(b.url("/app/")) == 200, "/app/ did not answer 200")
    b.check("POST /kmen/acs " in b.portal.node.read_access_log()[served:],
            f"the login did not reach {b.portal.server}'s ACS")
    b.check(not [c for c in b.driver.get_cookies() if flow.STATE_RE.fullmatch(c["name"])],
            "the pre-login state cookie outlived the login")
    b.check(b.driver.get_cookie("kmen_session") is not None, "no kmen_session after the login")
    return portal_headers(b)


def portal_headers(b):
    table = b.find("table#kmen-headers")
    return {td.get_attribute("data-header"): td.text
            for td in table.find_elements(By.CSS_SELECTOR, "td[data-header]")}


def expect_headers(b, shown, expected):
    for name, value in expected.items():
        b.check(shown.get(name) == value,
                f"{name}: portal shows {shown.get(name)!r}, expected {value!r}; all: {shown}")


def no_bsi(b, identity):
    bsi = b.portal.bsi(identity)
    tail = bsi.rsplit("/", 1)[-1]
    source = b.driver.page_source
    b.check(bsi not in source and tail not in source, f"the BSI of {identity} is on the page")


# --- tests -------------------------------------------------------------------------------
def test_czech_login_portal_and_logout(browser):
    b = browser
    t0 = time.monotonic()
    shown = log_in(b, "cz-zofie")
    expect_headers(b, shown, {"Kmen-Given-Name": "ŽOFIE",
                              "Kmen-Family-Name": "ČERNÁ-NOVÁKOVÁ",
                              "Kmen-Origin": "nia", "Kmen-LoA": "substantial"})
    no_bsi(b, "cz-zofie")
    b.check(b.find("html").get_attribute("lang") == "cs", "the portal page is not lang=cs")
    b.check(not b.refused_cookies(), "chromium refused a cookie during the login")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"portal-{b.portal.server}.png"
    b.check(b.driver.save_screenshot(str(shot)), f"no screenshot written to {shot}")
    b.check(shot.stat().st_size > 1000, f"{shot} is (nearly) empty")

    # Log out: /kmen/logout -> the sim's single logout, which posts its unsigned
    # LogoutResponse as NIA does -> /kmen/slo -> the logout's ReturnTo, /public/.
    logout = b.find("a#logout")
    b.check("Odhlásit" in logout.text, f"the logout link reads {logout.text!r}")
    logout.click()
    b.wait_for_url(b.url("/public/"))
    docs = [u for u, _ in b.documents()]
    b.check(any(u.startswith(b.portal.sso_url) and "SAMLRequest=" in u for u in docs),
            "the logout did not go through the sim's single logout")
    posts = [p["request"]["url"] for m, p in b.network()
             if m == "Network.requestWillBeSent" and p["request"]["method"] == "POST"]
    b.check(any(urlsplit(u).path == "/kmen/slo" for u in posts),
            "the sim's LogoutResponse was not posted to /kmen/slo")
    b.check(b.status_of(b.url("/kmen/slo")) == 303, "/kmen/slo did not answer 303")
    b.check(not b.refused_cookies(), "chromium refused a cookie during the logout")
    b.check(b.status_of(b.url("/public/")) == 200, "/public/ did not answer 200")
    b.check(portal_headers(b) == {}, "the portal still gets Kmen-* headers after logout")
    b.check(b.driver.get_cookie("kmen_session") is None, "kmen_session survives the logout")

    # The session is gone: the portal sends the person to NIA again.
    open_picker(b)
    print(f"czech login + logout in the browser: {time.monotonic() - t0:.2f} s")


def test_foreign_login_through_verification(browser):
    """KmenEidasPolicy verify: a foreigner at the first login is sent to the portal's
    verification page, the portal completes it, and only then is there a client identifier."""
    b = browser
    foreigner = first_login("de-mueller", b.portal.server)
    person = IDENTITIES[foreigner]
    open_picker(b)
    b.find(f'input[name="identity"][value="{foreigner}"]').click()
    b.find("button#login").click()
    b.wait_for_url(b.url("/app/verify/"))
    shown = portal_headers(b)
    expect_headers(b, shown, {"Kmen-Origin": "eidas", "Kmen-Country": "DE",
                              "Kmen-Given-Name": person.given,
                              "Kmen-Family-Name": person.family,
                              "Kmen-Client-Status": "pending"})
    b.check("Kmen-Client-Id" not in shown, "a pending foreigner already has a client id")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    b.driver.save_screenshot(str(SCREENSHOTS / f"verify-{b.portal.server}.png"))
    b.find("input#document").send_keys("P1234567")
    b.find("button#verify-new").click()
    b.wait_for("the verified page", lambda d: d.find_elements(By.CSS_SELECTOR, "#verified"))
    b.find("a#continue").click()
    b.wait_for_url(b.url("/app/"))
    shown = portal_headers(b)
    expect_headers(b, shown, {"Kmen-Origin": "eidas", "Kmen-Client-Status": "new"})
    b.check(len(shown.get("Kmen-Client-Id", "")) == 36, f"no client id after it: {shown}")
    no_bsi(b, foreigner)


def test_cancelled_login(browser):
    b = browser
    acs = b.url("/kmen/acs")
    open_picker(b)
    b.find("button#cancel").click()
    b.wait_for_url(acs)
    b.check(b.status_of(acs) == 401,
            f"the ACS answered {b.status_of(acs)} to a cancelled login, not 401")
    b.check(b.find("html").get_attribute("lang") == "cs", "the error page is not lang=cs")
    heading = b.find("h1").text
    b.check("Přihlášení bylo zrušeno" in heading, f"the Czech heading reads {heading!r}")
    english = b.find('section[lang="en"]').text
    b.check("Login cancelled" in english, f"the English section reads {english!r}")
    text = b.find("body").text
    b.check("Přihlášení bylo zrušeno" in text and "Login cancelled" in text,
            "the error page lacks its Czech or English text")
    b.check(b.driver.get_cookie("kmen_session") is None, "a cancelled login left a session")


def test_parallel_logins_in_two_tabs(browser):
    """Two logins started in two tabs, answered at NIA in reverse order: both tabs land on
    the page they started from (each login has a state cookie of its own), and no state
    cookie outlives them."""
    b = browser
    open_picker(b, "/app/?tab=1")
    first = b.driver.current_window_handle
    b.driver.switch_to.new_window("tab")
    for tab, identity in (("tab=2", "cz-zofie"), ("tab=1", "cz-jiri")):
        if tab == "tab=2":
            open_picker(b, "/app/?tab=2")
        else:
            b.driver.switch_to.window(first)
        held = b.driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
        b.check(len([c for c in held if flow.STATE_RE.fullmatch(c["name"])])
                == (2 if tab == "tab=2" else 1), "not one state cookie per outstanding login")
        b.find(f'input[name="identity"][value="{identity}"]').click()
        b.find("button#login").click()
        b.wait_for_url(b.url("/app/"))
        b.check(urlsplit(b.driver.current_url).query == tab,
                f"the login of {tab} ended on {b.driver.current_url}")
    expect_headers(b, portal_headers(b), {"Kmen-Given-Name": "Jiří", "Kmen-Origin": "nia"})
    b.check(not [c for c in b.driver.get_cookies() if flow.STATE_RE.fullmatch(c["name"])],
            "a pre-login state cookie outlived the logins")
