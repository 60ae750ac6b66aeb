"""1-minute OHLCV candles with VWAP and active buy/sell volume (docs/analytics.md §5).

Input: classified trades (``TRADES``) in arrival order. Output: ``transforms.schemas.CANDLES_1M``.
Put-through deals are left out (negotiated, off the order book).
"""

from __future__ import annotations

import polars as pl

from transforms import market, schemas
from transforms.windows import minute_floor


def candles_1m(trades: pl.DataFrame) -> pl.DataFrame:
    """One row per (trading_date, symbol, minute); open/close by arrival order, vwap in price units."""
    t = trades.filter(pl.col("phase") != "pt")
    if t.height == 0:
        return schemas.empty(schemas.CANDLES_1M)
    mult = market.multiplier_expr(pl.col("symbol"), pl.col("exchange"))
    return (
        t.with_columns(minute_floor().alias("minute"), mult.alias("_mult"))
        .group_by("trading_date", "symbol", "minute", maintain_order=True)
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
        .with_columns((pl.col("value_vnd") / (pl.col("volume") * pl.col("_mult"))).alias("vwap"))
        .sort("symbol", "minute", "trading_date")
        .select(list(schemas.CANDLES_1M))
        .cast(dict(schemas.CANDLES_1M))
    )
