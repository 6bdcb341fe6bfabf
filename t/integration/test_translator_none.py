# SPDX-License-Identifier: GPL-2.0-or-later
"""A register without a translation gateway (docs/register.md): `KmenTranslatorURL none`
keeps Czech clients by BSI alone; once a gateway is configured, such a client's next login
attaches the AIFO, or merges the client into the one an eSSL import made, without a new
identifier. Real parts: PostgreSQL, the gateway simulator over mTLS, httpd restarted between
the two modes on the same database.

Persons at this site: cz-eva (BSI only, never upgraded), cz-jiri (upgraded: AIFO attached),
cz-marie (upgraded: merged into her eSSL client), cz-petr, cz-lenka and cz-tomas (upgrades
during gateway outages), cz-zofie (concurrent first logins), cz-karel (tried while no
translator is set).
"""

import threading
import uuid
from urllib.parse import unquote

import pytest
import requests

from t.lib import flow
from t.lib import register as kmen
from t.lib.httpd import MODULE_SO, Httpd, config_text
from t.lib.stack import KMENCTL, Stack

AGENDA = "A8566"
OTHER_AGENDA = "A9145"
HEADERS = "/app/headers.json"
FILING = "/filing/headers.json"


def filing_location(st):
    """A KmenAgenda location of another agenda (the filing service's)."""
    return f"""<Location /filing>
    AuthType Kmen
    Require valid-user
    KmenAgenda {OTHER_AGENDA}
    ProxyPass http://127.0.0.1:{st.portal_port}/filing
</Location>"""


def run_with(st, translator):
    """Restart the site's httpd (same port, same database) with TRANSLATOR: "none", "gateway"
    (the simulator over mTLS) or "unset"."""
    st.use_translator = translator == "gateway"
    extra = "KmenTranslatorURL none" if translator == "none" else ""
    st.httpd.stop()
    st.httpd.write_config(config_text(st.httpd.dir, st.httpd.port, st.portal_port, st.site(),
                                      extra=extra, locations=filing_location(st)))
    st.httpd.start()


@pytest.fixture(scope="module")
def site():
    if not MODULE_SO.exists():
        pytest.fail(f"{MODULE_SO} is missing: build the module first (make)", pytrace=False)
    with Stack(translator=False, extra="KmenTranslatorURL none") as st:
        yield st


@pytest.fixture
def none(site):
    """The site in mode none, with a healthy gateway behind it whose call log is empty."""
    run_with(site, "none")
    site.gateway.heal()
    site.gateway.reset()
    yield site
    site.gateway.heal()


def login(st, identity):
    """A whole login in a fresh browser: (browser, what the backend received)."""
    s = requests.Session()
    flow.login(s, st, identity=identity, path=HEADERS)
    return s, flow.headers_of(s, st.base_url + HEADERS)


def client_id(h):
    value = flow.header(h, "Kmen-Client-Id")
    assert value and str(uuid.UUID(value)) == value, f"no client identifier: {h}"
    return value


def status(h):
    return flow.header(h, "Kmen-Client-Status")


def merged_from(h):
    return unquote(flow.header(h, "Kmen-Client-Id-Merged-From") or "")


def health(st):
    r = requests.get(st.base_url + "/kmen/health", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def source_of(st, cid):
    return st.query("SELECT source FROM kmen.client WHERE client_id = %s", (cid,))[0][0]


def audit_detail(st, event, cid):
    return [r[0] for r in st.query("SELECT detail FROM kmen.audit WHERE event = %s AND "
                                   "client_id = %s ORDER BY id", (event, cid))]


# --- mode none --------------------------------------------------------------------------
def test_health_says_translator_none_and_ok(none):
    doc = health(none)
    assert doc["status"] == "ok" and doc["translator"] == "none", doc
    assert "reason" not in doc, doc


def test_first_login_makes_a_client_by_bsi_alone_without_the_gateway(none):
    bsi = none.bsi("cz-eva")
    before = kmen.counts(none)
    _, h = login(none, "cz-eva")
    cid = client_id(h)
    assert status(h) == "new", h
    assert kmen.counts(none) == (before[0] + 1, before[1] + 1, before[2]), kmen.counts(none)
    assert kmen.clients_by_bsi(none, bsi) == [cid]
    assert kmen.aifo_agendas(none, cid) == []
    assert source_of(none, cid) == "nia"
    assert kmen.audit(none, cid, "resolve") == [("resolve", "new")]
    assert audit_detail(none, "resolve", cid) == ["bsi only"]

    _, h2 = login(none, "cz-eva")
    assert (client_id(h2), status(h2)) == (cid, "returning"), h2
    assert kmen.audit(none, cid, "resolve") == [("resolve", "new"), ("resolve", "returning")]
    assert kmen.counts(none) == (before[0] + 1, before[1] + 1, before[2])
    assert none.gateway.count() == 0, f"mode none called the gateway: {none.gateway.calls}"


def test_agenda_location_answers_503_for_a_client_known_by_bsi_alone(none):
    s, h = login(none, "cz-eva")
    cid = client_id(h)
    mark = len(none.httpd.read_error_log())
    r = s.get(none.base_url + FILING, allow_redirects=False)
    assert r.status_code == 503 and r.headers.get("Retry-After"), (r.status_code, r.text[:300])
    assert "KMEN0661" in none.httpd.read_error_log()[mark:]
    assert "known by BSI alone" in none.httpd.read_error_log()[mark:]
    assert kmen.aifo_agendas(none, cid) == []
    assert none.gateway.count() == 0


def test_concurrent_first_logins_make_one_client(none):
    n = 8
    sessions = [requests.Session() for _ in range(n)]
    posts = []
    for s in sessions:
        ticket, _ = flow.idp_page(s, flow.start(s, none.base_url + HEADERS))
        posts.append(flow.respond(s, ticket, identity="cz-zofie"))
        s.close()  # fresh connections for the POSTs (see test_register)
    go, answers = threading.Barrier(n), [None] * n

    def post(i):
        go.wait(timeout=30)
        answers[i] = flow.post_acs(sessions[i], *posts[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert [a.status_code for a in answers] == [303] * n, [a.status_code for a in answers]
    seen = [flow.headers_of(s, none.base_url + HEADERS) for s in sessions]
    ids = {client_id(h) for h in seen}
    assert len(ids) == 1, ids
    assert sorted(status(h) for h in seen) == ["new"] + ["returning"] * (n - 1)
    assert kmen.clients_by_bsi(none, none.bsi("cz-zofie")) == list(ids)


# --- a gateway configured later ---------------------------------------------------------
def test_gateway_later_attaches_the_aifo_to_the_same_client(none):
    bsi = none.bsi("cz-jiri")
    _, h = login(none, "cz-jiri")
    cid = client_id(h)
    assert status(h) == "new" and kmen.aifo_agendas(none, cid) == []

    run_with(none, "gateway")
    gw = none.gateway
    assert health(none)["translator"] == "configured"
    s, h = login(none, "cz-jiri")
    assert (client_id(h), status(h)) == (cid, "returning"), h
    assert merged_from(h) == "", h
    assert gw.calls == [("/bsi-to-aifo", {"bsi": bsi, "agenda": AGENDA, "role": "CR102729"})]
    assert kmen.clients_by_aifo(none, gw.seed_aifo(bsi, AGENDA), AGENDA) == [cid]
    assert kmen.audit(none, cid, "upgrade") == [("upgrade", "attached")]
    assert "KMEN0665" in none.httpd.read_error_log()

    # Now an ordinary client: another agenda's AIFO is translated from the attached one...
    h = flow.headers_of(s, none.base_url + FILING)
    assert flow.header(h, "Kmen-Aifo") == gw.aifo(bsi, OTHER_AGENDA)
    assert gw.calls[1][0] == "/aifo-to-aifo", gw.calls
    # ...and a returning login translates nothing.
    calls = gw.count()
    _, h = login(none, "cz-jiri")
    assert (client_id(h), status(h)) == (cid, "returning"), h
    assert gw.count() == calls
    assert kmen.audit(none, cid, "upgrade") == [("upgrade", "attached")]


def test_gateway_later_merges_into_the_client_known_from_essl(none):
    if not KMENCTL.exists():
        pytest.fail(f"{KMENCTL} is not built", pytrace=False)
    bsi = none.bsi("cz-marie")
    _, h = login(none, "cz-marie")
    bsi_only = client_id(h)
    aifo = none.gateway.seed_aifo(bsi, AGENDA)
    none.import_essl([(aifo, "Nováková", "Marie", "1955-03-08", "spisovka")],
                     name="marie.csv")
    essl = kmen.clients_by_aifo(none, aifo, AGENDA)
    assert len(essl) == 1 and essl[0] != bsi_only, essl
    essl = essl[0]

    run_with(none, "gateway")
    _, h = login(none, "cz-marie")
    assert client_id(h) == essl, "the eSSL client does not keep its identifier"
    assert status(h) == "linked", h
    assert merged_from(h) == bsi_only, h
    assert "spisovka" in unquote(flow.header(h, "Kmen-Systems") or ""), h
    assert kmen.clients_by_bsi(none, bsi) == [essl]
    assert none.query("SELECT count(*) FROM kmen.client WHERE client_id = %s", (bsi_only,)) \
        == [(0,)]
    assert none.query("SELECT c.client_id::text FROM kmen.client_alias a JOIN kmen.client c "
                      "ON c.id = a.client WHERE a.alias = %s", (bsi_only,)) == [(essl,)]
    assert kmen.audit(none, essl, "merge") == [("merge", "merged")]
    assert audit_detail(none, "merge", essl) == [f"bsi only: {bsi_only}"]
    assert kmen.audit(none, essl, "upgrade") == [("upgrade", "merged")]

    # Announced once; the next login is an ordinary returning one.
    calls = none.gateway.count()
    _, h = login(none, "cz-marie")
    assert (client_id(h), status(h), merged_from(h)) == (essl, "returning", ""), h
    assert none.gateway.count() == calls


OUTAGES = {"down": ("cz-petr", "the translation gateway failed"),
           "fail": ("cz-lenka", "the translation gateway failed"),
           "unknown": ("cz-tomas", "the gateway does not know this person")}


def break_gateway(gw, fault):
    if fault == "unknown":
        gw.known = set()
    else:
        gw.mode = fault


@pytest.mark.parametrize("fault", sorted(OUTAGES))
def test_gateway_outage_during_the_upgrade_does_not_fail_the_login(none, fault):
    person, why = OUTAGES[fault]
    bsi = none.bsi(person)
    _, h = login(none, person)
    cid = client_id(h)

    run_with(none, "gateway")
    break_gateway(none.gateway, fault)
    mark = len(none.httpd.read_error_log())
    _, h = login(none, person)
    assert (client_id(h), status(h)) == (cid, "returning"), h
    assert audit_detail(none, "upgrade", cid) == [why]
    assert kmen.aifo_agendas(none, cid) == []
    assert kmen.audit(none, cid, "upgrade") == [("upgrade", "gateway_failed")]
    assert "KMEN0664" in none.httpd.read_error_log()[mark:]

    # The gateway back: the next login attaches the AIFO.
    none.gateway.heal()
    _, h = login(none, person)
    assert (client_id(h), status(h)) == (cid, "returning"), h
    assert kmen.clients_by_aifo(none, none.gateway.seed_aifo(bsi, AGENDA), AGENDA) == [cid]
    assert kmen.audit(none, cid, "upgrade") == [("upgrade", "gateway_failed"),
                                                ("upgrade", "attached")]


# --- unset: not a mode ------------------------------------------------------------------
def test_unset_translator_is_warned_about_and_degraded(none):
    h = Httpd(parent=none.dir)
    h.write_config(config_text(h.dir, h.port, none.portal_port, none.site()))
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    assert "KMEN0694" in out and "KmenTranslatorURL none" in out, out

    run_with(none, "unset")
    doc = health(none)
    assert (doc["status"], doc["translator"]) == ("degraded", "not configured"), doc
    with requests.Session() as s:
        ticket, _ = flow.idp_page(s, flow.start(s, none.base_url + HEADERS))
        r = flow.post_acs(s, *flow.respond(s, ticket, identity="cz-karel"))
    assert r.status_code == 503, r.status_code
    assert kmen.clients_by_bsi(none, none.bsi("cz-karel")) == []

    run_with(none, "none")
    rc, out = none.httpd.configtest()
    assert rc == 0 and "KMEN0694" not in out, out
    _, h = login(none, "cz-karel")
    assert status(h) == "new", h


# --- secrets ----------------------------------------------------------------------------
def test_no_bsi_or_aifo_in_the_logs_or_the_dump(site):
    secrets = {}
    for person in ("cz-eva", "cz-jiri", "cz-marie", "cz-zofie", "cz-karel",
                   *(p for p, _ in OUTAGES.values())):
        bsi = site.bsi(person)
        secrets[f"BSI of {person}"] = bsi
        secrets[f"BSI of {person} (uuid)"] = bsi.rsplit("/", 1)[-1]
        for agenda in (AGENDA, OTHER_AGENDA):
            secrets[f"AIFO of {person} in {agenda}"] = site.gateway.aifo(bsi, agenda)
    for name, text in (("error log", site.httpd.read_error_log()),
                       ("access log", site.httpd.read_access_log()),
                       ("pg_dump", site.pg_dump())):
        assert "KMEN06" in text or name != "error log", "the error log holds no mod_kmen line"
        found = [label for label, secret in secrets.items()
                 if any(sp in text for sp in kmen.spellings(secret))]
        assert not found, f"{found} in the {name}"
