# SPDX-License-Identifier: GPL-2.0-or-later
"""Section 3 of `make bench`: a returning login's database work against registers of 10,000
and 1,000,000 clients (BENCH_CLIENTS=N for the large one: 10,000,000 is the goal's size),
with pgbench, next to pgbench's own references on the same database.

- the login: the transaction the module sends at the ACS for a returning citizen
  (handlers.c acs_login over store_pg.c): BEGIN, kmen.login_consume, kmen.resolve_bsi,
  kmen.session_create, kmen.audit_append ("login ok"), COMMIT: the module's statements,
  prepared, as role kmen_module, one durable commit (synchronous_commit on, fsync on). Its
  reference is `pgbench -N`, pgbench's own durable write transaction (an UPDATE, a SELECT,
  an INSERT, one commit). Every login consumes an outstanding request seeded before the run
  (kmen.authn_request, a fresh one per transaction: each pgbench client counts its own, -D
  k=0 and \\set k :k + 1), so every consumption succeeds as at a real login; the run checks
  afterwards that none was missing. Not in the script: the read-only lookup of the request by
  the browser's login state that precedes it (its own transaction, no WAL);
- the read part: what the resolution reads (sql/013 kmen.resolve_bsi without its audit row
  and its announcement UPDATE), as the same kind of function (PL/pgSQL, SECURITY DEFINER,
  SET search_path) called by kmen_module; its reference is `pgbench -S`. The same SELECT
  without a function (as the owner) is shown beside it.

The registers are seeded in SQL (generate_series): client rows as kmenctl import-essl makes
them, a third of them with a system, one client_bsi row each whose blind index is SHA-256 of
the client's number (32 uniformly distributed bytes, the shape of mod_kmen's HMAC-SHA256
index, and computable inside the pgbench script, which picks a random client).
"""

import os
import re
import subprocess
import time
from pathlib import Path

import psycopg2

from t.lib.pg import PG_BIN

# Requests seeded per pgbench client and run: more than one client can consume in a run.
REQUESTS_PER_CLIENT = 20_000
SESSION_PAYLOAD_BYTES = 700  # a sealed session of a NIA login (AES-GCM of its fields)

LOGIN_SCRIPT = """\\set id random(1, {n})
\\set k :k + 1
BEGIN;
SELECT outcome, return_to, min_loa, eidas_accept FROM kmen.login_consume('{run}-' || :client_id || '-' || :k, 'a{run}-' || :client_id || '-' || :k, to_timestamp(extract(epoch FROM now()) + 300));
SELECT client_id, systems, merged_from, has_evidence, bsi_only FROM kmen.resolve_bsi(sha256(int8send(:id::bigint)), 'bench');
SELECT kmen.session_create(sha256(convert_to('{run}-' || :client_id || '-' || :k, 'UTF8')), sha256(int8send(-:id::bigint)), 'bench', decode(repeat('a5', {payload}), 'hex'), 28800);
SELECT kmen.audit_append('login', 'ok', 'nia substantial', 'bench');
COMMIT;
"""

READ_SCRIPT = """\\set id random(1, {n})
SELECT client_id, systems, merged_from, has_evidence, bsi_only FROM kmen_bench.resolve_bsi_read(sha256(int8send(:id::bigint)));
"""

# What resolve_bsi reads, with the client's number for the owner's SELECT below.
READ_QUERY = """SELECT c.client_id,
       (SELECT string_agg(s.system, ',' ORDER BY s.system)
          FROM kmen.client_system s WHERE s.client = c.id),
       (SELECT string_agg(a.alias::text, ',' ORDER BY a.merged)
          FROM kmen.client_alias a WHERE a.client = c.id AND NOT a.announced),
       EXISTS (SELECT 1 FROM kmen.evidence e WHERE e.client = c.id),
       NOT EXISTS (SELECT 1 FROM kmen.client_aifo a WHERE a.client = c.id)
  FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client
 WHERE b.bsi_index = {bsi}"""

READ_FUNCTION_SQL = f"""
CREATE SCHEMA kmen_bench AUTHORIZATION kmen_owner;
GRANT USAGE ON SCHEMA kmen_bench TO kmen_module;
SET ROLE kmen_owner;
CREATE FUNCTION kmen_bench.resolve_bsi_read(p_bsi bytea,
                                            OUT client_id uuid, OUT systems text,
                                            OUT merged_from text, OUT has_evidence boolean,
                                            OUT bsi_only boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    {READ_QUERY.format(bsi="p_bsi")} INTO client_id, systems, merged_from, has_evidence, bsi_only;
END
$$;
RESET ROLE;
"""

BARE_READ_SCRIPT = f"""\\set id random(1, {{n}})
{" ".join(READ_QUERY.format(bsi="sha256(int8send(:id::bigint))").split())};
"""


def seed_sql(n):
    """The register's rows in a few statements. The indexes on random keys (the client's
    UUID, the BSI's index) are built after the rows, sorted once: filled row by row, at
    10,000,000 clients, they would take most of the seeding in random page writes."""
    return f"""
SET session_replication_role = replica;  -- the rows are consistent by construction
SET maintenance_work_mem = '1GB';
ALTER TABLE kmen.client DROP CONSTRAINT client_client_id_key;
ALTER TABLE kmen.client_bsi DROP CONSTRAINT client_bsi_pkey;
DROP INDEX kmen.client_bsi_client;
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
ALTER TABLE kmen.client ADD CONSTRAINT client_client_id_key UNIQUE (client_id);
ALTER TABLE kmen.client_bsi ADD CONSTRAINT client_bsi_pkey PRIMARY KEY (bsi_index);
CREATE INDEX client_bsi_client ON kmen.client_bsi (client);
"""


def create_register(pg, db, n, scale, log):
    t = time.monotonic()
    pg.psql("-d", "postgres", "-c", f"CREATE DATABASE {db}")
    pg.apply_migrations(db)
    pg.psql("-d", db, "-c", seed_sql(n))
    pg.psql("-d", db, "-c", "VACUUM ANALYZE")
    seeded = time.monotonic() - t
    r = pgbench(pg, db, "postgres", "-i", "-q", "-s", str(scale), run=False)
    pg.psql("-d", db, "-c", "GRANT SELECT, UPDATE, INSERT ON ALL TABLES IN SCHEMA public "
                            "TO kmen_module")
    pg.psql("-d", db, "-c", READ_FUNCTION_SQL)
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
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def pgbench(pg, db, user, *args, run=True, env=None, cwd=None):
    cmd = [str(PG_BIN / "pgbench"), "-h", str(pg.sock), "-p", str(pg.port), "-U", user,
           *args, db]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=cwd,
                       env={**os.environ, **(env or {})})
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
        out["transactions"] = int(re.search(r"number of transactions actually processed: "
                                            r"(\d+)", r.stdout).group(1))
    return out


def script_file(dir, name, text):
    path = Path(dir) / name
    path.write_text(text)
    os.chmod(path, 0o644)
    return path


def seed_requests(pg, db, run, clients):
    """REQUESTS_PER_CLIENT outstanding requests for each pgbench client of RUN, as
    kmen.request_issue stores them, with no replay row yet."""
    query_db(pg, db, f"""
        INSERT INTO kmen.authn_request (id, return_to, min_loa, expires, eidas_accept,
                                        state_hash)
        SELECT '{run}-' || c || '-' || k, '/app/', 2, now() + interval '1 hour', false,
               sha256(convert_to('{run}-' || c || '-' || k, 'UTF8'))
          FROM generate_series(0, {clients - 1}) c,
               generate_series(1, {REQUESTS_PER_CLIENT}) k;
        ANALYZE kmen.authn_request""")


def percentile_ms(log_dir, prefix, q):
    """The Q quantile of the per-transaction latencies pgbench --log wrote (microseconds in
    the third field of each line), in milliseconds."""
    lat = sorted(int(line.split()[2]) for f in Path(log_dir).glob(f"{prefix}.*")
                 for line in f.read_text().splitlines() if line.strip())
    return lat[min(len(lat) - 1, int(q * len(lat)))] / 1000 if lat else None


def logged_run(pg, db, user, dir, prefix, common, *args):
    """A pgbench run with per-transaction logs; its figures and p99 latency."""
    for old in Path(dir).glob(f"{prefix}.*"):
        old.unlink()
    res = pgbench(pg, db, user, *common, "--log", f"--log-prefix={prefix}", *args, cwd=dir)
    res["p99_ms"] = percentile_ms(dir, prefix, 0.99)
    return res


def login_run(pg, reg, dir, clients, seconds, run):
    """The login transaction with fresh requests; 'unconsumed' counts logins that found no
    outstanding request (0 unless REQUESTS_PER_CLIENT is too small)."""
    seed_requests(pg, reg["db"], run, clients)
    script = script_file(dir, f"login_{run}.sql",
                         LOGIN_SCRIPT.format(n=reg["clients"], run=run,
                                             payload=SESSION_PAYLOAD_BYTES))
    common = ["-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
              "-T", str(seconds)]
    res = logged_run(pg, reg["db"], "kmen_module", dir, f"log_{run}", common, "-D", "k=0",
                     "-f", str(script))
    consumed = query_db(pg, reg["db"], f"SELECT count(*) FROM kmen.replay "
                                       f"WHERE assertion_id LIKE 'a{run}-%'")[0][0]
    left = query_db(pg, reg["db"], f"SELECT count(*) FROM kmen.authn_request "
                                   f"WHERE id LIKE '{run}-%'")[0][0]
    res["unconsumed"] = consumed - (clients * REQUESTS_PER_CLIENT - left)
    query_db(pg, reg["db"], f"DELETE FROM kmen.authn_request WHERE id LIKE '{run}-%'")
    return res


def measure(pg, reg, dir, clients, seconds):
    """tps (and p99 latency) of the login transaction, pgbench -N, the read part, the bare
    read SELECT and pgbench -S on REG's database, CLIENTS connections, SECONDS each."""
    common = ["-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
              "-T", str(seconds)]
    tag = f"r{reg['clients']}c{clients}"
    read = script_file(dir, f"read_{tag}.sql", READ_SCRIPT.format(n=reg["clients"]))
    bare = script_file(dir, f"bare_{tag}.sql", BARE_READ_SCRIPT.format(n=reg["clients"]))
    return {
        "login": login_run(pg, reg, dir, clients, seconds, tag),
        "write_ref": pgbench(pg, reg["db"], "kmen_module", *common, "-N"),
        "read": logged_run(pg, reg["db"], "kmen_module", dir, f"log_read_{tag}", common,
                           "-f", str(read)),
        "read_bare": pgbench(pg, reg["db"], "postgres", *common, "-f", str(bare)),
        "select_only": logged_run(pg, reg["db"], "kmen_module", dir, f"log_sel_{tag}",
                                  common, "-S"),
    }


def login_once(pg, reg, dir, clients, seconds):
    """One more login run (to profile it)."""
    return login_run(pg, reg, dir, clients, seconds, f"prof{reg['clients']}")
