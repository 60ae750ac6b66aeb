"""The four alerts, each with a 60 s cooldown per (type, symbol) in exchange time (docs/analytics.md §9).

VOLUME_SPIKE (WARNING): a continuous-session trade larger than 3x the symbol's mean trade over the trailing
20 minutes (at least 10 trades). PRICE_BREAKOUT (CRITICAL): a trade at the ceiling (giá trần) or floor (giá sàn).
FOREIGN_ACCELERATION (WARNING): net foreign value changed by >= 1 bn VND and > 30% of its level over 5 minutes.
BASIS_FLIP (WARNING): the futures basis changed sign.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms import schemas
from transforms.windows import StreamIndex, after_key, arrival_key, arrival_order, cooldown_from, effective_time

COOLDOWN_S = 60
SPIKE_WINDOW_S = 1200
SPIKE_MIN_TRADES = 10
SPIKE_FACTOR = 3
FOREIGN_WINDOW_S = 300
FOREIGN_MIN_VND = 1_000_000_000
SEVERITY = {"VOLUME_SPIKE": "WARNING", "PRICE_BREAKOUT": "CRITICAL", "FOREIGN_ACCELERATION": "WARNING",
            "BASIS_FLIP": "WARNING"}
_CAND = ["session", "seq", "trading_date", "exch_time", "symbol", "_teff", "alert_type", "metric", "threshold", "details"]


def _with_teff(frame: pl.DataFrame, ranks: dict[str, int], stream: str = "symbol") -> pl.DataFrame:
    return frame.with_columns(arrival_key(ranks)).sort("_arr").with_columns(effective_time(stream))


def volume_spikes(trades: pl.DataFrame) -> pl.DataFrame:
    """VOLUME_SPIKE candidates among ``trades`` (arrival order, with ``_teff`` over all trades of the symbol)."""
    cont = trades.filter(pl.col("phase") == "continuous")
    if cont.height == 0:
        return pl.DataFrame()
    # Sort only the key columns ((symbol, _arr) is unique); the few hit rows are gathered from the wide frame.
    order = cont.select(pl.arg_sort_by("symbol", "_arr")).to_series().to_numpy()
    keys = cont.select("symbol", "_teff", "volume")[order]
    idx = StreamIndex(keys, "symbol")
    vol = keys.get_column("volume").to_numpy()
    total = idx.window_sum(vol, SPIKE_WINDOW_S, include_self=False)
    n = idx.window_count(SPIKE_WINDOW_S, include_self=False)
    hit = (n >= SPIKE_MIN_TRADES) & (vol * n > SPIKE_FACTOR * total)
    rows = cont[order[hit]].with_columns(pl.Series("_sum", total[hit]), pl.Series("_n", n[hit]))
    mean = np.char.mod("%.1f", total[hit] / n[hit])  # printf rounding of the float, as f"{x:.1f}"; no Python loop
    details = pl.format("volume {} > 3 x mean {} over {} trades in 20 min",
                        pl.col("volume"), pl.Series(mean), pl.col("_n"))
    return rows.with_columns(
        pl.lit("VOLUME_SPIKE").alias("alert_type"),
        pl.col("volume").cast(pl.Float64).alias("metric"),
        (SPIKE_FACTOR * pl.col("_sum") / pl.col("_n")).alias("threshold"),
        details.alias("details"),
    ).select(_CAND)


def price_breakouts(trades: pl.DataFrame) -> pl.DataFrame:
    """PRICE_BREAKOUT candidates: trades (not put-through) at or beyond the ceiling or floor."""
    at_ceiling = (pl.col("ceiling") > 0) & (pl.col("price") >= pl.col("ceiling"))
    at_floor = (pl.col("floor") > 0) & (pl.col("price") <= pl.col("floor"))
    rows = trades.filter((pl.col("phase") != "pt") & (at_ceiling.fill_null(False) | at_floor.fill_null(False)))
    ceiling = at_ceiling.fill_null(False)
    return rows.with_columns(
        pl.lit("PRICE_BREAKOUT").alias("alert_type"),
        pl.col("price").alias("metric"),
        pl.when(ceiling).then(pl.col("ceiling")).otherwise(pl.col("floor")).alias("threshold"),
        pl.when(ceiling).then(pl.lit("at ceiling")).otherwise(pl.lit("at floor")).alias("details"),
    ).select(_CAND)


def foreign_accelerations(flow: pl.DataFrame) -> pl.DataFrame:
    """FOREIGN_ACCELERATION candidates from ``FOREIGN_FLOW`` rows (with ``_arr``/``_teff``)."""
    f = flow.sort("symbol", "_arr")
    if f.height == 0:
        return pl.DataFrame()
    idx = StreamIndex(f, "symbol")
    level = f.get_column("cum_net_val_vnd").to_numpy()
    j = idx.last_at_or_before(FOREIGN_WINDOW_S)
    prev = np.where(j >= 0, level[np.clip(j, 0, None)], 0)
    d = level - prev
    hit = (np.abs(d) >= FOREIGN_MIN_VND) & (10 * np.abs(d) > 3 * np.abs(prev))
    rows = f.filter(pl.Series(hit)).with_columns(pl.Series("_d", d[hit]), pl.Series("_prev", prev[hit]))
    sign = pl.when(pl.col("_d") >= 0).then(pl.lit("+")).otherwise(pl.lit(""))  # f"{x:+d}"
    details = pl.format("net foreign value {}{} VND in 5 min vs level {} VND", sign, pl.col("_d"), pl.col("_prev"))
    return rows.with_columns(
        pl.lit("FOREIGN_ACCELERATION").alias("alert_type"),
        pl.col("_d").cast(pl.Float64).alias("metric"),
        pl.col("_prev").cast(pl.Float64).alias("threshold"),
        details.alias("details"),
    ).select(_CAND)


def basis_flips(basis: pl.DataFrame) -> pl.DataFrame:
    """BASIS_FLIP candidates: a non-zero basis whose sign differs from the previous non-zero one (per contract)."""
    sign = pl.col("basis_pts").sign()
    nonzero = pl.when(sign != 0)
    prev_sign = nonzero.then(sign).otherwise(None).shift(1).forward_fill().over("symbol")
    prev_basis = nonzero.then(pl.col("basis_pts")).otherwise(None).shift(1).forward_fill().over("symbol")
    rows = basis.with_columns(prev_sign.alias("_ps"), prev_basis.alias("_pb")).filter(
        (sign != 0) & pl.col("_ps").is_not_null() & (sign != pl.col("_ps"))
    )
    return rows.with_columns(
        pl.lit("BASIS_FLIP").alias("alert_type"),
        pl.col("basis_pts").alias("metric"),
        pl.col("_pb").alias("threshold"),
        pl.when(pl.col("basis_pts") < 0).then(pl.lit("premium -> discount")).otherwise(pl.lit("discount -> premium"))
        .alias("details"),
    ).select(_CAND)


def alerts(trades: pl.DataFrame, flow: pl.DataFrame, basis: pl.DataFrame,
           ranks: dict[str, int] | None = None) -> pl.DataFrame:
    """All alerts of the day after the cooldown.

    Parameters
    ----------
    trades, flow, basis : ``TRADES``, ``FOREIGN_FLOW``, ``BASIS`` tables of the day.

    Returns
    -------
    ``transforms.schemas.ALERTS`` sorted by (session, seq, alert_type): severity, symbol, exchange time of the
    triggering frame, metric (volume in shares / price / net VND change / basis points) and its threshold.
    """
    return alerts_after(trades, flow, basis, ranks)[0]


def alerts_after(trades: pl.DataFrame, flow: pl.DataFrame, basis: pl.DataFrame,
                 ranks: dict[str, int] | None = None, *, after: tuple[str, int] | None = None,
                 last_emitted: dict[tuple, int] | None = None) -> tuple[pl.DataFrame, dict[tuple, int]]:
    """:func:`alerts` for the rows that arrived after ``after`` = (session, seq), the earlier rows being context.

    Parameters
    ----------
    trades, flow, basis : earlier rows the windows still reach (the context), then the new rows, per stream.
    after : the last frame of the context; candidates at or before it are not raised again.
    last_emitted : (alert_type, symbol) -> ``t_eff`` (epoch s) of the last alert emitted earlier in the day.

    Returns
    -------
    (``ALERTS`` of the new rows, the updated ``last_emitted``).
    """
    ranks = ranks or arrival_order(trades, flow, basis)
    trades = _with_teff(trades, ranks)
    candidates = [
        c for c in (
            volume_spikes(trades),
            price_breakouts(trades),
            foreign_accelerations(_with_teff(flow, ranks)),
            basis_flips(_with_teff(basis, ranks)),
        ) if c.height
    ]
    candidates = [c.filter(after_key(after)) for c in candidates]
    candidates = [c for c in candidates if c.height]
    if not candidates:
        return schemas.empty(schemas.ALERTS), dict(last_emitted or {})
    cand = (
        pl.concat([c.cast({"metric": pl.Float64, "threshold": pl.Float64}) for c in candidates], how="vertical_relaxed")
        .with_columns(arrival_key(ranks))
        .sort("_arr", "alert_type")
    )
    emit, last = cooldown_from(cand, COOLDOWN_S, by=["alert_type", "symbol"], last_emitted=last_emitted)
    emitted = cand.filter(emit)
    out = (
        emitted.with_columns(pl.col("alert_type").replace_strict(SEVERITY, return_dtype=pl.String).alias("severity"))
        .sort("session", "seq", "alert_type")
        .select(list(schemas.ALERTS))
        .cast(dict(schemas.ALERTS))
    )
    return out, last
