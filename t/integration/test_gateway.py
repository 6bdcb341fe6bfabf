# SPDX-License-Identifier: GPL-2.0-or-later
"""The translation-gateway simulator (t/sim/gateway.py) keeps the contract of
docs/gateway.md, so that the register's tests mean what they say and a real adapter in front
of ISZR could take its place. No httpd here: a client as mod_kmen would be one."""

import re
import subprocess
import time

import pytest
import requests

from t.lib import PYTHON, REPO
from t.lib.httpd import free_port
from t.lib.keys import make_keys
from t.sim.gateway import DEMO_SECRET, Translator
from t.sim.identities import Resident, resident

BSI = "CZ/CZ/3f0c8b57-6a1e-4a5e-9c43-0d2b6f1e8a11"
OTHER = "CZ/CZ/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
CR = "CR102729"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("gateway-keys"))


@pytest.fixture
def gw(keys):
    with Translator(keys) as g:
        yield g


def post(gw, keys, path, body, cert=True, **kw):
    auth = (str(keys.client_cert), str(keys.client_key)) if cert is True else cert
    return requests.post(gw.url + path, json=body, cert=auth, verify=str(keys.ca_cert),
                         timeout=kw.pop("timeout", 10), **kw)


def bsi_to_aifo(gw, keys, bsi=BSI, agenda="A8566", role=CR):
    return post(gw, keys, "/bsi-to-aifo", {"bsi": bsi, "agenda": agenda, "role": role})


def aifo_to_aifo(gw, keys, aifo, src, dst):
    return post(gw, keys, "/aifo-to-aifo", {"aifo": aifo, "from": src, "to": dst})


def test_client_certificate_is_required(gw, keys):
    with pytest.raises(requests.exceptions.SSLError):
        post(gw, keys, "/bsi-to-aifo", {}, cert=None)
    # A certificate the gateway's CA did not issue (the SP's self-signed one).
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        post(gw, keys, "/bsi-to-aifo", {}, cert=(str(keys.sp_cert), str(keys.sp_key)))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(gw.url.replace("https:", "http:") + "/bsi-to-aifo", json={}, timeout=5)
    assert gw.count() == 0


def test_bsi_to_aifo_is_deterministic_per_person_and_agenda(gw, keys):
    r = bsi_to_aifo(gw, keys)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    aifo = r.json()["aifo"]
    assert aifo == gw.aifo(BSI, "A8566") == gw.seed_aifo(BSI, "A8566")
    assert re.fullmatch(r"[A-Za-z0-9+/]{24}", aifo), aifo
    assert bsi_to_aifo(gw, keys).json()["aifo"] == aifo
    assert bsi_to_aifo(gw, keys, agenda="A9145").json()["aifo"] != aifo
    assert bsi_to_aifo(gw, keys, bsi=OTHER).json()["aifo"] != aifo
    with Translator(keys) as again:  # the default secret: the demo's AIFOs are stable
        assert again.aifo(BSI, "A8566") == aifo
    with Translator(keys, secret=b"another gateway") as other:
        assert other.aifo(BSI, "A8566") != aifo
    assert gw.secret == DEMO_SECRET


def test_role_and_body_are_checked(gw, keys):
    r = bsi_to_aifo(gw, keys, role="CR83065")
    assert r.status_code == 403 and r.json()["error"]
    assert post(gw, keys, "/bsi-to-aifo", {"bsi": BSI, "agenda": "A8566"}).status_code == 400
    assert post(gw, keys, "/bsi-to-aifo", ["not", "an object"]).status_code == 400
    assert bsi_to_aifo(gw, keys, agenda="8566").status_code == 400
    r = requests.post(gw.url + "/bsi-to-aifo", data=b"{not json", verify=str(keys.ca_cert),
                      cert=(str(keys.client_cert), str(keys.client_key)), timeout=10)
    assert r.status_code == 400
    assert post(gw, keys, "/elsewhere", {}).status_code == 404
    r = requests.get(gw.url + "/bsi-to-aifo", verify=str(keys.ca_cert),
                     cert=(str(keys.client_cert), str(keys.client_key)), timeout=10)
    assert r.status_code == 405


def test_aifo_to_aifo_keeps_the_person(gw, keys):
    a = bsi_to_aifo(gw, keys, agenda="A8566").json()["aifo"]
    r = aifo_to_aifo(gw, keys, a, "A8566", "A9145")
    assert r.status_code == 200
    assert r.json()["aifo"] == gw.aifo(BSI, "A9145") == \
        bsi_to_aifo(gw, keys, agenda="A9145").json()["aifo"]
    # ...and back, or on to a third agenda from the translated one.
    assert aifo_to_aifo(gw, keys, r.json()["aifo"], "A9145", "A8566").json()["aifo"] == a
    assert aifo_to_aifo(gw, keys, r.json()["aifo"], "A9145", "A343").json()["aifo"] == \
        gw.aifo(BSI, "A343")


def test_aifo_to_aifo_knows_only_what_it_issued_or_was_told(gw, keys):
    assert aifo_to_aifo(gw, keys, gw.aifo(OTHER, "A8566"), "A8566", "A9145").status_code == 404
    a = bsi_to_aifo(gw, keys, agenda="A8566").json()["aifo"]
    assert aifo_to_aifo(gw, keys, a, "A9145", "A8566").status_code == 404  # wrong agenda
    seeded = gw.seed_aifo(OTHER, "A8566")
    r = aifo_to_aifo(gw, keys, seeded, "A8566", "A9145")
    assert r.status_code == 200 and r.json()["aifo"] == gw.aifo(OTHER, "A9145")


def test_known_limits_the_bsis_that_translate(gw, keys):
    gw.known = {BSI}
    assert bsi_to_aifo(gw, keys).status_code == 200
    assert bsi_to_aifo(gw, keys, bsi=OTHER).status_code == 404
    gw.known = set()
    assert bsi_to_aifo(gw, keys).status_code == 404
    gw.heal()
    assert bsi_to_aifo(gw, keys, bsi=OTHER).status_code == 200


def test_calls_are_logged(gw, keys):
    bsi_to_aifo(gw, keys)
    aifo_to_aifo(gw, keys, gw.aifo(BSI, "A8566"), "A8566", "A9145")
    bsi_to_aifo(gw, keys, role="nobody")
    assert gw.count() == 3 and gw.count("/bsi-to-aifo") == 2 and gw.count("/aifo-to-aifo") == 1
    assert gw.calls[0] == ("/bsi-to-aifo", {"bsi": BSI, "agenda": "A8566", "role": CR})
    gw.reset()
    assert gw.calls == [] and gw.count() == 0


def test_fault_modes(gw, keys):
    gw.mode = "fail"
    r = bsi_to_aifo(gw, keys)
    assert r.status_code == 500 and r.json()["error"]
    assert aifo_to_aifo(gw, keys, gw.seed_aifo(BSI, "A8566"), "A8566", "A9145") \
        .status_code == 500

    gw.mode = "down"
    with pytest.raises(requests.exceptions.ConnectionError):
        bsi_to_aifo(gw, keys)

    gw.mode, gw.delay = "slow", 0.6
    t0 = time.monotonic()
    r = bsi_to_aifo(gw, keys)
    assert r.status_code == 200 and time.monotonic() - t0 >= 0.6
    with pytest.raises(requests.exceptions.Timeout):
        post(gw, keys, "/bsi-to-aifo", {"bsi": BSI, "agenda": "A8566", "role": CR},
             timeout=0.2)

    gw.heal()
    assert bsi_to_aifo(gw, keys).status_code == 200
    assert gw.count() == 6  # every request that arrived, whatever the mode


def test_runs_standalone(keys, tmp_path):
    port = free_port()
    log = tmp_path / "gateway.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [PYTHON, str(REPO / "t" / "sim" / "gateway.py"), "--port", str(port),
             "--cert", str(keys.translator_cert), "--key", str(keys.translator_key),
             "--ca", str(keys.ca_cert)], stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while f"gateway listening on {url}" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        r = requests.post(url + "/bsi-to-aifo", json={"bsi": BSI, "agenda": "A8566", "role": CR},
                          cert=(str(keys.client_cert), str(keys.client_key)),
                          verify=str(keys.ca_cert), timeout=10)
        assert r.status_code == 200
        with Translator(keys) as inproc:  # same default secret: same person model
            assert r.json()["aifo"] == inproc.aifo(BSI, "A8566")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- identification, subscriptions and the change feed ----------------------------------

def identify(gw, keys, family, given, born, agenda="A9145", **extra):
    body = {"agenda": agenda, "family_name": family, "given_name": given, "birth_date": born}
    return post(gw, keys, "/identify", dict(body, **extra))


def changes(gw, keys, agenda="A9145", after=None):
    query = f"?agenda={agenda}" + ("" if after is None else f"&after={after}")
    return requests.get(gw.url + "/changes" + query, verify=str(keys.ca_cert),
                        cert=(str(keys.client_cert), str(keys.client_key)), timeout=10)


def test_identify_finds_exactly_one_resident(gw, keys):
    gw.populate(1000)
    r = resident(517)
    ok = identify(gw, keys, r.family, r.given, r.birth_date)
    assert ok.status_code == 200 and ok.json()["aifo"] == gw.aifo(r.person, "A9145")
    # ZR compares names without regard to case or spacing; an address narrows the search.
    assert identify(gw, keys, r.family.upper(), f"  {r.given} ", r.birth_date).json() == ok.json()
    assert identify(gw, keys, r.family, r.given, r.birth_date,
                    address=r.address).json() == ok.json()
    assert identify(gw, keys, r.family, r.given, r.birth_date,
                    address="Nowhere 1").status_code == 404
    assert identify(gw, keys, r.family, r.given, "1899-01-01").status_code == 404
    assert identify(gw, keys, "Nikdo", r.given, r.birth_date).status_code == 404
    # The AIFO it issued translates on, as any other.
    assert aifo_to_aifo(gw, keys, ok.json()["aifo"], "A9145", "A8566").json()["aifo"] == \
        gw.aifo(r.person, "A8566")


def test_identify_refuses_an_ambiguous_person(gw, keys):
    gw.populate(300)
    r = resident(42)
    twin = Resident("a second person", r.family, r.given, r.birth_date, "Brno, Jiná 5")
    gw.add_resident(twin)
    assert identify(gw, keys, r.family, r.given, r.birth_date).status_code == 409
    # The address tells them apart.
    assert identify(gw, keys, r.family, r.given, r.birth_date, address=twin.address) \
        .json()["aifo"] == gw.aifo(twin.person, "A9145")
    assert identify(gw, keys, r.family, r.given, r.birth_date, address=r.address) \
        .json()["aifo"] == gw.aifo(r.person, "A9145")


def test_identify_checks_its_body(gw, keys):
    assert identify(gw, keys, "A", "B", "1990-1-1").status_code == 400
    assert identify(gw, keys, "A", "", "1990-01-01").status_code == 400
    assert identify(gw, keys, "A", "B", "1990-01-01", agenda="9145").status_code == 400
    assert identify(gw, keys, "A", "B", "1990-01-01", bsi="x").status_code == 400
    assert identify(gw, keys, "A", "B", "1990-01-01", address=7).status_code == 400


def test_subscribe_and_the_change_feed(gw, keys):
    a, b, c = (gw.seed_aifo(p, "A9145") for p in ("p-a", "p-b", "p-c"))
    r = post(gw, keys, "/subscribe", {"agenda": "A9145", "aifo": a})
    assert r.status_code == 204 and r.content == b""
    assert post(gw, keys, "/subscribe", {"agenda": "A9145", "aifo": a}).status_code == 204
    assert post(gw, keys, "/subscribe", {"agenda": "A9145", "aifo": b}).status_code == 204
    assert post(gw, keys, "/subscribe", {"agenda": "A8566", "aifo": a}).status_code == 404
    assert post(gw, keys, "/subscribe", {"agenda": "A9145", "aifo": "nope"}).status_code == 404
    assert post(gw, keys, "/subscribe", {"agenda": "A9145"}).status_code == 400
    assert gw.subscribed("A9145") == {a, b}

    gw.append_event("A9145", "death", c, "2024-01-01")        # c: not subscribed
    gw.append_event("A9145", "data", a, {"family_name": "Nová"})
    gw.append_event("A8566", "death", a, "2024-01-01")        # another agenda
    gw.append_event("A9145", "change", a, "NEW-AIFO-A")
    gw.append_event("A9145", "death", "NEW-AIFO-A", "2024-02-02")  # followed after a change
    gw.append_event("A9145", "merge", c, b)                   # b is the merged one
    first = changes(gw, keys)
    assert first.status_code == 200
    events = first.json()["events"]
    assert [(e["seq"], e["event"]) for e in events] == \
        [("2", "data"), ("4", "change"), ("5", "death"), ("6", "merge")]
    assert events[0] == {"seq": "2", "event": "data", "aifo": a, "value": {"family_name": "Nová"}}
    assert first.json()["next"] == "6"
    assert changes(gw, keys, after="6").json() == {"events": [], "next": "6"}
    assert changes(gw, keys, after="").json() == first.json()
    gw.page_size = 2
    page = changes(gw, keys, after="2").json()
    assert [e["seq"] for e in page["events"]] == ["4", "5"] and page["next"] == "5"
    page = changes(gw, keys, after=page["next"]).json()
    assert [e["seq"] for e in page["events"]] == ["6"] and page["next"] == "6"
    assert changes(gw, keys, agenda="bad").status_code == 400
    assert changes(gw, keys, after="x1").status_code == 400


def test_outage_after_a_number_of_requests(gw, keys):
    gw.outage_after(2)
    assert changes(gw, keys).status_code == 200
    assert identify(gw, keys, "A", "B", "1990-01-01").status_code == 404
    with pytest.raises(requests.exceptions.ConnectionError):
        changes(gw, keys)
    assert gw.mode == "down"
    gw.heal()
    assert changes(gw, keys).status_code == 200
