"""Futures basis (chênh lệch cơ sở): VN30F price minus the VN30 index that arrived before it (docs/analytics.md §8).
"""

from __future__ import annotations

import polars as pl

from transforms import schemas
from market.calendar import front_month
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.windows import arrival_key, arrival_order

SPOT_INDEX = "VN30"


def basis(trades: pl.DataFrame, indices: pl.DataFrame, *, futures_override: str | None = None,
          ranks: dict[str, int] | None = None, params: AnalyticsParams = DEFAULT_PARAMS) -> pl.DataFrame:
    """Basis per VN30F trade.

    Parameters
    ----------
    trades : classified trades (``TRADES``); only symbols starting ``VN30F`` with phase != pt are used.
    indices : ``INDICES`` rows; the spot is the latest VN30 value that arrived strictly before the trade.
    futures_override : front-month contract replacing the third-Thursday resolver (``VNTRACK_FUTURES_OVERRIDE``).
    params : ``params.basis.front_month``, when set, wins over ``futures_override``.

    Returns
    -------
    ``transforms.schemas.BASIS`` in arrival order: futures_price and spot in points, basis_pts = futures - spot,
    basis_pct = basis / spot * 100, premium (basis > 0), is_front_month.
    """
    fut = trades.filter(pl.col("symbol").str.to_uppercase().str.starts_with("VN30F") & (pl.col("phase") != "pt"))
    spot = indices.filter((pl.col("index_id").str.to_uppercase() == SPOT_INDEX) & pl.col("value").is_not_null())
    if fut.height == 0 or spot.height == 0:
        return schemas.empty(schemas.BASIS)
    ranks = ranks or arrival_order(fut, spot)
    spot = spot.select(arrival_key(ranks), pl.col("value").alias("spot")).sort("_arr")
    override = params.basis.front_month or futures_override
    fronts = {d: front_month(d, override) for d in fut.get_column("trading_date").unique().to_list()}
    out = (
        fut.with_columns(arrival_key(ranks))
        .sort("_arr")
        .join_asof(spot, on="_arr", strategy="backward", allow_exact_matches=False, check_sortedness=False)
        .filter(pl.col("spot").is_not_null())
    )
    b = pl.col("price") - pl.col("spot")
    # basis_pct in numpy: Polars divides by a column it holds as one broadcast value (what join_asof returns when
    # a single spot row matches, as in a micro-batch after the carried spot) by multiplying with its reciprocal,
    # one ulp off the division it does otherwise; live and replay must agree to the last bit
    price, spot_value = out.get_column("price").to_numpy(), out.get_column("spot").to_numpy()
    pct = pl.Series("basis_pct", (price - spot_value) / spot_value * 100, dtype=pl.Float64)
    return out.select(
        "session", "seq", "trading_date", "exch_time", "symbol",
        (pl.col("symbol") == pl.col("trading_date").replace_strict(fronts, return_dtype=pl.String)).alias("is_front_month"),
        pl.col("price").alias("futures_price"), "spot",
        b.alias("basis_pts"), pct, (b > 0).alias("premium"), "volume",
    ).cast(dict(schemas.BASIS))
