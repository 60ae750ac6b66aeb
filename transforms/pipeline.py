"""One trading day of raw frames -> every parsed and curated table: the composition of the pure transforms.

The same function serves the daily rebuild and replay (design.md §6). It does no I/O.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.alerts import alerts
from transforms.basis import basis
from transforms.board import board
from transforms.candles import candles_1m
from transforms.foreign import foreign_by_sector, foreign_flow, foreign_summary
from transforms.indices import indices
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.parse import parse_frames
from transforms.sessions import session_stats
from transforms.trades import build_trades
from transforms.windows import arrival_order


def run_day(raw: pl.DataFrame, trading_date: date, *, futures_override: str | None = None,
            params: AnalyticsParams = DEFAULT_PARAMS) -> dict[str, pl.DataFrame]:
    """Parse and analyse one day of raw frames.

    Parameters
    ----------
    raw : raw frame records of the day (design.md §3: session, seq, recv_ns, data_type, payload, cursor, source).
    trading_date : the lake partition date (fallback date of frames without ``TradingDate``).
    futures_override : front-month VN30F contract (``VNTRACK_FUTURES_OVERRIDE``), else the resolver.
    params : the analytics parameters (``transforms.params``); the default is docs/analytics.md exactly.

    Returns
    -------
    dict: the parsed tables (``transforms.schemas.PARSED`` names), ``quarantine``, and every curated table of
    ``transforms.schemas.CURATED``, each with exactly its schema. ``recv_ns`` never changes a result.
    """
    parsed = parse_frames(raw, trading_date)
    ranks = arrival_order(*parsed.values())
    trades = build_trades(parsed, ranks, params=params)
    flow = foreign_flow(parsed["foreign_room"], ranks, params)
    summary = foreign_summary(flow)
    idx = indices(parsed["index"])
    bas = basis(trades, idx, futures_override=futures_override, ranks=ranks, params=params)
    return {
        **parsed,
        "trades": trades,
        "session_stats": session_stats(trades),
        "foreign_flow": flow,
        "foreign_summary": summary,
        "foreign_by_sector": foreign_by_sector(summary),
        "indices": idx,
        "basis": bas,
        "alerts": alerts(trades, flow, bas, ranks, params),
        "candles_1m": candles_1m(trades),
        "board": board(parsed, trades, summary, ranks),
    }
