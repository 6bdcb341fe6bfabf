#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Benchmark of kmenctl against the translation-gateway simulator (t/sim/gateway.py, mutual
TLS, in this process): identification of a name register of rows without an AIFO
(`kmenctl import-essl --gateway`, POST /identify), the subscription of every client
(`kmenctl sync`, POST /subscribe), and a change feed applied (`kmenctl sync`, GET /changes).

Prints seconds and rows/s or events/s and writes the section "kmenctl and the gateway" of
bench/RESULTS.md. Run with `make bench-sync` (KMEN_BENCH_ROWS=N for a smaller run, which does
not touch RESULTS.md). The simulator is Python on the same two cores: the figures are a floor
for what kmenctl does against a real gateway, whose own latency adds to them."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.import_essl import DurablePostgres, machine, write_results_section  # noqa: E402
from t.lib.keys import make_keys  # noqa: E402
from t.sim.gateway import Translator  # noqa: E402
from t.sim.identities import resident  # noqa: E402

KMENCTL = REPO / "kmenctl" / "kmenctl"
SECTION = "## kmenctl and the gateway"
FULL = 100_000
AGENDA = "A8566"


def timed(*args):
    start = time.monotonic()
    r = subprocess.run([str(KMENCTL), *map(str, args)], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if r.returncode:
        raise SystemExit(f"kmenctl {args[0]} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return seconds, r.stdout.strip()


def write_register(path, rows):
    """ROWS residents of the simulator's population, without AIFO, each with a source_id."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("aifo,family_name,given_name,birth_date,source_id\n")
        for i in range(rows):
            r = resident(i)
            f.write(f",{r.family},{r.given},{r.birth_date},ESSL-{i}\n")


def feed(gw, rows, events):
    """EVENTS changes of the ROWS identified people: corrections, deaths, AIFO changes."""
    for i in range(events):
        person = resident(i % rows).person
        aifo = gw.aifo(person, AGENDA)
        if i % 10 == 9:
            gw.append_event(AGENDA, "death", aifo, "2025-01-01")
        else:
            gw.append_event(AGENDA, "data", aifo, {"given_name": f"Opraveno{i}"})


def report(rows, m, runs):
    table = "\n".join(f"| {name} | {n:,} | {t:.1f} | {n / t:,.0f} | `{said}` |"
                      for name, n, t, said in runs)
    return f"""{SECTION}

`make bench-sync` (bench/sync_bench.py): a name register of {rows:,} rows without AIFO (the
simulator's deterministic population, each row with a source_id), identified through the
translation-gateway simulator over mutual TLS (`kmenctl import-essl --gateway`, 8 calls at a
time on kept-alive connections); then `kmenctl sync` subscribes the {rows:,} new clients;
then {rows:,} events (9 in 10 `data` corrections, 1 in 10 `death`) appended to the feed are
applied by `kmenctl sync`, each in its own transaction with its audit row and the cursor
(pages of 100). The simulator is single-process Python on the same machine.

Machine: {m['cores']} cores ({m['cpu']}), {m['ram']} RAM, {m['date']}.
PostgreSQL {m['server_version']}: fsync {m['fsync']}, shared_buffers {m['shared_buffers']}.

| run | items | seconds | items/s | kmenctl says |
|---|---|---|---|---|
{table}
"""


def main():
    rows = int(os.environ.get("KMEN_BENCH_ROWS", FULL))
    if not KMENCTL.exists():
        raise SystemExit(f"{KMENCTL} is missing: run make first")
    work = Path(tempfile.mkdtemp(prefix="kmen-bench-sync-"))
    pg = DurablePostgres()
    try:
        keys = make_keys(work / "keys")
        csv, key = work / "essl.csv", work / "register.key"
        key.write_bytes(os.urandom(32))
        write_register(csv, rows)
        pg.setup()
        with Translator(keys) as gw:
            gw.populate(rows)
            gateway = ["--gateway", gw.url, "--gateway-cert", keys.client_cert,
                       "--gateway-key", keys.client_key, "--gateway-ca", keys.ca_cert]
            common = ["--key-file", key, "--agenda", AGENDA, *gateway]
            runs = []
            t, said = timed("import-essl", pg.conninfo("postgres"), csv, *common)
            runs.append(("identification (import-essl)", rows, t, said))
            t, said = timed("sync", pg.conninfo("postgres"), *common)
            runs.append(("subscriptions (sync)", rows, t, said))
            feed(gw, rows, rows)
            t, said = timed("sync", pg.conninfo("postgres"), *common)
            runs.append(("change feed (sync)", rows, t, said))
        for name, n, t, said in runs:
            print(f"{name}: {n:,} in {t:.1f} s, {n / t:,.0f}/s ({said})", flush=True)
        if rows == FULL:
            write_results_section(SECTION, report(rows, machine(pg), runs))
            print("updated bench/RESULTS.md")
        return 0
    finally:
        pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
