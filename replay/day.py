"""Replay one day of the lake through the analytics: raw -> curated tables + quarantine + daily report.

The I/O edge around the pure ``transforms.pipeline.run_day`` (design.md §6: the same logic as the live loop).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from storage import lake
from reports.daily import build_report
from transforms.pipeline import run_day
from transforms.schemas import CURATED
from storage.settings import Settings


class NoDataForDate(LookupError):
    """The lake has no raw frames for the requested trading date."""

    def __init__(self, day: date, root: Path, available: list[date]) -> None:
        have = ", ".join(d.isoformat() for d in available) or "none (run `vntrack import PATH...` first)"
        super().__init__(f"no raw frames for {day.isoformat()} in lake {root}; dates in the lake: {have}")
        self.available = available


@dataclass(frozen=True)
class ReplayResult:
    """What one replay produced: row counts per table, the files written and the time taken."""

    day: date
    frames: int
    rows: dict[str, int]
    curated: dict[str, Path]
    report_html: Path
    report_markdown: Path
    seconds: float
    quarantined: int = field(default=0)
    corrupt_segments: tuple[str, ...] = ()


def replay_day(settings: Settings, day: date) -> ReplayResult:
    """Run the analytics over ``day`` and write its curated tables, quarantine and report.

    First removes what an interrupted run left (``storage.lake.clean_stale``) and moves unreadable raw segments
    to the quarantine (``storage.lake.quarantine_corrupt_segments``: the day is then marked incomplete in the
    manifest, the report and the app). The curated set is published whole (``storage.lake.write_curated_day``).

    Raises
    ------
    NoDataForDate : when the lake has no readable raw segment for ``day`` (the message lists the dates it has).
    """
    lake.clean_stale(settings.lake, day)
    corrupt = lake.quarantine_corrupt_segments(settings.lake, day)
    raw = lake.read_raw(settings.lake, day)
    if raw.height == 0:
        raise NoDataForDate(day, settings.lake, lake.lake_dates(settings.lake))
    started = time.perf_counter()
    tables = run_day(raw, day, futures_override=settings.futures_override)
    lake.write_quarantine(settings.lake, day, tables["quarantine"])
    curated = lake.write_curated_day(settings.lake, day, {name: tables[name] for name in CURATED},
                                     meta=curated_meta(settings.lake, day, raw.height))
    report = build_report(settings.lake, day, settings.reports_root)
    return ReplayResult(
        day=day,
        frames=raw.height,
        rows={name: t.height for name, t in tables.items()},
        curated=curated,
        report_html=report.html,
        report_markdown=report.markdown,
        seconds=time.perf_counter() - started,
        quarantined=tables["quarantine"].height,
        corrupt_segments=tuple(c.path.name for c in corrupt),
    )


def curated_meta(root: Path, day: date, frames: int) -> dict:
    """The manifest keys of a curated set: ``frames`` read, ``incomplete`` (raw segments of the day that were
    unreadable and are in the quarantine, by file name; empty = the day is whole)."""
    return {"frames": frames, "incomplete": [p.name for p in lake.quarantined_segments(root, day)]}
