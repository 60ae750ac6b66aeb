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
from transforms.windows import (
    StreamIndex,
    after_key,
    arrival_key,
    arrival_keys,
    arrival_order,
    cooldown_from,
    effective_time,
    group_by_codes,
    local_epoch_s,
    running_max,
)

SEVERITY = {"VOLUME_SPIKE": "WARNING", "PRICE_BREAKOUT": "CRITICAL", "FOREIGN_ACCELERATION": "WARNING",
            "BASIS_FLIP": "WARNING"}
_CAND = ["session", "seq", "trading_date", "exch_time", "symbol", "_teff", "alert_type", "metric", "threshold", "details"]


_AT_CEILING = (pl.col("ceiling") > 0) & (pl.col("price") >= pl.col("ceiling"))
_AT_FLOOR = (pl.col("floor") > 0) & (pl.col("price") <= pl.col("floor"))
_BREAKOUT = ((pl.col("phase") != "pt") & (_AT_CEILING.fill_null(False) | _AT_FLOOR.fill_null(False))).alias("_brk")


def _stream_keys(frame: pl.DataFrame, ranks: dict[str, int], after: tuple[str, int] | None = None
                 ) -> tuple[pl.DataFrame, dict | None]:
    """``frame`` in arrival order and numpy arrays over the rows of the symbols that have a row after ``after``
    (every row when None), in arrival order: ``_row`` (the row in ``frame``), ``_arr``, ``_new`` (after ``after``),
    ``_teff`` and ``_order``/``_dense`` (:func:`~transforms.windows.group_by_codes` of the symbol); ``None`` for
    the arrays when no row is after ``after``. Every window reads only its own symbol's earlier rows, so the other
    symbols' rows are left out (a micro-batch's few new rows need a small part of the context).

    ``_teff`` is taken from the frame when it already has one without nulls (the live step carries it for its
    context), else computed as :func:`~transforms.windows.effective_time` does.
    """
    frame, arr, new = arrival_keys(frame, ranks, after)
    if not new.any():
        return frame, None
    symbol = frame.get_column("symbol")
    if new.all():
        rows, keep = np.arange(frame.height), None
    else:  # rows whose symbol's hash is one of the new rows' (a collision only adds a symbol; codes come after)
        h = symbol.hash().to_numpy()
        mask = np.isin(h, np.unique(h[new]))
        rows, keep = np.flatnonzero(mask), pl.Series(mask)
    out = {"_row": rows, "_arr": arr[rows], "_new": new[rows], "_keep": keep}
    order, dense = group_by_codes(_column(frame, out, "symbol").cast(pl.Categorical).to_physical().to_numpy()
                                  .astype(np.int64))
    if "_teff" in frame.columns and frame.get_column("_teff").null_count() == 0:
        out["_teff"] = _column(frame, out, "_teff").to_numpy().astype(np.int64)
    else:  # running max of exch_time per symbol in arrival order, computed in stream order
        secs = local_epoch_s(_column(frame, out, "exch_time"))
        teff = np.empty(len(order), dtype=np.int64)
        teff[order] = running_max(dense, secs[order])
        out["_teff"] = teff
    out["_order"], out["_dense"] = order, dense
    return frame, out


def _column(frame: pl.DataFrame, keys: dict, name: str) -> pl.Series:
    """Column ``name`` of ``frame`` at the rows of ``keys`` (the rows :func:`_stream_keys` kept)."""
    col = frame.get_column(name)
    return col if keys["_keep"] is None else col.filter(keys["_keep"])


def _gather(frame: pl.DataFrame, keys: dict, rows: np.ndarray, **columns: np.ndarray) -> pl.LazyFrame:
    """Rows ``rows`` (indices into ``keys``' arrays, in that order) of ``frame`` with their ``_teff`` and
    ``columns`` (arrays aligned with ``rows``)."""
    extra = {"_teff": keys["_teff"][rows], **columns}
    return frame[keys["_row"][rows]].lazy().with_columns(pl.Series(k, v) for k, v in extra.items())


def _by_symbol(frame: pl.DataFrame, keys: dict, rows: np.ndarray) -> np.ndarray:
    """The permutation of ``rows`` (indices into ``keys``' arrays) that orders them by (symbol, arrival), stable: the
    candidates' order, as ``sort("symbol", "_arr", maintain_order=True)`` (strings by code point, nulls first)."""
    symbols = frame.get_column("symbol")[keys["_row"][rows]].to_list()
    rank = {s: i for i, s in enumerate(sorted(set(symbols), key=lambda s: (s is not None, s or "")))}
    return np.lexsort((keys["_arr"][rows], np.array([rank[s] for s in symbols], dtype=np.int64)))


def _volume_spike_rows(frame: pl.DataFrame, keys: dict, only: np.ndarray | None, p) -> pl.DataFrame:
    """VOLUME_SPIKE candidates among the rows of ``frame`` flagged in ``only`` (all when None), in (symbol,
    arrival) order; the windows still read every earlier continuous row."""
    cont = (_column(frame, keys, "phase") == "continuous").to_numpy()[keys["_order"]]
    order, dense = keys["_order"][cont], keys["_dense"][cont]  # continuous rows in (symbol, arrival) order
    if order.size == 0:
        return pl.DataFrame()
    idx = StreamIndex(None, codes=dense, teff=keys["_teff"][order])
    vol = _column(frame, keys, "volume").to_numpy()[order]
    total = idx.window_sum(vol, p.window_s, include_self=False)
    n = idx.window_count(p.window_s, include_self=False)
    hit = (n >= p.min_trades) & (vol * n > p.factor * total)
    if only is not None:
        hit &= only[order]
    if not hit.any():
        return pl.DataFrame()
    sel = np.flatnonzero(hit)
    sel = sel[_by_symbol(frame, keys, order[sel])]  # the candidates' order: (symbol, arrival)
    rows = _gather(frame, keys, order[sel], _sum=total[sel], _n=n[sel])
    mean = np.char.mod("%.1f", total[sel] / n[sel])  # printf rounding of the float, as f"{x:.1f}"; no Python loop
    details = pl.format("volume {} > {} x mean {} over {} trades in {} min", pl.col("volume"),
                        pl.lit(f"{p.factor:g}"), pl.Series(mean), pl.col("_n"), pl.lit(f"{p.window_s / 60:g}"))
    return rows.with_columns(
        pl.lit("VOLUME_SPIKE").alias("alert_type"),
        pl.col("volume").cast(pl.Float64).alias("metric"),
        (p.factor * pl.col("_sum") / pl.col("_n")).alias("threshold"),
        details.alias("details"),
    ).select(_CAND).collect()


def volume_spikes(trades: pl.DataFrame, params: AlertParams = DEFAULT_PARAMS.alerts,
                  ranks: dict[str, int] | None = None) -> pl.DataFrame:
    """VOLUME_SPIKE candidates among ``trades`` (with ``_teff`` over all trades of the symbol, or without:
    then computed in arrival order), ordered by (symbol, arrival); thresholds ``params.volume_spike``.
    Output columns: session, seq, trading_date, exch_time, symbol, ``_teff`` (Int64 s), alert_type, metric
    (volume, Float64), threshold (Float64 shares), details; an empty frame without columns when there is none."""
    trades, keys = _stream_keys(trades, ranks or arrival_order(trades))
    if keys is None:
        return pl.DataFrame()
    return _volume_spike_rows(trades, keys, None, params.volume_spike)


def _price_breakout_rows(rows: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    ceiling = _AT_CEILING.fill_null(False)
    return rows.lazy().with_columns(
        pl.lit("PRICE_BREAKOUT").alias("alert_type"),
        pl.col("price").alias("metric"),
        pl.when(ceiling).then(pl.col("ceiling")).otherwise(pl.col("floor")).alias("threshold"),
        pl.when(ceiling).then(pl.lit("at ceiling")).otherwise(pl.lit("at floor")).alias("details"),
    ).select(_CAND).collect()


def price_breakouts(trades: pl.DataFrame) -> pl.DataFrame:
    """PRICE_BREAKOUT candidates: trades (not put-through, with ``_teff``) at or beyond the ceiling or floor."""
    return _price_breakout_rows(trades.filter(_BREAKOUT))


def _foreign_acceleration_rows(frame: pl.DataFrame, keys: dict, only: np.ndarray | None, p) -> pl.DataFrame:
    """FOREIGN_ACCELERATION candidates among the rows flagged in ``only`` (all when None), in (symbol, arrival)
    order; each reads the earlier rows of its symbol."""
    order, dense = keys["_order"], keys["_dense"]
    if order.size == 0:
        return pl.DataFrame()
    idx = StreamIndex(None, codes=dense, teff=keys["_teff"][order])
    level = _column(frame, keys, "cum_net_val_vnd").to_numpy()[order]
    j = idx.last_at_or_before(p.window_s)
    first = np.searchsorted(idx.codes, idx.codes, side="left")  # no row a window back: the baseline's level
    prev = level[np.where(j >= 0, j, first)]
    d = level - prev
    hit = (np.abs(d) >= p.min_vnd) & (100 * np.abs(d) > p.min_pct * np.abs(prev))
    if only is not None:
        hit &= only[order]
    if not hit.any():
        return pl.DataFrame()
    sel = np.flatnonzero(hit)
    sel = sel[_by_symbol(frame, keys, order[sel])]  # the candidates' order: (symbol, arrival)
    rows = _gather(frame, keys, order[sel], _d=d[sel], _prev=prev[sel])
    sign = pl.when(pl.col("_d") >= 0).then(pl.lit("+")).otherwise(pl.lit(""))  # f"{x:+d}"
    details = pl.format("net foreign value {}{} VND in {} min vs level {} VND", sign, pl.col("_d"),
                        pl.lit(f"{p.window_s / 60:g}"), pl.col("_prev"))
    return rows.with_columns(
        pl.lit("FOREIGN_ACCELERATION").alias("alert_type"),
        pl.col("_d").cast(pl.Float64).alias("metric"),
        pl.col("_prev").cast(pl.Float64).alias("threshold"),
        details.alias("details"),
    ).select(_CAND).collect()


def foreign_accelerations(flow: pl.DataFrame, params: AlertParams = DEFAULT_PARAMS.alerts,
                          ranks: dict[str, int] | None = None) -> pl.DataFrame:
    """FOREIGN_ACCELERATION candidates from ``FOREIGN_FLOW`` rows (``_teff`` computed when absent), ordered by
    (symbol, arrival); thresholds ``params.foreign_acceleration``: ``|D| >= min_vnd`` and
    ``100 |D| > min_pct |L_prev|``. Columns as :func:`volume_spikes` (metric D and threshold L_prev in VND)."""
    flow, keys = _stream_keys(flow, ranks or arrival_order(flow))
    if keys is None:
        return pl.DataFrame()
    return _foreign_acceleration_rows(flow, keys, None, params.foreign_acceleration)


def basis_flips(basis: pl.DataFrame, params: AlertParams = DEFAULT_PARAMS.alerts) -> pl.DataFrame:
    """BASIS_FLIP candidates: a basis with a sign whose sign differs from the previous one with a sign (per
    contract); ``|basis| <= params.basis_flip.deadband_pts`` has no sign (default 0: only 0 has none)."""
    return _basis_flip_rows(basis.lazy(), params).collect()


def _basis_flip_rows(basis: pl.LazyFrame, params: AlertParams) -> pl.LazyFrame:
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
        ``trades`` may carry ``_teff`` (Int64 epoch s, no null: ``context.trades_with_context``), which is then used
        as is; otherwise it is computed.
    after : the last frame of the context; candidates at or before it are not raised again.
    last_emitted : (alert_type, symbol) -> ``t_eff`` (epoch s) of the last alert emitted earlier in the day.
    params : as in :func:`alerts`.

    Returns
    -------
    (``ALERTS`` of the new rows, the updated ``last_emitted``).
    """
    ranks = ranks or arrival_order(trades, flow, basis)
    a = params.alerts
    # Only rows after ``after`` can raise a candidate: each rule is evaluated at those rows only (the windows still
    # read the context of their symbols), and a rule whose stream has no such row costs one pass to find out.
    # ``_teff`` is computed once per stream (or taken from the carried context) and shared by the rules of that
    # stream.
    candidates = []
    if trades.height and (a.volume_spike.enabled or a.price_breakout.enabled):
        trades, tk = _stream_keys(trades, ranks, after)
        if tk is not None:
            if a.volume_spike.enabled:
                candidates.append(_volume_spike_rows(trades, tk, tk["_new"], a.volume_spike))
            if a.price_breakout.enabled:  # the rule on a frame of the new rows' four columns
                new = np.flatnonzero(tk["_new"])
                at = np.zeros(trades.height, dtype=bool)
                at[tk["_row"][new]] = True
                at = pl.Series(at)
                cols = pl.DataFrame([trades.get_column(c).filter(at) for c in ("phase", "price", "ceiling", "floor")])
                breakout = new[cols.select(_BREAKOUT).to_series().to_numpy()]
                if breakout.size:
                    candidates.append(_price_breakout_rows(_gather(trades, tk, breakout)))
    if flow.height and a.foreign_acceleration.enabled:
        flow, fk = _stream_keys(flow, ranks, after)
        if fk is not None:
            candidates.append(_foreign_acceleration_rows(flow, fk, fk["_new"], a.foreign_acceleration))
    if basis.height and a.basis_flip.enabled:
        basis, _, new = arrival_keys(basis, ranks, after)  # in arrival order, as effective_time needs
        if new.any():  # one query: t_eff, the flips, those after ``after``
            flips = _basis_flip_rows(basis.lazy().with_columns(effective_time("symbol")), a)
            candidates.append(flips.filter(after_key(after)).collect())
    candidates = [c for c in candidates if c.height]
    if not candidates:
        return schemas.empty(schemas.ALERTS), dict(last_emitted or {})
    cand = (
        pl.concat([c.lazy().cast({"metric": pl.Float64, "threshold": pl.Float64}) for c in candidates],
                  how="vertical_relaxed")
        .with_columns(arrival_key(ranks))
        .sort("_arr", "alert_type")
        .collect()
    )
    emit, last = cooldown_from(cand, a.cooldown_s, by=["alert_type", "symbol"], last_emitted=last_emitted)
    out = (
        cand.lazy().filter(emit)
        .with_columns(pl.col("alert_type").replace_strict(SEVERITY, return_dtype=pl.String).alias("severity"))
        .sort("session", "seq", "alert_type")
        .select(list(schemas.ALERTS))
        .cast(dict(schemas.ALERTS))
        .collect()
    )
    return out, last
