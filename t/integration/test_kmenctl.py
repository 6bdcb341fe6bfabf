# SPDX-License-Identifier: GPL-2.0-or-later
"""kmenctl against a throwaway PostgreSQL (no httpd): migrate, import-essl, notify, stats,
purge, the key file, and that no AIFO leaks into its output or a dump of the database.

The blind index and the ciphertext are recomputed here from the key file, independently of
core/crypto.c and identifiers.c, to pin their format down."""

import concurrent.futures
import hashlib
import hmac
import itertools
import os
import re
import shutil
import subprocess
import time

import pytest

from t.lib import REPO
from t.lib.pg import PG_BIN, Postgres, as_postgres

KMENCTL = REPO / "kmenctl" / "kmenctl"
AGENDA = "A8566"
_databases = itertools.count()


# --- the register's cryptography, written out again -------------------------------------

def derived_key(master, label):
    return hmac.new(master, label.encode(), hashlib.sha256).digest()


def context(agenda=AGENDA):
    return b"aifo\0" + agenda.encode() + b"\0"


def aifo_index(master, aifo, agenda=AGENDA):
    key = derived_key(master, "kmen blind index v1")
    return hmac.new(key, context(agenda) + aifo.encode(), hashlib.sha256).digest()


def contact_index(master, kind, normalised):
    """The blind index of contact data: kind "email", "phone" or "name", no agenda."""
    key = derived_key(master, "kmen blind index v1")
    return hmac.new(key, kind.encode() + b"\0\0" + normalised.encode(), hashlib.sha256).digest()


def contact_open(master, kind, sealed):
    """The contact value inside a sealed value; None without python3-cryptography."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None
    key = derived_key(master, "kmen register seal v1")
    return AESGCM(key).decrypt(bytes(sealed[:12]), bytes(sealed[12:]),
                               kind.encode() + b"\0\0").decode()


def aifo_open(master, sealed, agenda=AGENDA):
    """The AIFO inside a sealed value (nonce 12 || ciphertext || tag 16, AAD the context);
    None when python3-cryptography is not installed."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None
    key = derived_key(master, "kmen register seal v1")
    return AESGCM(key).decrypt(bytes(sealed[:12]), bytes(sealed[12:]), context(agenda)).decode()


# --- fixtures --------------------------------------------------------------------------

class Database:
    """One database of the module's cluster; superuser connections."""

    def __init__(self, pg, name):
        self.pg, self.name = pg, name
        self.conninfo = f"host={pg.sock} port={pg.port} dbname={name} user=postgres"

    def query(self, sql, params=None):
        import psycopg2
        conn = psycopg2.connect(self.conninfo)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def one(self, sql, params=None):
        return self.query(sql, params)[0][0]

    def dump(self):
        r = as_postgres(PG_BIN / "pg_dump", "-h", self.pg.sock, "-p", self.pg.port,
                        "-U", "postgres", self.name)
        return r.stdout


@pytest.fixture(scope="module")
def pg():
    if not KMENCTL.exists():
        pytest.fail(f"{KMENCTL} is missing: build it first (make)", pytrace=False)
    cluster = Postgres()
    try:
        cluster.setup()
        yield cluster
    finally:
        cluster.cleanup()


def new_database(pg, migrations=None):
    name = f"kmenctl_{next(_databases)}"
    pg.psql("-d", "postgres", "-c", f"CREATE DATABASE {name}")
    pg.apply_migrations(name, migrations)
    return Database(pg, name)


@pytest.fixture
def db(pg):
    """A fresh database with every migration applied."""
    return new_database(pg)


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "register.key"
    path.write_bytes(os.urandom(32))
    return path


def kmenctl(*args, cwd=None, env=None):
    """kmenctl ARGS; ENV: libpq's environment variables to add (PG* are otherwise removed)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run([str(KMENCTL), *map(str, args)], capture_output=True, cwd=cwd,
                          text=True, errors="replace", timeout=120, env={**environ, **(env or {})})


def reported_lines(stderr):
    """{line number: reason} of the "line N: reason" reports."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^line (\d+): (.*)$", stderr, re.M)}


def migration_versions():
    return sorted(int(f.name.split("_")[0]) for f in (REPO / "sql").glob("[0-9]*_*.sql"))


# --- usage and key file ----------------------------------------------------------------

def test_help_and_usage_errors():
    r = kmenctl("--help")
    assert r.returncode == 0
    for command in ("keygen", "migrate", "import-essl", "notify", "merge", "add-potential",
                    "stats", "purge"):
        assert command in r.stdout
        sub = kmenctl(command, "--help")
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: kmenctl {command}")
    assert "superuser" in kmenctl("migrate", "--help").stdout
    notify_help = kmenctl("notify", "--help").stdout
    assert "event,aifo,value" in notify_help and "merge" in notify_help
    assert kmenctl().returncode == 2
    assert kmenctl("frobnicate").returncode == 2
    assert kmenctl("stats").returncode == 2                          # CONNINFO missing
    assert kmenctl("stats", "x", "y").returncode == 2                # one too many
    assert kmenctl("stats", "x", "--key-file", "k").returncode == 2  # not an option of stats
    r = kmenctl("import-essl", "dbname=x", "f.csv")                  # --key-file missing
    assert r.returncode == 2 and "--key-file" in r.stderr
    r = kmenctl("purge", "dbname=x", "--audit-days", "soon")
    assert r.returncode == 2
    r = kmenctl("purge", "dbname=x", "--audit-days=soon")  # the --name=VALUE form
    assert r.returncode == 2 and "--audit-days takes a number of days" in r.stderr
    r = kmenctl("purge", "dbname=x", "--dry-run=yes")
    assert r.returncode == 2 and "--dry-run takes no value" in r.stderr
    some_id = "0b9d7f0e-5a53-4d4c-9a57-0d6f1c2a3b4c"
    for args, says in (
            (("merge", "dbname=x", some_id), "--into is required"),
            (("merge", "dbname=x", "--into", some_id), "missing arguments"),
            (("merge", "dbname=x", "--into", "nope", some_id), "--into is not a client"),
            (("merge", "dbname=x", "--into", some_id, some_id, "x"), "argument 3 is not"),
            (("add-potential", "dbname=x", "--email", "a@b.cz"), "--key-file"),
            (("add-potential", "dbname=x", "--key-file", "k"), "neither e-mail nor phone"),
            (("add-potential", "dbname=x", "--key-file", "k", "--name", "Jan Novák"),
             "neither e-mail nor phone"),
            (("add-potential", "dbname=x", "--key-file", "k", "--phone", "unknown"),
             "phone holds no digits"),
            (("add-potential", "dbname=x", "--key-file", "k", "--email", " "),
             "email holds only white space"),
            (("add-potential", "dbname=x", "f.csv", "--key-file", "k", "--email", "a@b.cz"),
             "not both"),
            (("add-potential", "dbname=x", "f.csv", "g.csv", "--key-file", "k"),
             "too many arguments")):
        r = kmenctl(*args)
        assert r.returncode == 2 and says in r.stderr, (args, r.stderr)
        assert "a@b.cz" not in r.stderr and "Novák" not in r.stderr


def test_version():
    """The package's version, which debian/changelog's first line names."""
    changelog = (REPO / "debian" / "changelog").read_text().splitlines()[0]
    version = re.match(r"\S+ \(([^)]+)\)", changelog).group(1)
    for flag in ("--version", "-V"):
        r = kmenctl(flag)
        assert (r.returncode, r.stdout, r.stderr) == (0, f"kmenctl {version}\n", "")


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_key_file_of_wrong_size_refused(db, tmp_path, size):
    bad = tmp_path / "bad.key"
    bad.write_bytes(os.urandom(size))
    csv = tmp_path / "in.csv"
    csv.write_text("aifo,family_name,given_name,birth_date\nAIFO-KEY-1,A,B,1990-01-01\n")
    for args in (("import-essl", db.conninfo, csv), ("notify", db.conninfo, csv)):
        r = kmenctl(*args, "--key-file", bad)
        assert r.returncode == 1
        assert "exactly 32" in r.stderr
    assert db.one("SELECT count(*) FROM kmen.client") == 0


# --- migrate ---------------------------------------------------------------------------

def test_migrate_empty_database_then_nothing(pg):
    fresh = new_database(pg, migrations=[])
    r = kmenctl("migrate", fresh.conninfo, "--sql-dir", REPO / "sql")
    assert r.returncode == 0, r.stderr
    files = sorted(f.name for f in (REPO / "sql").glob("[0-9]*_*.sql"))
    assert [line.split()[1] for line in r.stdout.splitlines()[:-1]] == files
    versions = [v for (v,) in fresh.query("SELECT version FROM kmen.schema_migration ORDER BY 1")]
    assert versions == migration_versions() and versions[:2] == [1, 2]
    again = kmenctl("migrate", fresh.conninfo, "--sql-dir", REPO / "sql")
    assert again.returncode == 0
    assert "applied" not in again.stdout and "nothing to apply" in again.stdout
    assert fresh.one("SELECT count(*) FROM kmen.schema_migration") == len(versions)


def test_migrate_older_database(pg):
    older = new_database(pg, migrations=[REPO / "sql" / "001_core.sql"])
    r = kmenctl("migrate", older.conninfo, "--sql-dir", REPO / "sql")
    assert r.returncode == 0, r.stderr
    assert "001_core.sql" not in r.stdout and "applied 002_register.sql" in r.stdout
    assert older.one("SELECT max(version) FROM kmen.schema_migration") == migration_versions()[-1]


def test_migrations_from_a_checkout_postgres_cannot_read(pg, tmp_path):
    """A clone in /root (mode 0700): the harness reads sql/ itself and gives it to psql, which
    runs as postgres, on its standard input; kmenctl migrate reads it as its caller."""
    closed = tmp_path / "closed"
    shutil.copytree(REPO / "sql", closed / "sql")
    os.chmod(closed, 0o700)
    db = new_database(pg, migrations=sorted((closed / "sql").glob("*.sql")))
    assert db.one("SELECT max(version) FROM kmen.schema_migration") == migration_versions()[-1]
    fresh = new_database(pg, migrations=[])
    r = kmenctl("migrate", fresh.conninfo, "--sql-dir", closed / "sql")
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(os.path.isdir("/usr/share/mod-kmen/sql"), reason="installed SQL is used")
def test_migrate_defaults_to_the_source_tree(pg):
    fresh = new_database(pg, migrations=[])
    r = kmenctl("migrate", fresh.conninfo, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert fresh.one("SELECT max(version) FROM kmen.schema_migration") == migration_versions()[-1]


RESOLVE_AS_MODULE = ("SET ROLE kmen_module; "
                     "SELECT client_id::text, systems, merged_from, has_evidence, bsi_only "
                     "FROM kmen.resolve_bsi(sha256('bsi'), 'migrate-test')")


def test_migration_13_resolve_bsi_answers_as_before(pg):
    """013 rewrites the functions of a returning login (one PL/pgSQL statement, no nested
    SECURITY DEFINER call): the same answers as 011's resolve_bsi, merges announced once,
    one audit row per call, and the module's role still only EXECUTEs them."""
    db = new_database(pg, migrations=[f for f in sorted((REPO / "sql").glob("*.sql"))
                                      if int(f.name[:3]) < 13])
    db.query("""INSERT INTO kmen.client (id, client_id, source)
                VALUES (1, '00000000-0000-4000-8000-000000000001', 'nia');
                INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (sha256('bsi'), 1);
                INSERT INTO kmen.client_system (client, system) VALUES (1, 'b'), (1, 'a');
                INSERT INTO kmen.client_alias (alias, client)
                VALUES ('00000000-0000-4000-8000-000000000002', 1)""")
    before = db.query(RESOLVE_AS_MODULE)
    db.query("UPDATE kmen.client_alias SET announced = false")
    r = kmenctl("migrate", db.conninfo, "--sql-dir", REPO / "sql")
    assert r.returncode == 0, r.stderr
    assert db.query(RESOLVE_AS_MODULE) == before == [
        ("00000000-0000-4000-8000-000000000001", "a,b", "00000000-0000-4000-8000-000000000002",
         False, True)]
    assert db.query(RESOLVE_AS_MODULE)[0][2] is None  # announced once
    assert db.query("SET ROLE kmen_module; SELECT client_id FROM kmen.resolve_bsi("
                    "sha256('unknown'), 'x')") == [(None,)]
    assert db.one("SELECT count(*) FROM kmen.audit WHERE request_id = 'migrate-test'") == 3
    functions = db.query("""SELECT p.proname, l.lanname, p.prosecdef, p.proconfig::text
                              FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                             WHERE p.proname IN ('resolve_bsi', 'session_create', 'audit_append')
                               AND p.pronamespace = 'kmen'::regnamespace""")
    assert sorted(functions) == [(name, "plpgsql", True, '{"search_path=kmen, pg_temp"}')
                                 for name in ("audit_append", "resolve_bsi", "session_create")]
    assert db.query("SELECT has_function_privilege('kmen_module', "
                    "'kmen.resolve_bsi(bytea, text)', 'EXECUTE'), "
                    "has_table_privilege('kmen_module', 'kmen.client', 'SELECT'), "
                    "has_table_privilege('kmen_module', 'kmen.session', 'INSERT')") == \
        [(True, False, False)]


def test_migrate_rolls_back_a_failing_migration(pg, tmp_path):
    sql = tmp_path / "sql"
    sql.mkdir()
    for f in (REPO / "sql").glob("00[12]_*.sql"):
        shutil.copy(f, sql)
    (sql / "090_forgets_version.sql").write_text("CREATE TABLE kmen.stray (x int);\n")
    fresh = new_database(pg, migrations=[])
    r = kmenctl("migrate", fresh.conninfo, "--sql-dir", sql)
    assert r.returncode == 1
    assert "090_forgets_version.sql did not record version 90" in r.stderr
    assert fresh.one("SELECT max(version) FROM kmen.schema_migration") == 2
    assert fresh.one("SELECT to_regclass('kmen.stray') IS NULL")
    (sql / "090_forgets_version.sql").write_text("SELECT syntax error;\n")
    r = kmenctl("migrate", fresh.conninfo, "--sql-dir", sql)
    assert r.returncode == 1 and "090_forgets_version.sql" in r.stderr


# --- import-essl -----------------------------------------------------------------------

GOOD = {  # AIFO -> (family, given, birth, systems) once imported
    "AIFO-NOVAK-0001": ("Novák", "Jan", "1980-01-02", {"spisovka", "ris_2"}),
    "AIFO-DVORAK-0002": ("Dvořák, st.", 'Petr "Péťa"', "1975-12-31", {"evidence:A1", "dane.x"}),
    "AIFO-LAST-0013": ("Poslední", "Řádek", "2000-02-29", set()),
}
KNOWN = "AIFO-KNOWN-0012"  # a NIA client already in the register: matched
REJECTED = {4: "family_name holds a control character",
            6: "birth_date is not a real YYYY-MM-DD date",
            7: "family_name is empty",
            8: "family_name is not valid UTF-8",
            9: "aifo holds a space",
            10: "7 fields, the header has 6",
            11: "3 fields, the header has 6",
            12: "column 5 is not a system name",
            13: "a quote inside an unquoted field"}
ESSL_CSV = (
    b"aifo,family_name,given_name,birth_date,system,system2\r\n"
    b"AIFO-NOVAK-0001,Nov\xc3\xa1k,Jan,1980-01-02,spisovka,\r\n"                 # 2
    + '"AIFO-DVORAK-0002","Dvořák, st.","Petr ""Péťa""",1975-12-31,evidence:A1,dane.x\n'
    .encode()                                                                  # 3
    + 'AIFO-MULTI-0003,"Dvě\nřádky",Eva,1990-01-01,,\n'.encode()               # 4-5
    + b"AIFO-DATE-0004,Bad,Date,2023-02-30,,\n"                                # 6
    b"AIFO-EMPTY-0005,,Empty,1990-01-01,,\n"                                   # 7
    b"AIFO-UTF8-0006,\xc3\x28,Bad,1990-01-01,,\n"                              # 8
    b"AIFO SPACE 0007,Space,Ivo,1990-01-01,,\n"                                # 9
    b"AIFO-MANY-0008,Too,Many,1990-01-01,a,b,c\n"                              # 10
    b"AIFO-FEW-0009,Few,1990-01-01\n"                                          # 11
    b"AIFO-SYS-0010,Bad,System,1990-01-01,bad system,\n"                       # 12
    b'AIFO-QUOTE-0011,a"b,X,1990-01-01,,\n'                                    # 13
    b"\n"                                                                      # 14
    b"AIFO-NOVAK-0001,Nov\xc3\xa1k,Jan,1980-01-02,ris_2,\n"                    # 15
    b"AIFO-KNOWN-0012,Known,Person,1970-07-07,spisovka,\n"                     # 16
    + "AIFO-LAST-0013,Poslední,Řádek,2000-02-29,,".encode()                    # 17, no LF
)
ALL_AIFO = [*GOOD, KNOWN, "AIFO-MULTI-0003", "AIFO-DATE-0004", "AIFO-EMPTY-0005",
            "AIFO-UTF8-0006", "AIFO SPACE 0007", "AIFO-MANY-0008", "AIFO-FEW-0009",
            "AIFO-SYS-0010", "AIFO-QUOTE-0011"]


def add_nia_client(db, master, aifo, family="Known"):
    """A client that NIA brought in (resolve_first), with its AIFO in the agenda."""
    client = db.one("INSERT INTO kmen.client (source, family_name) VALUES ('nia', %s) "
                    "RETURNING id", (family,))
    db.query("INSERT INTO kmen.client_aifo (agenda, aifo_index, aifo_sealed, client) "
             "VALUES (%s, %s, %s, %s)", (AGENDA, aifo_index(master, aifo), os.urandom(40), client))
    return client


def client_of(db, master, aifo, agenda=AGENDA):
    rows = db.query("SELECT c.id, c.source, c.family_name, c.given_name, c.birth_date::text, "
                    "a.aifo_sealed, c.deceased::text, c.client_id::text FROM kmen.client_aifo a "
                    "JOIN kmen.client c ON c.id = a.client "
                    "WHERE a.agenda = %s AND a.aifo_index = %s",
                    (agenda, aifo_index(master, aifo, agenda)))
    return rows[0] if rows else None


def systems_of(db, client):
    return {s for (s,) in db.query("SELECT system FROM kmen.client_system WHERE client = %s",
                                   (client,))}


def assert_no_aifo(*texts):
    for text in texts:
        for aifo in ALL_AIFO:
            assert aifo not in text
            assert aifo.encode().hex() not in text


def import_and_check(db, conninfo, key, tmp_path):
    """Imports ESSL_CSV into a register holding KNOWN; checks every row; the run."""
    master = key.read_bytes()
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    known = add_nia_client(db, master, KNOWN)

    r = kmenctl("import-essl", conninfo, csv, "--key-file", key)
    assert r.returncode == 1, r.stderr  # rows were rejected; the others are imported
    assert r.stdout == "added 3, matched 2, rejected 9\n"
    reports = reported_lines(r.stderr)
    assert set(reports) == set(REJECTED) | {15}
    for line, reason in REJECTED.items():
        assert reports[line].startswith(reason), (line, reports[line])
    assert reports[15] == "duplicate of line 2, counted as matched"
    assert "\r" not in r.stderr  # no progress bar when stderr is not a terminal

    for aifo, (family, given, born, systems) in GOOD.items():
        client = client_of(db, master, aifo)
        assert client, aifo
        cid, source, fam, giv, birth, sealed, _, _ = client
        assert (source, fam, giv, birth) == ("essl", family, given, born)
        assert systems_of(db, cid) == systems
        assert len(sealed) == 12 + len(aifo) + 16
        assert aifo_open(master, sealed) in (aifo, None)
    assert client_of(db, master, KNOWN)[1] == "nia"
    assert systems_of(db, known) == {"spisovka"}
    assert db.one("SELECT count(*) FROM kmen.client") == 4
    # the new clients' public identifiers, drawn by kmenctl: random UUIDs (version 4, RFC
    # 4122 variant), each its own
    ids = [row[0] for row in db.query("SELECT client_id::text FROM kmen.client "
                                      "WHERE source = 'essl'")]
    assert len(ids) == len(set(ids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                            r"[0-9a-f]{12}", i) for i in ids), ids
    assert db.query("SELECT outcome, detail FROM kmen.audit WHERE event = 'import_essl'") == \
        [("ok", "added 3, matched 2, rejected 9")]
    return r, csv


def test_import_essl(db, key, tmp_path):
    r, csv = import_and_check(db, db.conninfo, key, tmp_path)
    assert_no_aifo(r.stdout, r.stderr, db.dump())
    again = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert again.returncode == 1, again.stderr
    assert again.stdout == "added 0, matched 5, rejected 9\n"
    assert db.one("SELECT count(*) FROM kmen.client") == 4
    assert db.one("SELECT count(*) FROM kmen.client_aifo") == 4
    assert db.one("SELECT count(*) FROM kmen.client_system") == 5


def test_import_as_an_owner_role(db, key, tmp_path):
    """A login role that owns the register without being superuser: kmenctl keeps every
    foreign-key check (import_apply.c) and builds the same register."""
    db.query("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kmen_operator') "
             "THEN CREATE ROLE kmen_operator LOGIN IN ROLE kmen_owner; END IF; END $$")
    import_and_check(db, db.conninfo.replace("user=postgres", "user=kmen_operator"), key,
                     tmp_path)


def test_import_with_another_key_or_agenda_matches_nothing(db, key, tmp_path):
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert r.stdout == "added 4, matched 1, rejected 9\n"  # line 15 is a duplicate
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", other)
    assert r.stdout == "added 4, matched 1, rejected 9\n"
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key, "--agenda", "A9145")
    assert r.stdout == "added 4, matched 1, rejected 9\n"
    master = key.read_bytes()
    cid = client_of(db, master, "AIFO-LAST-0013", "A9145")
    assert cid and aifo_open(master, cid[5], "A9145") in ("AIFO-LAST-0013", None)
    assert kmenctl("import-essl", db.conninfo, csv, "--key-file", key,
                   "--agenda", "8566").returncode == 2


def test_import_refuses_a_bad_header(db, key, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("aifo,surname,given_name,birth_date\nAIFO-H-1,A,B,1990-01-01\n")
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert r.returncode == 1 and "line 1: the header must be" in r.stderr
    csv.write_text("")
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert r.returncode == 1 and "no header" in r.stderr
    assert db.one("SELECT count(*) FROM kmen.client") == 0


def test_import_progress_on_a_terminal(db, key, tmp_path):
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    leader, follower = os.openpty()
    p = subprocess.Popen([str(KMENCTL), "import-essl", db.conninfo, str(csv), "--key-file",
                          str(key)], stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert p.wait(timeout=60) == 1
    assert p.stdout.read() == b"added 4, matched 1, rejected 9\n"
    assert b"100%" in screen and b"line 6: birth_date" in screen



# --- import-essl into an empty register: indexes built after the rows (import_bulk.c) ----

BULK_NOTE = "empty register: indexes built after the rows"
FILLED = "('kmen.client'::regclass, 'kmen.client_aifo'::regclass, 'kmen.client_system'::regclass)"


def definitions(db):
    """Every index and constraint of the register's schema, as the catalog defines them, and
    the tables' grants (the module's role among them)."""
    return (sorted(db.query("SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE schemaname = 'kmen'")),
            sorted(db.query("SELECT conrelid::regclass::text, conname, "
                            "pg_get_constraintdef(oid) FROM pg_constraint "
                            "WHERE connamespace = 'kmen'::regnamespace")),
            sorted(db.query("SELECT relname, relacl::text FROM pg_class "
                            "WHERE relnamespace = 'kmen'::regnamespace")))


def index_oids(db):
    """{index: oid} of the tables import-essl fills: a rebuilt index has a new oid."""
    return dict(db.query(f"SELECT indexrelid::regclass::text, indexrelid::oid FROM pg_index "
                         f"WHERE indrelid IN {FILLED}"))


def register_rows(db):
    return [db.one(f"SELECT count(*) FROM {t}")
            for t in ("kmen.client", "kmen.client_aifo", "kmen.client_system")]


def owner_role(db):
    db.query("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kmen_operator') "
             "THEN CREATE ROLE kmen_operator LOGIN IN ROLE kmen_owner; END IF; END $$")
    return db.conninfo.replace("user=postgres", "user=kmen_operator")


@pytest.mark.parametrize("owner", [False, True], ids=["superuser", "owner-role"])
def test_import_into_an_empty_register_rebuilds_its_indexes(db, key, tmp_path, owner):
    """On an empty register the indexes are dropped and built again after the rows: each
    has a new oid (but kmen.client's primary key, which foreign keys depend on), and the
    definitions, the grants and the imported register are what the row-by-row way gives."""
    conninfo = owner_role(db) if owner else db.conninfo
    before, oids = definitions(db), index_oids(db)
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    r = kmenctl("import-essl", conninfo, csv, "--key-file", key)
    assert (r.returncode, r.stdout) == (1, "added 4, matched 1, rejected 9\n"), r.stderr
    assert BULK_NOTE in r.stderr
    assert reported_lines(r.stderr)[15] == "duplicate of line 2, counted as matched"
    assert definitions(db) == before
    rebuilt = {name for name, oid in index_oids(db).items() if oids[name] != oid}
    assert rebuilt == set(oids) - {"kmen.client_pkey"}
    master = key.read_bytes()
    for aifo, (family, given, born, systems) in GOOD.items():
        cid, source, fam, giv, birth, _, _, _ = client_of(db, master, aifo)
        assert (source, fam, giv, birth, systems_of(db, cid)) == \
            ("essl", family, given, born, systems)
    assert register_rows(db) == [4, 4, 5]

    oids = index_oids(db)
    again = kmenctl("import-essl", conninfo, csv, "--key-file", key)  # not empty any more
    assert again.stdout == "added 0, matched 5, rejected 9\n", again.stderr
    assert BULK_NOTE not in again.stderr
    assert (index_oids(db), definitions(db), register_rows(db)) == (oids, before, [4, 4, 5])


def test_import_into_a_populated_register_keeps_its_indexes(db, key, tmp_path):
    add_nia_client(db, key.read_bytes(), KNOWN)
    oids = index_oids(db)
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert r.stdout == "added 3, matched 2, rejected 9\n", r.stderr
    assert BULK_NOTE not in r.stderr
    assert index_oids(db) == oids


def stall_the_audit(db, body):
    """A trigger on the import's audit row, its last write before the commit: BODY runs
    once the indexes have been dropped and built again."""
    db.query(f"CREATE FUNCTION public.stall() RETURNS trigger LANGUAGE plpgsql AS "
             f"$$BEGIN {body}; RETURN NEW; END$$")
    db.query("CREATE TRIGGER stall BEFORE INSERT ON kmen.audit FOR EACH ROW "
             "WHEN (NEW.event = 'import_essl') EXECUTE FUNCTION public.stall()")


def wait_for(what, probe, seconds=60):
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.05)
    return found


def fail_by_error(db, run):
    stall_the_audit(db, "RAISE EXCEPTION 'the audit refuses'")
    r = run()
    assert "the audit refuses" in r.stderr
    return r


def fail_by_killed_connection(db, run):
    """The import's server process ended while it writes its audit row; meanwhile the
    tables are locked: a login (here a read of kmen.client) waits."""
    import psycopg2
    stall_the_audit(db, "PERFORM pg_sleep(120)")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(run)
        pid = wait_for("stalled import", lambda: db.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event = 'PgSleep' "
            "AND query LIKE 'INSERT INTO kmen.audit%%'", (db.name,)))[0][0]
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            db.query("SET lock_timeout = '100ms'; SELECT count(*) FROM kmen.client")
        assert db.one("SELECT pg_terminate_backend(%s)", (pid,))
        r = running.result()
    wait_for("end of the import's server process", lambda: not db.query(
        "SELECT FROM pg_stat_activity WHERE pid = %s", (pid,)))
    return r


@pytest.mark.parametrize("fail", [fail_by_error, fail_by_killed_connection],
                         ids=["error", "killed"])
def test_a_failed_import_into_an_empty_register_changes_nothing(db, key, tmp_path, fail):
    """A failure after the indexes were dropped and built again rolls everything back: the
    same indexes (same oids), no row; the next run imports as the first would have."""
    before, oids = definitions(db), index_oids(db)
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    r = fail(db, lambda: kmenctl("import-essl", db.conninfo, csv, "--key-file", key))
    assert r.returncode == 1 and r.stdout == ""
    assert BULK_NOTE in r.stderr
    assert (definitions(db), index_oids(db), register_rows(db)) == (before, oids, [0, 0, 0])
    db.query("DROP TRIGGER stall ON kmen.audit")
    r = kmenctl("import-essl", db.conninfo, csv, "--key-file", key)
    assert (r.stdout, register_rows(db)) == ("added 4, matched 1, rejected 9\n", [4, 4, 5])
    assert definitions(db) == before


# --- notify ----------------------------------------------------------------------------

NOTIFY_CSV = """event,aifo,value
change,AIFO-A,AIFO-A2
merge,AIFO-A2,AIFO-B
death,AIFO-A2,2024-05-01
change,AIFO-NOPE,AIFO-X
merge,AIFO-C,AIFO-D
death,AIFO-C,2024-02-30
change,AIFO-C,AIFO-C
birth,AIFO-C,AIFO-E
change,AIFO-C,AIFO-A2
death,AIFO-ZZZ,2024-01-01
"""


def test_notify(db, key, tmp_path):
    master = key.read_bytes()
    people = tmp_path / "essl.csv"
    people.write_text("aifo,family_name,given_name,birth_date,system\n"
                      "AIFO-A,Alfa,Anna,1950-01-01,s1\n"
                      "AIFO-B,Beta,Bára,1950-01-01,s2\n"
                      "AIFO-C,Gama,Cyril,1960-01-01,\n"
                      "AIFO-D,Delta,Dana,1960-01-01,\n")
    assert kmenctl("import-essl", db.conninfo, people, "--key-file", key).returncode == 0
    a, b, c, d = (client_of(db, master, x) for x in ("AIFO-A", "AIFO-B", "AIFO-C", "AIFO-D"))
    bsi = os.urandom(32)
    db.query("INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (%s, %s)", (bsi, b[0]))
    db.query("INSERT INTO kmen.client_pseudonym (pseudonym_index, client) VALUES (%s, %s)",
             (os.urandom(32), b[0]))
    db.query("INSERT INTO kmen.client_system (client, system) VALUES (%s, 's1')", (b[0],))
    evidence = db.one("INSERT INTO kmen.evidence (client, type, country) "
                      "VALUES (%s, 'birth-certificate', 'DE') RETURNING id::text", (b[0],))
    for client in (c, d):  # both hold an AIFO in another agenda: C and D cannot merge
        db.query("INSERT INTO kmen.client_aifo VALUES ('A9145', %s, %s, %s)",
                 (os.urandom(32), os.urandom(40), client[0]))
    notes = tmp_path / "notify.csv"
    notes.write_text(NOTIFY_CSV)

    r = kmenctl("notify", db.conninfo, notes, "--key-file", key)
    assert r.returncode == 1, r.stderr  # lines were skipped; the others are applied
    assert r.stdout == "applied 3, skipped 7\n"
    reports = reported_lines(r.stderr)
    assert sorted(reports) == [5, 6, 7, 8, 9, 10, 11]
    assert reports[5] == "the old AIFO is not in the register"
    assert reports[6] == "both clients have an AIFO in the same agenda"
    assert reports[7] == "value is not a real YYYY-MM-DD date"
    assert reports[8] == "aifo and value are the same AIFO"
    assert reports[9].startswith("unknown event")
    assert reports[10].startswith("the new AIFO already belongs to a client")
    assert reports[11] == "the AIFO is not in the register"
    for text in (r.stdout, r.stderr):
        for aifo in ("AIFO-A", "AIFO-B", "AIFO-C", "AIFO-D", "AIFO-NOPE", "AIFO-ZZZ"):
            assert aifo not in text

    # change: the same client, now under the new AIFO only
    assert client_of(db, master, "AIFO-A") is None
    survivor = client_of(db, master, "AIFO-A2")
    assert survivor[0] == a[0]
    assert aifo_open(master, survivor[5]) in ("AIFO-A2", None)
    # merge: B's links moved to A, B and its cancelled AIFO are gone; B's client
    # identifier lives on as an alias that resolves to A
    assert client_of(db, master, "AIFO-B") is None
    assert db.one("SELECT count(*) FROM kmen.client WHERE id = %s", (b[0],)) == 0
    assert db.query("SELECT client, announced FROM kmen.client_alias WHERE alias = %s",
                    (b[7],)) == [(a[0], False)]
    assert db.one("SELECT kmen.client_of(%s)", (b[7],)) == a[0]
    assert db.one("SELECT client FROM kmen.client_bsi WHERE bsi_index = %s", (bsi,)) == a[0]
    assert db.one("SELECT client FROM kmen.client_pseudonym") == a[0]
    assert systems_of(db, a[0]) == {"s1", "s2"}
    assert db.one("SELECT client FROM kmen.evidence WHERE id = %s", (evidence,)) == a[0]
    assert db.one("SELECT count(*) FROM kmen.client_aifo WHERE client = %s", (a[0],)) == 1
    # death
    assert survivor[6] == "2024-05-01"
    # the skipped lines changed nothing
    assert client_of(db, master, "AIFO-C")[6] is None
    assert client_of(db, master, "AIFO-D") == d
    audit = db.query("SELECT outcome, detail, client_id::text, request_id FROM kmen.audit "
                     "WHERE event = 'notify' ORDER BY id")
    assert [(o, dt, cid) for o, dt, cid, _ in audit] == [
        ("applied", "change", a[7]), ("applied", "merge", a[7]), ("merged", "merge", b[7]),
        ("applied", "death", a[7])]
    assert audit[1][3] == audit[2][3] and audit[0][3] != audit[1][3]
    assert db.query("SELECT outcome, detail, client_id::text, request_id FROM kmen.audit "
                    "WHERE event = 'merge'") == [("merged", f"notify merge: {b[7]}", a[7],
                                                  audit[1][3])]
    assert_no_aifo(db.dump())
    for aifo in ("AIFO-A2", "AIFO-C", "AIFO-D"):
        assert aifo not in db.dump()


def test_notify_refuses_a_bad_header(db, key, tmp_path):
    notes = tmp_path / "notify.csv"
    notes.write_text("event,aifo\nchange,A,B\n")
    r = kmenctl("notify", db.conninfo, notes, "--key-file", key)
    assert r.returncode == 1 and "header must be event,aifo,value" in r.stderr


# --- merge ---------------------------------------------------------------------------

def merge_setup(db, key, tmp_path):
    """X and Z in the register agenda, Y (X's duplicate) only in A9145, W in A9146:
    their client rows by letter."""
    master = key.read_bytes()
    for agenda, rows in ((AGENDA, "AIFO-X,Iks,Xaver,1950-01-01,sx\n"
                                  "AIFO-Z,Zet,Zora,1960-01-01,\n"),
                         ("A9145", "AIFO-Y,Iks,Xaver,1950-01-01,sy\n"),
                         ("A9146", "AIFO-W,Iks,X.,1950-01-01,\n")):
        people = tmp_path / f"essl-{agenda}.csv"
        people.write_text("aifo,family_name,given_name,birth_date,system\n" + rows)
        r = kmenctl("import-essl", db.conninfo, people, "--key-file", key, "--agenda", agenda)
        assert r.returncode == 0, r.stderr
    clients = {"X": client_of(db, master, "AIFO-X"), "Z": client_of(db, master, "AIFO-Z"),
               "Y": client_of(db, master, "AIFO-Y", "A9145"),
               "W": client_of(db, master, "AIFO-W", "A9146")}
    assert all(clients.values()), clients
    return clients


def test_merge(db, key, tmp_path):
    c = merge_setup(db, key, tmp_path)
    x, y, z, w = (c[k][7] for k in "XYZW")
    bsi = os.urandom(32)
    db.query("INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (%s, %s)", (bsi, c["Y"][0]))
    unknown = "00000000-0000-4000-8000-000000000000"

    r = kmenctl("merge", db.conninfo, "--into", x, y, z, unknown, x)
    assert r.returncode == 1
    assert r.stdout == f"{y}: merged\n"
    assert r.stderr == (f"{z}: conflict: both hold an AIFO in the same agenda\n"
                        f"{unknown}: unknown\n{x}: same\n")
    # Y merged: its AIFO, BSI and system are X's now, its identifier an alias of X
    assert db.one("SELECT count(*) FROM kmen.client WHERE client_id = %s", (y,)) == 0
    assert client_of(db, key.read_bytes(), "AIFO-Y", "A9145")[0] == c["X"][0]
    assert db.one("SELECT client FROM kmen.client_bsi WHERE bsi_index = %s", (bsi,)) == c["X"][0]
    assert systems_of(db, c["X"][0]) == {"sx", "sy"}
    assert db.query("SELECT client FROM kmen.client_alias WHERE alias = %s", (y,)) == \
        [(c["X"][0],)]
    # Z refused: untouched
    assert client_of(db, key.read_bytes(), "AIFO-Z") == c["Z"]
    audit = db.query("SELECT outcome, detail, client_id::text FROM kmen.audit "
                     "WHERE event = 'merge' ORDER BY id")
    assert audit == [("merged", f"kmenctl merge: {y}", x), ("conflict", "kmenctl merge", x)]

    # the alias names the survivor: as --into, and as a client to merge (same)
    r = kmenctl("merge", db.conninfo, "--into", y, w)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{w}: merged\n", "")
    assert client_of(db, key.read_bytes(), "AIFO-W", "A9146")[0] == c["X"][0]
    r = kmenctl("merge", db.conninfo, "--into", x, w)
    assert (r.returncode, r.stderr) == (1, f"{w}: same\n")
    assert db.query("SELECT alias::text FROM kmen.client_alias WHERE client = %s ORDER BY merged",
                    (c["X"][0],)) == [(y,), (w,)]
    counts = stats_of(db)
    assert counts["merged identifiers (aliases)"] == 2
    assert (counts["clients"], counts["verified"], counts["potential (unverified)"]) == (2, 2, 0)


def test_merge_into_a_missing_database_fails(tmp_path):
    some_id = "0b9d7f0e-5a53-4d4c-9a57-0d6f1c2a3b4c"
    r = kmenctl("merge", f"host={tmp_path} dbname=none", "--into", some_id,
                "1b9d7f0e-5a53-4d4c-9a57-0d6f1c2a3b4c")
    assert r.returncode == 1 and "cannot connect" in r.stderr


# --- add-potential -------------------------------------------------------------------

def normalised(kind, value):
    """The normal form mod_kmen (register.c) and kmenctl (contact.c) index."""
    if kind == "email":
        return "".join(ch for ch in value if ch not in " \t\n\v\f\r").translate(
            str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
    if kind == "phone":
        out = ""
        for ch in value:
            if ch.isascii() and ch.isdigit() or (ch == "+" and not out):
                out += ch
        return out
    return "".join(ch for ch in value if ch not in " \t\n\v\f\r")


def contacts_of(db, master, client_id):
    """{kind: (value opened from the ciphertext, whether the index is the normal form's)}."""
    rows = db.query("SELECT cc.kind, cc.value_index, cc.value_sealed FROM kmen.client_contact cc "
                    "JOIN kmen.client c ON c.id = cc.client WHERE c.client_id = %s", (client_id,))
    out = {}
    for kind, index, sealed in rows:
        value = contact_open(master, kind, sealed)
        out[kind] = (value, value is None or bytes(index) == contact_index(
            master, kind, normalised(kind, value)))
    return out


def add_potential(db, key, *args):
    r = kmenctl("add-potential", db.conninfo, "--key-file", key, *args)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"([0-9a-f-]{36}) (new|existing)\n", r.stdout)
    assert m, r.stdout
    return m.groups()


CONTACT_DATA = ("Jana.Novakova@Example.CZ", "jana.novakova", "+420 777 000 111", "777000111",
                "Jana Nováková", "Nováková")


def test_add_potential(db, key):
    master = key.read_bytes()
    cid, outcome = add_potential(db, key, "--email", " Jana.Novakova@Example.CZ ",
                                 "--name", "Jana  Nováková")
    assert outcome == "new"
    assert add_potential(db, key, "--email", "jana.novakova@example.cz",
                         "--phone", "+420 777 000 111") == (cid, "existing")
    assert add_potential(db, key, "--phone", "+420777000111") == (cid, "existing")
    assert add_potential(db, key, "--phone", "(+420) 777-000-111") == (cid, "existing")
    other, outcome = add_potential(db, key, "--phone", "420777000111")  # no '+': another
    assert outcome == "new" and other != cid
    assert db.query("SELECT source, potential, family_name FROM kmen.client "
                    "WHERE client_id = %s", (cid,)) == [("contact", True, None)]
    found = contacts_of(db, master, cid)
    assert set(found) == {"email", "phone", "name"}
    assert all(ok for _, ok in found.values()), found
    if found["email"][0] is not None:  # the value as given, not its normal form
        assert found["email"][0] == " Jana.Novakova@Example.CZ "
        assert found["phone"][0] == "+420 777 000 111"
        assert found["name"][0] == "Jana  Nováková"
    assert contact_index(master, "email", "jana.novakova@example.cz") in [
        bytes(i) for (i,) in db.query("SELECT value_index FROM kmen.client_contact")]
    audit = db.query("SELECT outcome, client_id::text, request_id FROM kmen.audit "
                     "WHERE event = 'potential' ORDER BY id")
    assert [(o, c) for o, c, _ in audit] == [("new", cid), ("existing", cid), ("existing", cid),
                                            ("existing", cid), ("new", other)]
    assert all(rid.startswith("kmenctl-add-potential ") for _, _, rid in audit)
    counts = stats_of(db)
    assert counts["from an unofficial contact (contact)"] == 2
    assert (counts["potential (unverified)"], counts["verified"]) == (2, 0)
    dump = db.dump()
    for value in CONTACT_DATA:
        assert value not in dump and value.encode().hex() not in dump


POTENTIAL_CSV = (
    "\ufeffemail,phone,name\r\n"
    "petr.maly@example.cz,,Petr Malý\r\n"                  # 2 new
    ",+420 603 111 222,\r\n"                                # 3 new
    ",,Jen Jméno\r\n"                                       # 4 refused: a name alone
    "\r\n"                                                  # 5 empty
    "PETR.MALY@example.cz,+420603111222,\r\n"               # 6 existing (line 2's)
    "a@b.cz,+420\r\n"                                       # 7 refused: 2 fields
    "x@y.cz,n/a,\r\n"                                       # 8 refused: phone
    '"víc\nřádků@example.cz",,\r\n'                          # 9-10 refused: control
    'ok@example.cz,"+420 1","a""b"\r\n'                        # 11 new
    'bad"quote@example.cz,,\r\n'                            # 12 refused: CSV
    "kamil@example.cz,,Kamil"                                # 13 new, no line break
)


def test_add_potential_from_a_file(db, key, tmp_path):
    master = key.read_bytes()
    csv = tmp_path / "contacts.csv"
    csv.write_text(POTENTIAL_CSV, encoding="utf-8")
    r = kmenctl("add-potential", db.conninfo, csv, "--key-file", key)
    assert r.returncode == 0, r.stderr
    printed = {int(n): (cid, outcome) for n, cid, outcome in
               re.findall(r"^line (\d+): ([0-9a-f-]{36}) (new|existing)$", r.stdout, re.M)}
    assert sorted(printed) == [2, 3, 6, 11, 13]
    assert r.stdout.endswith("new 4, existing 1, refused 5\n")
    assert printed[6] == (printed[2][0], "existing")
    assert len({printed[n][0] for n in (2, 3, 11, 13)}) == 4
    reports = reported_lines(r.stderr)
    assert sorted(reports) == [4, 7, 8, 9, 12]
    assert reports[4].startswith("neither e-mail nor phone")
    assert reports[7] == "2 fields, expected 3 (email,phone,name)"
    assert reports[8] == "phone holds no digits"
    assert reports[9] == "email holds a control character"
    assert reports[12] == "a quote inside an unquoted field"
    assert set(contacts_of(db, master, printed[2][0])) == {"email", "phone", "name"}
    assert db.one("SELECT count(*) FROM kmen.client") == 4
    for text in (r.stdout, r.stderr, db.dump()):
        for value in ("petr.maly", "Malý", "603 111", "603111", "Jméno", "kamil@", "a@b.cz"):
            assert value not in text


def test_add_potential_refuses_a_bad_header(db, key, tmp_path):
    csv = tmp_path / "contacts.csv"
    csv.write_text("e-mail,phone,name\njana@example.cz,,\n")
    r = kmenctl("add-potential", db.conninfo, csv, "--key-file", key)
    assert r.returncode == 1 and "line 1: the header must be email,phone,name" in r.stderr
    csv.write_text("")
    r = kmenctl("add-potential", db.conninfo, csv, "--key-file", key)
    assert r.returncode == 1 and "no header" in r.stderr
    assert db.one("SELECT count(*) FROM kmen.client") == 0


# --- stats and purge -------------------------------------------------------------------

def stats_of(db):
    r = kmenctl("stats", db.conninfo)
    assert r.returncode == 0, r.stderr
    counts = {}
    for line in r.stdout.splitlines():
        label, value = re.match(r"^(.*\S)\s+(\d+)$", line).groups()
        counts[label.strip()] = int(value)
    return counts


def add_login_state(db):
    for expires in ("now() + interval '1 hour'", "now() + interval '1 hour'",
                    "now() - interval '1 hour'"):
        db.query("INSERT INTO kmen.session (id_hash, subject, payload, expires) "
                 f"VALUES (%s, %s, %s, {expires})", (os.urandom(32), os.urandom(32), b"x"))
    for i, expires in enumerate(("now() + interval '5 minutes'", "now() - interval '5 minutes'")):
        db.query("INSERT INTO kmen.authn_request (id, return_to, min_loa, expires) "
                 f"VALUES (%s, '/', 2, {expires})", (f"_req{i}",))
    for i, expires in enumerate(("now() + interval '5 minutes'", "now() - interval '5 minutes'",
                                 "now() - interval '1 day'")):
        db.query(f"INSERT INTO kmen.replay (assertion_id, expires) VALUES (%s, {expires})",
                 (f"_a{i}",))
    db.query("INSERT INTO kmen.audit (at, event, outcome) VALUES "
             "(now() - interval '40 days', 'resolve', 'new'), (now(), 'resolve', 'returning')")
    for expires in ("now() + interval '1 hour'", "now() - interval '1 hour'"):
        db.query("INSERT INTO kmen.pending (pseudonym_index, expires) "
                 f"VALUES (%s, {expires})", (os.urandom(32),))


def test_stats(db, key, tmp_path):
    master = key.read_bytes()
    csv = tmp_path / "essl.csv"
    csv.write_bytes(ESSL_CSV)
    known = add_nia_client(db, master, KNOWN)
    assert kmenctl("import-essl", db.conninfo, csv, "--key-file", key).returncode == 1  # rejects
    db.query("INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (%s, %s)",
             (os.urandom(32), known))
    db.query("UPDATE kmen.client SET deceased = '2020-01-01' WHERE id = %s", (known,))
    add_login_state(db)
    counts = stats_of(db)
    assert counts["clients"] == 4
    assert counts["from the filing service (essl)"] == 3
    assert counts["from NIA (nia)"] == 1
    assert counts["from eIDAS (eidas)"] == 0
    assert counts["from an unofficial contact (contact)"] == 0
    assert (counts["potential (unverified)"], counts["verified"]) == (0, 4)
    assert counts["merged identifiers (aliases)"] == 0
    assert counts["with a linked BSI"] == 1
    assert counts["deceased"] == 1
    assert counts["eIDAS pseudonyms"] == 0
    assert counts["AIFO links"] == 4
    assert counts["system links"] == 5
    assert (counts["sessions live"], counts["sessions expired"]) == (2, 1)
    assert (counts["outstanding requests"], counts["expired requests"]) == (1, 1)
    assert counts["pending verifications"] == 1
    assert counts["evidence requests"] == 0
    assert counts["replay entries"] == 3
    assert counts["audit rows"] == 3  # the import's own and the two above


def test_purge(db):
    add_login_state(db)
    r = kmenctl("purge", db.conninfo)
    assert r.returncode == 0, r.stderr
    printed = dict(re.match(r"^(.*\S)\s+(\d+)$", line).groups() for line in r.stdout.splitlines())
    assert printed == {"sessions": "1", "replay entries": "2", "authn requests": "1",
                       "pending verifications": "1"}
    assert db.one("SELECT count(*) FROM kmen.session") == 2
    assert db.one("SELECT count(*) FROM kmen.replay") == 1
    assert db.one("SELECT count(*) FROM kmen.authn_request") == 1
    assert db.one("SELECT count(*) FROM kmen.pending") == 1
    assert db.one("SELECT count(*) FROM kmen.audit WHERE event = 'resolve'") == 2

    r = kmenctl("purge", db.conninfo, "--audit-days", "30")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^audit rows\s+1$", r.stdout, re.M)
    assert re.search(r"^sessions\s+0$", r.stdout, re.M)
    assert db.query("SELECT outcome FROM kmen.audit WHERE event = 'resolve'") == [("returning",)]
    assert db.query("SELECT detail FROM kmen.audit WHERE event = 'purge' ORDER BY id") == [
        ("sessions 1, replay entries 2, authn requests 1, pending verifications 1",),
        ("sessions 0, replay entries 0, authn requests 0, pending verifications 0, "
         "audit rows 1",)]


def test_purge_refuses_zero_audit_days(db):
    """--audit-days 0 would delete the whole audit log: refused, nothing deleted."""
    add_login_state(db)
    audit = db.one("SELECT count(*) FROM kmen.audit")
    for args in (("--audit-days", "0"), ("--audit-days", "0", "--dry-run")):
        r = kmenctl("purge", db.conninfo, *args)
        assert r.returncode == 2 and "from 1 to 36500" in r.stderr, r.stderr
    assert db.one("SELECT count(*) FROM kmen.audit") == audit
    assert db.one("SELECT count(*) FROM kmen.session") == 3


def test_purge_dry_run(db):
    add_login_state(db)
    tables = ("session", "replay", "authn_request", "pending", "audit")
    before = {t: db.one(f"SELECT count(*) FROM kmen.{t}") for t in tables}
    r = kmenctl("purge", db.conninfo, "--dry-run", "--audit-days", "30")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "dry run: nothing was deleted"
    printed = dict(re.match(r"^(.*\S)\s+(\d+)$", line).groups() for line in lines[:-1])
    assert printed == {"sessions": "1", "replay entries": "2", "authn requests": "1",
                       "pending verifications": "1", "audit rows": "1"}
    assert {t: db.one(f"SELECT count(*) FROM kmen.{t}") for t in tables} == before
    r = kmenctl("purge", db.conninfo, "--audit-days", "30")  # what it said it would
    assert r.stdout.splitlines() == lines[:-1]


# --- exit status, the environment, hints -------------------------------------------------

def test_import_and_notify_exit_0_when_every_row_is_taken(db, key, tmp_path):
    people = tmp_path / "essl.csv"
    people.write_text("aifo,family_name,given_name,birth_date\n"
                      "AIFO-E1,Alfa,Anna,1950-01-01\nAIFO-E2,Beta,Bára,1950-01-01\n")
    r = kmenctl("import-essl", db.conninfo, people, "--key-file", key)
    assert (r.returncode, r.stdout) == (0, "added 2, matched 0, rejected 0\n"), r.stderr
    notes = tmp_path / "notify.csv"
    notes.write_text("event,aifo,value\ndeath,AIFO-E1,2020-01-01\n")
    r = kmenctl("notify", db.conninfo, notes, "--key-file", key)
    assert (r.returncode, r.stdout) == (0, "applied 1, skipped 0\n"), r.stderr
    notes.write_text("event,aifo,value\ndeath,AIFO-E2,2020-01-01\ndeath,AIFO-NONE,2020-01-01\n")
    r = kmenctl("notify", db.conninfo, notes, "--key-file", key)
    assert (r.returncode, r.stdout) == (1, "applied 1, skipped 1\n"), r.stderr


def test_conninfo_from_libpq_environment(db, key, tmp_path):
    """With PGHOST, PGDATABASE or PGSERVICE set, CONNINFO may be left out."""
    env = {"PGHOST": str(db.pg.sock), "PGPORT": str(db.pg.port), "PGDATABASE": db.name,
           "PGUSER": "postgres"}
    given = kmenctl("stats", db.conninfo)
    assert given.returncode == 0, given.stderr
    r = kmenctl("stats", env=env)
    assert (r.returncode, r.stdout) == (0, given.stdout), r.stderr
    assert kmenctl("stats", "", env=env).stdout == given.stdout  # "" given: libpq's default
    assert kmenctl("stats").returncode == 2  # neither CONNINFO nor the environment
    people = tmp_path / "essl.csv"
    people.write_text("aifo,family_name,given_name,birth_date\nAIFO-ENV,Alfa,Anna,1950-01-01\n")
    r = kmenctl("import-essl", people, "--key-file", key, env=env)
    assert (r.returncode, r.stdout) == (0, "added 1, matched 0, rejected 0\n"), r.stderr
    r = kmenctl("purge", "--dry-run", env={"PGDATABASE": db.name, "PGHOST": str(db.pg.sock),
                                           "PGPORT": str(db.pg.port), "PGUSER": "postgres"})
    assert r.returncode == 0, r.stderr
    r = kmenctl("stats", "x", env=env)  # x is no CONNINFO: one argument too many
    assert r.returncode == 2 and "too many arguments" in r.stderr


SEMICOLONS = "the header line is separated by ';'"
NOT_UTF8 = "the file is not UTF-8 (Windows-1250?): convert it with iconv -f cp1250 -t utf-8"


@pytest.mark.parametrize("command, header", [
    ("import-essl", "aifo;family_name;given_name;birth_date"),
    ("import-essl", '"aifo";"family_name";"given_name";"birth_date"'),
    ("notify", "event;aifo;value"),
    ("add-potential", "email;phone;name"),
])
def test_hint_on_a_semicolon_header(db, key, tmp_path, command, header):
    f = tmp_path / "export.csv"
    f.write_text(header + "\r\nX;Y;Z;W\r\n")
    r = kmenctl(command, db.conninfo, f, "--key-file", key)
    assert r.returncode == 1 and "line 1: " in r.stderr
    assert f"kmenctl: hint: {SEMICOLONS}: save the file as CSV with ','" in r.stderr, r.stderr


@pytest.mark.parametrize("command, header", [
    ("import-essl", "aifo,příjmení,jméno,datum_narození"),
    ("notify", "událost,aifo,hodnota"),
    ("add-potential", "e-mail,telefon,jméno"),
])
def test_hint_on_a_windows_1250_header(db, key, tmp_path, command, header):
    f = tmp_path / "export.csv"
    f.write_bytes((header + "\n").encode("cp1250"))
    r = kmenctl(command, db.conninfo, f, "--key-file", key)
    assert r.returncode == 1 and f"kmenctl: hint: {NOT_UTF8}" in r.stderr, r.stderr
    f.write_text("aifo,family_name\n")  # a wrong header of another kind: no hint
    assert "hint" not in kmenctl(command, db.conninfo, f, "--key-file", key).stderr
