#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Benchmark of `kmenctl import-essl`: a 1,000,000-row name register into a
throwaway PostgreSQL, then the same file again (idempotent re-import).

Prints seconds and rows/s and writes the section "kmenctl import-essl" of
bench/RESULTS.md. Goals, on the 2-core machine: the first import of 1,000,000 rows
under 30 s, of 10,000,000 rows under 4 minutes. Run with `make bench-import`
(KMEN_BENCH_ROWS=N for another size, which does not touch RESULTS.md). `make bench-10m`
runs it with KMEN_BENCH_ROWS=10000000: the first import only, its own section of
RESULTS.md, and its figure kept for make bench's goals table (bench/goals.py)."""

import collections
import datetime
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))

from goals import record_separate  # noqa: E402
from t.lib.pg import PG_BIN, Postgres, as_postgres  # noqa: E402

KMENCTL = REPO / "kmenctl" / "kmenctl"
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION = "## kmenctl import-essl"
GOAL_SECONDS = 30
FULL_ROWS = 1_000_000
BIG_ROWS = 10_000_000
SECTION_BIG = "## kmenctl import-essl, 10,000,000 rows (make bench-10m)"
GOALS = {FULL_ROWS: GOAL_SECONDS, BIG_ROWS: 240}  # rows: seconds of the first import
RUNS = (("first import, superuser (empty register)", "postgres"),
        ("same file again (idempotent)", "postgres"),
        ("first import, owner role kmen_operator", None))

FAMILY = ["Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý",
          "Horák", "Němec", "Pokorný", "Pospíšil", "Hájek", "Jelínek", "Růžička", "Beneš",
          "Fiala", "Sedláček", "Doležal", "Zeman", "Kolář", "Navrátil", "Čermák", "Vaněk",
          "Urban", "Blažek", "Kříž", "Kovář", "Bartoš", "Vlček", "Šťastný", "Žáček"]
GIVEN = ["Jiří", "Jan", "Petr", "Josef", "Pavel", "Martin", "Tomáš", "Jaroslav", "Miroslav",
         "Zdeněk", "Václav", "Michal", "František", "Jakub", "Marie", "Jana", "Eva", "Hana",
         "Anna", "Lenka", "Kateřina", "Lucie", "Věra", "Alena", "Petra", "Zuzana", "Ivana",
         "Božena", "Markéta", "Jitka", "Šárka", "Růžena"]
SYSTEMS = ["spisovka", "evidence-obyvatel", "dane:A1234", "socialni.davky", "ris_2"]
AIFO_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class DurablePostgres(Postgres):
    """The test harness's throwaway cluster, but with fsync on (the harness turns it off
    for speed): the figure should be what a real server gives."""

    def start(self):
        opts = f"-k {self.sock} -p {self.port} -c listen_addresses=''"
        r = as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts,
                        "-w", "-t", "30", "start", check=False)
        if r.returncode:
            raise RuntimeError(f"postgres did not start:\n{r.stdout}{r.stderr}")
        self.running = True


def generate(path, rows, seed=8566):
    """RFC 4180 CSV: random 24-character AIFOs (unique), Czech names (some
    quoted, with a comma), dates, a system on about a third of the rows."""
    rnd = random.Random(seed)
    seen = set()
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("aifo,family_name,given_name,birth_date,system\n")
        for _ in range(rows):
            aifo = "".join(rnd.choices(AIFO_ALPHABET, k=22)) + "=="
            while aifo in seen:
                aifo = "".join(rnd.choices(AIFO_ALPHABET, k=22)) + "=="
            seen.add(aifo)
            family = rnd.choice(FAMILY)
            if rnd.random() < 0.05:
                family = f'"{family}, ml."'
            born = datetime.date(1920, 1, 1) + datetime.timedelta(days=rnd.randrange(36500))
            system = rnd.choice(SYSTEMS) if rnd.random() < 0.33 else ""
            f.write(f"{aifo},{family},{rnd.choice(GIVEN)},{born.isoformat()},{system}\n")


def machine(pg):
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    setting = {name: pg.query(f"SHOW {name}")[0][0]
               for name in ("server_version", "fsync", "shared_buffers", "max_wal_size")}
    return {"cores": os.cpu_count(), "ram": f"{mem_kib / 1024 / 1024:.0f} GiB",
            "cpu": cpu.group(1).strip() if cpu else "unknown",
            "date": datetime.date.today().isoformat(), **setting}


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of process PID so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def phase_of(state, query):
    """What kmenctl's session is doing, from pg_stat_activity: its statement's first words
    (the COPY, each INSERT, each CREATE INDEX or ADD CONSTRAINT, ANALYZE), or "kmenctl"
    while the server waits for the client between statements."""
    if state != "active":
        return "kmenctl between statements"
    words = re.sub(r"\s+", " ", query).strip()
    m = re.match(r"(ALTER TABLE \S+ ADD CONSTRAINT \S+|CREATE (UNIQUE )?INDEX \S+ ON \S+"
                 r"|CREATE (TEMP )?TABLE \S+"
                 r"|INSERT INTO \S+|WITH \w+ AS \(INSERT INTO \S+|COPY \S+|\w+ \S+)", words)
    return m.group(0) if m else words[:40]


class ImportProfile(threading.Thread):
    """Where an import's time goes: pg_stat_activity sampled every INTERVAL seconds for
    kmenctl's session (what it runs, what it waits for), with the CPU kmenctl and that
    backend used between samples. Sampling, not tracing: a phase under a second or two may
    be missed, and each figure is good to about one interval."""

    INTERVAL = 0.5
    # the index being built, when the statement builds indexes (kmenctl/import_bulk.c runs
    # the builds of an empty register's import as one DO block, whose text names none)
    ACTIVITY = ("SELECT a.pid, a.state, coalesce(a.wait_event, 'CPU'), a.query, "
                "coalesce(nullif(p.index_relid, 0)::regclass::text, "
                "'on ' || p.relid::regclass::text) FROM pg_stat_activity a "
                "LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid "
                "WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() "
                "AND a.datname = current_database()")

    def __init__(self, pg, kmenctl_pid):
        super().__init__(daemon=True)
        self.pg, self.kmenctl = pg, kmenctl_pid
        self.stop = threading.Event()
        self.phases = collections.OrderedDict()

    def run(self):
        conn = psycopg2.connect(self.pg.conninfo("postgres"))
        conn.autocommit = True
        last = time.monotonic()
        cpu = {}
        try:
            while not self.stop.wait(self.INTERVAL):
                with conn.cursor() as cur:
                    cur.execute(self.ACTIVITY)
                    rows = cur.fetchall()
                now = time.monotonic()
                for pid, state, wait, query, building in rows[:1]:
                    phase = f"index build {building}" if building else phase_of(state, query)
                    self.add(phase, wait, now - last, cpu, pid)
                last = now
        finally:
            conn.close()

    def add(self, phase, wait, seconds, cpu, backend):
        p = self.phases.setdefault(phase, {"seconds": 0.0, "client": 0.0, "server": 0.0,
                                           "waits": collections.Counter()})
        p["seconds"] += seconds
        p["waits"][wait] += seconds
        for who, pid in (("client", self.kmenctl), ("server", backend)):
            now = cpu_seconds(pid)
            p[who] += max(0.0, now - cpu.get(pid, 0.0))  # both start with the import
            cpu[pid] = now

    def table(self):
        rows = ["| phase (kmenctl's statement) | seconds | kmenctl CPU s | PostgreSQL CPU s "
                "| waits (s) |", "|---|---|---|---|---|"]
        for name, p in self.phases.items():
            waits = ", ".join(f"{w} {s:.0f}" for w, s in p["waits"].most_common(3))
            rows.append(f"| `{name}` | {p['seconds']:.1f} | {p['client']:.1f} "
                        f"| {p['server']:.1f} | {waits} |")
        return "\n".join(rows)


def import_once(pg, csv, key, user="postgres", profile=False):
    """(seconds, what kmenctl said, its ImportProfile or None) of one import of CSV."""
    start = time.monotonic()
    proc = subprocess.Popen([str(KMENCTL), "import-essl", pg.conninfo(user), str(csv),
                             "--key-file", str(key)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = ImportProfile(pg, proc.pid) if profile else None
    if sampler:
        sampler.start()
    out, err = proc.communicate()
    seconds = time.monotonic() - start
    if sampler:
        sampler.stop.set()
        sampler.join()
    if proc.returncode:
        raise SystemExit(f"kmenctl failed ({proc.returncode}):\n{err}")
    return seconds, out.strip(), sampler


def as_operator(pg):
    """An empty register again, and a login role that owns it without being superuser:
    kmenctl then keeps the foreign-key checks of the new rows (import_apply.c)."""
    pg.query("TRUNCATE kmen.client, kmen.audit CASCADE")
    pg.query("CREATE ROLE kmen_operator LOGIN IN ROLE kmen_owner")
    pg.query("CHECKPOINT")
    return "kmen_operator"


def write_results(text):
    write_results_section(SECTION, text)


def write_results_section(section, text):
    """Replaces SECTION (a "## " heading and what follows up to the next) of RESULTS.md with
    TEXT, or appends it."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = text.rstrip("\n") + "\n\n"  # a blank line before the next section's heading
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else \
        old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new.rstrip("\n") + "\n")


def table(rows, runs):
    return "\n".join(f"| {name} | {t:.1f} | {rows / t:,.0f} | `{out}` |"
                     for name, (t, out) in runs)


def profile_text(profile):
    return f"""Where the first import's time goes: kmenctl's session in pg_stat_activity, sampled
every {ImportProfile.INTERVAL} s (its statement, or kmenctl's own work between statements, and
what the server waited for: CPU when nothing), with the CPU seconds kmenctl and its
PostgreSQL backend used meanwhile. A sample, not a trace: each figure is good to about one
interval.

{profile.table()}
"""


def report_big(rows, m, runs, db_size, profile):
    """The 10,000,000-row goal's section: the first import alone (the other runs repeat
    what the 1,000,000-row section shows, at ten times the wait)."""
    seconds = runs[0][1][0]
    verdict = "met" if seconds < GOALS[BIG_ROWS] else "MISSED"
    return f"""{SECTION_BIG}

`make bench-10m` (bench/import_essl.py with KMEN_BENCH_ROWS={rows}): the generated register
of the section above at {rows:,} rows, the first import only, as superuser. Machine:
{m['cores']} cores ({m['cpu']}), {m['ram']} RAM, {m['date']}; PostgreSQL
{m['server_version']}, fsync {m['fsync']}, shared_buffers {m['shared_buffers']},
max_wal_size {m['max_wal_size']}.

| run | seconds | rows/s | kmenctl says |
|---|---|---|---|
{table(rows, runs)}

Goal: {rows:,} rows in under {GOALS[BIG_ROWS] // 60} minutes: **{verdict}** ({seconds:.0f} s).
Database size after the import: {db_size}.

{profile_text(profile)}"""


def report(rows, m, runs, db_size, profile):
    first = runs[0][1][0]
    verdict = "meets" if first < GOAL_SECONDS else "MISSES"
    return f"""{SECTION}

`make bench-import` (bench/import_essl.py): a generated name register of {rows:,} rows
(random 24-character AIFOs, Czech names with diacritics, 5 % quoted with a comma, a system
on a third of the rows) into a throwaway PostgreSQL, one `kmenctl import-essl` process over
a unix socket.

Machine: {m['cores']} cores ({m['cpu']}), {m['ram']} RAM, {m['date']}.
PostgreSQL {m['server_version']} with its default settings: fsync {m['fsync']},
shared_buffers {m['shared_buffers']}, max_wal_size {m['max_wal_size']}.

| run | seconds | rows/s | kmenctl says |
|---|---|---|---|
{table(rows, runs)}

Goal: {rows:,} rows in under {GOAL_SECONDS} s — the first import {verdict} it. As superuser,
kmenctl skips the foreign-key checks of the rows that reference the clients it has just
created (they cannot fail; see kmenctl/import_apply.c); a login role that merely owns the
register (member of kmen_owner) keeps them, which costs the difference between the first and
the last row. Database size after the import: {db_size}.

{profile_text(profile)}"""


def main():
    rows = int(os.environ.get("KMEN_BENCH_ROWS", FULL_ROWS))
    if not KMENCTL.exists():
        raise SystemExit(f"{KMENCTL} is missing: run make first")
    work = Path(tempfile.mkdtemp(prefix="kmen-bench-"))
    pg = DurablePostgres()
    try:
        csv, key = work / "essl.csv", work / "register.key"
        key.write_bytes(os.urandom(32))
        t = time.monotonic()
        generate(csv, rows)
        print(f"generated {rows:,} rows ({csv.stat().st_size / 1e6:.0f} MB) "
              f"in {time.monotonic() - t:.1f} s", flush=True)
        pg.setup()
        runs, profile = [], None
        for name, user in RUNS[:1] if rows == BIG_ROWS else RUNS:
            seconds, said, sampled = import_once(pg, csv, key, user or as_operator(pg),
                                                 profile=not runs)
            print(f"{name}: {seconds:.1f} s, {rows / seconds:,.0f} rows/s ({said})", flush=True)
            runs.append((name, (seconds, said)))
            profile = profile or sampled
        print(profile.table(), flush=True)
        size = pg.query("SELECT pg_size_pretty(pg_database_size(current_database()))")[0][0]
        print(f"database size {size}", flush=True)
        if rows == FULL_ROWS:
            write_results(report(rows, machine(pg), runs, size, profile))
            print(f"updated {RESULTS.relative_to(REPO)}")
        elif rows == BIG_ROWS:
            write_results_section(SECTION_BIG, report_big(rows, machine(pg), runs, size, profile))
            record_separate("register_import_seconds_10m", runs[0][1][0])
            print(f"updated {RESULTS.relative_to(REPO)} and bench/figures-10m.json")
        goal = GOALS.get(rows)
        if goal:
            met = runs[0][1][0] < goal
            print(f"goal: {rows:,} rows in under {goal} s: {'met' if met else 'MISSED'} "
                  f"({runs[0][1][0]:.1f} s)")
        return 0 if not goal or runs[0][1][0] < goal else 1
    finally:
        pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
