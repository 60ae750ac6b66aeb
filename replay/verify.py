"""``vntrack replay --verify``: a day's live outputs against a fresh batch run (docs/architecture.md §5).

The live side is what ``vntrack tail`` committed (row tables, from the checkpoint) and published (the snapshot
tables of its last snapshot); the batch side is ``run_day`` over the day's sealed raw segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from storage.lake import read_raw
from storage.live import read_snapshot
from live.store import LiveStore
from transforms.incremental import ROW_TABLES, SNAPSHOT_TABLES
from transforms.pipeline import run_day


@dataclass(frozen=True)
class Difference:
    """The first differing row of a table: its position, the first differing column and both values."""

    table: str
    row: int
    column: str | None
    live: object
    batch: object
    key: dict = field(default_factory=dict)

    def __str__(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.key.items())
        if self.column is None:
            return f"{self.table}: row {self.row} {where}: {self.live}"
        return (f"{self.table}: first difference at row {self.row} ({where}), column {self.column!r}: "
                f"live={self.live!r} batch={self.batch!r}")


@dataclass(frozen=True)
class Verification:
    """Outcome: per table (live rows, batch rows), the first difference (None when equal), the frames on both
    sides, and the live loop's rebuilds / late data."""

    day: date
    counts: dict[str, tuple[int, int]]
    difference: Difference | None
    frames_live: int
    frames_raw: int
    rebuilds: list[dict]

    @property
    def equal(self) -> bool:
        return self.difference is None and self.frames_live == self.frames_raw


class NoLiveOutputs(LookupError):
    """``vntrack tail`` has not committed anything for the date."""


def first_difference(table: str, live: pl.DataFrame, batch: pl.DataFrame) -> Difference | None:
    """The first row (and its first column) where two frames differ; nulls equal nulls, NaN equals NaN."""
    if live.columns != batch.columns or live.schema != batch.schema:
        return Difference(table, 0, None, f"schema {dict(live.schema)} vs {dict(batch.schema)}", None)
    n = min(live.height, batch.height)
    a, b = live.head(n), batch.head(n)
    first_row, first_col = None, None
    for col in live.columns:
        x, y = a.get_column(col), b.get_column(col)
        diff = x.ne_missing(y)
        if x.dtype.is_float():
            diff = diff & ~(x.is_nan().fill_null(False) & y.is_nan().fill_null(False))
        idx = diff.arg_true()
        if idx.len() and (first_row is None or idx[0] < first_row):
            first_row, first_col = int(idx[0]), col
    key_cols = [c for c in ("session", "seq", "symbol", "minute", "phase", "index_id", "alert_type") if c in live.columns]
    if first_row is not None:
        return Difference(table, first_row, first_col, a.item(first_row, first_col), b.item(first_row, first_col),
                          {c: a.item(first_row, c) for c in key_cols})
    if live.height != batch.height:
        longer, side = (live, "live") if live.height > batch.height else (batch, "batch")
        return Difference(table, n, None, f"only the {side} side has this row ({live.height} live rows, "
                          f"{batch.height} batch rows)", None, {c: longer.item(n, c) for c in key_cols})
    return None


def verify_day(lake: Path, day: date, *, futures_override: str | None = None) -> Verification:
    """Compare the live outputs of ``day`` with ``run_day`` over its sealed raw frames.

    Raises
    ------
    NoLiveOutputs : nothing committed by ``vntrack tail`` for ``day``.
    """
    store = LiveStore(lake, day)
    ck, state = store.load(futures_override)
    if ck.batch == 0:
        raise NoLiveOutputs(f"no live outputs for {day} in {lake}: run `vntrack tail --date {day}` first")
    raw = read_raw(lake, day)
    batch = run_day(raw, day, futures_override=futures_override)
    published = read_snapshot(lake, day)
    if published is None:
        raise NoLiveOutputs(f"no live snapshot for {day} in {lake}: run `vntrack tail --date {day}` first")
    _, snap = published
    live = {t: store.read_table(t, ck) for t in ROW_TABLES} | {t: snap[t] for t in SNAPSHOT_TABLES}
    counts, first = {}, None
    for t in (*ROW_TABLES, *SNAPSHOT_TABLES):
        counts[t] = (live[t].height, batch[t].height)
        if first is None:
            first = first_difference(t, live[t], batch[t])
    rebuilds = [e for e in ck.events if e["kind"] == "rebuild"]
    return Verification(day, counts, first, state.frames_total, raw.height, rebuilds)
