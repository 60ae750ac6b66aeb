"""The four alerts, each with a cooldown per (type, symbol) in exchange time (docs/analytics.md §9).

Defaults (``transforms.params.AlertParams``, every number below is a parameter):
VOLUME_SPIKE (WARNING): a continuous-session trade larger than 3x the symbol's mean trade over the trailing
20 minutes (at least 10 trades). PRICE_BREAKOUT (CRITICAL): a trade at the ceiling (giá trần) or floor (giá sàn).
FOREIGN_ACCELERATION (WARNING): net foreign value changed by >= 1 bn VND and > 30% of its level over 5 minutes.
BASIS_FLIP (WARNING): the futures basis changed sign. Cooldown 60 s.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms import schemas
from transforms.params import DEFAULT_PARAMS, AlertParams, AnalyticsParams
from transforms.windows import StreamIndex, after_key, arrival_key, arrival_order, cooldown_from, effective_time

SEVERITY = {"VOLUME_SPIKE": "WARNING", "PRICE_BREAKOUT": "CRITICAL", "FOREIGN_ACCELERATION": "WARNING",
            "BASIS_FLIP": "WARNING"}
_CAND = ["session", "seq", "trading_date", "exch_time", "symbol", "_teff", "alert_type", "metric", "threshold", "details"]


def _with_teff(frame: pl.DataFrame, ranks: dict[str, int], stream: str = "symbol") -> pl.DataFrame:
    return frame.with_columns(arrival_key(ranks)).sort("_arr").with_columns(effective_time(stream))


def volume_spikes(trades: pl.DataFrame, params: AlertParams = DEFAULT_PARAMS.alerts) -> pl.DataFrame:
    """VOLUME_SPIKE candidates among ``trades`` (arrival order, with ``_teff`` over all trades of the symbol);
    thresholds ``params.volume_spike``."""
    p = params.volume_spike
    cont = trades.filter(pl.col("phase") == "continuous")
    if cont.height == 0:
        return pl.DataFrame()
    # Sort only the key columns ((symbol, _arr) is unique); the few hit rows are gathered from the wide frame.
    order = cont.select(pl.arg_sort_by("symbol", "_arr")).to_series().to_numpy()
    keys = cont.select("symbol", "_teff", "volume")[order]
    idx = StreamIndex(keys, "symbol")
    vol = keys.get_column("volume").to_numpy()
    total = idx.window_sum(vol, p.window_s, include_self=False)
    n = idx.window_count(p.window_s, include_self=False)
    hit = (n >= p.min_trades) & (vol * n > p.factor * total)
    rows = cont[order[hit]].with_columns(pl.Series("_sum", total[hit]), pl.Series("_n", n[hit]))
    mean = np.char.mod("%.1f", total[hit] / n[hit])  # printf rounding of the float, as f"{x:.1f}"; no Python loop
    details = pl.format("volume {} > {} x mean {} over {} trades in {} min", pl.col("volume"),
                        pl.lit(f"{p.factor:g}"), pl.Series(mean), pl.col("_n"), pl.lit(f"{p.window_s / 60:g}"))
    return rows.with_columns(
        pl.lit("VOLUME_SPIKE").alias("alert_type"),
        pl.col("volume").cast(pl.Float64).alias("metric"),
        (p.factor * pl.col("_sum") / pl.col("_n")).alias("threshold"),
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


def foreign_accelerations(flow: pl.DataFrame, params: AlertParams = DEFAULT_PARAMS.alerts) -> pl.DataFrame:
    """FOREIGN_ACCELERATION candidates from ``FOREIGN_FLOW`` rows (with ``_arr``/``_teff``);
    thresholds ``params.foreign_acceleration``: ``|D| >= min_vnd`` and ``100 |D| > min_pct |L_prev|``."""
    p = params.foreign_acceleration
    f = flow.sort("symbol", "_arr")
    if f.height == 0:
        return pl.DataFrame()
    idx = StreamIndex(f, "symbol")
    level = f.get_column("cum_net_val_vnd").to_numpy()
    j = idx.last_at_or_before(p.window_s)
    prev = np.where(j >= 0, level[np.clip(j, 0, None)], 0)
    d = level - prev
    hit = (np.abs(d) >= p.min_vnd) & (100 * np.abs(d) > p.min_pct * np.abs(prev))
    rows = f.filter(pl.Series(hit)).with_columns(pl.Series("_d", d[hit]), pl.Series("_prev", prev[hit]))
    sign = pl.when(pl.col("_d") >= 0).then(pl.lit("+")).otherwise(pl.lit(""))  # f"{x:+d}"
    details = pl.format("net foreign value {}{} VND in {} min vs level {} VND", sign, pl.col("_d"),
                        pl.lit(f"{p.window_s / 60:g}"), pl.col("_prev"))
    return rows.with_columns(
        pl.lit("FOREIGN_ACCELERATION").alias("alert_type"),
        pl.col("_d").cast(pl.Float64).alias("metric"),
        pl.col("_prev").cast(pl.Float64).alias("threshold"),
        details.alias("details"),
    ).select(_CAND)


def basis_flips(basis: pl.DataFrame, params: AlertParams = DEFAULT_PARAMS.alerts) -> pl.DataFrame:
    """BASIS_FLIP candidates: a basis with a sign whose sign differs from the previous one with a sign (per
    contract); ``|basis| <= params.basis_flip.deadband_pts`` has no sign (default 0: only 0 has none)."""
    dead = params.basis_flip.deadband_pts
    sign = pl.when(pl.col("basis_pts").abs() <= dead).then(0.0).otherwise(pl.col("basis_pts").sign())
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
           ranks: dict[str, int] | None = None, params: AnalyticsParams = DEFAULT_PARAMS) -> pl.DataFrame:
    """All alerts of the day after the cooldown.

    Parameters
    ----------
    trades, flow, basis : ``TRADES``, ``FOREIGN_FLOW``, ``BASIS`` tables of the day.
    params : ``params.alerts``: thresholds, windows, the cooldown, which alerts are enabled.

    Returns
    -------
    ``transforms.schemas.ALERTS`` sorted by (session, seq, alert_type): severity, symbol, exchange time of the
    triggering frame, metric (volume in shares / price / net VND change / basis points) and its threshold.
    """
    return alerts_after(trades, flow, basis, ranks, params=params)[0]


def alerts_after(trades: pl.DataFrame, flow: pl.DataFrame, basis: pl.DataFrame,
                 ranks: dict[str, int] | None = None, *, after: tuple[str, int] | None = None,
                 last_emitted: dict[tuple, int] | None = None,
                 params: AnalyticsParams = DEFAULT_PARAMS) -> tuple[pl.DataFrame, dict[tuple, int]]:
    """:func:`alerts` for the rows that arrived after ``after`` = (session, seq), the earlier rows being context.

    Parameters
    ----------
    trades, flow, basis : earlier rows the windows still reach (the context), then the new rows, per stream.
    after : the last frame of the context; candidates at or before it are not raised again.
    last_emitted : (alert_type, symbol) -> ``t_eff`` (epoch s) of the last alert emitted earlier in the day.
    params : as in :func:`alerts`.

    Returns
    -------
    (``ALERTS`` of the new rows, the updated ``last_emitted``).
    """
    ranks = ranks or arrival_order(trades, flow, basis)
    trades = _with_teff(trades, ranks)
    a = params.alerts
    candidates = [
        c for c in (
            volume_spikes(trades, a) if a.volume_spike.enabled else None,
            price_breakouts(trades) if a.price_breakout.enabled else None,
            foreign_accelerations(_with_teff(flow, ranks), a) if a.foreign_acceleration.enabled else None,
            basis_flips(_with_teff(basis, ranks), a) if a.basis_flip.enabled else None,
        ) if c is not None and c.height
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
    emit, last = cooldown_from(cand, a.cooldown_s, by=["alert_type", "symbol"], last_emitted=last_emitted)
    emitted = cand.filter(emit)
    out = (
        emitted.with_columns(pl.col("alert_type").replace_strict(SEVERITY, return_dtype=pl.String).alias("severity"))
        .sort("session", "seq", "alert_type")
        .select(list(schemas.ALERTS))
        .cast(dict(schemas.ALERTS))
    )
    return out, last
