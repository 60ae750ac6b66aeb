"""Exchange-time windows over arrival-ordered streams, vectorized.

Every window rule of docs/analytics.md is "rows of the same stream that arrived no later than row i whose
effective time lies in an interval ending at or before ``t_eff_i``". With ``t_eff`` non-decreasing inside a stream
(it is a running maximum), sorting by (stream, arrival) makes the composite key ``stream * SPAN + t_eff`` globally
non-decreasing, so each window bound is one ``numpy.searchsorted`` and each window sum a difference of prefix sums.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl

from market import clock
from transforms.schemas import EXCH_TIME

_SPAN = 10**9  # seconds between two streams' keys: more than any span of exchange time plus any window


def arrival_order(*frames: pl.DataFrame) -> dict[str, int]:
    """Rank of every capture session seen in ``frames`` (lexicographic), for :func:`arrival_key`."""
    sessions: set[str] = set()
    for f in frames:
        if f.height:
            sessions.update(f.get_column("session").unique().to_list())
    return {s: i for i, s in enumerate(sorted(sessions))}


def arrival_key(ranks: dict[str, int]) -> pl.Expr:
    """One Int64 that sorts like ``(session, seq)``: session rank in the high bits, seq in the low 40 bits."""
    return _arrival_key(tuple(ranks.items()))


@functools.lru_cache(maxsize=64)
def _arrival_key(ranks: tuple[tuple[str, int], ...]) -> pl.Expr:
    # built once per set of ranks: the mapping is a literal Series, ~0.1 ms to build, and the live step asks for
    # this key several times per micro-batch with the same ranks
    if not ranks:  # no row anywhere: polars cannot build an empty String -> Int64 mapping
        return (pl.lit(0, pl.Int64) + pl.col("seq").cast(pl.Int64)).alias("_arr")
    rank = pl.col("session").replace_strict(dict(ranks), return_dtype=pl.Int64)
    return (rank * (1 << 40) + pl.col("seq").cast(pl.Int64)).alias("_arr")


def effective_time(stream: str | list[str]) -> pl.Expr:
    """``t_eff``: running max of ``exch_time`` in arrival order within the stream, as Int64 seconds.

    The frame must already be in arrival order.
    """
    secs = pl.col("exch_time").dt.replace_time_zone(None).dt.epoch("s")
    return secs.cum_max().over(stream).alias("_teff")


def stream_codes(stream: str) -> pl.Expr:
    """Int64 group codes of the String column ``stream`` (equal strings, equal codes; the codes' order means
    nothing): a categorical cast is several times cheaper than a dense rank on a few thousand rows."""
    return pl.col(stream).cast(pl.Categorical).to_physical().cast(pl.Int64)


def group_by_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, dense): ``order`` sorts rows by code keeping their order within a code (stable), ``dense`` the codes
    renumbered 0, 1, ... in that order (non-decreasing)."""
    order = np.argsort(codes, kind="stable")
    s = codes[order]
    dense = np.concatenate(([0], np.cumsum(s[1:] != s[:-1]))) if s.size else s
    return order, dense.astype(np.int64)


def running_max(dense: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running max of Int64 ``values`` within each group, rows in (group, arrival) order, ``dense`` the group
    numbers 0, 1, ... (non-decreasing): one ``maximum.accumulate`` over ``group * span + value``, span larger than
    the value range so that no group's values reach into the next one."""
    if values.size == 0:
        return values.astype(np.int64)
    base = int(values.min())
    span = int(values.max()) - base + 1
    if span * (int(dense[-1]) + 1) >= 2**62:  # would overflow Int64 (not with seconds of one day): per group
        out = values.astype(np.int64).copy()
        starts = np.flatnonzero(np.concatenate(([True], dense[1:] != dense[:-1])))
        for a, b in zip(starts, [*starts[1:], len(values)], strict=True):
            out[a:b] = np.maximum.accumulate(out[a:b])
        return out
    offset = dense * span - base
    return np.maximum.accumulate(values.astype(np.int64) + offset) - offset


class StreamIndex:
    """Search structure over one frame sorted by (stream, arrival) with an Int64 ``_teff`` column.

    Parameters
    ----------
    frame : rows sorted by stream then arrival; ``stream`` names its grouping column(s).
    codes, teff : instead of ``frame``: per row (same order) Int64 stream codes, non-decreasing, and ``t_eff``
        (epoch s).
    """

    def __init__(self, frame: pl.DataFrame | None, stream: str | list[str] | None = None, *,
                 codes: np.ndarray | None = None, teff: np.ndarray | None = None) -> None:
        # ``codes``/``teff`` given: arrays already in (stream, arrival) order, codes non-decreasing (no frame needed)
        if codes is None:
            codes = frame.select(pl.struct(stream).rank("dense").cast(pl.Int64)).to_series().to_numpy()
            teff = frame.get_column("_teff").to_numpy().astype(np.int64)
        base = teff.min() if teff.size else 0
        self.key = codes * _SPAN + (teff - base)
        self.codes = codes
        self.n = len(self.key)

    def first_after(self, offset_s: int) -> np.ndarray:
        """Per row i: the first index j with ``t_eff_j > t_eff_i - offset_s`` (within i's stream)."""
        return np.searchsorted(self.key, self.key - offset_s, side="right")

    def window_sum(self, values: np.ndarray, lo_s: int, hi_s: int = 0, *, include_self: bool = True) -> np.ndarray:
        """Sum of ``values_j`` over rows j of i's stream with ``t_eff_i - lo_s < t_eff_j <= t_eff_i - hi_s``.

        With ``hi_s == 0`` the window ends at row i itself (``include_self``) or just before it; rows that arrived
        after i are never included.
        """
        prefix = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
        start = self.first_after(lo_s)
        if hi_s == 0:
            stop = np.arange(self.n) + (1 if include_self else 0)
        else:
            stop = self.first_after(hi_s)
        stop = np.maximum(stop, start)
        return prefix[stop] - prefix[start]

    def window_count(self, lo_s: int, *, include_self: bool = True) -> np.ndarray:
        """Number of rows j <= i (or < i) of i's stream with ``t_eff_j > t_eff_i - lo_s``."""
        stop = np.arange(self.n) + (1 if include_self else 0)
        return np.maximum(stop - self.first_after(lo_s), 0)

    def last_at_or_before(self, offset_s: int) -> np.ndarray:
        """Per row i: index of the latest row j of i's stream with ``t_eff_j <= t_eff_i - offset_s``, or -1."""
        j = np.searchsorted(self.key, self.key - offset_s, side="right") - 1
        ok = (j >= 0) & (self.codes[np.clip(j, 0, None)] == self.codes)
        return np.where(ok, j, -1)


def cooldown(
    candidates: pl.DataFrame, seconds: int, *, by: list[str], time_col: str = "_teff"
) -> pl.Series:
    """Boolean mask: which candidates (in arrival order) are emitted under a per-``by`` cooldown.

    A candidate is emitted when its group has emitted none yet or ``t - t_last_emitted >= seconds``; suppressed
    candidates do not restart the cooldown (docs/analytics.md §9). Sequential by nature, so a plain loop over the
    candidates only (they are few compared with frames).
    """
    return cooldown_from(candidates, seconds, by=by, time_col=time_col)[0]


def cooldown_from(
    candidates: pl.DataFrame, seconds: int, *, by: list[str], time_col: str = "_teff",
    last_emitted: dict[tuple, int] | None = None,
) -> tuple[pl.Series, dict[tuple, int]]:
    """:func:`cooldown` continuing from ``last_emitted`` (group -> time of its last emitted candidate, earlier
    in the day); returns the mask and the updated mapping (a new dict; the argument is not changed)."""
    last: dict[tuple, int] = dict(last_emitted or {})
    keep = []
    groups = candidates.select(by).rows()
    times = candidates.get_column(time_col).to_list()
    for g, t in zip(groups, times, strict=True):
        prev = last.get(g)
        if prev is None or t - prev >= seconds:
            last[g] = t
            keep.append(True)
        else:
            keep.append(False)
    return pl.Series("_emit", keep, dtype=pl.Boolean), last


def after_key(key: tuple[str, int] | None) -> pl.Expr:
    """Rows that arrived after ``key`` = (session, seq) (all rows when ``key`` is None)."""
    if key is None:
        return pl.lit(True)
    session, seq = key
    return (pl.col("session") > session) | ((pl.col("session") == session) & (pl.col("seq") > seq))


def minute_floor(col: str = "exch_time") -> pl.Expr:
    """Start of the exchange-time minute, same dtype (Datetime[us, Asia/Ho_Chi_Minh])."""
    return pl.col(col).dt.truncate("1m").cast(EXCH_TIME)


_ICT_S = int(clock.ICT.utcoffset(None).total_seconds())
_ICT_SINCE_US = 189_302_400 * 10**6  # 1976-01-01 UTC: Asia/Ho_Chi_Minh has been UTC+7 since June 1975 (tzdata)


def local_epoch_s(exch_time: pl.Series) -> np.ndarray:
    """Int64 epoch seconds of the exchange wall clock, as ``exch_time.dt.replace_time_zone(None).dt.epoch("s")``
    (:func:`~transforms.windows.effective_time`'s seconds): for ``EXCH_TIME`` without nulls from the UTC
    microseconds and the fixed UTC+7 (Vietnam has no daylight saving, ``market.clock``; from 1976), without a
    Polars query; else by Polars."""
    if exch_time.dtype == EXCH_TIME and exch_time.null_count() == 0:
        us = exch_time.cast(pl.Int64).to_numpy()
        if us.size and us.min() >= _ICT_SINCE_US:
            return us // 1_000_000 + _ICT_S
    return exch_time.dt.replace_time_zone(None).dt.epoch("s").to_numpy().astype(np.int64)


def arrival_keys(frame: pl.DataFrame, ranks: dict[str, int], after: tuple[str, int] | None = None, *,
                 ties: str | None = None) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """``frame`` in arrival order, its arrival key ``_arr`` (:func:`~transforms.windows.arrival_key`) and which rows
    arrived after ``after`` (:func:`~transforms.windows.after_key`; all when None), both numpy, per row.

    One capture session (the usual case, checked on the session column): the key is its rank and seq, read without
    a Polars query. The frame is sorted by the key only when it is not already in arrival order (the live step's
    frames are); with ``ties`` (a column), rows of one frame are ordered by that column.
    """
    session = frame.get_column("session")
    first = session[0] if frame.height else None
    if first is not None and first in ranks and session[-1] == first and session.is_sorted():  # one session
        arr = frame.get_column("seq").to_numpy().astype(np.int64) + ranks[first] * (1 << 40)
        new = None
    else:
        keys = frame.select(arrival_key(ranks), after_key(after).alias("_new"))
        arr, new = keys.get_column("_arr").to_numpy(), keys.get_column("_new").to_numpy()
    step = arr[1:] - arr[:-1]
    if arr.size > 1 and not bool((step > 0).all() if ties else (step >= 0).all()):
        by = ["_arr", ties] if ties else ["_arr"]
        return arrival_keys(frame.with_columns(arrival_key(ranks)).sort(by, maintain_order=bool(ties)).drop("_arr"),
                            ranks, after, ties=None)
    if new is None:
        if after is None or first > after[0]:
            new = np.ones(arr.size, dtype=bool)
        elif first == after[0]:
            new = frame.get_column("seq").to_numpy() > after[1]
        else:
            new = np.zeros(arr.size, dtype=bool)
    elif new.size != arr.size:  # after is None: a literal True
        new = np.ones(arr.size, dtype=bool)
    return frame, arr, new
