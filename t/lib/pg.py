# SPDX-License-Identifier: GPL-2.0-or-later
"""A throwaway PostgreSQL 15 cluster on a unix socket, with the repo's sql/ applied."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2

from . import REPO

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "kmen"


def as_postgres(*args, check=True):
    """Run a command as the postgres user (initdb refuses root)."""
    return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)],
                          check=check, capture_output=True, text=True)


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
        for f in self.migrations():
            self.psql("-d", DATABASE, "-f", f)
        return self

    def migrations(self):
        return sorted(self.sql_dir.glob("*.sql")) if self.sql_dir.is_dir() else []

    def psql(self, *args):
        r = as_postgres(PG_BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", self.sock, "-p", self.port, "-U", "postgres", *args, check=False)
        if r.returncode:
            raise RuntimeError(f"psql {' '.join(map(str, args))} failed:\n{r.stderr}")
        return r.stdout

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
