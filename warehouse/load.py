"""Load one trading date into the warehouse: replace exactly that date, in one transaction.

PostgreSQL: binary ``COPY`` (Arrow record batches encoded by pgpq, streamed through psycopg 3) of every table of the date inside a
single transaction, after ``TRUNCATE`` of the date's partitions (flavour ``postgres``) or ``DELETE ... WHERE
trading_date = D`` (flavour ``timescaledb``: the date's rows live in its 1-day chunks). A per-date advisory lock
serializes two loads of the same date; loads of different dates run concurrently (each touches only its own
partitions). A failure anywhere — including the server going away — rolls the whole date back: the previous
copy of the date (if any) stays, and the retry starts from scratch.

DuckDB: the same replace-a-date semantics from Arrow (``DELETE`` + ``INSERT ... SELECT`` from the registered
frame) in one transaction; writers of one file take turns through ``duckdb_writer_lock``.

References: issue 6 "Loading uses COPY (binary) in one transaction per date"; docs/operations.md §6.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import polars as pl

from market.clock import ICT, TZ
from warehouse.schema_v1 import TableSpec
from warehouse.schema_v2 import DAYS_V2, TABLES_V2
from warehouse.target import Target, connect_duckdb, connect_postgres, duckdb_writer_lock

SPECS: dict[str, TableSpec] = {t.name: t for t in TABLES_V2}
PG_TYPES = {"text": "text", "bigint": "int8", "double": "float8", "date": "date", "timestamptz": "timestamptz",
            "boolean": "bool"}
_POLARS = {"text": pl.String, "bigint": pl.Int64, "double": pl.Float64, "date": pl.Date,
           "timestamptz": pl.Datetime("us", TZ), "boolean": pl.Boolean}
_LOCK_CLASS = 0x766E  # "vn": first key of the per-date advisory lock

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class LoadResult:
    """What one load wrote: rows per table, seconds inside the transaction."""

    trading_date: date
    rows: dict[str, int]
    seconds: float


def conform(name: str, df: pl.DataFrame, day: date) -> pl.DataFrame:
    """A frame as the warehouse table ``name`` stores it: the spec's columns, in order, with its types.

    Parameters
    ----------
    name : a table of ``schema_v2.TABLES_V2`` (the current schema).
    df : the curated (or derived) frame; ``seq`` may be UInt64 (cast to Int64), extra columns are dropped.
    day : the trading date being loaded; every row must have it.

    Raises
    ------
    KeyError : unknown table. ValueError : a spec column is missing, or a row of another trading date.
    """
    spec = SPECS[name]
    missing = [c for c, _ in spec.columns if c not in df.columns]
    if missing:
        raise ValueError(f"frame for warehouse table {name!r} lacks columns {missing}; build it from the curated "
                         f"table of that name (transforms.schemas.CURATED) or warehouse.capture_events")
    out = df.select([pl.col(c).cast(_POLARS[t]) for c, t in spec.columns])
    if out.height and (out["trading_date"] != day).any():
        others = sorted({d.isoformat() for d in out["trading_date"].unique().to_list() if d != day})
        raise ValueError(f"{name}: rows of other trading dates {others[:5]} in the load of {day}; "
                         "load each date separately")
    return out


def replace_day(target: Target, day: date, frames: Mapping[str, pl.DataFrame], *,
                day_row: Mapping[str, object] | None = None, progress: Progress | None = None) -> LoadResult:
    """Replace the rows of ``day`` in the given tables (and its ``days`` row), atomically.

    Parameters
    ----------
    target : the warehouse (migrated: ``warehouse.migrate.migrate``).
    day : trading date.
    frames : ``{table: frame}`` for tables of ``TABLES_V2``; each frame is conformed (:func:`conform`). Tables
        not named keep their rows of ``day``.
    day_row : when given, the ``days`` row of the date (keys: status, frames, row_counts (dict), dq_failed,
        dq_total); ``loaded_at`` is now. When None, ``days`` is untouched (reconcile's completeness load).
    progress : called ``(table, rows)`` after each table is copied, inside the transaction.

    Returns
    -------
    LoadResult

    Raises
    ------
    psycopg.OperationalError / duckdb.Error : nothing of the date was changed (the transaction rolled back).
    """
    data = {name: conform(name, df, day) for name, df in frames.items()}
    row = None
    if day_row is not None:
        row = {
            "trading_date": day, "status": day_row["status"], "loaded_at": datetime.now(timezone.utc),
            "frames": int(day_row.get("frames", 0)), "row_counts": json.dumps(day_row.get("row_counts", {}),
                                                                                sort_keys=True),
            "dq_failed": int(day_row.get("dq_failed", 0)), "dq_total": int(day_row.get("dq_total", 0)),
        }
    if target.kind == "duckdb":
        return _replace_duckdb(target, day, data, row, progress)
    return _replace_postgres(target, day, data, row, progress)


# ---------------------------------------------------------------------------------------------------- DuckDB


def _replace_duckdb(target, day, data, row, progress) -> LoadResult:
    with duckdb_writer_lock(target.path):
        conn = connect_duckdb(target.path)
        try:
            started = time.perf_counter()
            conn.execute("BEGIN TRANSACTION")
            try:
                for name, df in data.items():
                    cols = ", ".join(f'"{c}"' for c in df.columns)
                    conn.execute(f'DELETE FROM "{name}" WHERE trading_date = ?', [day])
                    if df.height:
                        conn.register("_frame", df.to_arrow())
                        conn.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM _frame')
                        conn.unregister("_frame")
                    if progress:
                        progress(name, df.height)
                if row is not None:
                    conn.execute("DELETE FROM days WHERE trading_date = ?", [day])
                    names = [c for c, _ in DAYS_V2]
                    conn.execute(f"INSERT INTO days ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                                 [row[c] for c in names])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return LoadResult(day, {n: d.height for n, d in data.items()}, time.perf_counter() - started)
        finally:
            conn.close()


# ------------------------------------------------------------------------------------------------ PostgreSQL


def partition_name(table: str, day: date) -> str:
    """``<table>_pYYYYMMDD``: the plain-PostgreSQL partition holding ``day`` of ``table``."""
    return f"{table}_p{day:%Y%m%d}"


def ensure_partitions(conn, day: date, tables: list[str]) -> None:
    """Create the date's partition of each table when missing (flavour ``postgres``), in its own transaction.

    An empty committed partition is harmless (it is not a loaded date: ``days`` says which are).
    """
    from psycopg import sql

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_CLASS,))
        for table in tables:
            # DDL takes no bind parameters: the bounds are dates, quoted by psycopg as literals
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(partition_name(table, day)), sql.Identifier(table), sql.Literal(day),
                sql.Literal(day + timedelta(days=1))))


def pg_flavor(conn) -> str:
    """``postgres`` or ``timescaledb``, as migration 0001 recorded it.

    Raises
    ------
    RuntimeError : the database is not migrated (run ``vntrack db migrate``).
    """
    if conn.execute("SELECT to_regclass('warehouse_meta')").fetchone()[0] is None:
        raise RuntimeError("the warehouse database has no schema yet: run `vntrack db migrate` first")
    return conn.execute("SELECT value FROM warehouse_meta WHERE key = 'flavor'").fetchone()[0]


_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01: PostgreSQL's binary date / timestamp epoch
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400 * 1_000_000


class _PgMicros:
    """Marker type: COPY values of timestamptz columns are ints, microseconds since 2000-01-01 UTC."""


class _PgDays:
    """Marker type: COPY values of date columns are ints, days since 2000-01-01."""


def _epoch_dumpers():
    """Binary dumpers writing PostgreSQL's own timestamptz / date wire format from plain ints (the
    ``write_row`` path, kept as the benchmark's baseline)."""
    import struct

    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class TimestamptzMicros(Dumper):
        format = Format.BINARY
        oid = 1184  # timestamptz
        _pack = struct.Struct("!q").pack

        def dump(self, obj):
            return self._pack(obj)

    class DateDays(Dumper):
        format = Format.BINARY
        oid = 1082  # date
        _pack = struct.Struct("!i").pack

        def dump(self, obj):
            return self._pack(obj)

    return TimestamptzMicros, DateDays


def _binary_values(df: pl.DataFrame, types: dict[str, str]) -> pl.DataFrame:
    exprs = []
    for c in df.columns:
        if types[c] == "timestamptz":
            exprs.append((pl.col(c).dt.cast_time_unit("us").dt.epoch("us") - _PG_EPOCH_US).alias(c))
        elif types[c] == "date":
            exprs.append((pl.col(c).cast(pl.Int32) - _PG_EPOCH_DAYS).alias(c))
        else:
            exprs.append(pl.col(c))
    return df.select(exprs)


COPY_METHODS = ("pgpq", "write_row", "text")
BATCH_ROWS = 65_536  # rows per Arrow record batch handed to the encoder (bounds the memory of one COPY chunk)


def arrow_for_copy(df: pl.DataFrame):
    """The frame as an Arrow table pgpq encodes (``string_view`` columns, if Polars gives them, as
    ``large_string``; Arrow timestamps hold UTC microseconds, PostgreSQL's timestamptz binary value)."""
    import pyarrow as pa

    table = df.to_arrow()
    fields = [pa.field(f.name, pa.large_string()) if f.type == getattr(pa, "string_view", lambda: None)() else f
              for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def copy_rows(cur, dest: str, df: pl.DataFrame, *, table: str | None = None, method: str = "pgpq") -> None:
    """``COPY dest (columns) FROM STDIN`` of a conformed frame.

    Parameters
    ----------
    cur : psycopg cursor inside the load transaction.
    dest : target (a table, or a plain-PostgreSQL partition) — an identifier, quoted here.
    table : the spec table ``df`` belongs to (default: ``dest``).
    df : conformed frame (:func:`conform`; the spec's column types); its columns name the target columns.
    method : ``pgpq`` (the loader: Arrow record batches encoded to PostgreSQL's binary COPY format by pgpq, in
        Rust, no Python per row); ``write_row`` (binary COPY through psycopg ``set_types`` + ``write_row`` of
        Polars rows: the previous loader, the benchmark's baseline); ``text`` (text COPY + ``write_row``).

    Raises
    ------
    ValueError : unknown ``method``. psycopg.Error : the server refused the data (the transaction is failed).
    """
    from psycopg import sql

    if method not in COPY_METHODS:
        raise ValueError(f"COPY method {method!r} is not one of {COPY_METHODS}")
    types = dict(SPECS[table or dest].columns)
    binary = method != "text"
    stmt = sql.SQL("COPY {} ({}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")).format(
        sql.Identifier(dest), sql.SQL(", ").join(sql.Identifier(c) for c in df.columns))
    if method == "pgpq":
        import pgpq

        arrow = arrow_for_copy(df)
        encoder = pgpq.ArrowToPostgresBinaryEncoder(arrow.schema)
        with cur.copy(stmt) as copy:
            copy.write(encoder.write_header())
            for batch in arrow.to_batches(max_chunksize=BATCH_ROWS):
                copy.write(encoder.write_batch(batch))
            copy.write(encoder.finish())
        return
    rows = df
    if binary:
        micros, days = _epoch_dumpers()
        cur.adapters.register_dumper(_PgMicros, micros)
        cur.adapters.register_dumper(_PgDays, days)
        rows = _binary_values(df, types)
    with cur.copy(stmt) as copy:
        if binary:
            copy.set_types([PG_TYPES[types[c]] for c in df.columns])
        for values in rows.iter_rows():
            copy.write_row(values)


def _refresh_candles(conn, flavor: str, day: date) -> None:
    from warehouse.ddl import CANDLE_VIEWS

    for view in CANDLE_VIEWS:
        if flavor == "timescaledb":
            start = datetime(day.year, day.month, day.day, tzinfo=ICT)
            conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, start, start + timedelta(days=1)))
        else:
            conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}")


def _replace_postgres(target, day, data, row, progress) -> LoadResult:
    from psycopg import sql

    with connect_postgres(target.url, autocommit=True) as admin:
        flavor = pg_flavor(admin)
        if flavor == "postgres":
            ensure_partitions(admin, day, [*data])
    with connect_postgres(target.url) as conn:
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, day.toordinal()))
            for name, df in data.items():
                if flavor == "postgres":
                    dest = partition_name(name, day)
                    cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(dest)))
                else:
                    dest = name
                    cur.execute(sql.SQL("DELETE FROM {} WHERE trading_date = %s").format(sql.Identifier(name)), (day,))
                if df.height:
                    copy_rows(cur, dest, df, table=name)
                if progress:
                    progress(name, df.height)
            if row is not None:
                names = [c for c, _ in DAYS_V2]
                cur.execute(
                    sql.SQL("INSERT INTO days ({}) VALUES ({}) ON CONFLICT (trading_date) DO UPDATE SET {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, names)),
                        sql.SQL(", ").join(sql.Placeholder() * len(names)),
                        sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in names[1:])),
                    [row[c] for c in names])
        seconds = time.perf_counter() - started
    if "candles_1m" in data:
        with connect_postgres(target.url, autocommit=True) as conn:
            _refresh_candles(conn, flavor, day)
    return LoadResult(day, {n: d.height for n, d in data.items()}, seconds)


# ------------------------------------------------------------------------------------------------- retention


def drop_expired(target: Target, *, retention_days: int | None, today: date) -> list[date]:
    """Remove warehouse dates older than ``today - retention_days`` (None: keep forever); returns them.

    Plain PostgreSQL: the old partitions are dropped (instant) and their ``days`` rows deleted; DuckDB: their
    rows deleted. TimescaleDB: nothing here, its retention policies do it (``migrate.apply_retention``).
    """
    if retention_days is None:
        return []
    cutoff = today - timedelta(days=retention_days)
    if target.kind == "duckdb":
        with duckdb_writer_lock(target.path):
            conn = connect_duckdb(target.path)
            try:
                old = [r[0] for r in conn.execute("SELECT trading_date FROM days WHERE trading_date < ? "
                                                  "ORDER BY 1", [cutoff]).fetchall()]
                conn.execute("BEGIN TRANSACTION")
                for name in [*SPECS, "days"]:
                    conn.execute(f'DELETE FROM "{name}" WHERE trading_date < ?', [cutoff])
                conn.execute("COMMIT")
            finally:
                conn.close()
        return old
    from psycopg import sql

    with connect_postgres(target.url, autocommit=True) as conn:
        if pg_flavor(conn) != "postgres":
            return []
        old = [r[0] for r in conn.execute("SELECT trading_date FROM days WHERE trading_date < %s ORDER BY 1",
                                          (cutoff,)).fetchall()]
        parts = conn.execute(
            "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)", ([*SPECS],)).fetchall()
        with conn.transaction():
            for child, parent in parts:
                stamp = child.removeprefix(f"{parent}_p")
                if len(stamp) == 8 and stamp.isdigit() and datetime.strptime(stamp, "%Y%m%d").date() < cutoff:
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(child)))
            conn.execute("DELETE FROM days WHERE trading_date < %s", (cutoff,))
        return old
