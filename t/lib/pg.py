# SPDX-License-Identifier: GPL-2.0-or-later
"""A throwaway PostgreSQL 15 cluster on a unix socket, with the repo's sql/ applied; a
streaming-replication standby of one (Standby), and the libpq multi-host conninfo naming
several (multi_host_conninfo) for failover tests."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from . import REPO

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "kmen"


def as_postgres(*args, check=True, input=None):
    """Run a command as the postgres user (initdb refuses root), in /: the checkout may be
    where postgres cannot go (a clone in /root, mode 0700)."""
    return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)],
                          check=check, capture_output=True, text=True, input=input, cwd="/")


class Postgres:
    def __init__(self, parent=None, port=None, sql_dir=REPO / "sql"):
        from .httpd import free_port
        self.dir = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.log = self.dir / "postgres.log"
        self.port = port or free_port()
        self.sql_dir = Path(sql_dir)
        self.running = False

    def setup(self):
        """initdb, start, create the database, apply the migrations."""
        self.sock.mkdir()
        os.chmod(self.dir, 0o755)
        os.chmod(self.sock, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        as_postgres(PG_BIN / "initdb", "--no-sync", "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--locale", "C.UTF-8", "-D", self.data)
        self.start()
        self.psql("-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}")
        self.apply_migrations(DATABASE)
        return self

    def apply_migrations(self, database, files=None):
        """FILES (default: every migration), in order, to DATABASE."""
        for f in self.migrations() if files is None else files:
            self.run_sql_file(database, f)

    def migrations(self):
        return sorted(self.sql_dir.glob("*.sql")) if self.sql_dir.is_dir() else []

    def psql(self, *args, input=None):
        r = as_postgres(PG_BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", self.sock, "-p", self.port, "-U", "postgres", *args, check=False,
                        input=input)
        if r.returncode:
            raise RuntimeError(f"psql {' '.join(map(str, args))} failed:\n{r.stderr}")
        return r.stdout

    def run_sql_file(self, database, path):
        """The SQL file PATH run in DATABASE. Read here and given to psql on its standard
        input: psql runs as postgres, which may not read the checkout (a clone in /root)."""
        return self.psql("-d", database, "-f", "-", input=Path(path).read_text())

    def start(self):
        opts = f"-F -k {self.sock} -p {self.port} -c listen_addresses=''"
        r = as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts,
                        "-w", "-t", "30", "start", check=False)
        if r.returncode:
            raise RuntimeError(f"postgres did not start:\n{r.stdout}{r.stderr}\n{self.log_text()}")
        self.running = True

    def stop(self):
        if self.running:
            as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop",
                        check=False)
            self.running = False

    def restart(self):
        self.stop()
        self.start()

    def dump(self):
        """pg_dump of the database (plain SQL text), run as user postgres."""
        r = as_postgres(PG_BIN / "pg_dump", "-h", self.sock, "-p", self.port, "-U", "postgres",
                        "--no-password", DATABASE, check=False)
        if r.returncode:
            raise RuntimeError(f"pg_dump failed:\n{r.stderr}")
        return r.stdout

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def conninfo(self, user="kmen_module"):
        return f"host={self.sock} port={self.port} dbname={DATABASE} user={user}"

    def query(self, sql, params=None):
        """Run SQL as superuser postgres; rows as a list of tuples ([] if none)."""
        conn = psycopg2.connect(self.conninfo("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


class Standby(Postgres):
    """A hot standby of a running Postgres, streaming from it (pg_basebackup -R: the
    database, its roles and the applied sql/ all come along as a physical copy). Made like
    a Postgres (PARENT, PORT), then setup(PRIMARY); promote() makes it the read-write
    primary. Stop it with stop() or cleanup() like any Postgres."""

    def setup(self, primary):
        """Copy PRIMARY (which must be running) and start streaming from it."""
        self.sock.mkdir()
        os.chmod(self.dir, 0o755)
        os.chmod(self.sock, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        r = as_postgres(PG_BIN / "pg_basebackup", "-h", primary.sock, "-p", primary.port,
                        "-U", "postgres", "--no-password", "-D", self.data, "-R",
                        "-X", "stream", "-c", "fast", "--no-sync", check=False)
        if r.returncode:
            raise RuntimeError(f"pg_basebackup failed:\n{r.stdout}{r.stderr}")
        self.start()
        return self

    def streaming(self):
        """True when the WAL receiver is connected to the primary and streaming."""
        rows = self.query("SELECT status FROM pg_stat_wal_receiver")
        return bool(rows) and rows[0][0] == "streaming"

    def wait_streaming(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not self.streaming():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby does not stream:\n{self.log_text()}")
            time.sleep(0.1)
        return self

    def in_recovery(self):
        return self.query("SELECT pg_is_in_recovery()")[0][0]

    def promote(self):
        """End recovery: replay what was received, then accept writes (pg_ctl promote -w)."""
        r = as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-w", "-t", "30", "promote",
                        check=False)
        if r.returncode:
            raise RuntimeError(f"promote failed:\n{r.stdout}{r.stderr}\n{self.log_text()}")


def multi_host_conninfo(servers, user="kmen_module", **params):
    """libpq conninfo naming every one of SERVERS (Postgres objects), tried in that order;
    PARAMS are added as they are (e.g. target_session_attrs="read-write")."""
    hosts = ",".join(str(s.sock) for s in servers)
    ports = ",".join(str(s.port) for s in servers)
    extra = "".join(f" {k}={v}" for k, v in params.items())
    return f"host={hosts} port={ports} dbname={DATABASE} user={user}{extra}"
