"""Statistics of trades, computed the same way on real recordings and on simulated days, to calibrate and check
the simulator.

Input is the curated ``trades`` table of the analytics (``transforms.pipeline.run_day``; schema
``transforms.schemas.TRADES``), so real and simulated days go through the very same parsing: the real KBS ticks
(``tests/fixtures/kbs-ticks``, X-TRADE frames with the broker's aggressor side) and the real SSI B prints of
20/07/2026 (``tests/fixtures/ssi/quelam96lact_fixtures/ssi_b_messages.jsonl``: the HPG/VCB/TCB ATO burst and
13:32-13:36 continuous prints) on one side, a simulated day on the other.

Continuous statistics are over HOSE stock prints of phase ``continuous`` in arrival order, per symbol:

* ``size_p10 .. size_p99``, ``size_mean``: print volume (shares);
* ``zero_change``: share of prints at the same price as the symbol's previous print;
* ``within_one_tick``: share of price changes of at most one HOSE tick (``market.rules.hose_tick``);
* ``gap_mean_s``: mean seconds between consecutive prints of a symbol (gaps over 10 minutes, i.e. lunch or a
  recording hole, left out); ``same_second``: share of gaps of 0 s;
* ``buy_share``: share of ``BU`` among ``BU``/``SD``; ``side_run_mean``: mean length of runs of one vendor side;
  ``buy_below_prev``: share of ``BU`` prints below the previous print (a buy takes the ask: almost never).

Auction statistics (:func:`ato_burst`): per symbol, prints of phase ``ato``, their distinct prices and times, and
the median print volume.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from market.rules import hose_tick

CONTINUOUS_STATS: tuple[str, ...] = (
    "prints", "size_p10", "size_p25", "size_p50", "size_p75", "size_p90", "size_p99", "size_mean", "zero_change",
    "within_one_tick", "gap_mean_s", "same_second", "buy_share", "side_run_mean", "buy_below_prev",
)
_MAX_GAP_S = 600


def continuous_stats(trades: pl.DataFrame, symbols: list[str] | None = None) -> dict[str, float]:
    """Statistics of the continuous HOSE stock prints of ``trades`` (module docstring).

    Parameters
    ----------
    trades : curated trades (``transforms.schemas.TRADES``).
    symbols : restrict to these symbols (default: every HOSE stock).

    Returns
    -------
    dict keyed by :data:`CONTINUOUS_STATS` (float; NaN where undefined, e.g. sides of B prints).
    """
    c = trades.filter((pl.col("phase") == "continuous") & (pl.col("exchange").fill_null("HOSE") == "HOSE")
                      & ~pl.col("symbol").str.starts_with("VN"))
    if symbols is not None:
        c = c.filter(pl.col("symbol").is_in(symbols))
    c = c.sort("symbol", "session", "seq")
    sym = c.get_column("symbol").to_numpy()
    price = c.get_column("price").to_numpy()
    vol = c.get_column("volume").to_numpy()
    t = c.get_column("exch_time").dt.epoch("s").to_numpy()
    side = c.get_column("vendor_side").fill_null("").to_numpy()
    same = np.r_[False, sym[1:] == sym[:-1]]
    dp = np.r_[0.0, np.diff(price)]
    gap = np.r_[0, np.diff(t)]
    ticks = np.array([hose_tick(p) for p in np.r_[price[:1], price[:-1]]]) if len(price) else np.zeros(0)
    gaps = gap[same & (gap <= _MAX_GAP_S) & (gap >= 0)]
    sided = np.isin(side, ["BU", "SD"])
    run_break = np.r_[True, (side[1:] != side[:-1]) | ~same[1:]]
    runs = np.diff(np.r_[np.flatnonzero(run_break), len(side)])
    run_sides = side[run_break]
    buys = same & (side == "BU")
    pct = np.percentile(vol, [10, 25, 50, 75, 90, 99]) if len(vol) else [np.nan] * 6
    nan = float("nan")
    return {
        "prints": float(len(vol)),
        **{f"size_p{q}": float(v) for q, v in zip((10, 25, 50, 75, 90, 99), pct, strict=True)},
        "size_mean": float(vol.mean()) if len(vol) else nan,
        "zero_change": float((dp[same] == 0).mean()) if same.any() else nan,
        "within_one_tick": float((np.abs(dp[same]) <= ticks[same] + 1e-9).mean()) if same.any() else nan,
        "gap_mean_s": float(gaps.mean()) if len(gaps) else nan,
        "same_second": float((gaps == 0).mean()) if len(gaps) else nan,
        "buy_share": float((side[sided] == "BU").mean()) if sided.any() else nan,
        "side_run_mean": float(runs[np.isin(run_sides, ["BU", "SD"])].mean()) if sided.any() else nan,
        "buy_below_prev": float((dp[buys] < 0).mean()) if buys.any() else nan,
    }


def ato_burst(trades: pl.DataFrame) -> pl.DataFrame:
    """Opening-call prints per HOSE stock: ``symbol``, ``prints``, ``prices`` (distinct), ``times`` (distinct
    ``HH:MM:SS``), ``size_p50`` (median volume), sorted by prints descending then symbol."""
    return (
        trades.filter((pl.col("phase") == "ato") & (pl.col("exchange").fill_null("HOSE") == "HOSE"))
        .group_by("symbol")
        .agg(pl.len().alias("prints"), pl.col("price").n_unique().alias("prices"),
             pl.col("exch_time").dt.strftime("%H:%M:%S").n_unique().alias("times"),
             pl.col("volume").median().alias("size_p50"))
        .sort(["prints", "symbol"], descending=[True, False])
    )


def activity_by_half_hour(trades: pl.DataFrame) -> pl.DataFrame:
    """Continuous HOSE stock prints per half hour of exchange time (``start`` HH:MM, ``prints``), to show the
    U shape."""
    c = trades.filter((pl.col("phase") == "continuous") & (pl.col("exchange") == "HOSE"))
    return (c.group_by(pl.col("exch_time").dt.truncate("30m").dt.strftime("%H:%M").alias("start"))
            .agg(pl.len().alias("prints")).sort("start"))
