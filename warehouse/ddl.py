"""DDL of the warehouse schema on each engine flavour (docs/architecture.md §2), rendered from a frozen table spec.

Flavours:

* ``duckdb`` — plain tables in the DuckDB file; 5-minute and 1-hour candles are views over ``candles_1m``.
* ``postgres`` — every per-date table is ``PARTITION BY RANGE (trading_date)`` with one partition per trading
  date (``<table>_pYYYYMMDD``, created by the loader), so replacing a date truncates exactly one partition;
  ``candles_5m`` / ``candles_1h`` are materialized views with a unique index (refreshed CONCURRENTLY after a load).
* ``timescaledb`` — the time-series tables are hypertables on their time column (1-day chunks), compressed
  after :data:`COMPRESS_AFTER` segmented by symbol; ``candles_5m`` / ``candles_1h`` are continuous aggregates of
  ``candles_1m`` with a refresh policy. Retention policies are applied from the settings
  (``warehouse.migrate.apply_retention``), not frozen in a migration.

Only identifiers from the frozen spec are interpolated; no value ever is (values go through parameters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from warehouse.schema_v1 import TableSpec

Flavor = Literal["duckdb", "postgres", "timescaledb"]
FLAVORS: tuple[str, ...] = ("duckdb", "postgres", "timescaledb")
COMPRESS_AFTER = "7 days"
CANDLE_VIEWS: dict[str, str] = {"candles_5m": "5 minutes", "candles_1h": "1 hour"}

_TYPES = {
    "duckdb": {"text": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "date": "DATE",
               "timestamptz": "TIMESTAMPTZ", "boolean": "BOOLEAN"},
    "postgres": {"text": "TEXT", "bigint": "BIGINT", "double": "DOUBLE PRECISION", "date": "DATE",
                 "timestamptz": "TIMESTAMPTZ", "boolean": "BOOLEAN"},
}


def sql_type(flavor: Flavor, logical: str) -> str:
    """The engine's type for a logical type of the spec (``double`` -> ``DOUBLE PRECISION`` on PostgreSQL)."""
    return _TYPES["duckdb" if flavor == "duckdb" else "postgres"][logical]


def _columns(flavor: Flavor, spec: TableSpec) -> str:
    out = []
    for name, logical in spec.columns:
        not_null = name == "trading_date" or (flavor == "timescaledb" and name == spec.time)
        out.append(f'"{name}" {sql_type(flavor, logical)}{" NOT NULL" if not_null else ""}')
    return ", ".join(out)


def _index_columns(spec: TableSpec) -> list[str]:
    names = [c for c, _ in spec.columns]
    cols = ["trading_date"]
    for c in ("symbol", "index_id", "table_name", "kind"):
        if c in names:
            cols.append(c)
            break
    if spec.time and spec.time in names:
        cols.append(spec.time)
    return cols


def create_statements(flavor: Flavor, tables: Iterable[TableSpec], days: tuple[tuple[str, str], ...]) -> list[str]:
    """Statements creating every table, index and candle view of the spec on ``flavor``, in order.

    Parameters
    ----------
    flavor : ``duckdb``, ``postgres`` (partitioned by day) or ``timescaledb`` (hypertables).
    tables : the per-date tables (``schema_v1.TABLES_V1`` for migration 0001).
    days : columns of the ``days`` table (``schema_v1.DAYS_V1``); its primary key is ``trading_date``.

    Returns
    -------
    list[str] : SQL statements, each runnable inside the migration's transaction.
    """
    if flavor not in FLAVORS:
        raise ValueError(f"unknown warehouse flavour {flavor!r}; expected one of {FLAVORS}")
    out = ['CREATE TABLE warehouse_meta ("key" ' + sql_type(flavor, "text") + ' PRIMARY KEY, "value" '
           + sql_type(flavor, "text") + ")"]
    for spec in tables:
        if flavor == "postgres":
            out.append(f'CREATE TABLE "{spec.name}" ({_columns(flavor, spec)}) PARTITION BY RANGE (trading_date)')
        else:
            out.append(f'CREATE TABLE "{spec.name}" ({_columns(flavor, spec)})')
        if flavor == "timescaledb" and spec.time:
            out.append(f"SELECT create_hypertable('{spec.name}', '{spec.time}', "
                       "chunk_time_interval => INTERVAL '1 day')")
        if flavor != "duckdb":  # DuckDB prunes by zone maps; an ART index would only slow the loads down
            cols = ", ".join(f'"{c}"' for c in _index_columns(spec))
            out.append(f'CREATE INDEX "{spec.name}_lookup" ON "{spec.name}" ({cols})')
    day_cols = ", ".join(f'"{n}" {sql_type(flavor, t)}' for n, t in days)
    out.append(f'CREATE TABLE days ({day_cols}, PRIMARY KEY (trading_date))')
    out.extend(candle_view_statements(flavor))
    if flavor == "timescaledb":
        out.extend(_compression_statements(tables))
    return out


def add_column_statements(flavor: Flavor, added: Mapping[str, tuple[tuple[str, str], ...]]) -> list[str]:
    """``ALTER TABLE t ADD COLUMN c type`` for each ``{table: ((column, logical type), ...)}`` (nullable, no
    default: rows loaded before read NULL), in order. Used by migrations that extend a frozen schema."""
    return [f'ALTER TABLE "{table}" ADD COLUMN "{name}" {sql_type(flavor, logical)}'
            for table, columns in added.items() for name, logical in columns]


def _candle_select(flavor: Flavor, width: str) -> str:
    if flavor == "timescaledb":
        bucket = f"time_bucket(INTERVAL '{width}', minute)"
        first, last = "first(open, minute)", "last(close, minute)"
    elif flavor == "postgres":
        bucket = f"date_bin(INTERVAL '{width}', minute, TIMESTAMPTZ '2000-01-01 00:00:00+07')"
        first, last = "(array_agg(open ORDER BY minute))[1]", "(array_agg(close ORDER BY minute DESC))[1]"
    else:
        bucket = f"time_bucket(INTERVAL '{width}', minute, TIMESTAMPTZ '2000-01-01 00:00:00+07')"
        first, last = "arg_min(open, minute)", "arg_max(close, minute)"
    return (
        f"SELECT trading_date, symbol, {bucket} AS bucket, {first} AS open, max(high) AS high, min(low) AS low, "
        f"{last} AS close, sum(volume) AS volume, sum(value_vnd) AS value_vnd, "
        "sum(vwap * volume) / NULLIF(sum(volume), 0) AS vwap, sum(trade_count) AS trade_count, "
        "sum(buy_volume) AS buy_volume, sum(sell_volume) AS sell_volume "
        "FROM candles_1m GROUP BY trading_date, symbol, bucket"
    )


def candle_view_statements(flavor: Flavor) -> list[str]:
    """``candles_5m`` and ``candles_1h`` (bucket = start of the interval, exchange time aligned) on ``flavor``.

    Columns: trading_date, symbol, bucket (timestamptz), open, high, low, close (price units), volume,
    value_vnd, vwap (volume-weighted mean of the 1-minute VWAPs), trade_count, buy_volume, sell_volume.
    """
    out = []
    for view, width in CANDLE_VIEWS.items():
        select = _candle_select(flavor, width)
        if flavor == "duckdb":
            out.append(f"CREATE VIEW {view} AS {select}")
        elif flavor == "postgres":
            out.append(f"CREATE MATERIALIZED VIEW {view} AS {select}")
            out.append(f"CREATE UNIQUE INDEX {view}_key ON {view} (trading_date, symbol, bucket)")
        else:
            out.append(f"CREATE MATERIALIZED VIEW {view} WITH (timescaledb.continuous) AS {select} WITH NO DATA")
            out.append(f"SELECT add_continuous_aggregate_policy('{view}', start_offset => INTERVAL '3 days', "
                       "end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes')")
    return out


def _compression_statements(tables: Iterable[TableSpec]) -> list[str]:
    out = []
    for spec in tables:
        if not spec.time:
            continue
        names = [c for c, _ in spec.columns]
        segment = next((c for c in ("symbol", "index_id", "session") if c in names), None)
        order = ", ".join([spec.time, *[c for c in ("session", "seq") if c in names and c != segment]])
        options = f"timescaledb.compress, timescaledb.compress_orderby = '{order}'"
        if segment:
            options += f", timescaledb.compress_segmentby = '{segment}'"
        out.append(f'ALTER TABLE "{spec.name}" SET ({options})')
        out.append(f"SELECT add_compression_policy('{spec.name}', INTERVAL '{COMPRESS_AFTER}')")
    return out
