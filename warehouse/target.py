"""Which warehouse to talk to, and how to open it: DuckDB file by default, PostgreSQL when a URL is set.

Light on purpose (no Prefect, no GX; psycopg and duckdb imported when a connection is opened), so the app can
use it. docs/architecture.md §2: DuckDB in the lake is the embedded default, PostgreSQL / TimescaleDB via psycopg 3 when
``VNTRACK_DATABASE_URL`` is set.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from market.clock import TZ

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s\"']*):(?P<pw>[^\s\"']*)@")
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.IGNORECASE)


def redact_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL and every ``password=...`` conninfo
    pair replaced by ``***`` (works on URLs that cannot be parsed, and on error messages quoting them)."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:***@", text)
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def _check_postgres_url(url: str) -> None:
    """Refuse a ``VNTRACK_DATABASE_URL`` psycopg cannot use, with a message that never holds its password."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("postgresql", "postgres"):
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise ValueError(f"VNTRACK_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host:port/db), got "
                         f"{shown}; unset it to use the DuckDB file in the lake")
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError quoting the whole URL
        raise ValueError(f"VNTRACK_DATABASE_URL cannot be parsed: {redact_url(str(exc)).strip()}") from None


@dataclass(frozen=True)
class Target:
    """A warehouse location: ``kind`` duckdb (``path``) or postgres (``url``, a libpq conninfo URL).

    ``flavor`` (PostgreSQL only) is what migration 0001 is asked for: ``auto`` (TimescaleDB when the server
    preloads it, else plain PostgreSQL with a warning), ``timescaledb`` (refused when the server cannot) or
    ``postgres`` (``VNTRACK_WAREHOUSE_FLAVOR``; :mod:`warehouse.flavor`). A migrated database keeps the
    flavour it was created with.
    """

    kind: Literal["duckdb", "postgres"]
    path: Path | None = None
    url: str | None = None
    flavor: Literal["auto", "timescaledb", "postgres"] = "auto"

    def __post_init__(self) -> None:
        if self.kind == "duckdb" and self.path is None:
            raise ValueError("a DuckDB warehouse needs a file path (VNTRACK_WAREHOUSE_PATH)")
        if self.kind == "postgres" and not self.url:
            raise ValueError("a PostgreSQL warehouse needs a URL, e.g. postgresql://postgres@127.0.0.1:5432/vntrack")
        if self.kind == "postgres":
            _check_postgres_url(self.url)

    def describe(self) -> str:
        """Where it is, without any password (for logs and ``db status``)."""
        if self.kind == "duckdb":
            return f"duckdb file {self.path}"
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        return (f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '5432')}"
                f"/{info.get('dbname', '')}")


def target_from_settings(settings: Any) -> Target:
    """``Target`` of a :class:`storage.settings.Settings`: PostgreSQL when ``database_url`` is set, else DuckDB."""
    if settings.database_url:
        return Target("postgres", url=settings.database_url, flavor=settings.warehouse_flavor)
    return Target("duckdb", path=Path(settings.warehouse_file))


def connect_postgres(url: str, *, autocommit: bool = False, connect_timeout: int = 10):
    """A psycopg 3 connection with the session time zone set to Asia/Ho_Chi_Minh (exchange time)."""
    import psycopg

    conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout)
    conn.execute(f"SET TIME ZONE '{TZ}'")
    if not autocommit:
        conn.commit()
    return conn


def connect_duckdb(path: Path, *, read_only: bool = False):
    """A DuckDB connection to the warehouse file (created when missing unless read-only), time zone set."""
    import duckdb

    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path), read_only=read_only)
    conn.execute(f"SET TimeZone = '{TZ}'")
    return conn


@contextmanager
def duckdb_writer_lock(path: Path) -> Iterator[None]:
    """Serialize writers of one DuckDB file across threads and processes (DuckDB allows one writing process).

    An exclusive ``flock`` on ``<file>.lock`` beside it, held for the whole write (a backfill's concurrent days
    take turns to load; their analytics still run in parallel).
    """
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
