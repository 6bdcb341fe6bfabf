# SPDX-License-Identifier: GPL-2.0-or-later
"""Section 3 of `make bench`: a returning login's resolution, kmen.resolve_bsi, called with
pgbench against registers of 10,000 and 1,000,000 clients, next to `pgbench -S` on the
same database.

The registers are seeded with SQL: client rows as kmenctl import-essl makes them (source
essl, a name, a birth date), a third of them with a system, and one client_bsi row each
whose blind index is SHA-256 of the client's number: 32 uniformly distributed bytes, the
shape of the HMAC-SHA256 index mod_kmen computes, and reproducible inside the pgbench
script (which picks a random client and computes the same bytes). The script runs the
module's own statement (store_pg.c: SELECT client_id, systems FROM kmen.resolve_bsi(…)),
prepared, as the module's role kmen_module.
"""

import os
import re
import subprocess
import time
from pathlib import Path

import psycopg2

from t.lib.pg import PG_BIN

RESOLVE_SCRIPT = """\\set id random(1, {n})
SELECT client_id, systems FROM kmen.resolve_bsi(sha256(int8send(:id::bigint)), 'bench');
"""


def seed_sql(n):
    return f"""
SET session_replication_role = replica;  -- the rows are consistent by construction
INSERT INTO kmen.client (id, source, family_name, given_name, birth_date)
  SELECT i, 'essl', (ARRAY['Novák','Svoboda','Dvořák','Černý','Procházka'])[1 + i % 5],
         (ARRAY['Jan','Jiří','Marie','Eva','Petr','Jana'])[1 + i % 6],
         date '1920-01-01' + (i % 36500)
    FROM generate_series(1, {n}) i;
SELECT setval('kmen.client_id_seq', {n});
INSERT INTO kmen.client_bsi (bsi_index, client)
  SELECT sha256(int8send(i::bigint)), i FROM generate_series(1, {n}) i;
INSERT INTO kmen.client_system (client, system)
  SELECT i, 'spisovka' FROM generate_series(3, {n}, 3) i;
"""


def create_register(pg, db, n, scale, log):
    t = time.monotonic()
    pg.psql("-d", "postgres", "-c", f"CREATE DATABASE {db}")
    pg.apply_migrations(db)
    pg.psql("-d", db, "-c", seed_sql(n))
    pg.psql("-d", db, "-c", "VACUUM ANALYZE")
    seeded = time.monotonic() - t
    r = pgbench(pg, db, "postgres", "-i", "-q", "-s", str(scale), run=False)
    pg.psql("-d", db, "-c", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO kmen_module")
    size = query_db(pg, db, "SELECT pg_size_pretty(pg_database_size(current_database()))")[0][0]
    log(f"  register {db}: {n:,} clients seeded in {seeded:.1f} s, pgbench -i -s {scale} "
        f"in {r['seconds']:.1f} s, database {size}")
    return {"db": db, "clients": n, "scale": scale, "seed_seconds": seeded, "size": size}


def query_db(pg, db, sql):
    conn = psycopg2.connect(f"host={pg.sock} port={pg.port} dbname={db} user=postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def pgbench(pg, db, user, *args, run=True, env=None):
    cmd = [str(PG_BIN / "pgbench"), "-h", str(pg.sock), "-p", str(pg.port), "-U", user,
           *args, db]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True,
                       text=True, timeout=600, env={**os.environ, **(env or {})})
    seconds = time.monotonic() - t
    if r.returncode:
        raise RuntimeError(f"pgbench {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
    out = {"seconds": seconds, "output": r.stdout}
    if run:
        out["tps"] = float(re.search(r"tps = ([\d.]+)", r.stdout).group(1))
        lat = re.search(r"latency average = ([\d.]+) ms", r.stdout)
        out["latency_ms"] = float(lat.group(1)) if lat else None
        out["failed"] = int((re.search(r"number of failed transactions: (\d+)", r.stdout)
                             or [0, 0])[1])
    return out


def script_file(dir, n):
    path = Path(dir) / f"resolve_bsi_{n}.sql"
    path.write_text(RESOLVE_SCRIPT.format(n=n))
    os.chmod(path, 0o644)
    return path


def measure(pg, reg, dir, clients, seconds):
    """tps of resolve_bsi (as the module commits: synchronous_commit on; and off) and of
    pgbench -S on REG's database, CLIENTS connections, SECONDS each."""
    script = script_file(dir, reg["clients"])
    common = ["-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
              "-T", str(seconds)]
    res = {}
    res["resolve_bsi"] = pgbench(pg, reg["db"], "kmen_module", *common, "-f", str(script))
    res["resolve_bsi_async"] = pgbench(pg, reg["db"], "kmen_module", *common, "-f", str(script),
                                       env={"PGOPTIONS": "-c synchronous_commit=off"})
    res["select_only"] = pgbench(pg, reg["db"], "kmen_module", *common, "-S")
    return res


# --- where the time of resolve_bsi goes: variants on a throwaway copy --------------------

VARIANTS_SQL = """
CREATE SCHEMA kmen_bench;
CREATE FUNCTION kmen_bench.client_systems(p_client bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(system, ',' ORDER BY system) FROM kmen.client_system
     WHERE client = p_client;
$$;
-- kmen.resolve_bsi without its audit row: a read-only call.
CREATE FUNCTION kmen_bench.resolve_bsi_no_audit(p_bsi bytea, p_request_id text,
                                                OUT client_id uuid, OUT systems text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT c.id, c.client_id INTO v_client, client_id
      FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client
     WHERE b.bsi_index = p_bsi;
    IF FOUND THEN
        systems := kmen.client_systems(v_client);
    END IF;
END
$$;
-- kmen.resolve_bsi with its audit row, but no SET search_path on it or client_systems.
CREATE FUNCTION kmen_bench.resolve_bsi_no_set(p_bsi bytea, p_request_id text,
                                              OUT client_id uuid, OUT systems text)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT c.id, c.client_id INTO v_client, client_id
      FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client
     WHERE b.bsi_index = p_bsi;
    IF FOUND THEN
        systems := kmen_bench.client_systems(v_client);
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        VALUES ('resolve', 'returning', client_id, p_request_id);
    END IF;
END
$$;
"""

VARIANTS = {
    "lookup": ("the function's SELECT alone (join client_bsi → client), no function",
               "SELECT c.id, c.client_id FROM kmen.client_bsi b JOIN kmen.client c "
               "ON c.id = b.client WHERE b.bsi_index = sha256(int8send(:id::bigint));"),
    "no_audit": ("resolve_bsi without the audit INSERT (read-only)",
                 "SELECT client_id, systems FROM kmen_bench.resolve_bsi_no_audit("
                 "sha256(int8send(:id::bigint)), 'bench');"),
    "no_set": ("resolve_bsi with the audit INSERT, without SET search_path",
               "SELECT client_id, systems FROM kmen_bench.resolve_bsi_no_set("
               "sha256(int8send(:id::bigint)), 'bench');"),
}


def measure_variants(pg, reg, dir, clients, seconds):
    """tps of the VARIANTS (as postgres: they are experiments, not the module's grants)."""
    if not query_db(pg, reg["db"], "SELECT count(*) FROM pg_namespace "
                                   "WHERE nspname = 'kmen_bench'")[0][0]:
        pg.psql("-d", reg["db"], "-c", VARIANTS_SQL)
    out = {}
    for name, (_, sql) in VARIANTS.items():
        path = Path(dir) / f"variant_{name}_{reg['clients']}.sql"
        path.write_text(f"\\set id random(1, {reg['clients']})\n{sql}\n")
        out[name] = pgbench(pg, reg["db"], "postgres", "-n", "-M", "prepared", "-c", str(clients),
                            "-j", str(min(clients, 2)), "-T", str(seconds), "-f", str(path))
    return out


def resolve_once(pg, reg, dir, clients, seconds):
    """One more resolve_bsi run (to profile it)."""
    script = script_file(dir, reg["clients"])
    return pgbench(pg, reg["db"], "kmen_module", "-n", "-M", "prepared", "-c", str(clients),
                   "-j", str(min(clients, 2)), "-T", str(seconds), "-f", str(script))
