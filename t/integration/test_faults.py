# SPDX-License-Identifier: GPL-2.0-or-later
"""Database faults under load (issue 5): PostgreSQL stopped and started again while browsers
log in and use their sessions; PostgreSQL failing over to a promoted streaming standby; and
a multi-host KmenDatabase whose pooled connections land on a read-only standby.

Real PostgreSQL clusters, real httpd (and nginx) loading the built module, the NIA and
gateway simulators; nothing is mocked. Each test runs on httpd and on nginx (the `server`
fixture: the nginx module on the same core's pool), each with a site of its own
(module-scoped), so the shared session-scoped stack is not disturbed. What must hold across
a fault:
  - every answer of the server is the normal flow (2xx/3xx) or 503 with Retry-After: never a 500,
    another error status, a reset connection or a crashed child;
  - every person ends up as exactly one client of kmen.client (none lost for a login that
    succeeded, no duplicate);
  - sessions made before the fault still work, and logins work again, without restarting
    the server.
The load is bounded (a few threads for a few seconds on loopback); nothing here asserts
timing: waits are generous deadlines for a loaded machine.
"""

import collections
import re
import threading
import time
import uuid

import pytest
import requests

from t.hostile import report
from t.hostile.runner import crash_lines
from t.lib import flow, poll
from t.lib import register as kmen
from t.lib.httpd import MODULE_SO
from t.lib.pg import Standby, multi_host_conninfo
from t.lib.stack import Stack

REQUEST_TIMEOUT = 30   # seconds for any one HTTP request: bounded, generous on 2 busy cores
# Czech citizens log in at /app/ (KmenEidasPolicy verify, BSI -> AIFO at the gateway on a
# first login), foreigners at /info/ (KmenEidasPolicy accept: a client by eIDAS pseudonym).
CZECH = ("cz-jiri", "cz-zofie", "cz-eva", "cz-karel", "cz-lenka", "cz-tomas", "cz-petr",
         "cz-marie")
FOREIGN = ("at-huber", "pl-nowak", "fr-martin", "it-rossi")


def page(identity):
    return "/app/headers.json" if identity.startswith("cz-") else "/info/headers.json"


class Browser(requests.Session):
    """A requests.Session whose every request has a timeout (flow.* helpers included)."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return super().request(*args, **kwargs)


def new_stack(cls=Stack, **options):
    if not MODULE_SO.exists():
        pytest.fail(f"{MODULE_SO} is missing: build the module first (make)", pytrace=False)
    return cls(**options)


# --- what httpd answered ----------------------------------------------------------------
class Recorder:
    """Every answer httpd gave under load, and every one outside the contract (.bad).
    Thread-safe: the workers share one."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = collections.Counter()   # (step, status) -> how many
        self.bad = []
        self.logins = []                        # (monotonic time, identity, client id, status)
        self.refused = []                       # (monotonic time sent, step, url) of each 503

    def fail(self, what):
        with self.lock:
            self.bad.append(what)

    def request(self, b, step, method, url, expect, **kwargs):
        """B's request; the response, or None when the connection failed (noted as bad).
        EXPECT: the statuses of the normal flow at this step; 503 with Retry-After is
        always allowed (the database is away), anything else is noted as bad."""
        sent = time.monotonic()
        try:
            r = b.request(method, url, allow_redirects=False, **kwargs)
        except requests.RequestException as e:
            self.fail(f"{step} {url}: no answer: {e!r}")
            return None
        with self.lock:
            self.statuses[(step, r.status_code)] += 1
            if r.status_code == 503:
                self.refused.append((sent, step, url))
        if r.status_code == 503:
            if not r.headers.get("Retry-After"):
                self.fail(f"{step} {url}: 503 without Retry-After")
        elif r.status_code not in expect:
            self.fail(f"{step} {url}: {r.status_code} (expected {sorted(expect)} or 503): "
                      f"{r.text[:300]!r}")
        return r

    def total(self):
        with self.lock:
            return sum(self.statuses.values())

    def count(self, status, step=None):
        with self.lock:
            return sum(n for (st, code), n in self.statuses.items()
                       if code == status and (step is None or st == step))

    def logged_in(self, identity, client_id, status):
        with self.lock:
            self.logins.append((time.monotonic(), identity, client_id, status))

    def logins_since(self, t):
        with self.lock:
            return [x for x in self.logins if x[0] > t]

    def refused_since(self, t):
        """The 503s to requests sent after T (monotonic)."""
        with self.lock:
            return [x for x in self.refused if x[0] > t]


def attempt_login(st, identity, rec):
    """One browser's whole login of IDENTITY through the sim, every httpd answer noted in
    REC. (browser, client id, client status) when it got through; None when httpd answered
    503 on the way (a person would try again later) or something went wrong (noted)."""
    b = Browser()
    ok = False
    try:
        url = st.base_url + page(identity)
        r = rec.request(b, "login start", "GET", url, {302, 303})
        if r is None or r.status_code not in (302, 303):
            return None
        loc = flow.location(r)
        if not loc.startswith(st.sso_url):
            rec.fail(f"login start of {identity}: not sent to the IdP but to {loc}")
            return None
        flow.browser_cookies(b)
        ticket, _ = flow.idp_page(b, loc)
        acs, fields = flow.respond(b, ticket, identity=identity)
        flow.browser_cookies(b)
        r = rec.request(b, "acs", "POST", st.url(acs), {303}, data=fields)
        if r is None or r.status_code != 303:
            return None
        if st.url(flow.location(r)) != url:
            rec.fail(f"ACS of {identity} sent the browser to {r.headers['Location']}")
            return None
        r = rec.request(b, "first page", "GET", url, {200})
        if r is None or r.status_code != 200:
            return None
        h = r.json()
        cid, status = flow.header(h, "Kmen-Client-Id"), flow.header(h, "Kmen-Client-Status")
        if not cid or str(uuid.UUID(cid)) != cid.lower():
            rec.fail(f"{identity} logged in without a client id: {h}")
            return None
        rec.logged_in(identity, cid.lower(), status)
        ok = True
        return b, cid.lower(), status
    except Exception as e:  # an assertion of flow.* (the sim's pages) or a bad JSON page
        rec.fail(f"login of {identity}: {e!r}")
        return None
    finally:
        if not ok:
            b.close()


def login_worker(st, order, rec, stop):
    """Logs IDENTITIES in, one after another, round and round until STOP."""
    while not stop.is_set():
        for identity in order:
            if stop.is_set():
                break
            got = attempt_login(st, identity, rec)
            if got:
                got[0].close()
            else:
                stop.wait(0.1)  # the database is away: a person would not retry at once


def session_worker(base_url, sessions, rec, stop):
    """Requests every one of SESSIONS ([(browser, identity, client id)]) at BASE_URL in
    turn until STOP; each answer must be that client's page (200) or 503."""
    while not stop.is_set():
        for b, identity, cid in sessions:
            r = rec.request(b, "session", "GET", base_url + page(identity), {200})
            if r is not None and r.status_code == 200:
                got = flow.header(r.json(), "Kmen-Client-Id")
                if (got or "").lower() != cid:
                    rec.fail(f"{identity}'s session at {base_url} got client {got}, not {cid}")
            stop.wait(0.05)


def run_workers(targets):
    """Start a thread per (function, args) in TARGETS with a shared stop event appended to
    its args; the event and a join() that stops them and returns the ones still alive."""
    stop = threading.Event()
    threads = [threading.Thread(target=fn, args=(*args, stop), daemon=True)
               for fn, args in targets]
    for t in threads:
        t.start()

    def join(timeout=90):
        stop.set()
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.1))
        return [t for t in threads if t.is_alive()]
    return stop, join


# --- what the register holds ---------------------------------------------------------------
def clients_of(st, identity):
    """client_id of every client holding IDENTITY's BSI (a citizen) or eIDAS pseudonym."""
    pid = st.bsi(identity)
    if identity.startswith("cz-"):
        return kmen.clients_by_bsi(st, pid)
    idx = kmen.blind_index(st.keys.register_key, "pseudonym", pid)
    return [str(r[0]) for r in st.query(
        "SELECT c.client_id FROM kmen.client_pseudonym p JOIN kmen.client c ON c.id = p.client "
        "WHERE p.pseudonym_index = %s", (idx,))]


def one_client_each(st, identities, seen):
    """Problems (a list of strings) unless every one of IDENTITIES is exactly one client,
    the one every successful login of theirs in SEEN ({identity: {client id}}) got, and a
    citizen's AIFO in the register's agenda belongs to that client only."""
    out = []
    for identity in identities:
        held = clients_of(st, identity)
        got = seen.get(identity, set())
        if len(held) != 1 or len(got) > 1 or (got and got != set(held)):
            out.append(f"{identity}: register holds {held}, logins got {sorted(got)}")
        elif identity.startswith("cz-"):
            aifo = st.gateway.aifo(st.bsi(identity), "A8566")
            by_aifo = kmen.clients_by_aifo(st, aifo, "A8566")
            if by_aifo != held:
                out.append(f"{identity}: AIFO held by {by_aifo}, BSI by {held}")
    return out


def record(name, what, st, rec, identities, nodes):
    """This fault's row in t/hostile/RESULTS.md: answers, 503s, anything else, and how many
    of IDENTITIES the register lost (no client) or duplicated (more than one)."""
    held = [len(clients_of(st, identity)) for identity in identities]
    report.record_fault(name=name, what=what, answered=rec.total(), refused=rec.count(503),
                        errors=len(rec.bad) + len(crashes(*nodes)) + len(bad_statuses(*nodes)),
                        clients=len(identities), lost=held.count(0),
                        duplicated=sum(n > 1 for n in held))


def seen_clients(logins):
    seen = collections.defaultdict(set)
    for _, identity, cid, _ in logins:
        seen[identity].add(cid)
    return seen


# --- what the nodes logged ---------------------------------------------------------------------
def crashes(*nodes):
    """Error-log lines of NODES that tell of a crashed child."""
    return [line for n in nodes for line in crash_lines(n.read_error_log())]


def bad_statuses(*nodes):
    """Access-log lines of NODES with a 5xx other than 503."""
    status = re.compile(r'" (\d{3}) ')
    return [line for n in nodes for line in n.read_access_log().splitlines()
            if (m := status.search(line)) and m.group(1).startswith("5") and m.group(1) != "503"]


def errors(node, limit=3000):
    """NODE's error log above debug level, each message once (for failure messages)."""
    seen = {}
    for line in node.read_error_log().splitlines():
        if ":debug]" not in line:
            seen.setdefault(re.sub(r"^\[[^]]*\] |\[pid [^]]*\] |\[client [^]]*\] ", "", line),
                            None)
    return "\n".join(seen)[-limit:]


def must_login(st, identity, timeout=30):
    """A login of IDENTITY that works within TIMEOUT seconds (the pools may still be
    reconnecting); (browser, client id, status)."""
    rec = Recorder()
    got = poll(lambda: attempt_login(st, identity, rec), timeout=timeout, every=0.5)
    assert got, f"no login of {identity} works:\n{rec.bad[-5:]}\n{errors(st.node)}"
    return got


def fresh_starts(st, n=12):
    """N browsers at once opening a protected page (each records an AuthnRequest in the
    database on some child's pooled connection); their statuses."""
    out, go = [None] * n, threading.Barrier(n)

    def start(i):
        try:
            go.wait(timeout=30)
            with Browser() as b:
                out[i] = b.get(st.base_url + "/app/", allow_redirects=False).status_code
        except Exception as e:
            out[i] = repr(e)
    threads = [threading.Thread(target=start, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


# --- 1. PostgreSQL stopped and started again under load -----------------------------------
@pytest.fixture(scope="module")
def outage_site(server):
    """A site of its own, one for each server, whose PostgreSQL is stopped and started under
    load: its portal on SERVER."""
    with new_stack() as st:
        yield st.on(server)


@pytest.fixture(scope="module")
def uncached(outage_site):
    """A second node of the outage site's server that trusts no cached session, so that its
    session requests need the database: httpd with KmenSessionCacheTTL 0; an nginx as the
    portal's, which keeps sessions in a kmen_session_zone only, and the test site's nginx
    has none (so there both nodes are uncached)."""
    st = outage_site
    return st.new_httpd(extra="KmenSessionCacheTTL 0") if st.server == "httpd" else \
        st.new_nginx()


def test_postgres_restart_under_load(outage_site, uncached):
    """PostgreSQL stopped for a few seconds and started again while two browsers log
    people in (first and returning logins, citizens and foreigners) and two others keep
    using sessions made before, on the portal's node and on a node that caches no session
    (httpd's, or nginx's): every answer is the normal flow or 503 with Retry-After (no 500,
    no reset connection, no crashed child); during the outage a login start and an
    uncached session get 503; afterwards every session made before works, logins work and
    return the same client, and every person is exactly one client in kmen.client."""
    st = outage_site
    pid, pid2 = st.node.proc.pid, uncached.proc.pid
    people = CZECH + FOREIGN

    # Sessions made before the outage (these people's first logins).
    rec = Recorder()
    before = []
    for identity in ("cz-jiri", "at-huber", "cz-zofie", "cz-eva"):
        got = attempt_login(st, identity, rec)
        assert got, f"login of {identity} before the outage failed: {rec.bad}"
        assert got[2] == "new", f"{identity}: first login is {got[2]}"
        before.append((got[0], identity, got[1]))
    assert rec.bad == []
    # The load: each session browser belongs to one worker only (Sessions are not
    # thread-safe); the last one is kept away from the load for the checks below.
    kept = before[3]
    forward, backward = list(people), list(reversed(people))
    stop, join = run_workers([
        (login_worker, (st, forward, rec)),
        (login_worker, (st, backward, rec)),
        (session_worker, (st.base_url, before[:2], rec)),
        (session_worker, (uncached.base_url, before[2:3], rec)),
    ])
    stuck, during = [], {}
    try:
        time.sleep(4)
        st.pg.stop()
        down_at = time.monotonic()
        try:
            # Nothing cached, database away: 503, not a login page, not an error page.
            with Browser() as b:
                during["login start"] = b.get(st.base_url + "/app/", allow_redirects=False)
            during["uncached session"] = kept[0].get(uncached.base_url + page(kept[1]),
                                                     allow_redirects=False)
            # A few seconds down, and at least until the load has met the outage.
            time.sleep(3)
            poll(lambda: rec.count(503) > 0, timeout=30, every=0.2)
        finally:
            st.pg.start()
        up_at = time.monotonic()
        # Load goes on until logins get through again (they must, within a bound).
        poll(lambda: len(rec.logins_since(up_at)) >= 4, timeout=40, every=0.5)
        time.sleep(2)
    finally:
        stuck = join()
    assert not stuck, "a load thread did not finish within its bound"

    for what, r in during.items():
        assert r.status_code == 503 and r.headers.get("Retry-After"), \
            f"{what} while the database is down: {r.status_code} {r.text[:300]}"
    assert rec.bad == [], "answers outside the contract:\n" + "\n".join(rec.bad[:20])
    assert rec.count(503) > 0, f"the load never met the outage: {dict(rec.statuses)}"
    logins = rec.logins_since(0)
    assert [x for x in logins if x[0] < down_at], "no login got through before the outage"
    assert rec.logins_since(up_at), \
        f"no login of the load got through after the restart:\n{errors(st.node)}"
    # Recovered at once (store_pg.c drops a dead pooled connection and retries): nothing
    # sent once PostgreSQL accepts connections again is refused.
    assert rec.refused_since(up_at) == [], \
        f"503 after the restart: {rec.refused_since(up_at)[:10]}\n{errors(st.node)}"

    # Afterwards: every session made before is valid, on both nodes.
    for b, identity, cid in before:
        for node in (st.node, uncached):
            r = b.get(node.base_url + page(identity), allow_redirects=False)
            assert r.status_code == 200, \
                f"{identity}'s session on {node.base_url}: {r.status_code}\n{errors(node)}"
            assert flow.header(r.json(), "Kmen-Client-Id").lower() == cid
    # Every person logs in again (returning, same client), even those the load missed.
    seen = seen_clients(logins)
    for b, identity, cid in before:
        seen[identity].add(cid)
    for identity in people:
        b, cid, status = must_login(st, identity)
        b.close()
        if seen.get(identity):
            assert status == "returning", f"{identity}: {status} after earlier logins"
        seen[identity].add(cid)
    record("postgres_restart_under_load" + ("" if st.server == "httpd" else " (nginx)"),
           "PostgreSQL stopped for a few seconds, started again "
           "under 2 login and 2 session threads, on two nodes", st, rec, people,
           (st.node, uncached))
    problems = one_client_each(st, people, seen)
    assert problems == [], "\n".join(problems)
    assert st.count("client") == len(people), "clients nobody logged in as"
    # Recovered means recovered: no child keeps failing on a dead pooled connection.
    for _ in range(3):
        starts = fresh_starts(st)
        assert starts == [303] * len(starts), \
            f"login starts after the restart: {starts}\n{errors(st.node)}"

    for b, _, _ in before:
        b.close()
    assert crashes(st.node, uncached) == []
    assert bad_statuses(st.node, uncached) == []
    assert st.node.proc.poll() is None and st.node.proc.pid == pid
    assert uncached.proc.poll() is None and uncached.proc.pid == pid2


# --- 2. failover to a promoted standby ----------------------------------------------------------
class FailoverStack(Stack):
    """A site whose register is a primary PostgreSQL with a streaming standby, and whose
    httpd nodes know both: KmenDatabase is the libpq multi-host conninfo
    host=primary,standby, with target_session_attrs=SESSION_ATTRS unless that is None
    (libpq's default, "any"). The test's own queries go to .db, the cluster that is
    read-write now (the test switches it on promotion)."""

    def __init__(self, session_attrs="read-write", **options):
        super().__init__(**options)
        self.standby = Standby(parent=self.dir)
        self.session_attrs = session_attrs
        self.db = None

    def site(self, entity_id=None):
        site = super().site(entity_id)
        attrs = {"target_session_attrs": self.session_attrs} if self.session_attrs else {}
        site.conninfo = multi_host_conninfo([self.pg, self.standby], connect_timeout=5,
                                            **attrs)
        return site

    def start(self):
        super().start()
        try:
            self.standby.setup(self.pg).wait_streaming()
        except BaseException:
            self.stop()
            raise
        self.db = self.pg
        return self

    def query(self, sql, params=None):
        return self.db.query(sql, params)

    def stop(self):
        try:
            self.standby.stop()
        finally:
            super().stop()


@pytest.fixture(scope="module")
def failover_site(server):
    """A site of its own, one for each server, whose primary PostgreSQL fails over to its
    standby: its portal on SERVER."""
    with new_stack(FailoverStack) as st:
        yield st.on(server)


def test_failover_to_promoted_standby(failover_site):
    """The primary PostgreSQL stopped (fast shutdown) under a login and a session load,
    the streaming standby promoted: without restarting the server, logins resume on the new
    primary (returning people get their client, a new person gets a new one), sessions
    made before work, every child's pool reconnects (a burst of login starts all succeed),
    every client created before the failover is there (count and by BSI / pseudonym, no
    duplicate), and during the switch the server answered only the normal flow or 503. On
    httpd and on nginx."""
    st = failover_site
    pid = st.node.proc.pid
    assert st.standby.in_recovery(), "the standby is not a standby"

    rec = Recorder()
    first = ("cz-jiri", "cz-zofie", "cz-eva", "at-huber")
    sessions = []
    for identity in first:
        got = attempt_login(st, identity, rec)
        assert got and got[2] == "new", f"first login of {identity}: {got} {rec.bad}"
        sessions.append((got[0], identity, got[1]))
    assert rec.bad == []
    created = {identity: cid for _, identity, cid in sessions}
    assert st.count("client") == len(first)

    # Load across the switch: returning people and first logins of others.
    during_people = ["cz-jiri", "cz-karel", "cz-zofie", "cz-tomas", "at-huber", "pl-nowak"]
    stop, join = run_workers([
        (login_worker, (st, during_people, rec)),
        (session_worker, (st.base_url, sessions[:2], rec)),
    ])
    try:
        time.sleep(3)
        st.pg.stop()  # fast: walsenders send the standby all WAL before the primary exits
        down_at = time.monotonic()
        time.sleep(2)
        with Browser() as b:  # neither primary nor a read-write server: 503
            gap = b.get(st.base_url + "/app/", allow_redirects=False)
        poll(lambda: rec.count(503) > 0, timeout=30, every=0.2)  # the load meets the gap
        st.standby.promote()
        st.stack.db = st.standby  # the site's own queries: to the new primary
        promoted_at = time.monotonic()
        assert not st.standby.in_recovery()
        poll(lambda: len(rec.logins_since(promoted_at)) >= 3, timeout=40, every=0.5)
    finally:
        stuck = join()
    assert not stuck, "a load thread did not finish within its bound"

    assert gap.status_code == 503 and gap.headers.get("Retry-After"), \
        f"login start with no read-write server: {gap.status_code} {gap.text[:300]}"
    assert rec.bad == [], "answers outside the contract:\n" + "\n".join(rec.bad[:20])
    assert rec.count(503) > 0, f"the load never met the failover: {dict(rec.statuses)}"
    assert rec.logins_since(promoted_at), \
        f"no login got through after the promotion:\n{errors(st.node)}"
    assert rec.refused_since(promoted_at) == [], \
        f"503 after the promotion: {rec.refused_since(promoted_at)[:10]}\n{errors(st.node)}"

    # Everything committed before the switch is on the new primary.
    logins = rec.logins_since(0)
    seen = seen_clients(logins)
    for identity, cid in created.items():
        seen[identity].add(cid)
    before_down = {(x[1], x[2]) for x in logins if x[0] < down_at}
    for identity, cid in sorted(before_down | set(created.items())):
        assert clients_of(st, identity) == [cid], \
            f"{identity}'s client {cid} (made before the failover) is not on the new primary"

    # After: returning logins, a new person, sessions made before, every pool.
    for identity in first:
        b, cid, status = must_login(st, identity)
        b.close()
        assert (cid, status) == (created[identity], "returning"), identity
    b, cid, status = must_login(st, "cz-lenka")
    b.close()
    assert status == "new"
    seen["cz-lenka"].add(cid)
    for b, identity, cid in sessions:
        r = b.get(st.base_url + page(identity), allow_redirects=False)
        assert r.status_code == 200, f"{identity}'s session after the failover: {r.status_code}"
        assert flow.header(r.json(), "Kmen-Client-Id").lower() == cid
        b.close()
    for _ in range(3):
        starts = fresh_starts(st)
        assert starts == [303] * len(starts), \
            f"login starts after the failover: {starts}\n{errors(st.node)}"

    everyone = sorted(seen)
    record("failover_to_promoted_standby" + ("" if st.server == "httpd" else " (nginx)"),
           "primary stopped under a login and a session thread, streaming standby "
           "promoted; multi-host KmenDatabase, no restart of the server",
           st, rec, everyone, (st.node,))
    problems = one_client_each(st, everyone, seen)
    assert problems == [], "\n".join(problems)
    assert st.count("client") == len(everyone), "clients nobody logged in as"
    assert crashes(st.node) == []
    assert bad_statuses(st.node) == []
    assert st.node.proc.poll() is None and st.node.proc.pid == pid, "the server was restarted"


# --- 3. a pooled connection that lands on a read-only standby ----------------------------------
@pytest.fixture(scope="module")
def any_server_site():
    """A site whose KmenDatabase names a primary and its standby without
    target_session_attrs: libpq then takes whichever server answers, read-only or not."""
    with new_stack(FailoverStack, session_attrs=None) as st:
        yield st


# the person of each server's run: new to the site's register when it starts
STANDBY_PERSON = {"httpd": "cz-jiri", "nginx": "cz-zofie"}


def test_connection_to_read_only_standby_is_dropped(any_server_site, server):
    """With a multi-host KmenDatabase lacking target_session_attrs=read-write, the server
    (httpd, or nginx: the same core's pool) connects to the hot standby while the primary
    is down (reads work there, but /kmen/health and every login answer 503, never a 500).
    Once the primary is back, no child keeps failing on a pooled connection to the
    read-only standby: every login start succeeds at once, a session made before works and
    a returning login gets its client. (Before store_pg.c treated SQLSTATE 25006 like a
    broken connection, most login starts kept answering 503 seconds after the primary was
    back.)"""
    st = any_server_site.on(server)
    node, person = st.node, STANDBY_PERSON[server]
    pid = node.proc.pid
    rec = Recorder()
    got = attempt_login(st, person, rec)
    assert got and got[2] == "new", f"{got} {rec.bad}"
    b, cid = got[0], got[1]

    st.pg.stop()
    try:
        def burst(path, n=8):
            out = []
            for _ in range(n):
                with Browser() as fresh:
                    r = rec.request(fresh, "outage " + path, "GET", st.base_url + path,
                                    {200, 303})
                out.append(r.status_code if r is not None else None)
            return out
        starts = [x for _ in range(3) for x in burst("/app/")]
        # The health check's query works on the standby (its connections stay pooled in
        # the children), but a server in recovery is not healthy.
        health = [x for _ in range(3) for x in burst("/kmen/health")]
        on_standby = st.standby.query(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'kmen_module'")[0][0]
    finally:
        st.pg.start()
    assert rec.bad == [], "answers outside the contract:\n" + "\n".join(rec.bad[:20])
    assert set(health) == {503}, f"health with only a read-only server: {health}"
    assert set(starts) == {503}, f"login starts with only a read-only server: {starts}"
    assert on_standby > 0, f"no connection of {server} on the standby: nothing tested"

    for _ in range(3):
        starts = fresh_starts(st)
        assert starts == [303] * len(starts), \
            f"login starts after the primary is back: {starts}\n{errors(node)}"
    r = b.get(st.base_url + "/app/headers.json", allow_redirects=False)
    assert r.status_code == 200 and flow.header(r.json(), "Kmen-Client-Id").lower() == cid
    b.close()
    again = attempt_login(st, person, rec)
    assert again and again[1:] == (cid, "returning"), f"{again} {rec.bad}"
    again[0].close()
    record("read_only_standby" + ("" if server == "httpd" else " (nginx)"),
           "primary stopped, only its hot standby reachable (no target_session_attrs), "
           "primary started again", st, rec, [person], (node,))
    assert clients_of(st, person) == [cid]
    assert crashes(node) == [] and bad_statuses(node) == []
    assert node.proc.poll() is None and node.proc.pid == pid
