"""1-minute OHLCV candles with VWAP and active buy/sell volume (docs/analytics.md §5).

Input: classified trades (``TRADES``) in arrival order. Output: ``transforms.schemas.CANDLES_1M``.
Put-through deals are left out (negotiated, off the order book).

The candle of a minute is built in two steps so that consecutive parts of a day can be combined exactly (the
micro-batch loop): :func:`candle_parts` (OHLC, sums and the contract multiplier per minute), merged with
:func:`merge_candle_parts`, then :func:`finish_candles` (VWAP, schema, order).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms import schemas

from market import rules as market
from transforms.windows import minute_floor

_KEY = ["trading_date", "symbol", "minute"]


def candles_1m(trades: pl.DataFrame) -> pl.DataFrame:
    """One row per (trading_date, symbol, minute); open/close by arrival order, vwap in price units."""
    return finish_candles(candle_parts(trades))


def candle_parts(trades: pl.DataFrame) -> pl.DataFrame:
    """Per (trading_date, symbol, minute), in order of first appearance: open, high, low, close (price units),
    volume, value_vnd, trade_count, buy_volume, sell_volume (Int64) and ``_mult`` (VND per price unit)."""
    t = trades.filter(pl.col("phase") != "pt")
    return t.with_columns(*_PART_COLUMNS).group_by(*_KEY, maintain_order=True).agg(*_PART_AGGS)


# built once (a micro-batch's query costs less than building its expressions)
_PART_COLUMNS = (minute_floor().alias("minute"),
                 market.multiplier_expr(pl.col("symbol"), pl.col("exchange")).alias("_mult"))
_PART_AGGS = (
    pl.col("price").first().alias("open"),
    pl.col("price").max().alias("high"),
    pl.col("price").min().alias("low"),
    pl.col("price").last().alias("close"),
    pl.col("volume").sum().alias("volume"),
    pl.col("value_vnd").sum().alias("value_vnd"),
    pl.col("_mult").first(),
    pl.len().cast(pl.Int64).alias("trade_count"),
    pl.col("volume").filter(pl.col("aggressor_side") == "buy").sum().alias("buy_volume"),
    pl.col("volume").filter(pl.col("aggressor_side") == "sell").sum().alias("sell_volume"),
)


def merge_candle_parts(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`candle_parts` of two consecutive parts of a day -> that of their concatenation (open from the
    earlier part, close from the later one; rows in order of first appearance).

    The live loop merges a micro-batch's few candles into the day's thousands every batch. Only earlier rows
    of a minute at or after the later part's first minute can share a key with it; when those rows are the
    earlier part's tail (candles appear in time order, so they are, unless a trade is stamped minutes late), the
    tail is updated with numpy and the rest is kept as it is. Otherwise one group_by over both parts.
    """
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    if later.columns != earlier.columns:
        later = later.select(earlier.columns)
    minute, later_first = earlier.get_column("minute"), later.get_column("minute").to_physical().min()
    if later_first is None or minute.has_nulls() or any(
            p.get_column(c).has_nulls() for p in (earlier, later) for c in _UPDATED):
        return _merge_by_group(earlier, later)
    reach = minute.to_physical().to_numpy() >= later_first
    start = earlier.height - int(np.count_nonzero(reach))
    if not reach[start:].all():  # a row that can share a key with the later part lies before the tail
        return _merge_by_group(earlier, later)
    tail = earlier.slice(start)
    at = {k: i for i, k in enumerate(_keys(tail))}
    pos = np.array([at.get(k, -1) for k in _keys(later)], dtype=np.int64)
    hit = pos >= 0
    cols = {c: tail.get_column(c).to_numpy().copy() for c in _UPDATED}
    new = {c: later.get_column(c).to_numpy() for c in cols}
    rows = pos[hit]
    cols["high"][rows] = np.maximum(cols["high"][rows], new["high"][hit])
    cols["low"][rows] = np.minimum(cols["low"][rows], new["low"][hit])
    cols["close"][rows] = new["close"][hit]
    for c in _SUMS:
        cols[c][rows] += new[c][hit]
    parts = [earlier.slice(0, start),
             tail.with_columns(pl.Series(c, v) for c, v in cols.items())]
    if not hit.all():
        parts.append(later[np.flatnonzero(~hit)])  # new keys, after the earlier ones (order of first appearance)
    return pl.concat(parts, how="vertical_relaxed")


_SUMS = ("volume", "value_vnd", "trade_count", "buy_volume", "sell_volume")
_UPDATED = (*_SUMS, "high", "low", "close")


def _keys(parts: pl.DataFrame) -> list[tuple]:
    """(trading_date, symbol, minute) of each row, dates and minutes as their physical integers."""
    return list(zip(parts.get_column("trading_date").cast(pl.Int32).to_list(), parts.get_column("symbol").to_list(),
                    parts.get_column("minute").to_physical().to_list()))


def _merge_by_group(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    return (
        pl.concat([earlier, later], how="vertical_relaxed")
        .group_by(*_KEY, maintain_order=True)
        .agg(
            pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last(),
            pl.col("volume").sum(), pl.col("value_vnd").sum(), pl.col("_mult").first(),
            pl.col("trade_count").sum(), pl.col("buy_volume").sum(), pl.col("sell_volume").sum(),
        )
    )


def finish_candles(parts: pl.DataFrame) -> pl.DataFrame:
    """:func:`candle_parts` -> ``CANDLES_1M`` sorted by symbol, minute: vwap = value_vnd / (volume * multiplier)."""
    if parts.height == 0:
        return schemas.empty(schemas.CANDLES_1M)
    return (
        parts.with_columns((pl.col("value_vnd") / (pl.col("volume") * pl.col("_mult"))).alias("vwap"))
        .sort("symbol", "minute", "trading_date")
        .select(list(schemas.CANDLES_1M))
        .cast(dict(schemas.CANDLES_1M))
    )
