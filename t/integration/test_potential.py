# SPDX-License-Identifier: GPL-2.0-or-later
"""Potential clients and merging (USE-CASES.md, standing rules: an unofficial contact is only
a potential, unverified client; DESIGN.md: KmenAcceptContact, KmenAllowLink,
Kmen-Potential-Contact, Kmen-Complete: link=, Kmen-Client-Id-Merged-From; kmenctl merge,
add-potential, stats; sql/006_potential_merge.sql).

The module runs its own site (a module-scoped stack), so every person is unknown to its
register until a test here logs them in:
  cz-karel  first NIA login, then linked to the potential client an e-mail made
  cz-lenka  first NIA login, links that must be refused
  cz-tomas  known twice from eSSL (two agendas): merged with kmenctl after logging in
  cz-eva    known twice from eSSL: merged before the first login
The node `desk` adds, on the same database: /contact-desk (KmenAcceptContact On, public),
/quiet-desk (KmenAcceptContact Off, public), /account (login, KmenAllowLink On) and /plain
(login, KmenAllowLink Off).
"""

import hashlib
import hmac
import re
import uuid
from urllib.parse import unquote

import pytest
import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from t.lib import flow, poll
from t.lib import register as kmen
from t.lib.httpd import MODULE_SO
from t.lib.stack import KMENCTL, Stack

AGENDA = "A8566"
HEADERS = "/app/headers.json"
REFUSED_PAGE = "Ověření nelze dokončit"
# Every contact value used below, as typed and as normalised: none may be stored or logged.
CONTACT_DATA = [
    "Petra.Mala@Example.CZ", "petra.mala@example.cz", "+420 604 222 333", "+420604222333",
    "Petra Malá", "PetraMalá",
    "karel.vesely@example.cz", "Karel Veselý", "KarelVeselý",
    "dana.kralova@example.cz", "+420 731 444 555", "+420731444555", "Dana Králová",
    "DanaKrálová", "ignac.tichy@example.cz", "Ignác Tichý", "lenka.kontakt@example.cz",
    "stats.only@example.cz", "hana.jmeno@example.cz", "Hana  Jménová", "HanaJménová",
    "ota.jmeno@example.cz", "Ota Jméno", "OtaJméno", "prvni.osoba@example.cz",
    "druha.osoba@example.cz",
]


@pytest.fixture(scope="module")
def pot():
    if not MODULE_SO.exists() or not KMENCTL.exists():
        pytest.fail("build the module and kmenctl first (make)", pytrace=False)
    with Stack() as st:
        yield st


@pytest.fixture(scope="module")
def desk(pot):
    backend = f"http://127.0.0.1:{pot.portal_port}"
    return pot.new_httpd(locations=f"""<Location /contact-desk>
    KmenAcceptContact On
    ProxyPass {backend}/contact-desk
</Location>
<Location /quiet-desk>
    ProxyPass {backend}/quiet-desk
</Location>
<Location /account>
    AuthType Kmen
    Require valid-user
    KmenAllowLink On
    ProxyPass {backend}/account
</Location>
<Location /plain>
    AuthType Kmen
    Require valid-user
    ProxyPass {backend}/plain
</Location>""")


# --- steps and questions ---------------------------------------------------------------
def login(st, identity):
    """A whole login in a fresh browser; (session, what the backend received)."""
    s = requests.Session()
    flow.login(s, st, identity=identity, path=HEADERS)
    return s, flow.headers_of(s, st.base_url + HEADERS)


def header(h, name):
    value = flow.header(h, name)
    return unquote(value) if value is not None else None


def client_id(h):
    value = header(h, "Kmen-Client-Id")
    assert value and str(uuid.UUID(value)) == value.lower(), h
    return value.lower()


def contact(node, place, **parts):
    """GET PLACE/contact?email=…&phone=…&name=… on NODE: the portal answers with
    Kmen-Potential-Contact. (response, client id the module logged or None, log lines)."""
    before = len(node.read_error_log())
    r = requests.get(f"{node.base_url}{place}/contact", params=parts, allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert not [k for k in r.headers if k.lower() == "kmen-potential-contact"], dict(r.headers)
    text = poll(lambda: "KMEN067" in node.read_error_log()[before:] and
                node.read_error_log()[before:], timeout=5) or ""
    found = re.search(r"KMEN0676: potential client from a contact: ([0-9a-f-]{36})", text)
    return r, found.group(1) if found else None, text


def by_contact(st, kind, normalised):
    """client_id of the clients holding this contact (normal form), by its blind index."""
    index = kmen.blind_index(st.keys.register_key, kind, normalised)
    return [r[0] for r in st.query(
        "SELECT c.client_id::text FROM kmen.client_contact cc JOIN kmen.client c "
        "ON c.id = cc.client WHERE cc.kind = %s AND cc.value_index = %s", (kind, index))]


def opened_contacts(st, cid):
    """{kind: value} of a client's contacts, opened with the register key (as given)."""
    with open(st.keys.register_key, "rb") as f:
        master = f.read()
    key = hmac.new(master, b"kmen register seal v1", hashlib.sha256).digest()
    rows = st.query("SELECT cc.kind, cc.value_sealed FROM kmen.client_contact cc "
                    "JOIN kmen.client c ON c.id = cc.client WHERE c.client_id = %s", (cid,))
    return {kind: AESGCM(key).decrypt(bytes(sealed[:12]), bytes(sealed[12:]),
                                      kind.encode() + b"\0\0").decode()
            for kind, sealed in rows}


def client_row(st, cid):
    rows = st.query("SELECT source, potential FROM kmen.client WHERE client_id = %s", (cid,))
    return rows[0] if rows else None


def alias_of(st, alias):
    rows = st.query("SELECT c.client_id::text FROM kmen.client_alias a JOIN kmen.client c "
                    "ON c.id = a.client WHERE a.alias = %s", (alias,))
    return rows[0][0] if rows else None


def audit(st, event, since=0):
    """[(outcome, detail, client_id)] of the audit rows of EVENT with id > SINCE."""
    return [tuple(r) for r in st.query(
        "SELECT outcome, detail, client_id::text FROM kmen.audit WHERE event = %s AND id > %s "
        "ORDER BY id", (event, since))]


def last_audit(st):
    return st.query("SELECT coalesce(max(id), 0) FROM kmen.audit")[0][0]


def snapshot(st):
    """Everything a refused link or merge must leave as it was."""
    return {t: st.query(f"SELECT * FROM kmen.{t} ORDER BY 1, 2")
            for t in ("client", "client_aifo", "client_bsi", "client_alias", "client_contact",
                      "client_system")}


def kmenctl(st, *args, check=True):
    return st.kmenctl(*args, check=check)


def add_potential(st, *args):
    r = kmenctl(st, "add-potential", st.conninfo(), "--key-file", st.keys.register_key, *args)
    cid, outcome = r.stdout.split()
    return cid, outcome


def stats(st):
    r = kmenctl(st, "stats", st.conninfo())
    return {m.group(1).strip(): int(m.group(2))
            for m in re.finditer(r"^(.*\S)\s+(\d+)$", r.stdout, re.M)}


# --- potential clients -----------------------------------------------------------------
def test_potential_client_from_a_backend_header(pot, desk):
    since = last_audit(pot)
    r, cid, log = contact(desk, "/contact-desk", email="Petra.Mala@Example.CZ",
                          phone="+420 604 222 333", name="Petra Malá")
    assert cid, f"no KMEN0676 line:\n{log}"
    assert client_row(pot, cid) == ("contact", True)
    assert by_contact(pot, "email", "petra.mala@example.cz") == [cid]
    assert by_contact(pot, "phone", "+420604222333") == [cid]
    # the ciphertext keeps what the backend sent
    assert opened_contacts(pot, cid) == {"email": "Petra.Mala@Example.CZ",
                                         "phone": "+420 604 222 333", "name": "Petra Malá"}

    # the same e-mail, typed otherwise: the same client
    _, again, log = contact(desk, "/contact-desk", email=" petra.MALA@example.cz")
    assert again == cid, log
    # and the same phone, through kmenctl: kmenctl normalises as the module does
    assert add_potential(pot, "--phone", "+420604222333") == (cid, "existing")
    assert add_potential(pot, "--email", "PETRA.MALA@EXAMPLE.CZ ") == (cid, "existing")
    assert audit(pot, "potential", since) == [("new", None, cid), ("existing", None, cid),
                                              ("existing", None, cid), ("existing", None, cid)]
    assert pot.query("SELECT count(*) FROM kmen.client_contact c JOIN kmen.client k "
                     "ON k.id = c.client WHERE k.client_id = %s", (cid,))[0][0] == 3


def test_potential_client_from_kmenctl_found_by_the_module(pot, desk):
    cid, outcome = add_potential(pot, "--email", "dana.kralova@example.cz",
                                 "--phone", "+420 731 444 555", "--name", "Dana Králová")
    assert outcome == "new"
    assert client_row(pot, cid) == ("contact", True)
    assert opened_contacts(pot, cid)["name"] == "Dana Králová"
    _, found, log = contact(desk, "/contact-desk", phone="+420731444555", name="Dana  Králová")
    assert found == cid, log
    assert add_potential(pot, "--email", "Dana.Kralova@example.cz") == (cid, "existing")


def test_name_indexed_in_the_same_normal_form_by_module_and_kmenctl(pot, desk):
    """name: white space removed (apr_collapse_spaces), by either writer."""
    _, by_module, log = contact(desk, "/contact-desk", email="hana.jmeno@example.cz",
                                name="Hana  Jménová")
    assert by_module, log
    by_kmenctl, _ = add_potential(pot, "--email", "ota.jmeno@example.cz", "--name", "Ota Jméno")
    assert by_contact(pot, "name", "HanaJménová") == [by_module]
    assert by_contact(pot, "name", "OtaJméno") == [by_kmenctl]
    assert by_contact(pot, "name", "") == []


def test_a_phone_without_digits_finds_nobody(pot, desk):
    """"n/a" and "unknown" normalise to nothing: they must not make two people one client
    (kmenctl refuses such a phone; the module must at least not match on it)."""
    _, first, log = contact(desk, "/contact-desk", email="prvni.osoba@example.cz", phone="n/a")
    assert first, log
    _, second, log = contact(desk, "/contact-desk", email="druha.osoba@example.cz",
                             phone="neznámý")
    assert second, log
    assert second != first
    assert by_contact(pot, "email", "druha.osoba@example.cz") == [second]
    assert by_contact(pot, "phone", "") == []


def test_contact_ignored_where_accept_contact_is_off(pot, desk):
    before, since = snapshot(pot), last_audit(pot)
    _, cid, log = contact(desk, "/quiet-desk", email="ignac.tichy@example.cz",
                          name="Ignác Tichý")
    assert cid is None
    assert "KMEN0675" in log and "KmenAcceptContact is Off" in log, log
    assert snapshot(pot) == before
    assert audit(pot, "potential", since) == []
    assert by_contact(pot, "email", "ignac.tichy@example.cz") == []


def test_contact_with_neither_email_nor_phone_is_refused(pot, desk):
    before = snapshot(pot)
    r, cid, log = contact(desk, "/contact-desk", name="Ignác Tichý")
    assert cid is None and "KMEN0676" in log and "refused" in log, log
    assert snapshot(pot) == before


# --- a NIA login verifies a potential client -----------------------------------------------
def test_nia_login_linked_to_a_potential_client(pot, desk):
    _, potential, log = contact(desk, "/contact-desk", email="karel.vesely@example.cz",
                                name="Karel Veselý")
    assert potential, log
    s, h = login(pot, "cz-karel")
    own = client_id(h)
    assert header(h, "Kmen-Client-Status") == "new", h
    since = last_audit(pot)

    r = s.get(desk.base_url + "/account/complete", params={"value": f"link={potential}"},
              allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert not [k for k in r.headers if k.lower() == "kmen-complete"], dict(r.headers)
    # the session carries the potential client's identifier now (on another node once its
    # cached copy, KmenSessionCacheTTL, has expired)
    h = flow.headers_of(s, desk.base_url + "/account/headers.json")
    assert client_id(h) == potential, h
    assert header(h, "Kmen-Client-Status") == "linked", h
    # the potential client is verified and keeps its identifier; the login's own client
    # merged into it, its identifier an alias
    assert client_row(pot, potential) == ("contact", False)
    assert client_row(pot, own) is None
    assert alias_of(pot, own) == potential
    assert kmen.clients_by_bsi(pot, pot.bsi("cz-karel")) == [potential]
    assert kmen.aifo_agendas(pot, potential) == [AGENDA]
    assert by_contact(pot, "email", "karel.vesely@example.cz") == [potential]
    assert audit(pot, "complete", since) == [("linked", "link potential", potential)]
    assert audit(pot, "merge", since) == [("merged", f"verified potential: {own}", potential)]

    # the next login finds the same client; the merge is announced once
    _, h = login(pot, "cz-karel")
    assert client_id(h) == potential
    assert header(h, "Kmen-Client-Status") == "returning", h
    assert header(h, "Kmen-Client-Id-Merged-From") == own, h
    _, h = login(pot, "cz-karel")
    assert client_id(h) == potential
    assert header(h, "Kmen-Client-Id-Merged-From") is None, h


def test_link_refused_unless_the_target_is_a_potential_client(pot, desk):
    pot.import_essl([("AIFO-VERIFIED-LINK-1", "Ověřená", "Olga", "1970-01-01")],
                    name="verified.csv")
    verified = kmen.clients_by_aifo(pot, "AIFO-VERIFIED-LINK-1", AGENDA)[0]
    _, potential, log = contact(desk, "/contact-desk", email="lenka.kontakt@example.cz")
    assert potential, log
    s, h = login(pot, "cz-lenka")
    own = client_id(h)
    before, since = snapshot(pot), last_audit(pot)
    for target in (verified, str(uuid.uuid4())):
        r = s.get(desk.base_url + "/account/complete", params={"value": f"link={target}"},
                  allow_redirects=False)
        assert r.status_code == 409, (target, r.status_code, r.text[:300])
        assert REFUSED_PAGE in r.text
        assert not [k for k in r.headers if k.lower() == "kmen-complete"], dict(r.headers)
        assert snapshot(pot) == before
    assert [(o, c) for o, _, c in audit(pot, "complete", since)] == [
        ("not_potential", own), ("unknown_client", own)]
    assert audit(pot, "merge", since) == []

    # a place without KmenAllowLink (and not KmenVerifyPath): the completion is ignored
    logged = len(desk.read_error_log())
    r = s.get(desk.base_url + "/plain/complete", params={"value": f"link={potential}"},
              allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert not [k for k in r.headers if k.lower() == "kmen-complete"], dict(r.headers)
    assert poll(lambda: "KMEN0672" in desk.read_error_log()[logged:], timeout=5)
    assert snapshot(pot) == before
    h = flow.headers_of(s, desk.base_url + "/plain/headers.json")
    assert client_id(h) == own and header(h, "Kmen-Client-Status") == "new", h
    assert client_row(pot, potential) == ("contact", True)


# --- merging -----------------------------------------------------------------------------
def duplicate(st, identity, other_aifo):
    """IDENTITY known twice from eSSL: once by their AIFO in the register agenda (what
    their NIA login finds), once only in agenda A9145. (client in A8566, client in A9145)."""
    aifo = st.gateway.seed_aifo(st.bsi(identity), AGENDA)
    tag = identity.replace("-", "_")
    st.import_essl([(aifo, "Duplicitní", identity, "1960-01-01", f"{tag}_spis")],
                   name=f"{tag}-a8566.csv")
    st.import_essl([(other_aifo, "Duplicitní", identity, "1960-01-01", f"{tag}_dane")],
                   name=f"{tag}-a9145.csv", agenda="A9145")
    return (kmen.clients_by_aifo(st, aifo, AGENDA)[0],
            kmen.clients_by_aifo(st, other_aifo, "A9145")[0])


def test_merge_of_an_imported_duplicate(pot):
    merged, survivor = duplicate(pot, "cz-tomas", "AIFO-KUCERA-A9145")
    s, h = login(pot, "cz-tomas")
    assert client_id(h) == merged and header(h, "Kmen-Client-Status") == "linked", h
    since = last_audit(pot)

    r = kmenctl(pot, "merge", pot.conninfo(), "--into", survivor, merged)
    assert (r.stdout, r.stderr) == (f"{merged}: merged\n", "")
    assert client_row(pot, merged) is None and alias_of(pot, merged) == survivor
    assert kmen.aifo_agendas(pot, survivor) == [AGENDA, "A9145"]
    assert kmen.clients_by_bsi(pot, pot.bsi("cz-tomas")) == [survivor]
    assert audit(pot, "merge", since) == [("merged", f"kmenctl merge: {merged}", survivor)]

    # the merged identifier still resolves: the session made before the merge carries it,
    # and a system a backend links under it is linked to the survivor
    r = s.get(pot.base_url + "/app/link", params={"system": "ris_tomas"}, allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert poll(lambda: "ris_tomas" in kmen.systems(pot, survivor), timeout=5), \
        kmen.systems(pot, survivor)

    _, h = login(pot, "cz-tomas")  # a returning BSI
    assert client_id(h) == survivor
    assert header(h, "Kmen-Client-Status") == "returning", h
    assert header(h, "Kmen-Client-Id-Merged-From") == merged, h
    assert {"cz_tomas_spis", "cz_tomas_dane", "ris_tomas"} <= set(
        re.split(r"[,\s]+", header(h, "Kmen-Systems") or "")), h
    _, h = login(pot, "cz-tomas")
    assert client_id(h) == survivor
    assert header(h, "Kmen-Client-Id-Merged-From") is None, h


def test_first_login_after_a_merge_announces_it(pot):
    merged, survivor = duplicate(pot, "cz-eva", "AIFO-SVOBODOVA-A9145")
    kmenctl(pot, "merge", pot.conninfo(), "--into", survivor, merged)
    _, h = login(pot, "cz-eva")  # first login: found by the AIFO, now the survivor's
    assert client_id(h) == survivor
    assert header(h, "Kmen-Client-Status") == "linked", h
    assert header(h, "Kmen-Client-Id-Merged-From") == merged, h
    _, h = login(pot, "cz-eva")
    assert header(h, "Kmen-Client-Status") == "returning", h
    assert header(h, "Kmen-Client-Id-Merged-From") is None, h


def test_merge_refused_on_an_aifo_in_the_same_agenda(pot):
    pot.import_essl([("AIFO-CONFLICT-ONE", "Sporná", "Jedna", "1950-01-01", "sys_one"),
                     ("AIFO-CONFLICT-TWO", "Sporná", "Dvě", "1950-01-01", "sys_two")],
                    name="conflict.csv")
    one = kmen.clients_by_aifo(pot, "AIFO-CONFLICT-ONE", AGENDA)[0]
    two = kmen.clients_by_aifo(pot, "AIFO-CONFLICT-TWO", AGENDA)[0]
    before, since = snapshot(pot), last_audit(pot)
    r = kmenctl(pot, "merge", pot.conninfo(), "--into", one, two, check=False)
    assert r.returncode == 1
    assert (r.stdout, r.stderr) == ("", f"{two}: conflict: both hold an AIFO in the same agenda\n")
    assert snapshot(pot) == before
    assert audit(pot, "merge", since) == [("conflict", "kmenctl merge", one)]


def test_stats_counts_potential_verified_and_merged(pot):
    def in_register():
        q = pot.query("SELECT count(*) FILTER (WHERE potential), "
                      "count(*) FILTER (WHERE NOT potential), "
                      "(SELECT count(*) FROM kmen.client_alias) FROM kmen.client")[0]
        return tuple(q)

    def shown():
        c = stats(pot)
        return (c["potential (unverified)"], c["verified"], c["merged identifiers (aliases)"])

    potential, verified, merged = shown()
    assert (potential, verified, merged) == in_register()
    assert potential >= 3 and merged >= 3  # the tests above made some of each
    add_potential(pot, "--email", "stats.only@example.cz")
    assert shown() == (potential + 1, verified, merged)
    pot.import_essl([("AIFO-STATS-A8566", "Počet", "Jan", "1990-01-01")], name="stats1.csv")
    pot.import_essl([("AIFO-STATS-A9145", "Počet", "Jan", "1990-01-01")], name="stats2.csv",
                    agenda="A9145")
    into = kmen.clients_by_aifo(pot, "AIFO-STATS-A8566", AGENDA)[0]
    other = kmen.clients_by_aifo(pot, "AIFO-STATS-A9145", "A9145")[0]
    kmenctl(pot, "merge", pot.conninfo(), "--into", into, other)
    assert shown() == (potential + 1, verified + 1, merged + 1)


def test_contact_data_never_in_the_clear(pot, desk):
    """Run last: every contact value used above, in any spelling, is absent from a dump of
    the register and from the error logs."""
    dump = pot.pg_dump()
    logs = pot.httpd.read_error_log() + desk.read_error_log()
    assert "KMEN0676" in logs
    for value in CONTACT_DATA:
        for spelling in kmen.spellings(value):
            assert spelling not in dump, f"{value!r} in the dump"
            assert spelling not in logs, f"{value!r} in an error log"
