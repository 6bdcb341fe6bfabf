# SPDX-License-Identifier: GPL-2.0-or-later
"""kmenctl and the base registers through the translation gateway (docs/gateway.md): import
of a name register whose rows have no AIFO (POST /identify), subscriptions (POST /subscribe)
and `kmenctl sync` applying the change feed (GET /changes) exactly once, across a kill -9 and
an outage. Real PostgreSQL, the gateway simulator over mutual TLS, no httpd."""

import pytest

from t.lib.keys import make_keys
from t.sim.gateway import Translator
from t.sim.identities import Resident, resident

from t.integration.test_kmenctl import (  # noqa: F401 (fixtures)
    AGENDA, aifo_index, aifo_open, client_of, db, key, kmenctl, pg, reported_lines, systems_of)

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
