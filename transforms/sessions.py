"""Per-symbol volume and value by aggressor side and session phase (docs/analytics.md §4).

Input: classified trades (``transforms.schemas.TRADES``). Output: ``transforms.schemas.SESSION_STATS``,
five rows per (trading_date, symbol): ato, continuous, atc, pt, total — the phases sum exactly to the total.
"""

from __future__ import annotations

import polars as pl

from transforms import schemas

_SIDES = ("buy", "sell", "neutral")


def session_stats(trades: pl.DataFrame) -> pl.DataFrame:
    """Aggregate classified trades into phase and total rows (Int64 shares and VND; exact sums)."""
    if trades.height == 0:
        return schemas.empty(schemas.SESSION_STATS)
    aggs = [pl.len().cast(pl.Int64).alias("trade_count"), pl.col("volume").sum().alias("volume"),
            pl.col("value_vnd").sum().alias("value_vnd")]
    for side in _SIDES:
        hit = pl.col("aggressor_side") == side
        aggs.append(pl.col("volume").filter(hit).sum().alias(f"{side}_volume"))
        aggs.append(pl.col("value_vnd").filter(hit).sum().alias(f"{side}_value_vnd"))
    keys = trades.select("trading_date", "symbol").unique()
    grid = keys.join(pl.DataFrame({"phase": list(schemas.PHASES)}), how="cross")
    by_phase = grid.join(trades.group_by("trading_date", "symbol", "phase").agg(aggs),
                         on=["trading_date", "symbol", "phase"], how="left")
    total = trades.group_by("trading_date", "symbol").agg(aggs).with_columns(pl.lit("total").alias("phase"))
    order = {p: i for i, p in enumerate(schemas.SESSION_STATS_PHASES)}
    out = pl.concat([by_phase.select(list(schemas.SESSION_STATS)), total.select(list(schemas.SESSION_STATS))],
                    how="vertical_relaxed")
    numeric = [c for c in schemas.SESSION_STATS if c not in ("trading_date", "symbol", "phase")]
    return (
        out.with_columns(pl.col(numeric).fill_null(0))
        .sort("symbol", pl.col("phase").replace_strict(order, return_dtype=pl.Int64), "trading_date")
        .cast(dict(schemas.SESSION_STATS))
    )


def merge_session_stats(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`session_stats` of two consecutive parts of a day -> that of their concatenation (every column is
    a sum, so the phase and total rows add up key by key)."""
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    key = ["trading_date", "symbol", "phase"]
    order = {p: i for i, p in enumerate(schemas.SESSION_STATS_PHASES)}
    return (
        pl.concat([earlier, later], how="vertical")
        .group_by(key)
        .agg(pl.exclude(key).sum())
        .sort("symbol", pl.col("phase").replace_strict(order, return_dtype=pl.Int64), "trading_date")
        .select(list(schemas.SESSION_STATS))
        .cast(dict(schemas.SESSION_STATS))
    )
