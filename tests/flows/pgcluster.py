"""Throwaway PostgreSQL clusters for the tests: initdb into a temporary folder as user ``postgres`` (tests run as
root; initdb refuses root), a free port, trust auth, stopped and deleted by the fixture that made it.

The shared server on 127.0.0.1:5432 is never reconfigured: a cluster that preloads TimescaleDB
(``shared_preload_libraries``) or one a test restarts for real is made here instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
TIMESCALEDB_PG = 15  # TimescaleDB 2.28 (scripts/timescaledb.sh) is built for PostgreSQL 15
TIMESCALEDB_HOWTO = (
    "TimescaleDB is not installed for PostgreSQL 15 on this machine: run `bash scripts/timescaledb.sh` as root "
    "(builds ../shared/vendor/timescaledb-2.28.3.tar.gz, needs gcc, cmake and postgresql-server-dev-15; put the "
    "tarball there from tag 2.28.3 of github.com/timescale/timescaledb), or point VNTRACK_TEST_TIMESCALE_PG at a "
    "server that preloads it (postgresql://user@host:port, no database)")


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timescaledb_installed(version: int = TIMESCALEDB_PG) -> bool:
    """TimescaleDB's control file and library are in PostgreSQL ``version``'s folders."""
    return (Path(f"/usr/share/postgresql/{version}/extension/timescaledb.control").is_file()
            and bool(glob.glob(f"/usr/lib/postgresql/{version}/lib/timescaledb*.so")))


def can_make_clusters() -> str:
    """Empty when this process can make a throwaway cluster, else why not."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        return "needs root and runuser to run initdb as user postgres"
    if not BINDIRS:
        return "no PostgreSQL server build (/usr/lib/postgresql/*/bin)"
    return ""


class Cluster:
    """A running throwaway cluster; ``url`` is its ``vntrack`` database, ``server`` the URL without database.

    ``preload``: libraries for ``shared_preload_libraries`` (e.g. ``("timescaledb",)``); ``settings``: more
    ``-c name=value`` server settings.
    """

    def __init__(self, bindir: str, *, preload: tuple[str, ...] = (), settings: dict[str, str] | None = None) -> None:
        self.bindir, self.port = bindir, free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="vntrack-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        options = [f"-p {self.port}", f"-k {self.dir}", "-c listen_addresses=127.0.0.1", "-c fsync=off"]
        if preload:
            options.append(f"-c shared_preload_libraries={','.join(preload)}")
        options += [f"-c {k}={v}" for k, v in (settings or {}).items()]
        self._options = " ".join(options)
        try:
            self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
            self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "120", "-o",
                     self._options, "start")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.server = f"postgresql://postgres@127.0.0.1:{self.port}"
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE vntrack")
        self.url = f"{self.server}/vntrack"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bindir}/{tool}", *args], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=180, cwd=self.dir)

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        path = self.dir / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut, open transactions roll back."""
        # -l: the new postmaster must not inherit our pipes (run() would wait for them to close)
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-m", "fast", "-w", "-t", "120",
                 "restart")

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        try:
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
