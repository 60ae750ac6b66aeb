"""The read side of the warehouse: the queries the app needs, on DuckDB and PostgreSQL alike.

Importable without Prefect or Great Expectations (contract C4). Every query is parameterized (psycopg's
``%(name)s``; rewritten to DuckDB's ``$name``), ordered deterministically, and returns a Polars frame whose
dtypes come from the schema (``schema_v2``, the current one), so both engines give equal frames for equal data.

Example::

    from warehouse.read import WarehouseReader
    wh = WarehouseReader.from_settings(get_settings())
    wh.days()                                     # trading_date, status, loaded_at, frames, row_counts, ...
    wh.candles(date(2026, 7, 22), "FPT", "5m")    # trading_date, symbol, bucket, open, high, low, close, ...

DuckDB: one file allows one writing process; reads take a shared lock on ``<file>.lock`` (a load takes it
exclusively), so a reader waits while a date is being loaded, for seconds, never sees half a date.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl

from market.clock import TZ
from warehouse.schema_v2 import DAYS_V2, TABLES_V2
from warehouse.target import Target, connect_duckdb, connect_postgres, target_from_settings

Interval = Literal["1m", "5m", "1h"]
_SPEC = {t.name: dict(t.columns) for t in TABLES_V2} | {"days": dict(DAYS_V2)}
_POLARS = {"text": pl.String, "bigint": pl.Int64, "double": pl.Float64, "date": pl.Date,
           "timestamptz": pl.Datetime("us", TZ), "boolean": pl.Boolean}
_CANDLE_VIEW = {"5m": "candles_5m", "1h": "candles_1h"}
_PARAM = re.compile(r"%\((\w+)\)s")


def _schema(table: str, columns: list[str]) -> dict[str, pl.DataType]:
    types = _SPEC[table] | {"bucket": "timestamptz"}
    return {c: _POLARS[types[c]] for c in columns}


class WarehouseReader:
    """Read-only queries over a migrated warehouse (see the module docstring)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    @classmethod
    def from_settings(cls, settings: Any) -> WarehouseReader:
        """The reader of the configured warehouse (``VNTRACK_DATABASE_URL`` or the DuckDB file)."""
        return cls(target_from_settings(settings))

    # -------------------------------------------------------------------------------------------- plumbing

    def query(self, sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        """Run one parameterized SELECT; the result has exactly ``schema`` (names in order, dtypes).

        ``sql`` uses ``%(name)s`` placeholders; values are always bound, never formatted into the text.
        """
        names = list(schema)
        if self.target.kind == "duckdb":
            rows = self._duckdb(_PARAM.sub(r"$\1", sql), dict(params))
        else:
            with connect_postgres(self.target.url, autocommit=True) as conn:
                rows = conn.execute(sql, dict(params)).fetchall()
        frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None) if rows else \
            pl.DataFrame(schema={n: pl.Null for n in names})
        return frame.cast(dict(schema))

    def _duckdb(self, sql: str, params: dict) -> list[tuple]:
        path = Path(self.target.path)
        if not path.exists():
            raise FileNotFoundError(f"no DuckDB warehouse at {path}: run `vntrack db migrate` and a rebuild first")
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            conn = connect_duckdb(path)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _table(self, table: str, where: str, params: Mapping[str, Any], order: str) -> pl.DataFrame:
        columns = list(_SPEC[table])
        cols = ", ".join(f'"{c}"' for c in columns)
        return self.query(f'SELECT {cols} FROM "{table}" WHERE {where} ORDER BY {order}', params,
                          _schema(table, columns))

    # --------------------------------------------------------------------------------------------- queries

    def table(self, table: str, day: date | None = None) -> pl.DataFrame:
        """Every column of a loaded table (``schema_v2``), for one trading date or for all, by trading_date.

        Raises
        ------
        KeyError : ``table`` is not a warehouse table.
        """
        if day is None:
            return self._table(table, "TRUE", {}, "trading_date")
        return self._table(table, "trading_date = %(day)s", {"day": day}, "trading_date")

    def days(self) -> pl.DataFrame:
        """Loaded trading dates: trading_date, status ('ok'|'degraded'), loaded_at, frames, row_counts (JSON
        text {table: rows}), dq_failed, dq_total; ascending by date."""
        return self._table("days", "TRUE", {}, "trading_date")

    def candles(self, day: date, symbol: str, interval: Interval = "1m") -> pl.DataFrame:
        """OHLCV candles of one symbol on one date.

        Returns
        -------
        pl.DataFrame : trading_date, symbol, bucket (interval start, exchange time), open, high, low, close
            (price units), volume, value_vnd, vwap, trade_count, buy_volume, sell_volume; ascending by bucket.

        Raises
        ------
        ValueError : ``interval`` is not 1m, 5m or 1h.
        """
        if interval not in ("1m", "5m", "1h"):
            raise ValueError(f"interval {interval!r} is not one of '1m', '5m', '1h'")
        columns = ["trading_date", "symbol", "bucket", "open", "high", "low", "close", "volume", "value_vnd",
                   "vwap", "trade_count", "buy_volume", "sell_volume"]
        source = "candles_1m" if interval == "1m" else _CANDLE_VIEW[interval]
        select = ", ".join('minute AS bucket' if c == "bucket" and interval == "1m" else c for c in columns)
        return self.query(
            f"SELECT {select} FROM {source} WHERE trading_date = %(day)s AND symbol = %(symbol)s ORDER BY bucket",
            {"day": day, "symbol": symbol}, _schema("candles_1m", columns))

    def trades(self, day: date, symbol: str | None = None) -> pl.DataFrame:
        """Classified trades of a date (all columns of ``trades``), in arrival order (session, seq)."""
        return self._table("trades", "trading_date = %(day)s AND (%(symbol)s::TEXT IS NULL OR symbol = %(symbol)s)",
                           {"day": day, "symbol": symbol}, "session, seq")

    def book_top(self, day: date, symbol: str) -> pl.DataFrame:
        """Best bid / ask frames of one symbol on a date, in arrival order."""
        return self._table("book_top", "trading_date = %(day)s AND symbol = %(symbol)s", {"day": day, "symbol": symbol},
                           "session, seq")

    def session_stats(self, day: date) -> pl.DataFrame:
        """Per symbol and phase (ato, continuous, atc, pt, total) volumes and values, by symbol then phase."""
        return self._table("session_stats", "trading_date = %(day)s", {"day": day}, "symbol, phase")

    def foreign_summary(self, day: date) -> pl.DataFrame:
        """Per-symbol foreign totals of a date (ranks of the top 10 net buyers / sellers), by symbol."""
        return self._table("foreign_summary", "trading_date = %(day)s", {"day": day}, "symbol")

    def foreign_flow(self, day: date, symbol: str | None = None) -> pl.DataFrame:
        """Foreign flow per R frame (deltas, speed, acceleration, room used), in arrival order."""
        return self._table("foreign_flow",
                           "trading_date = %(day)s AND (%(symbol)s::TEXT IS NULL OR symbol = %(symbol)s)",
                           {"day": day, "symbol": symbol}, "session, seq")

    def indices(self, day: date, index_id: str | None = None) -> pl.DataFrame:
        """Index series (VN30, VNINDEX, ...) of a date, in arrival order."""
        return self._table("indices",
                           "trading_date = %(day)s AND (%(index_id)s::TEXT IS NULL OR index_id = %(index_id)s)",
                           {"day": day, "index_id": index_id}, "session, seq, index_id")

    def basis(self, day: date) -> pl.DataFrame:
        """Futures basis per VN30F trade of a date, in arrival order."""
        return self._table("basis", "trading_date = %(day)s", {"day": day}, "session, seq")

    def alerts(self, day: date) -> pl.DataFrame:
        """Alerts of a date, in arrival order."""
        return self._table("alerts", "trading_date = %(day)s", {"day": day}, "session, seq, alert_type")

    def board(self, day: date) -> pl.DataFrame:
        """End-of-day price board of a date, by symbol."""
        return self._table("board", "trading_date = %(day)s", {"day": day}, "symbol")

    def dq_results(self, day: date) -> pl.DataFrame:
        """Data-quality results of the date's last validation, by table, expectation and column."""
        return self._table("dq_results", "trading_date = %(day)s", {"day": day},
                           "table_name, expectation, column_name")

    def capture_events(self, day: date) -> pl.DataFrame:
        """Capture events (connect, gap, reconnect, ...) of a date, by wall time."""
        return self._table("capture_events", "trading_date = %(day)s", {"day": day}, "wall_ns, session, kind")

    def completeness(self, day: date) -> pl.DataFrame:
        """Per-symbol completeness against SSI's DailyStockPrice (reconcile_day), by symbol."""
        return self._table("completeness", "trading_date = %(day)s", {"day": day}, "symbol")
