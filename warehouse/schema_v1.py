"""The warehouse schema as migration 0001 created it: FROZEN, never edit (add a migration and a schema_v2).

One schema on every engine (docs/architecture.md §2). Types are logical names rendered per engine by
``warehouse.ddl`` (``double`` -> DOUBLE PRECISION on PostgreSQL, DOUBLE on DuckDB; ``timestamptz`` ->
TIMESTAMPTZ on both). ``seq`` (uint64 in the lake) is BIGINT: PostgreSQL has no unsigned type and a capture
session never gets near 2**63 frames. Every table has ``trading_date DATE`` (contract C4).

``time`` names the time column a TimescaleDB hypertable is partitioned on (None: a plain table), ``key`` the
columns that identify a row within a date (checked by the validation suites, indexed here).
"""

from __future__ import annotations

from typing import NamedTuple


class TableSpec(NamedTuple):
    """One warehouse table: name, ``(column, logical type)`` pairs, hypertable time column, row key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    time: str | None
    key: tuple[str, ...]


def _cols(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(part.split()) for part in text.split(","))  # type: ignore[misc]


_ARRIVAL = "session text, seq bigint, trading_date date, exch_time timestamptz"

TABLES_V1: tuple[TableSpec, ...] = (
    TableSpec("trades", _cols(
        f"{_ARRIVAL}, symbol text, exchange text, source text, price double, volume bigint, value_vnd bigint, "
        "ref_price double, ceiling double, floor double, trading_session text, phase text, best_bid double, "
        "best_ask double, aggressor_side text, rule text, vendor_side text"), "exch_time", ("session", "seq")),
    TableSpec("book_top", _cols(
        f"{_ARRIVAL}, symbol text, exchange text, source text, best_bid double, best_bid_vol bigint, "
        "best_ask double, best_ask_vol bigint, trading_session text"), "exch_time", ("session", "seq")),
    TableSpec("session_stats", _cols(
        "trading_date date, symbol text, phase text, trade_count bigint, volume bigint, value_vnd bigint, "
        "buy_volume bigint, sell_volume bigint, neutral_volume bigint, buy_value_vnd bigint, sell_value_vnd bigint, "
        "neutral_value_vnd bigint"), None, ("symbol", "phase")),
    TableSpec("foreign_flow", _cols(
        f"{_ARRIVAL}, symbol text, buy_vol bigint, sell_vol bigint, buy_val_vnd bigint, sell_val_vnd bigint, "
        "d_buy_vol bigint, d_sell_vol bigint, d_buy_val_vnd bigint, d_sell_val_vnd bigint, net_vol bigint, "
        "net_val_vnd bigint, cum_net_vol bigint, cum_net_val_vnd bigint, speed_vol_per_min double, "
        "accel_vol_per_min double, total_room bigint, current_room bigint, room_used double, correction boolean"),
        "exch_time", ("session", "seq")),
    TableSpec("foreign_summary", _cols(
        "trading_date date, symbol text, sector text, buy_vol bigint, sell_vol bigint, buy_val_vnd bigint, "
        "sell_val_vnd bigint, net_vol bigint, net_val_vnd bigint, room_used double, corrections bigint, "
        "rank_net_buy bigint, rank_net_sell bigint"), None, ("symbol",)),
    TableSpec("foreign_by_sector", _cols(
        "trading_date date, sector text, symbols bigint, buy_val_vnd bigint, sell_val_vnd bigint, "
        "net_val_vnd bigint, net_vol bigint"), None, ("sector",)),
    TableSpec("indices", _cols(
        f"{_ARRIVAL}, index_id text, value double, prior_value double, change double, change_pct double, "
        "advances bigint, declines bigint, no_changes bigint, ceilings bigint, floors bigint, advance_ratio double, "
        "total_qtty bigint, total_value_vnd bigint, trading_session text"), "exch_time", ("session", "seq", "index_id")),
    TableSpec("basis", _cols(
        f"{_ARRIVAL}, symbol text, is_front_month boolean, futures_price double, spot double, basis_pts double, "
        "basis_pct double, premium boolean, volume bigint"), "exch_time", ("session", "seq")),
    TableSpec("alerts", _cols(
        f"{_ARRIVAL}, alert_type text, severity text, symbol text, metric double, threshold double, details text"),
        "exch_time", ("session", "seq", "alert_type")),
    TableSpec("candles_1m", _cols(
        "trading_date date, symbol text, minute timestamptz, open double, high double, low double, close double, "
        "volume bigint, value_vnd bigint, vwap double, trade_count bigint, buy_volume bigint, sell_volume bigint"),
        "minute", ("symbol", "minute")),
    TableSpec("board", _cols(
        "trading_date date, symbol text, exchange text, last_price double, ref_price double, ceiling double, "
        "floor double, change double, change_pct double, price_state text, best_bid double, best_bid_vol bigint, "
        "best_ask double, best_ask_vol bigint, volume bigint, value_vnd bigint, active_buy_share double, "
        "foreign_net_vol bigint, foreign_net_val_vnd bigint, last_exch_time timestamptz"), None, ("symbol",)),
    TableSpec("capture_events", _cols(
        "trading_date date, wall_time timestamptz, wall_ns bigint, session text, seq bigint, kind text, detail text"),
        "wall_time", ("wall_ns", "session", "kind")),
    TableSpec("dq_results", _cols(
        "trading_date date, run_id text, table_name text, expectation text, column_name text, success boolean, "
        "element_count bigint, unexpected_count bigint, observed text, checked_at timestamptz"),
        None, ("run_id", "table_name", "expectation", "column_name")),
    TableSpec("completeness", _cols(
        "trading_date date, symbol text, captured_volume bigint, rest_volume bigint, "
        "captured_foreign_buy_vol bigint, rest_foreign_buy_vol bigint, captured_foreign_sell_vol bigint, "
        "rest_foreign_sell_vol bigint, score double, checked_at timestamptz"), None, ("symbol",)),
)
"""Tables loaded per trading date (``days`` is separate: one row per date, primary key trading_date)."""

DAYS_V1: tuple[tuple[str, str], ...] = _cols(
    "trading_date date, status text, loaded_at timestamptz, frames bigint, row_counts text, dq_failed bigint, "
    "dq_total bigint")
"""``days``: status 'ok' | 'degraded'; row_counts a JSON object {table: rows}; dq_* counts of expectations."""
