"""1-minute OHLCV candles with VWAP and active buy/sell volume (docs/analytics.md §5).

Input: classified trades (``TRADES``) in arrival order. Output: ``transforms.schemas.CANDLES_1M``.
Put-through deals are left out (negotiated, off the order book).

The candle of a minute is built in two steps so that consecutive parts of a day can be combined exactly (the
micro-batch loop): :func:`candle_parts` (OHLC, sums and the contract multiplier per minute), merged with
:func:`merge_candle_parts`, then :func:`finish_candles` (VWAP, schema, order).
"""

from __future__ import annotations

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
    mult = market.multiplier_expr(pl.col("symbol"), pl.col("exchange"))
    return (
        t.with_columns(minute_floor().alias("minute"), mult.alias("_mult"))
        .group_by(*_KEY, maintain_order=True)
        .agg(
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
    )


def merge_candle_parts(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`candle_parts` of two consecutive parts of a day -> that of their concatenation (open from the
    earlier part, close from the later one)."""
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    return (
        pl.concat([earlier, later.select(earlier.columns)], how="vertical_relaxed")
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
