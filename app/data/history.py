"""Read side of the history pages: days that exist, candles, trades, foreign, index and basis history, DQ results.

The interface (every method takes plain values and returns a Polars frame; SQL in ``app.data.sql``)::

    h = LakeHistory(lake)            # or any object with the same methods over the warehouse (contract C4)
    h.days()                         -> list[date], newest first
    h.symbols(day)                   -> list[str], stocks most traded first, then futures
    h.candles(day, symbol, "1m")     -> minute, open, high, low, close, volume, value_vnd, vwap, trade_count, ...
                                        ("5m" / "1h": the warehouse's continuous aggregates on PostgreSQL)
    h.trades(day, symbol, limit)     -> the last trades, newest first
    h.trade_sides(day, symbol)       -> trades / volume / value by phase and aggressor side
    h.foreign_history(day)           -> (per-symbol summary, cumulative net value per minute)
    h.foreign_by_day()               -> net foreign value per day
    h.index_history(day)             -> VN30 / VNINDEX last value per minute with breadth
    h.index_by_day()                 -> index close per day
    h.basis_history(day)             -> futures price, spot, basis per contract and minute
    h.basis_by_day()                 -> the front month's closing basis per day
    h.alert_counts(day)              -> alerts by type and severity
    h.dq_results(day)                -> data-quality results (empty until a warehouse provides them)

:class:`LakeHistory` runs the queries over DuckDB views named after the curated tables,
``read_parquet('<lake>/curated/date=*/<table>.parquet', hive_partitioning=true)``.
:class:`WarehouseHistory` runs the same SQL over the embedded warehouse's tables (contract C4: same table and
column names, every table with ``trading_date``), opening the DuckDB file read-only for each query so it never
holds a lock the warehouse loader would wait on. :func:`open_history` picks the warehouse when it holds every
table the pages read, else the lake. :class:`PostgresHistory` serves a PostgreSQL / TimescaleDB warehouse.

Read only: the connection is an in-memory DuckDB database that only defines views over the lake's files.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from app.data import sql
from market.clock import SET_TIMEZONE
from storage.settings import WAREHOUSE_FILE
from app.data.snapshot import curated_days
from transforms.schemas import CURATED, TZ

HISTORY_TABLES: tuple[str, ...] = (
    "trades", "candles_1m", "foreign_summary", "foreign_flow", "indices", "basis", "alerts", "board", "session_stats",
)

DQ_RESULTS = pl.Schema({"trading_date": pl.Date, "check": pl.String, "success": pl.Boolean, "details": pl.String})
"""Columns the history pages expect of ``dq_results`` (the warehouse may add more; C4 fixes the table name)."""


def _in_exchange_time(df: pl.DataFrame) -> pl.DataFrame:
    """Time-zoned columns converted to exchange time (Asia/Ho_Chi_Minh)."""
    zoned = [c for c, t in df.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return df.with_columns(pl.col(zoned).dt.convert_time_zone(TZ)) if zoned else df


def _sql_string(text: str) -> str:
    """A SQL string literal (DDL cannot take parameters: only the lake path is ever quoted this way)."""
    return "'" + text.replace("'", "''") + "'"


CANDLE_INTERVALS: dict[str, str | None] = {"1m": None, "5m": "5 minutes", "1h": "1 hour"}
"""Candle intervals the history offers, with their bucket width (None: the 1-minute candles themselves)."""


def _interval_width(interval: str) -> str | None:
    if interval not in CANDLE_INTERVALS:
        raise ValueError(f"candle interval {interval!r} is not one of {', '.join(map(repr, CANDLE_INTERVALS))}")
    return CANDLE_INTERVALS[interval]


class LakeHistory:
    """History over the lake's curated Parquet files, through DuckDB views (one connection, a cursor per call).

    Parameters
    ----------
    lake : lake root; the views read ``lake/curated/date=*/<table>.parquet``.

    Notes
    -----
    A table no day has yet is an empty view with the table's schema, so every query runs on an empty lake.
    The set of days is fixed when the views are made: build a new instance when :func:`curated_days` changes
    (``app.data`` keys its cached instance on it).
    """

    def __init__(self, lake: Path) -> None:
        self.lake = Path(lake)
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self._con.execute(SET_TIMEZONE)
        self._views()

    def _views(self) -> None:
        present = curated_days(self.lake)
        root = self.lake.resolve() / "curated"
        for table in HISTORY_TABLES:
            files = [root / f"date={d:%Y-%m-%d}" / f"{table}.parquet" for d in present]
            if any(f.is_file() for f in files):
                glob = _sql_string(str(root / "date=*" / f"{table}.parquet"))
                self._con.execute(
                    f"CREATE OR REPLACE VIEW {table} AS SELECT * EXCLUDE (date) "
                    f"FROM read_parquet({glob}, hive_partitioning = true, union_by_name = true)"
                )
            else:
                self._empty_table(table, CURATED[table])
        self._empty_table("dq_results", DQ_RESULTS)

    def _empty_table(self, name: str, schema: pl.Schema) -> None:
        """An empty table ``name`` of ``schema`` (visible to every cursor, unlike a registered frame)."""
        self._con.register("_empty_source", pl.DataFrame(schema=schema).to_arrow())
        try:
            self._con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _empty_source")
        finally:
            self._con.unregister("_empty_source")

    def query(self, text: str, params: dict | None = None) -> pl.DataFrame:
        """Run one parameterized query on a fresh cursor and read it to the end.

        Parameters
        ----------
        text : SQL with ``$name`` placeholders (``app.data.sql``).
        params : ``{name: value}``.

        Returns
        -------
        pl.DataFrame; time-zoned columns in exchange time (Asia/Ho_Chi_Minh).
        """
        with self._lock:
            cur = self._con.cursor()
        try:
            df = cur.sql(text, params=params or None).pl()
        finally:
            cur.close()
        return _in_exchange_time(df)

    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    # ------------------------------------------------------------------------------------------------ interface

    def days(self) -> list[date]:
        """Trading dates with a price board, newest first."""
        return self.query(sql.DAYS).get_column("trading_date").to_list()

    def symbols(self, day: date) -> list[str]:
        """Symbols with candles on ``day``: stocks by matched value (most traded first), then the futures."""
        return self.query(sql.SYMBOLS, {"day": day}).get_column("symbol").to_list()

    def candles(self, day: date, symbol: str, interval: str = "1m") -> pl.DataFrame:
        """Candles of ``interval`` (1m, 5m, 1h): minute (the bucket's start, exchange time), open/high/low/close
        (price units), volume (shares), value_vnd, vwap, trade_count, buy_volume, sell_volume; by minute.

        5m / 1h are aggregated from the 1-minute candles here, with the buckets of the warehouse's
        ``candles_5m`` / ``candles_1h`` (aligned on exchange time). Raises ValueError for another interval.
        """
        width = _interval_width(interval)
        if width is None:
            return self.query(sql.CANDLES, {"day": day, "symbol": symbol})
        return self.query(sql.CANDLES_BUCKETED, {"day": day, "symbol": symbol, "width": width})

    def trades(self, day: date, symbol: str, limit: int = 500) -> pl.DataFrame:
        """The last ``limit`` trades of ``symbol`` on ``day``, newest first (columns of ``sql.TRADES``)."""
        return self.query(sql.TRADES, {"day": day, "symbol": symbol, "limit": int(limit)})

    def trade_sides(self, day: date, symbol: str) -> pl.DataFrame:
        """Trades, volume and value_vnd of ``symbol`` on ``day`` by phase and aggressor side."""
        return self.query(sql.TRADE_SIDES, {"day": day, "symbol": symbol})

    def foreign_history(self, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``(summary per symbol, market net value per minute with its running sum)`` of ``day`` (VND)."""
        return (self.query(sql.FOREIGN_SUMMARY, {"day": day}), self.query(sql.FOREIGN_BY_MINUTE, {"day": day}))

    def foreign_by_day(self) -> pl.DataFrame:
        """trading_date, buy_val_vnd, sell_val_vnd, net_val_vnd: the foreign totals of every day."""
        return self.query(sql.FOREIGN_BY_DAY)

    def index_history(self, day: date) -> pl.DataFrame:
        """index_id, minute, value (points), change_pct, advances, declines, no_changes: last per minute."""
        return self.query(sql.INDEX_BY_MINUTE, {"day": day})

    def index_by_day(self) -> pl.DataFrame:
        """trading_date, index_id, close (points), change_pct of every day."""
        return self.query(sql.INDEX_BY_DAY)

    def basis_history(self, day: date) -> pl.DataFrame:
        """symbol, is_front_month, minute, futures_price, spot, basis_pts, basis_pct (mean), volume."""
        return self.query(sql.BASIS_BY_MINUTE, {"day": day})

    def basis_by_day(self) -> pl.DataFrame:
        """trading_date, symbol, close_basis_pts, mean_basis_pts, close_price of the front month per day."""
        return self.query(sql.BASIS_BY_DAY)

    def alert_counts(self, day: date) -> pl.DataFrame:
        """alert_type, severity, alerts, symbols of ``day``."""
        return self.query(sql.ALERT_COUNTS, {"day": day})

    def dq_results(self, day: date) -> pl.DataFrame:
        """Data-quality results of ``day``: empty over the lake (the warehouse's ``dq_results`` table, C4)."""
        return self.query(sql.DQ_RESULTS, {"day": day})


class WarehouseHistory(LakeHistory):
    """History over the embedded DuckDB warehouse (``lake/warehouse.duckdb``, contract C4), same interface.

    Each query opens the file read-only, runs, and closes: the loader (flows) can take its write lock between
    two page refreshes. Raises whatever DuckDB raises when the file is locked or missing a table.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lake = self.path.parent
        self._lock = threading.Lock()
        if not self.path.is_file():
            raise FileNotFoundError(f"no warehouse at {self.path}; load a day first (the daily flow) or read the lake")

    def query(self, text: str, params: dict | None = None) -> pl.DataFrame:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            con.execute(SET_TIMEZONE)
            if "dq_results" in text and not self.has_tables(("dq_results",), con):
                return pl.DataFrame(schema=DQ_RESULTS)
            df = con.sql(text, params=params or None).pl()
        finally:
            con.close()
        return _in_exchange_time(df)

    def has_tables(self, tables: tuple[str, ...] = HISTORY_TABLES, con: duckdb.DuckDBPyConnection | None = None) -> bool:
        """True when the warehouse has every table in ``tables``."""
        own = con is None
        con = con or duckdb.connect(str(self.path), read_only=True)
        try:
            names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        finally:
            if own:
                con.close()
        return set(tables) <= names

    def close(self) -> None:
        """Nothing stays open."""


class PostgresHistory(LakeHistory):
    """History over the PostgreSQL / TimescaleDB warehouse (``VNTRACK_DATABASE_URL``), same interface and SQL.

    Each query pulls the rows of the tables it names through the warehouse's read side
    (``warehouse.read.WarehouseReader.table``: parameterized psycopg, one date's rows when the query has a
    ``$day`` parameter, else the whole table) into an in-memory DuckDB, and runs the page's SQL there: one
    dialect for the three engines. Raises what psycopg raises when the server is down.
    """

    def __init__(self, url: str) -> None:
        from warehouse.read import WarehouseReader
        from warehouse.target import Target

        self.reader = WarehouseReader(Target("postgres", url=url))
        self.lake = None
        self._lock = threading.Lock()

    def query(self, text: str, params: dict | None = None) -> pl.DataFrame:
        params = params or {}
        con = duckdb.connect(":memory:")
        try:
            con.execute(SET_TIMEZONE)
            for name in (*HISTORY_TABLES, "dq_results"):
                if re.search(rf"\b{name}\b", text):
                    con.register(name, self.reader.table(name, params.get("day")).to_arrow())
            df = con.sql(text, params=params or None).pl()
        finally:
            con.close()
        return _in_exchange_time(df)

    def candles(self, day: date, symbol: str, interval: str = "1m") -> pl.DataFrame:
        """As :meth:`LakeHistory.candles`; 5m / 1h are read from the warehouse's own ``candles_5m`` /
        ``candles_1h`` (TimescaleDB continuous aggregates, or materialized views on plain PostgreSQL)."""
        if _interval_width(interval) is None:
            return super().candles(day, symbol)
        out = self.reader.candles(day, symbol, interval).drop("trading_date", "symbol").rename({"bucket": "minute"})
        return _in_exchange_time(out)

    def close(self) -> None:
        """Nothing stays open."""


def open_history(lake: Path, database_url: str | None = None, warehouse_file: Path | None = None) -> LakeHistory:
    """The PostgreSQL warehouse's history when ``database_url`` is given (``VNTRACK_DATABASE_URL``); else the
    DuckDB warehouse's when ``warehouse_file`` (``Settings.warehouse_file``; default ``lake/warehouse.duckdb``)
    holds every table the pages read (and can be opened now); else the lake's curated files."""
    if database_url:
        return PostgresHistory(database_url)
    path = Path(warehouse_file) if warehouse_file is not None else Path(lake) / WAREHOUSE_FILE
    if path.is_file():
        try:
            wh = WarehouseHistory(path)
            if wh.has_tables():
                return wh
        except duckdb.Error:
            pass  # locked by the loader or not a DuckDB file: the curated files say the same
    return LakeHistory(lake)
