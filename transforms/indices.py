"""Index series and breadth from MI frames (docs/analytics.md §7).

Input: the parsed ``index`` table (``transforms.schemas.INDEX``). Output: ``transforms.schemas.INDICES``.
"""

from __future__ import annotations

import polars as pl

from transforms import schemas

from market import rules as market


def indices(index: pl.DataFrame) -> pl.DataFrame:
    """One row per MI frame, arrival order: value, change (points), change_pct (%), breadth, advance ratio."""
    if index.height == 0:  # a micro-batch without an MI frame (a query less)
        return schemas.empty(schemas.INDICES)
    value, prior = pl.col("index_value"), pl.col("prior_index_value")
    adv, dec = pl.col("advances"), pl.col("declines")
    change = value - prior
    return index.select(
        "session", "seq", "trading_date", "exch_time", "index_id",
        value.alias("value"), prior.alias("prior_value"), change.alias("change"),
        pl.when(prior.is_not_null() & (prior != 0)).then(change / prior * 100).alias("change_pct"),
        "advances", "declines", "no_changes", "ceilings", "floors",
        pl.when((adv + dec) > 0).then(adv / (adv + dec)).alias("advance_ratio"),
        "total_qtty",
        market.round_half_up_expr(pl.col("total_value")).alias("total_value_vnd"),
        "trading_session",
    ).cast(dict(schemas.INDICES))
