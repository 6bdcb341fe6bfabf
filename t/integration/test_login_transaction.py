# SPDX-License-Identifier: GPL-2.0-or-later
"""A login's database work is one transaction (handlers.c acs_complete over store_pg.c's
kmen_store_begin/kmen_store_commit): the count of commits PostgreSQL reports for a login,
a refused login that stays consumed, and a failure in the middle of a login that leaves
nothing written, so that the same Response can be tried again.

These tests run their own site: they end the module's database connections to read exact
transaction counts, and they put faults into its database."""

import contextlib
import time

import psycopg2
import pytest
import requests

from t.lib import flow
from t.lib.stack import stack_fixture

# What a connection the module opens costs, in commits: the backend's own start-up
# transaction, and the one that sets statement_timeout and prepares every statement
# (store_pg.c connection_prepare).
COMMITS_PER_CONNECTION = 2
# The ACS's lookup of the outstanding request by the browser's login state: one
# read-only transaction before any cryptography (no WAL, no flush; the connection is not
# held while the Response is verified).
COMMITS_BEFORE_LOGIN = 1


@pytest.fixture(scope="module")
def stack():
    yield from stack_fixture()


@pytest.fixture(scope="module")
def monitor(stack):
    """A superuser connection to the cluster's other database: its own queries are not
    counted in the register database's statistics."""
    conn = psycopg2.connect(f"host={stack.pg.sock} port={stack.pg.port} dbname=postgres "
                            "user=postgres")
    conn.autocommit = True
    yield conn.cursor()
    conn.close()


def end_module_connections(cur):
    """Ends every connection to the register database and waits until they are gone: a
    backend reports its transaction counts when it exits, so the counts are then whole."""
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'kmen' AND pid <> pg_backend_pid()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'kmen'")
        if cur.fetchone()[0] == 0:
            return
        time.sleep(0.05)
    pytest.fail("the register database's connections did not end")


def database_counts(cur):
    cur.execute("SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = 'kmen'")
    return cur.fetchone()


def commits_of(cur, post):
    """POST (a callable): its response, and the commits the module made for it, connection
    set-ups aside."""
    end_module_connections(cur)
    commits, sessions = database_counts(cur)
    r = post()
    end_module_connections(cur)
    commits_after, sessions_after = database_counts(cur)
    return r, (commits_after - commits) - COMMITS_PER_CONNECTION * (sessions_after - sessions)


def prepared_login(stack, identity, loa="substantial"):
    """A login up to the Response the browser is about to POST: (session, acs, fields)."""
    s = requests.Session()
    ticket, _ = flow.idp_page(s, flow.start(s, stack.base_url + "/app/"))
    acs, fields = flow.respond(s, ticket, identity=identity, loa=loa)
    return s, acs, fields


def login_commits(stack, cur, identity):
    s, acs, fields = prepared_login(stack, identity)
    with s:
        r, commits = commits_of(cur, lambda: flow.post_acs(s, acs, fields))
    assert r.status_code == 303, r.text[:300]
    return commits


def test_first_and_returning_login_commit_once(stack, monitor):
    last = stack.query("SELECT coalesce(max(id), 0) FROM kmen.audit")[0][0]
    assert login_commits(stack, monitor, "cz-eva") == COMMITS_BEFORE_LOGIN + 1
    assert login_commits(stack, monitor, "cz-eva") == COMMITS_BEFORE_LOGIN + 1
    events = stack.query("SELECT event, outcome FROM kmen.audit WHERE id > %s ORDER BY id",
                         (last,))
    assert events == [("resolve", "new"), ("login", "ok"),
                      ("resolve", "returning"), ("login", "ok")]


def test_refused_login_stays_consumed(stack, monitor):
    """LoA too low: the refusal and the consumption are one commit, and the Response
    cannot be tried again."""
    sessions = stack.count("session")
    s, acs, fields = prepared_login(stack, "cz-jiri", loa="low")
    with s:
        r, commits = commits_of(monitor, lambda: flow.post_acs(s, acs, fields))
        assert r.status_code == 403
        assert commits == COMMITS_BEFORE_LOGIN + 1
        assert stack.query("SELECT outcome FROM kmen.audit ORDER BY id DESC LIMIT 1") == \
            [("loa_too_low",)]
        assert flow.post_acs(s, acs, fields).status_code == 400
    assert stack.count("session") == sessions


FAULTS = {
    # a statement of the login fails: the transaction is aborted
    "error": "RAISE EXCEPTION 'injected fault'",
    # the connection breaks in the middle of the login's transaction
    "broken": "PERFORM pg_terminate_backend(pg_backend_pid())",
}


@contextlib.contextmanager
def session_insert_fault(stack, fault):
    """FAULT when the login stores its session: after the consumption and the
    resolution, before the audit row."""
    stack.query(f"""CREATE FUNCTION public.kmen_fault() RETURNS trigger LANGUAGE plpgsql
                    SECURITY DEFINER AS $$ BEGIN {FAULTS[fault]}; RETURN NEW; END $$;
                    CREATE TRIGGER kmen_fault BEFORE INSERT ON kmen.session
                    FOR EACH ROW EXECUTE FUNCTION public.kmen_fault()""")
    try:
        yield
    finally:
        stack.query("DROP TRIGGER kmen_fault ON kmen.session; DROP FUNCTION public.kmen_fault()")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_failure_mid_login_writes_nothing(stack, fault):
    tables = ("authn_request", "replay", "session", "audit", "client", "client_bsi")
    identity = {"error": "cz-marie", "broken": "cz-zofie"}[fault]
    s, acs, fields = prepared_login(stack, identity)
    with s:
        flow.browser_cookies(s)
        state = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
        before = {t: stack.count(t) for t in tables}
        with session_insert_fault(stack, fault):
            r = flow.post_acs(s, acs, fields)
        assert r.status_code == 503 and r.headers.get("Retry-After"), r.status_code
        assert {t: stack.count(t) for t in tables} == before
    # nothing was consumed: the same Response with the same login state logs in, once
    r = requests.post(acs, data=fields, allow_redirects=False, headers={"Cookie": state})
    assert r.status_code == 303, r.text[:300]
    assert stack.count("session") == before["session"] + 1
    assert stack.count("client") == before["client"] + 1
    assert stack.count("authn_request") == before["authn_request"] - 1
