"""Versioned migrations (yoyo-migrations) on both engines, flavour detection and ``db status``.

One tool for both: yoyo's own PostgreSQL backend (``postgresql+psycopg``, psycopg 3) and a small yoyo backend
for DuckDB (:class:`DuckDBBackend`: DuckDB has no savepoints and its ``cursor()`` opens a separate connection,
so the backend hands out the connection itself). Migrations are Python files in
``warehouse/migrations/{postgres,duckdb}/`` applied in order, each in one transaction; yoyo records them in
``_yoyo_migration`` and takes its lock table so two migrators never run at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from yoyo import read_migrations
from yoyo.backends.base import DatabaseBackend
from yoyo.connections import get_backend, parse_uri

from warehouse import flavor as flavors
from warehouse.target import Target, connect_duckdb, connect_postgres, duckdb_writer_lock

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_TABLE = "_yoyo_migration"


class DuckDBBackend(DatabaseBackend):
    """yoyo backend for a DuckDB file (``duckdb:///path``)."""

    driver_module = "duckdb"

    def connect(self, dburi):
        return connect_duckdb(Path(dburi.database))

    def cursor(self):
        return self.connection  # duckdb's cursor() is a second connection with its own transaction

    def savepoint(self, id):  # nested blocks join the migration's transaction
        pass

    def savepoint_release(self, id):
        pass

    def savepoint_rollback(self, id):
        raise self.DatabaseError("DuckDB has no savepoints: the whole migration is rolled back")


@dataclass(frozen=True)
class Status:
    """What ``vntrack db status`` reports."""

    target: str
    flavor: str | None  # duckdb | postgres | timescaledb; None before the first migration
    applied: list[str]
    pending: list[str]
    days: int
    timescale_available: bool | None = None  # PostgreSQL only: extension in pg_available_extensions
    timescale_preloaded: bool | None = None  # PostgreSQL only: in shared_preload_libraries (usable when both)


def _backend(target: Target) -> DatabaseBackend:
    if target.kind == "duckdb":
        backend = DuckDBBackend(parse_uri(f"duckdb:///{Path(target.path).resolve()}"), MIGRATION_TABLE)
        backend.init_database()
        return backend
    url = target.url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return get_backend(url, MIGRATION_TABLE)


def _migrations(target: Target):
    return read_migrations(str(MIGRATIONS / ("duckdb" if target.kind == "duckdb" else "postgres")))


def migrate(target: Target, *, upto: str | None = None) -> list[str]:
    """Apply every pending migration (or those up to and including ``upto``); returns the ids applied (empty
    when up to date).

    On PostgreSQL, migration 0001 picks the flavour ``target.flavor`` asks for against what the server offers
    (:mod:`warehouse.flavor`; ``auto`` may warn once with :class:`~warehouse.flavor.FlavorWarning`).

    Raises
    ------
    ValueError : ``upto`` names no migration.
    psycopg.OperationalError / duckdb.IOException : the database cannot be reached or opened.
    warehouse.flavor.FlavorUnavailable : ``target.flavor == "timescaledb"`` and the server cannot
        (nothing was applied; the message says what to change).
    """
    def run() -> list[str]:
        backend = _backend(target)
        token = flavors.REQUESTED.set(target.flavor)
        try:
            with backend.lock():
                migrations = _migrations(target)
                if upto is not None:
                    ids = [m.id for m in migrations]
                    if upto not in ids:
                        raise ValueError(f"no migration {upto!r}; the migrations are {', '.join(ids)}")
                    migrations = migrations.filter(lambda m: ids.index(m.id) <= ids.index(upto))
                todo = backend.to_apply(migrations)
                backend.apply_migrations(todo)
            return [m.id for m in todo]
        finally:
            flavors.REQUESTED.reset(token)
            backend.connection.close()

    if target.kind == "duckdb":
        with duckdb_writer_lock(target.path):
            return run()
    return run()


def flavor(target: Target) -> str | None:
    """The flavour recorded by migration 0001 (duckdb, postgres, timescaledb), None when not migrated."""
    if target.kind == "duckdb":
        if not Path(target.path).exists():
            return None
        with duckdb_writer_lock(target.path):
            conn = connect_duckdb(target.path)
            try:
                have = conn.execute("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_name = 'warehouse_meta'").fetchall()[0][0]
                if not have:
                    return None
                rows = conn.execute("SELECT value FROM warehouse_meta WHERE key = 'flavor'").fetchall()
            finally:
                conn.close()
        return rows[0][0] if rows else None
    with connect_postgres(target.url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('warehouse_meta')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT value FROM warehouse_meta WHERE key = 'flavor'").fetchone()
        return row[0] if row else None


def status(target: Target) -> Status:
    """Applied and pending migrations, flavour, number of loaded dates (nothing is changed)."""
    def run() -> Status:
        backend = _backend(target)
        try:
            migrations = _migrations(target)
            todo = {m.id for m in backend.to_apply(migrations)}
            applied = [m.id for m in migrations if m.id not in todo]
            pending = [m.id for m in migrations if m.id in todo]
            exists = backend.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'days'")
            days = backend.execute("SELECT count(*) FROM days").fetchall()[0][0] if exists.fetchall()[0][0] else 0
            found = flavors.offer(backend.cursor()) if target.kind == "postgres" else None
        finally:
            backend.connection.close()
        return Status(target.describe(), None, applied, pending, days, found and found.installed,
                      found and found.preloaded)

    if target.kind == "duckdb":
        with duckdb_writer_lock(target.path):
            st = run()
    else:
        st = run()
    return Status(st.target, flavor(target), st.applied, st.pending, st.days, st.timescale_available,
                  st.timescale_preloaded)


def apply_retention(target: Target, *, retention_days: int | None, today: date | None = None) -> None:
    """Apply the warehouse retention setting (``VNTRACK_WAREHOUSE_RETENTION_DAYS``; None = keep forever).

    TimescaleDB: ``add_retention_policy`` on every hypertable (replaced when the setting changes; removed when
    unset). Plain PostgreSQL and DuckDB: done by the loader after each load (drop old partitions / delete old
    dates, ``warehouse.load.drop_expired``).
    """
    if target.kind != "postgres" or flavor(target) != "timescaledb":
        return
    from warehouse.schema_v2 import TABLES_V2

    with connect_postgres(target.url, autocommit=True) as conn:
        for spec in TABLES_V2:
            if not spec.time:
                continue
            conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (spec.name,))
            if retention_days is not None:
                conn.execute("SELECT add_retention_policy(%s, make_interval(days => %s))",
                             (spec.name, retention_days))
