"""Foreign-investor flow (khối ngoại) from cumulative R frames: deltas, speed, acceleration, room; the day's
summary with top 10 net buyers/sellers and sectors (docs/analytics.md §6).

SSI's R frames carry cumulative ``BuyVol/SellVol/BuyVal/SellVal`` for the day (docs/ssi-wire.md §2.4: not the
``FBuyVol`` of the doc table). Flow is the increase of the running maximum, so it is never negative and a downward
correction is flagged, not booked twice.
"""

from __future__ import annotations

import polars as pl

from transforms import schemas

from market import rules as market
from market.reference_data import UNKNOWN_SECTOR, sectors
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.windows import StreamIndex, arrival_key, arrival_order, effective_time

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
    ``transforms.schemas.FOREIGN_FLOW`` in arrival order: levels, non-negative deltas, net (buy - sell) in shares
    and VND, running net, speed (net shares/minute over the trailing speed window of exchange time), acceleration
    (speed now - speed ``accel_lag_s`` earlier), room used (fraction) and the correction flag.
    """
    if foreign_room.height == 0:
        return schemas.empty(schemas.FOREIGN_FLOW)
    ranks = ranks or arrival_order(foreign_room)
    f = (
        foreign_room.with_columns(
            arrival_key(ranks),
            pl.col("buy_vol").fill_null(0),
            pl.col("sell_vol").fill_null(0),
            market.round_half_up_expr(pl.col("buy_val").fill_null(0.0)).alias("buy_val_vnd"),
            market.round_half_up_expr(pl.col("sell_val").fill_null(0.0)).alias("sell_val_vnd"),
        )
        .sort("symbol", "_arr")
    )
    running = [pl.col(c).clip(lower_bound=0).cum_max().over("symbol").alias(f"_cm_{c}") for c in _LEVELS]
    f = f.with_columns(running)
    deltas, corrections = [], []
    for c in _LEVELS:
        prev = pl.col(f"_cm_{c}").shift(1).over("symbol").fill_null(0)
        deltas.append((pl.col(f"_cm_{c}") - prev).alias(f"d_{c}"))
        corrections.append(pl.col(c) < prev)
    f = f.with_columns(*deltas, pl.any_horizontal(corrections).alias("correction"), effective_time("symbol"))
    f = f.with_columns(
        (pl.col("d_buy_vol") - pl.col("d_sell_vol")).alias("net_vol"),
        (pl.col("d_buy_val_vnd") - pl.col("d_sell_val_vnd")).alias("net_val_vnd"),
    ).with_columns(
        pl.col("net_vol").cum_sum().over("symbol").alias("cum_net_vol"),
        pl.col("net_val_vnd").cum_sum().over("symbol").alias("cum_net_val_vnd"),
    )
    idx = StreamIndex(f, "symbol")
    net = f.get_column("net_vol").to_numpy()
    window_s, lag_s = params.foreign.speed_window_s, params.foreign.accel_lag_s
    speed = idx.window_sum(net, window_s) / (window_s / 60)
    earlier = idx.window_sum(net, window_s + lag_s, lag_s) / (window_s / 60)
    room, total = pl.col("current_room"), pl.col("total_room")
    return (
        f.with_columns(
            pl.Series("speed_vol_per_min", speed, dtype=pl.Float64),
            pl.Series("accel_vol_per_min", speed - earlier, dtype=pl.Float64),
            pl.when((total > 0) & room.is_not_null()).then(1 - room / total).alias("room_used"),
        )
        .sort("_arr")
        .select(list(schemas.FOREIGN_FLOW))
        .cast(dict(schemas.FOREIGN_FLOW))
    )


def foreign_summary(flow: pl.DataFrame) -> pl.DataFrame:
    """The day per symbol: totals (Int64 shares / VND), net, last room used, corrections, sector, top-10 ranks.

    Input: :func:`foreign_flow`'s output. Output: ``transforms.schemas.FOREIGN_SUMMARY`` sorted by symbol.
    """
    if flow.height == 0:
        return schemas.empty(schemas.FOREIGN_SUMMARY)
    return rank_foreign_totals(foreign_totals(flow))


def foreign_totals(flow: pl.DataFrame) -> pl.DataFrame:
    """Per (trading_date, symbol): the summed flows ``buy_vol, sell_vol, buy_val_vnd, sell_val_vnd`` (Int64), the
    last row's ``room_used`` and the number of ``corrections``. Additive over consecutive parts of the day
    (:func:`merge_foreign_totals`)."""
    return flow.group_by("trading_date", "symbol").agg(
        *[pl.col(f"d_{c}").sum().alias(c) for c in _LEVELS],
        pl.col("room_used").last(),
        pl.col("correction").sum().cast(pl.Int64).alias("corrections"),
    )


def merge_foreign_totals(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`foreign_totals` of two consecutive parts of a day -> that of their concatenation."""
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    both = pl.concat([earlier.with_columns(pl.lit(0).alias("_part")), later.with_columns(pl.lit(1).alias("_part"))],
                     how="vertical_relaxed").sort("_part", maintain_order=True)
    return both.group_by("trading_date", "symbol", maintain_order=True).agg(
        *[pl.col(c).sum() for c in _LEVELS], pl.col("room_used").last(), pl.col("corrections").sum(),
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
