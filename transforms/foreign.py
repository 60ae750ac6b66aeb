"""Foreign-investor flow (khối ngoại) from cumulative R frames: deltas, speed, acceleration, room; the day's
summary with top 10 net buyers/sellers and sectors (docs/analytics.md §6).

SSI's R frames carry cumulative ``BuyVol/SellVol/BuyVal/SellVal`` for the day (docs/ssi-wire.md §2.4: not the
``FBuyVol`` of the doc table). Flow is the increase of the running maximum, so it is never negative and a downward
correction is flagged, not booked twice. A symbol's first R row of the day is a baseline: its level counts in the
totals and the net level, its delta is not flow (a capture that starts at 13:30 does not book the morning).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms import schemas

from market import rules as market
from market.reference_data import UNKNOWN_SECTOR, sectors
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.windows import (
    StreamIndex,
    arrival_keys,
    arrival_order,
    group_by_codes,
    local_epoch_s,
    running_max,
    stream_codes,
)

_LEVELS = ("buy_vol", "sell_vol", "buy_val_vnd", "sell_val_vnd")


def foreign_flow(foreign_room: pl.DataFrame, ranks: dict[str, int] | None = None,
                 params: AnalyticsParams = DEFAULT_PARAMS) -> pl.DataFrame:
    """Per-frame foreign flow.

    Parameters
    ----------
    foreign_room : parsed R frames (``transforms.schemas.FOREIGN_ROOM``): cumulative buy_vol/sell_vol Int64
        shares, buy_val/sell_val Float64 VND, total_room/current_room Int64 shares.
    ranks : capture-session ranks (:func:`transforms.windows.arrival_order`).
    params : ``params.foreign``: the speed window and the acceleration lag (default 300 s and 60 s).

    Returns
    -------
    ``transforms.schemas.FOREIGN_FLOW`` in arrival order (rows of one frame by symbol): levels, non-negative deltas
    (0 at a symbol's first row, the baseline), net (buy - sell) in shares and VND, the net level, speeds (net, buy,
    sell shares/minute since the row 5 minutes back, over the elapsed exchange time; null at the baseline),
    accelerations (speed now - the speed of the row 1 minute back), room used (fraction) and the correction flag
    (docs/analytics.md §6).
    """
    if foreign_room.height == 0:
        return schemas.empty(schemas.FOREIGN_FLOW)
    ranks = ranks or arrival_order(foreign_room)
    # One Polars query (the levels as received, filled and rounded; room used; the symbol's codes), then numpy per
    # symbol in (symbol, arrival) order: a micro-batch pays per query, not per row.
    f, _, _ = arrival_keys(foreign_room, ranks, ties="symbol")
    room, total = pl.col("current_room"), pl.col("total_room")
    cols = f.select(
        pl.col("buy_vol").fill_null(0),
        pl.col("sell_vol").fill_null(0),
        market.round_half_up_expr(pl.col("buy_val").fill_null(0.0)).alias("buy_val_vnd"),
        market.round_half_up_expr(pl.col("sell_val").fill_null(0.0)).alias("sell_val_vnd"),
        room.cast(pl.Float64).alias("_room"),
        total.cast(pl.Float64).alias("_total"),
        stream_codes("symbol").alias("_code"),
    )
    # room_used in numpy: Polars divides by a column it holds as one broadcast value by multiplying with its
    # reciprocal (one ulp off its division otherwise), and live and replay must agree to the last bit
    room_f, total_f = cols.get_column("_room").to_numpy(), cols.get_column("_total").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        used = np.where((total_f > 0) & ~np.isnan(room_f), 1 - room_f / total_f, np.nan)
    cols = cols.with_columns(pl.Series("room_used", used, dtype=pl.Float64, nan_to_null=True))
    order, dense = group_by_codes(cols.get_column("_code").to_numpy())
    baseline = np.ones(order.size, dtype=bool)  # a symbol's first row: its level counts, not its delta
    baseline[1:] = dense[1:] != dense[:-1]
    out = {}  # per output column, numpy in (symbol, arrival) order
    running = {}
    correction = np.zeros(order.size, dtype=bool)
    for c in _LEVELS:
        level = cols.get_column(c).to_numpy()[order]
        running[c] = cm = running_max(dense, np.maximum(level, 0))
        prev = np.where(baseline, 0, np.roll(cm, 1))  # the running level of the symbol's previous row, else 0
        out[f"d_{c}"] = np.where(baseline, 0, cm - prev)
        correction |= level < prev
    out["net_vol"] = out["d_buy_vol"] - out["d_sell_vol"]
    out["net_val_vnd"] = out["d_buy_val_vnd"] - out["d_sell_val_vnd"]
    out["cum_net_vol"] = running["buy_vol"] - running["sell_vol"]
    out["cum_net_val_vnd"] = running["buy_val_vnd"] - running["sell_val_vnd"]
    teff = running_max(dense, local_epoch_s(f.get_column("exch_time"))[order])  # effective_time, per symbol
    out |= _speeds(dense, teff, {"": out["cum_net_vol"], "buy_": running["buy_vol"], "sell_": running["sell_vol"]},
                   params.foreign.speed_window_s, params.foreign.accel_lag_s)
    out["correction"] = correction

    def column(name: str) -> pl.Series:  # an output column in arrival order
        if name in out:
            values = np.empty_like(out[name])
            values[order] = out[name]
            dtype = schemas.FOREIGN_FLOW[name]
            return pl.Series(name, values, dtype=dtype, nan_to_null=dtype == pl.Float64)
        return (cols if name in cols.columns else f).get_column(name)

    flow = pl.DataFrame([column(name) for name in schemas.FOREIGN_FLOW])
    return flow if flow.schema == schemas.FOREIGN_FLOW else flow.cast(dict(schemas.FOREIGN_FLOW))


def _speeds(dense: np.ndarray, teff: np.ndarray, levels: dict[str, np.ndarray], window_s: int, lag_s: int
            ) -> dict[str, np.ndarray]:
    """``speed_{p}vol_per_min`` and ``accel_{p}vol_per_min`` per prefix ``p`` of ``levels`` (prefix -> running level,
    Int64), over rows in (symbol, arrival) order with symbol numbers ``dense`` and ``t_eff`` ``teff``
    (docs/analytics.md §6): the level's rate since the row ``window_s`` back (else the baseline) over the elapsed
    effective time, NaN where none elapsed; the acceleration is the speed minus that of the row ``lag_s`` back,
    NaN without one."""
    idx = StreamIndex(None, codes=dense, teff=teff)
    first = np.searchsorted(idx.codes, idx.codes, side="left")  # the stream's baseline row
    a = idx.last_at_or_before(window_s)
    a = np.where(a >= 0, a, first)
    b = idx.last_at_or_before(lag_s)
    has_b = b >= 0
    b = np.where(has_b, b, 0)
    out = {}
    for prefix, level in levels.items():
        speed = _rate(level, level[a], teff - teff[a])
        out[f"speed_{prefix}vol_per_min"] = speed
        out[f"accel_{prefix}vol_per_min"] = np.where(has_b, speed - speed[b], np.nan)
    return out


def _rate(now: np.ndarray, then: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Per-minute rate of a level change over ``seconds`` (NaN where no time elapsed)."""
    out = np.full(now.shape, np.nan)
    np.divide((now - then) * 60, seconds, out=out, where=seconds > 0)
    return out


def foreign_summary(flow: pl.DataFrame) -> pl.DataFrame:
    """The day per symbol: totals (Int64 shares / VND), net, last room used, corrections, sector, top-10 ranks.

    Input: :func:`foreign_flow`'s output. Output: ``transforms.schemas.FOREIGN_SUMMARY`` sorted by symbol.
    """
    if flow.height == 0:
        return schemas.empty(schemas.FOREIGN_SUMMARY)
    return rank_foreign_totals(foreign_totals(flow))


def foreign_totals(flow: pl.DataFrame) -> pl.DataFrame:
    """Per (trading_date, symbol): the day's levels ``buy_vol, sell_vol, buy_val_vnd, sell_val_vnd`` (Int64, the
    highest level seen, 0 at least: a baseline's level counts although its delta does not), the last row's
    ``room_used`` and the number of ``corrections``. Combines over consecutive parts of the day
    (:func:`merge_foreign_totals`)."""
    return flow.group_by("trading_date", "symbol").agg(
        *[pl.col(c).clip(lower_bound=0).max().alias(c) for c in _LEVELS],
        pl.col("room_used").last(),
        pl.col("correction").sum().cast(pl.Int64).alias("corrections"),
    )


def merge_foreign_totals(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`foreign_totals` of two consecutive parts of a day -> that of their concatenation."""
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    both = pl.concat([earlier, later], how="vertical_relaxed")  # earlier rows first: last() is the later part's
    return both.group_by("trading_date", "symbol", maintain_order=True).agg(
        *[pl.col(c).max() for c in _LEVELS], pl.col("room_used").last(), pl.col("corrections").sum(),
    )


def rank_foreign_totals(totals: pl.DataFrame) -> pl.DataFrame:
    """:func:`foreign_totals` -> ``FOREIGN_SUMMARY``: net, sector, top-10 net buy / net sell ranks (ties by symbol)."""
    if totals.height == 0:
        return schemas.empty(schemas.FOREIGN_SUMMARY)
    s = totals.with_columns(
        (pl.col("buy_vol") - pl.col("sell_vol")).alias("net_vol"),
        (pl.col("buy_val_vnd") - pl.col("sell_val_vnd")).alias("net_val_vnd"),
        pl.col("symbol").replace_strict(sectors(), default=UNKNOWN_SECTOR, return_dtype=pl.String).alias("sector"),
    )
    buy_rank = (
        s.filter(pl.col("net_val_vnd") > 0).sort(pl.col("net_val_vnd"), "symbol", descending=[True, False])
        .head(10).select("trading_date", "symbol", pl.int_range(1, pl.len() + 1).alias("rank_net_buy"))
    )
    sell_rank = (
        s.filter(pl.col("net_val_vnd") < 0).sort("net_val_vnd", "symbol")
        .head(10).select("trading_date", "symbol", pl.int_range(1, pl.len() + 1).alias("rank_net_sell"))
    )
    return (
        s.join(buy_rank, on=["trading_date", "symbol"], how="left")
        .join(sell_rank, on=["trading_date", "symbol"], how="left")
        .sort("symbol", "trading_date")
        .select(list(schemas.FOREIGN_SUMMARY))
        .cast(dict(schemas.FOREIGN_SUMMARY))
    )


def foreign_by_sector(summary: pl.DataFrame) -> pl.DataFrame:
    """Sums of :func:`foreign_summary` per sector (``transforms.schemas.FOREIGN_BY_SECTOR``), sorted by sector."""
    return (
        summary.group_by("trading_date", "sector")
        .agg(
            pl.len().cast(pl.Int64).alias("symbols"),
            pl.col("buy_val_vnd").sum(), pl.col("sell_val_vnd").sum(),
            pl.col("net_val_vnd").sum(), pl.col("net_vol").sum(),
        )
        .sort("sector", "trading_date")
        .select(list(schemas.FOREIGN_BY_SECTOR))
        .cast(dict(schemas.FOREIGN_BY_SECTOR))
    )
