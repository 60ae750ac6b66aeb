"""Every typed table of the project, declared once.

Parsed tables (one row per SSI frame, wire field names in snake_case) and curated tables (the analytics)
are Polars schemas; writers and readers look them up here and never infer them.

Conventions (docs/architecture.md §4, docs/ssi-wire.md §2, docs/market.md §1):

* ``session`` (str) + ``seq`` (u64) identify the raw frame a row came from; ordering by them is arrival order.
* ``exch_time`` is the exchange time ``TradingDate`` + ``Time`` in Asia/Ho_Chi_Minh, one-second resolution.
* Prices are Float64 as on the wire: VND per share for stocks, index points for indices and VN30F futures.
* Volumes are Int64 (shares, or contracts for futures). Values are Int64 VND in curated tables
  (``round_half_up(price * volume * multiplier)``; multiplier 100,000 VND/point for futures, else 1) and
  Float64 VND in parsed tables (as on the wire).
"""

from __future__ import annotations

import functools

from typing import Literal

import polars as pl

from market.clock import TZ
from ssi.channels import CHANNEL_TYPES
EXCH_TIME = pl.Datetime("us", TZ)

Rule = Literal["quote", "tick", "auction", "none"]
Phase = Literal["ato", "continuous", "atc", "plo", "pt"]
AggressorSide = Literal["buy", "sell", "neutral"]
TradeSource = Literal["X-TRADE", "X", "B"]
AlertType = Literal["VOLUME_SPIKE", "PRICE_BREAKOUT", "FOREIGN_ACCELERATION", "BASIS_FLIP"]
Severity = Literal["INFO", "WARNING", "CRITICAL"]
SEVERITIES: tuple[str, ...] = ("INFO", "WARNING", "CRITICAL")
"""Alert severity levels, least urgent first (docs/analytics.md §9): the seed's three levels. No rule raises INFO
yet (the seed's four alert types were WARNING or CRITICAL too); the level is accepted end to end."""

PHASES: tuple[str, ...] = ("ato", "continuous", "atc", "plo", "pt")
SESSION_STATS_PHASES: tuple[str, ...] = (*PHASES, "total")
CHANNELS: tuple[str, ...] = CHANNEL_TYPES

# Columns every parsed table starts with: where the row came from and when it happened.
FRAME_KEY: dict[str, pl.DataType] = {
    "session": pl.String,
    "seq": pl.UInt64,
    "recv_ns": pl.Int64,
    "trading_date": pl.Date,
    "exch_time": EXCH_TIME,
}


def _levels(prefix: str, n: int, dtype: pl.DataType) -> dict[str, pl.DataType]:
    return {f"{prefix}_{i}": dtype for i in range(1, n + 1)}


def _book(n: int) -> dict[str, pl.DataType]:
    return {
        **_levels("bid_price", n, pl.Float64),
        **_levels("bid_vol", n, pl.Int64),
        **_levels("ask_price", n, pl.Float64),
        **_levels("ask_vol", n, pl.Int64),
    }


# ---------------------------------------------------------------------------------------------------------------
# Parsed tables: raw frames -> one typed table per channel (transforms/parse.py).
# Wire field -> column: CamelCase -> snake_case (BidPrice1 -> bid_price_1, IndexId -> index_id, TotalQttyPt ->
# total_qtty_pt, RatioChange -> ratio_change). Absent fields are null. NaN / "NaN" are null.
# ---------------------------------------------------------------------------------------------------------------

X_TRADE = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "isin": pl.String,
        "exchange": pl.String,
        "market_id": pl.String,
        "ceiling": pl.Float64,
        "floor": pl.Float64,
        "ref_price": pl.Float64,
        "prior_val": pl.Float64,
        "avg_price": pl.Float64,
        "last_price": pl.Float64,
        "last_vol": pl.Int64,
        "total_vol": pl.Int64,
        "total_val": pl.Float64,
        "highest": pl.Float64,
        "lowest": pl.Float64,
        "change": pl.Float64,
        "ratio_change": pl.Float64,
        "est_matched_price": pl.Float64,
        "trading_session": pl.String,
        "trading_status": pl.String,
        "side": pl.String,
    }
)

X_QUOTE = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "exchange": pl.String,
        **_book(10),
        "trading_session": pl.String,
    }
)

X_SNAPSHOT = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "isin": pl.String,
        "exchange": pl.String,
        "market_id": pl.String,
        "ceiling": pl.Float64,
        "floor": pl.Float64,
        "ref_price": pl.Float64,
        "prior_val": pl.Float64,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "avg_price": pl.Float64,
        "last_price": pl.Float64,
        "last_vol": pl.Int64,
        "total_vol": pl.Int64,
        "total_val": pl.Float64,
        **_book(10),
        "change": pl.Float64,
        "ratio_change": pl.Float64,
        "est_matched_price": pl.Float64,
        "trading_session": pl.String,
        "trading_status": pl.String,
        "side": pl.String,
        "close_qtty": pl.Int64,
    }
)

FOREIGN_ROOM = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "isin": pl.String,
        "exchange": pl.String,
        "market_id": pl.String,
        "total_room": pl.Int64,
        "current_room": pl.Int64,
        "buy_vol": pl.Int64,
        "sell_vol": pl.Int64,
        "buy_val": pl.Float64,
        "sell_val": pl.Float64,
    }
)

INDEX = pl.Schema(
    {
        **FRAME_KEY,
        "index_id": pl.String,
        "index_name": pl.String,
        "exchange": pl.String,
        "market_id": pl.String,
        "index_type": pl.String,
        "trading_session": pl.String,
        "index_value": pl.Float64,
        "prior_index_value": pl.Float64,
        "index_val_est": pl.Float64,
        "change": pl.Float64,
        "ratio_change": pl.Float64,
        "total_trade": pl.Float64,
        "total_qtty": pl.Int64,
        "total_value": pl.Float64,
        "total_qtty_pt": pl.Int64,
        "total_value_pt": pl.Float64,
        "total_qtty_od": pl.Int64,
        "total_value_od": pl.Float64,
        "all_qty": pl.Int64,
        "all_value": pl.Float64,
        "advances": pl.Int64,
        "no_changes": pl.Int64,
        "declines": pl.Int64,
        "ceilings": pl.Int64,
        "floors": pl.Int64,
    }
)

BAR = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
        "value": pl.Float64,
    }
)

STATUS = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "exchange": pl.String,
        "market_id": pl.String,
        "trading_session": pl.String,
        "trading_status": pl.String,
        "trading_ol_session": pl.String,
    }
)

ODD_LOT = pl.Schema(
    {
        **FRAME_KEY,
        "symbol": pl.String,
        "stock_no": pl.Int64,
        "exchange": pl.String,
        "stock_type": pl.String,
        "ceiling": pl.Float64,
        "floor": pl.Float64,
        "ref_price": pl.Float64,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "last_price": pl.Float64,
        "last_vol": pl.Int64,
        "total_vol": pl.Int64,
        "total_val": pl.Float64,
        **{k: v for k, v in _book(3).items()},
        "change": pl.Float64,
        "ratio_change": pl.Float64,
        "trading_session": pl.String,
        "trading_status": pl.String,
    }
)

QUARANTINE = pl.Schema(
    {
        "session": pl.String,
        "seq": pl.UInt64,
        "recv_ns": pl.Int64,
        "data_type": pl.String,
        "payload": pl.String,
        "reason": pl.String,
    }
)

# DataType (upper-cased) -> parsed table name and schema.
PARSED: dict[str, tuple[str, pl.Schema]] = {
    "X-TRADE": ("x_trade", X_TRADE),
    "X-QUOTE": ("x_quote", X_QUOTE),
    "X": ("x", X_SNAPSHOT),
    "R": ("foreign_room", FOREIGN_ROOM),
    "MI": ("index", INDEX),
    "B": ("bar", BAR),
    "F": ("status", STATUS),
    "OL": ("odd_lot", ODD_LOT),
}

# ---------------------------------------------------------------------------------------------------------------
# Curated tables: the analytics (docs/analytics.md gives every rule exactly).
# ---------------------------------------------------------------------------------------------------------------

SYMBOL_ROW_KEY: dict[str, pl.DataType] = {
    "session": pl.String,
    "seq": pl.UInt64,
    "trading_date": pl.Date,
    "exch_time": EXCH_TIME,
    "symbol": pl.String,
    "exchange": pl.String,
}
"""The leading columns of a per-frame row table of one symbol: its frame's arrival key, date, time and symbol."""

TRADES = pl.Schema(
    {
        **SYMBOL_ROW_KEY,
        "source": pl.String,  # TradeSource: the channel the trade was derived from
        "price": pl.Float64,  # VND/share, or points for futures
        "volume": pl.Int64,  # shares or contracts
        "value_vnd": pl.Int64,
        "ref_price": pl.Float64,
        "ceiling": pl.Float64,
        "floor": pl.Float64,
        "trading_session": pl.String,  # the wire's TradingSession, verbatim
        "phase": pl.String,  # Phase
        "best_bid": pl.Float64,  # best bid of the book used by the quote rule (null if none)
        "best_ask": pl.Float64,
        "aggressor_side": pl.String,  # AggressorSide (mua chủ động / bán chủ động / neutral)
        "rule": pl.String,  # Rule
        "vendor_side": pl.String,  # SSI's Side verbatim (BU / SD / Unknown / null)
    }
)

SESSION_STATS = pl.Schema(
    {
        "trading_date": pl.Date,
        "symbol": pl.String,
        "phase": pl.String,  # ato, continuous, atc, pt, total
        "trade_count": pl.Int64,
        "volume": pl.Int64,
        "value_vnd": pl.Int64,
        "buy_volume": pl.Int64,
        "sell_volume": pl.Int64,
        "neutral_volume": pl.Int64,
        "buy_value_vnd": pl.Int64,
        "sell_value_vnd": pl.Int64,
        "neutral_value_vnd": pl.Int64,
    }
)

FOREIGN_FLOW = pl.Schema(
    {
        "session": pl.String,
        "seq": pl.UInt64,
        "trading_date": pl.Date,
        "exch_time": EXCH_TIME,
        "symbol": pl.String,
        "buy_vol": pl.Int64,  # cumulative levels as received (shares)
        "sell_vol": pl.Int64,
        "buy_val_vnd": pl.Int64,  # cumulative levels as received, rounded to VND
        "sell_val_vnd": pl.Int64,
        "d_buy_vol": pl.Int64,  # flow since the previous frame, never negative; 0 at the baseline (first row)
        "d_sell_vol": pl.Int64,
        "d_buy_val_vnd": pl.Int64,
        "d_sell_val_vnd": pl.Int64,
        "net_vol": pl.Int64,  # d_buy_vol - d_sell_vol
        "net_val_vnd": pl.Int64,  # d_buy_val_vnd - d_sell_val_vnd
        "cum_net_vol": pl.Int64,  # net level: running max buy_vol - running max sell_vol (baseline included)
        "cum_net_val_vnd": pl.Int64,  # net level in VND, likewise
        "speed_vol_per_min": pl.Float64,  # net shares/minute since the row 5 min back, over elapsed time; null: none
        "accel_vol_per_min": pl.Float64,  # speed now - speed of the row 1 min back (docs/analytics.md §6)
        "speed_buy_vol_per_min": pl.Float64,  # the same for the buy level alone
        "accel_buy_vol_per_min": pl.Float64,
        "speed_sell_vol_per_min": pl.Float64,  # the same for the sell level alone
        "accel_sell_vol_per_min": pl.Float64,
        "total_room": pl.Int64,
        "current_room": pl.Int64,
        "room_used": pl.Float64,  # 1 - current_room / total_room (fraction)
        "correction": pl.Boolean,  # a cumulative field went down in this frame
    }
)

FOREIGN_SUMMARY = pl.Schema(
    {
        "trading_date": pl.Date,
        "symbol": pl.String,
        "sector": pl.String,
        "buy_vol": pl.Int64,
        "sell_vol": pl.Int64,
        "buy_val_vnd": pl.Int64,
        "sell_val_vnd": pl.Int64,
        "net_vol": pl.Int64,
        "net_val_vnd": pl.Int64,
        "room_used": pl.Float64,
        "corrections": pl.Int64,
        "rank_net_buy": pl.Int64,  # 1..10 for the top 10 net buyers by net_val_vnd (> 0), else null
        "rank_net_sell": pl.Int64,  # 1..10 for the top 10 net sellers (net_val_vnd < 0), else null
    }
)

FOREIGN_BY_SECTOR = pl.Schema(
    {
        "trading_date": pl.Date,
        "sector": pl.String,
        "symbols": pl.Int64,
        "buy_val_vnd": pl.Int64,
        "sell_val_vnd": pl.Int64,
        "net_val_vnd": pl.Int64,
        "net_vol": pl.Int64,
    }
)

INDICES = pl.Schema(
    {
        "session": pl.String,
        "seq": pl.UInt64,
        "trading_date": pl.Date,
        "exch_time": EXCH_TIME,
        "index_id": pl.String,
        "value": pl.Float64,  # points
        "prior_value": pl.Float64,
        "change": pl.Float64,  # points, value - prior_value
        "change_pct": pl.Float64,  # percent
        "advances": pl.Int64,
        "declines": pl.Int64,
        "no_changes": pl.Int64,
        "ceilings": pl.Int64,
        "floors": pl.Int64,
        "advance_ratio": pl.Float64,  # adv / (adv + dec), null when both are 0
        "total_qtty": pl.Int64,
        "total_value_vnd": pl.Int64,
        "trading_session": pl.String,
    }
)

BASIS = pl.Schema(
    {
        "session": pl.String,
        "seq": pl.UInt64,
        "trading_date": pl.Date,
        "exch_time": EXCH_TIME,
        "symbol": pl.String,  # the VN30F contract traded
        "is_front_month": pl.Boolean,
        "futures_price": pl.Float64,  # points
        "spot": pl.Float64,  # VN30 points, the latest MI VN30 value arrived before the trade
        "basis_pts": pl.Float64,
        "basis_pct": pl.Float64,
        "premium": pl.Boolean,  # basis > 0
        "volume": pl.Int64,  # contracts
    }
)

ALERTS = pl.Schema(
    {
        "session": pl.String,
        "seq": pl.UInt64,
        "trading_date": pl.Date,
        "exch_time": EXCH_TIME,
        "alert_type": pl.String,  # AlertType
        "severity": pl.String,  # Severity
        "symbol": pl.String,
        "metric": pl.Float64,  # the number that fired it
        "threshold": pl.Float64,  # what it was compared with
        "details": pl.String,
    }
)

CANDLES_1M = pl.Schema(
    {
        "trading_date": pl.Date,
        "symbol": pl.String,
        "minute": EXCH_TIME,  # start of the minute, exchange time
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
        "value_vnd": pl.Int64,
        "vwap": pl.Float64,  # value_vnd / (volume * multiplier), price units
        "trade_count": pl.Int64,
        "buy_volume": pl.Int64,
        "sell_volume": pl.Int64,
    }
)

BOARD = pl.Schema(
    {
        "trading_date": pl.Date,
        "symbol": pl.String,
        "exchange": pl.String,
        "last_price": pl.Float64,
        "ref_price": pl.Float64,
        "ceiling": pl.Float64,
        "floor": pl.Float64,
        "change": pl.Float64,  # last - ref, price units
        "change_pct": pl.Float64,  # percent
        "price_state": pl.String,  # ceiling, floor, up, down, unchanged (board colour), null without ref
        "best_bid": pl.Float64,
        "best_bid_vol": pl.Int64,
        "best_ask": pl.Float64,
        "best_ask_vol": pl.Int64,
        "volume": pl.Int64,  # matched today, put-through excluded
        "value_vnd": pl.Int64,
        "active_buy_share": pl.Float64,  # buy_volume / (buy_volume + sell_volume), null when both 0
        "foreign_net_vol": pl.Int64,
        "foreign_net_val_vnd": pl.Int64,
        "last_exch_time": EXCH_TIME,
    }
)

BOOK_TOP = pl.Schema(
    {
        **SYMBOL_ROW_KEY,
        "source": pl.String,  # X-QUOTE | X
        "best_bid": pl.Float64,  # VND (index points for VN30F)
        "best_bid_vol": pl.Int64,  # shares / contracts
        "best_ask": pl.Float64,
        "best_ask_vol": pl.Int64,
        "trading_session": pl.String,
    }
)
"""Best bid / ask of every X-QUOTE and X frame (``transforms.book.book_top``), in arrival order."""

DQ_RESULTS = pl.Schema(
    {
        "trading_date": pl.Date,
        "run_id": pl.String,
        "table_name": pl.String,
        "expectation": pl.String,
        "column_name": pl.String,
        "success": pl.Boolean,
        "element_count": pl.Int64,
        "unexpected_count": pl.Int64,
        "observed": pl.String,
        "checked_at": EXCH_TIME,
    }
)
"""Validation results of a day (``lake/dq/date=D/dq_results.parquet``, written by ``flows.validate``): one row
per Great Expectations expectation run on a curated table; ``column_name`` null for table-level expectations."""

CURATED: dict[str, pl.Schema] = {
    "trades": TRADES,
    "session_stats": SESSION_STATS,
    "foreign_flow": FOREIGN_FLOW,
    "foreign_summary": FOREIGN_SUMMARY,
    "foreign_by_sector": FOREIGN_BY_SECTOR,
    "indices": INDICES,
    "basis": BASIS,
    "alerts": ALERTS,
    "candles_1m": CANDLES_1M,
    "board": BOARD,
    "book_top": BOOK_TOP,
}


def empty(schema: pl.Schema) -> pl.DataFrame:
    """An empty frame with exactly ``schema``.

    Built once per schema and cloned after (a clone is ~1 us, building one ~0.2 ms: the live step asks for
    several per batch)."""
    return _empty(tuple(schema.items())).clone()


@functools.lru_cache(maxsize=256)
def _empty(columns: tuple[tuple[str, pl.DataType], ...]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(columns))
