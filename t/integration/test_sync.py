# SPDX-License-Identifier: GPL-2.0-or-later
"""kmenctl and the base registers through the translation gateway (docs/gateway.md): import
of a name register whose rows have no AIFO (POST /identify), subscriptions (POST /subscribe)
and `kmenctl sync` applying the change feed (GET /changes) exactly once, across a kill -9 and
an outage. Real PostgreSQL, the gateway simulator over mutual TLS, no httpd."""

import re
import subprocess
import time

import pytest
import requests

from t.lib import flow
from t.lib import register as kmen
from t.lib.keys import make_keys
from t.lib.stack import Stack
from t.sim.gateway import Translator
from t.sim.identities import IDENTITIES, Resident, resident

from t.integration.test_kmenctl import (  # noqa: F401 (fixtures)
    AGENDA, KMENCTL, aifo_open, client_of, db, key, kmenctl, pg, reported_lines, systems_of)

POPULATION = 2000


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("sync-keys"))


@pytest.fixture
def gw(keys):
    with Translator(keys) as g:
        g.populate(POPULATION)
        yield g


def gateway_args(gw, keys):
    return ["--gateway", gw.url, "--gateway-cert", keys.client_cert,
            "--gateway-key", keys.client_key, "--gateway-ca", keys.ca_cert]


def csv_line(*fields):
    return ",".join(f'"{f}"' if "," in f else f for f in fields) + "\n"


def mixed_register(gw):
    """A name register of every kind of row: {kind: [(line, row)]} and the CSV."""
    twin_of = resident(7)
    gw.add_resident(Resident("a second person", twin_of.family, twin_of.given,
                             twin_of.birth_date, "Kladno, Jiná 1"))
    kinds = {
        "aifo": [gw.seed_aifo("known person", AGENDA)],
        "identifiable": [resident(3), resident(1500)],
        "by address": [resident(11)],
        "ambiguous": [twin_of],
        "unknown": [Resident("nobody", "Neznámý", "Nikdo", "1901-01-01")],
    }
    text = "aifo,family_name,given_name,birth_date,address,source_id,system\n"
    text += csv_line(kinds["aifo"][0], "Známá", "Osoba", "1970-01-01", "", "R-0", "spisovka")
    text += csv_line("", resident(3).family, resident(3).given, resident(3).birth_date, "",
                     "R-1", "spisovka")
    r = resident(1500)
    text += csv_line("", r.family.upper(), r.given, r.birth_date, "", "R-2", "")
    r = resident(11)
    text += csv_line("", r.family, r.given, r.birth_date, r.address, "R-3", "")
    text += csv_line("", twin_of.family, twin_of.given, twin_of.birth_date, "", "R-4", "ris")
    text += csv_line("", "Neznámý", "Nikdo", "1901-01-01", "", "R-5", "")
    text += csv_line("", "Bez", "Klíče", "1980-01-01", "", "", "")  # line 8: no source_id
    return kinds, text


def test_import_identifies_rows_without_aifo(db, key, gw, keys, tmp_path):
    master = key.read_bytes()
    kinds, text = mixed_register(gw)
    csv = tmp_path / "essl.csv"
    csv.write_text(text)
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, *gateway_args(gw, keys))
    assert r.stdout == "added 4, matched 0, rejected 1, identified 3, potential 2\n", r.stderr
    assert r.returncode == 1  # line 8 was rejected
    assert reported_lines(r.stderr) == {
        8: "aifo is empty and there is no source_id to find the row again"}
    assert gw.count("/identify") == 5  # the row with an AIFO is not sent
    # The identified people are clients under the AIFO the gateway gave: the same AIFO
    # a first NIA login of theirs reaches (bsi-to-aifo), so they are "linked" then.
    for person in kinds["identifiable"] + kinds["by address"]:
        row = client_of(db, master, gw.aifo(person.person, AGENDA))
        assert row and row[1] == "essl" and row[2].casefold() == person.family.casefold()
        assert aifo_open(master, row[5]) in (gw.aifo(person.person, AGENDA), None)
    potential = db.query("SELECT e.source_id, c.potential, c.family_name, c.id "
                         "FROM kmen.essl_source e JOIN kmen.client c ON c.client_id = e.client_id "
                         "ORDER BY 1")
    assert [(s, p) for s, p, _, _ in potential] == [("R-4", True), ("R-5", True)]
    assert systems_of(db, potential[0][3]) == {"ris"}
    assert db.one("SELECT count(*) FROM kmen.client WHERE potential") == 2
    assert db.one("SELECT count(*) FROM kmen.client") == 6
    assert db.query("SELECT detail FROM kmen.audit WHERE event = 'import_essl'") == \
        [("added 4, matched 0, rejected 1, identified 3, potential 2",)]
    for person in kinds["identifiable"] + kinds["ambiguous"] + kinds["unknown"]:
        for text_out in (r.stdout, r.stderr):
            assert person.family not in text_out and gw.aifo(person.person, AGENDA) \
                not in text_out

    # Again: nothing new; the potential rows are found by their source_id, not asked again.
    gw.reset()
    again = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, *gateway_args(gw, keys))
    assert again.stdout == "added 0, matched 6, rejected 1, identified 3, potential 0\n"
    assert gw.count("/identify") == 3
    assert db.one("SELECT count(*) FROM kmen.client") == 6


def test_import_without_a_gateway_rejects_rows_without_aifo(db, key, tmp_path):
    csv = tmp_path / "essl.csv"
    csv.write_text("aifo,family_name,given_name,birth_date,source_id\n"
                   "AIFO-1,Novák,Jan,1980-01-02,R-1\n,Nová,Eva,1981-01-02,R-2\n")
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert r.stdout == "added 1, matched 0, rejected 1\n"
    assert reported_lines(r.stderr) == {
        3: "aifo is empty and there is no --gateway to identify the person"}
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, "--gateway",
                "http://gw.invalid")
    assert r.returncode == 2 and "https://" in r.stderr
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, "--gateway",
                "https://gw.invalid")
    assert r.returncode == 2 and "--gateway-cert" in r.stderr


def test_import_stops_on_an_outage_and_resumes_without_duplicates(db, key, gw, keys, tmp_path):
    rows = [resident(i) for i in range(0, 1200)]
    csv = tmp_path / "essl.csv"
    csv.write_text("aifo,family_name,given_name,birth_date,source_id\n" + "".join(
        csv_line("", p.family, p.given, p.birth_date, f"R-{i}") for i, p in enumerate(rows)))
    gw.outage_after(700)
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, *gateway_args(gw, keys))
    assert r.returncode == 1 and r.stdout == ""
    assert "gateway /identify failed" in r.stderr and "run it again" in r.stderr
    assert db.one("SELECT count(*) FROM kmen.client") == 0
    assert db.one("SELECT count(*) FROM kmen.audit WHERE event = 'import_essl'") == 0
    gw.heal()
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, *gateway_args(gw, keys))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "added 1200, matched 0, rejected 0, identified 1200, potential 0\n"
    assert db.one("SELECT count(*) FROM kmen.client") == 1200
    assert db.one("SELECT count(DISTINCT aifo_index) FROM kmen.client_aifo") == 1200


# --- subscriptions and kmenctl sync -----------------------------------------------------

def seed_clients(db, key, gw, n, tmp_path, prefix="person"):
    """N clients imported with the AIFO the gateway knows for "PREFIX I"; their AIFO."""
    aifos = [gw.seed_aifo(f"{prefix} {i}", AGENDA) for i in range(n)]
    csv = tmp_path / f"{prefix}.csv"
    csv.write_text("aifo,family_name,given_name,birth_date\n" + "".join(
        csv_line(a, f"Příjmení{i}", "Jméno", "1980-01-01") for i, a in enumerate(aifos)))
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert r.returncode == 0, r.stderr
    return aifos


def sync(db, key, gw, keys, *extra):
    return kmenctl("sync", db.conninfo, "--key-file", key, *gateway_args(gw, keys), *extra)


def cursor_of(db):
    rows = db.query("SELECT cursor FROM kmen.sync_cursor WHERE agenda = %s", (AGENDA,))
    return rows[0][0] if rows else None


def assert_no_secret(aifos, *outputs, dump=""):
    """No AIFO in kmenctl's output nor the database; no name in the output."""
    for text in outputs + (dump,):
        for aifo in aifos:
            assert aifo not in text
    for text in outputs:
        assert "Příjmení" not in text and "Jméno" not in text


def test_sync_subscribes_every_aifo_once(db, key, gw, keys, tmp_path):
    aifos = seed_clients(db, key, gw, 300, tmp_path)
    r = sync(db, key, gw, keys)
    assert (r.returncode, r.stdout) == (0, "subscribed 300, not known 0, applied 0, skipped 0\n"), \
        r.stderr
    assert gw.subscribed(AGENDA) == set(aifos)
    assert db.one("SELECT count(*) FROM kmen.client_aifo WHERE subscribed IS NULL") == 0
    gw.reset()
    r = sync(db, key, gw, keys)
    assert r.stdout == "subscribed 0, not known 0, applied 0, skipped 0\n"
    assert gw.count("/subscribe") == 0
    # A new client (a first login, another import) is subscribed by the next run alone.
    more = seed_clients(db, key, gw, 2, tmp_path, prefix="newcomer")
    assert sync(db, key, gw, keys).stdout == "subscribed 2, not known 0, applied 0, skipped 0\n"
    assert gw.count("/subscribe") == 2 and set(more) <= gw.subscribed(AGENDA)
    assert db.query("SELECT outcome, detail FROM kmen.audit WHERE event = 'sync' ORDER BY id") \
        == [("ok", "subscribed 300, not known 0, applied 0, skipped 0"),
            ("ok", "subscribed 0, not known 0, applied 0, skipped 0"),
            ("ok", "subscribed 2, not known 0, applied 0, skipped 0")]
    assert_no_secret(aifos, r.stdout, r.stderr, dump=db.dump())


def test_sync_counts_an_aifo_the_gateway_does_not_know(db, key, gw, keys, tmp_path):
    csv = tmp_path / "one.csv"
    csv.write_text("aifo,family_name,given_name,birth_date\nAIFO-NOBODY-1,Nikdo,Nic,1990-01-01\n")
    assert kmenctl("import-essl", db.conninfo, csv, "--key-file", key).returncode == 0
    for _ in range(2):  # not recorded: asked again next time
        r = sync(db, key, gw, keys)
        assert r.stdout == "subscribed 0, not known 1, applied 0, skipped 0\n", r.stderr
    assert gw.count("/subscribe") == 2


def test_sync_applies_every_kind_of_event_once(db, key, gw, keys, tmp_path):
    master = key.read_bytes()
    a, b, c, d, e, f = seed_clients(db, key, gw, 6, tmp_path)
    assert sync(db, key, gw, keys).returncode == 0
    ids = {x: client_of(db, master, x)[7] for x in (a, b, c, d, e, f)}
    new_a = gw.seed_aifo("person 0 renumbered", AGENDA)
    seqs = [gw.append_event(AGENDA, "change", a, new_a),
            gw.append_event(AGENDA, "merge", c, d),
            gw.append_event(AGENDA, "death", b, "2024-05-01"),
            gw.append_event(AGENDA, "data", e, {"family_name": "Opravená",
                                                "birth_date": "1981-02-03"}),
            gw.append_event(AGENDA, "change", f, c),        # c is another client's: skipped
            gw.append_event(AGENDA, "death", "AIFO-NOT-SUBSCRIBED", "2024-01-01")]
    r = sync(db, key, gw, keys)
    assert r.returncode == 1  # one event was passed over
    assert r.stdout == "subscribed 0, not known 0, applied 4, skipped 1\n", r.stderr
    assert reported_lines_of_seq(r.stderr) == {
        seqs[4]: "the new AIFO already belongs to a client (a merge?)"}
    assert client_of(db, master, a) is None and client_of(db, master, new_a)[7] == ids[a]
    assert client_of(db, master, d) is None
    assert db.one("SELECT kmen.client_of(%s::uuid) = kmen.client_of(%s::uuid)",
                  (ids[d], ids[c]))  # the merged identifier is an alias of the survivor
    assert client_of(db, master, b)[6] == "2024-05-01"
    assert client_of(db, master, e)[2:5] == ("Opravená", "Jméno", "1981-02-03")
    assert cursor_of(db) == str(seqs[-1])  # the unsubscribed AIFO's event is passed by too
    audit = db.query("SELECT outcome, detail, request_id FROM kmen.audit "
                     "WHERE event IN ('notify', 'sync') AND request_id LIKE 'kmenctl-sync %%:%%' "
                     "ORDER BY id")
    by_seq = {}
    for outcome, detail, request_id in audit:
        by_seq.setdefault(request_id.rsplit(":", 1)[1], []).append((outcome, detail))
    assert by_seq == {
        str(seqs[0]): [("applied", "change")],
        str(seqs[1]): [("applied", "merge"), ("merged", "merge")],
        str(seqs[2]): [("applied", "death")],
        str(seqs[3]): [("applied", "data")],
        str(seqs[4]): [("skipped", "change: the new AIFO already belongs to a client (a merge?)")]}
    # The changed AIFO is subscribed afresh; nothing is applied twice.
    again = sync(db, key, gw, keys)
    assert again.stdout == "subscribed 1, not known 0, applied 0, skipped 0\n", again.stderr
    assert_no_secret([a, b, c, d, e, f, new_a], r.stdout, r.stderr, again.stderr, dump=db.dump())


def reported_lines_of_seq(stderr):
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^seq (\d+): (.*)$", stderr, re.M)}


def applied_per_seq(db):
    """{seq: audit rows of that event}, over every run."""
    rows = db.query("SELECT request_id FROM kmen.audit WHERE event = 'notify' "
                    "AND request_id LIKE 'kmenctl-sync %%'")
    counts = {}
    for (request_id,) in rows:
        seq = int(request_id.rsplit(":", 1)[1])
        counts[seq] = counts.get(seq, 0) + 1
    return counts


def test_sync_killed_in_the_middle_applies_each_event_once(db, key, gw, keys, tmp_path):
    aifos = seed_clients(db, key, gw, 500, tmp_path)
    assert sync(db, key, gw, keys).returncode == 0
    events = 6000
    for i in range(events):
        gw.append_event(AGENDA, "data", aifos[i % 500], {"given_name": f"Jméno{i}"})
    p = subprocess.Popen([str(KMENCTL), "sync", db.conninfo, "--key-file", str(key),
                          *map(str, gateway_args(gw, keys))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while p.poll() is None and sum(applied_per_seq(db).values()) < 200:
        time.sleep(0.01)
    p.kill()  # SIGKILL: no chance to tidy up
    assert p.wait() == -9, "the run ended before it could be killed"
    first = applied_per_seq(db)
    assert 0 < len(first) < events
    assert int(cursor_of(db)) == max(first)  # the cursor is where the last commit left it
    r = sync(db, key, gw, keys)
    assert r.returncode == 0, r.stderr
    applied = int(r.stdout.split("applied ")[1].split(",")[0])
    assert applied + len(first) == events
    assert applied_per_seq(db) == {seq: 1 for seq in range(1, events + 1)}
    # Each client holds the last correction of its own.
    master = key.read_bytes()
    assert client_of(db, master, aifos[7])[3] == f"Jméno{events - 500 + 7}"


def test_sync_stops_on_an_outage_and_resumes(db, key, gw, keys, tmp_path):
    aifos = seed_clients(db, key, gw, 50, tmp_path)
    assert sync(db, key, gw, keys).returncode == 0
    first = gw.append_event(AGENDA, "death", aifos[0], "2024-01-01")
    for i in range(1, 450):
        gw.append_event(AGENDA, "data", aifos[i % 50], {"family_name": f"Nová{i}"})
    gw.page_size = 100
    gw.outage_after(2)  # two pages, then nothing
    r = sync(db, key, gw, keys)
    assert r.returncode == 1 and r.stdout == ""
    assert "gateway /changes failed" in r.stderr and "run it again" in r.stderr
    assert cursor_of(db) == str(first + 199)
    assert db.query("SELECT outcome, detail FROM kmen.audit WHERE event = 'sync' "
                    "ORDER BY id DESC LIMIT 1") == \
        [("gateway_failed", "subscribed 0, not known 0, applied 200, skipped 0")]
    gw.heal()
    r = sync(db, key, gw, keys)
    assert r.stdout == "subscribed 0, not known 0, applied 250, skipped 0\n", r.stderr
    assert set(applied_per_seq(db).values()) == {1} and len(applied_per_seq(db)) == 450
    assert_no_secret(aifos, r.stdout, r.stderr)


def test_a_second_run_waits_for_the_first(db, key, gw, keys):
    import psycopg2
    holder = psycopg2.connect(db.conninfo)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext('kmenctl sync ' || %s))", (AGENDA,))
        r = sync(db, key, gw, keys)
        assert r.returncode == 1 and f"another kmenctl sync of agenda {AGENDA} is running" \
            in r.stderr
        assert gw.count() == 0 and cursor_of(db) is None
    finally:
        holder.close()
    assert sync(db, key, gw, keys).returncode == 0


# --- UC2: identified from the name register, found on the first NIA login ---------------

@pytest.fixture(scope="module")
def portal():
    with Stack() as st:
        yield st


def test_an_identified_person_is_linked_on_the_first_nia_login(portal):
    """A name-register row without an AIFO, identified through the gateway, is the client
    that the person's first NIA login finds (Kmen-Client-Status: linked)."""
    lenka = IDENTITIES["cz-lenka"]
    gw = portal.gateway
    gw.add_resident(Resident(portal.bsi("cz-lenka"), lenka.family, lenka.given,
                             lenka.birth_date))
    csv = portal.dir / "essl-unidentified.csv"
    csv.write_text("aifo,family_name,given_name,birth_date,source_id,system\n"
                   f",{lenka.family},{lenka.given},{lenka.birth_date},SPIS-1,spisovka\n")
    r = portal.kmenctl("import-essl", portal.conninfo(), csv, "--key-file",
                       portal.keys.register_key, *gateway_args(gw, portal.keys))
    assert r.stdout == "added 1, matched 0, rejected 0, identified 1, potential 0\n", r.stderr
    [imported] = kmen.clients_by_aifo(portal, gw.aifo(portal.bsi("cz-lenka"), AGENDA), AGENDA)
    with requests.Session() as s:
        flow.login(s, portal, identity="cz-lenka", path="/app/headers.json")
        h = flow.headers_of(s, portal.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-Client-Status") == "linked", h
    assert flow.header(h, "Kmen-Client-Id").lower() == imported
    assert flow.header(h, "Kmen-Systems") == "spisovka"
