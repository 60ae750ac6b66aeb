"""Build one day of the lake: raw frames -> curated tables + quarantine (``build_day``), and replay = build + report.

The one place a day is built: ``vntrack replay``, the Prefect rebuild (``flows.steps``), backfill and the live
loop's verification all come here, and the analytics are the one composition ``transforms.pipeline.run_day``
(the live loop's step over the whole day; docs/architecture.md §5).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from reports.daily import build_report
from storage import lake
from storage.settings import Settings
from replay.parsed import load_parsed
from transforms.classify import LEDGER_TABLE, classification_ledger
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.pipeline import run_parsed
from transforms.schemas import CURATED


class NoRawData(LookupError):
    """The lake has no raw frames for the requested trading date; the message lists the dates it has."""

    def __init__(self, day: date, root: Path, available: list[date]) -> None:
        have = ", ".join(d.isoformat() for d in available) or "none (run `vntrack import PATH...` first)"
        super().__init__(f"no raw frames for {day.isoformat()} in lake {root}; dates in the lake: {have}")
        self.available = available


@dataclass(frozen=True)
class DayBuild:
    """What :func:`build_day` wrote: ``{table: path}`` of every curated table, the frame and quarantine counts,
    and the row count of every table run_day returned."""

    day: date
    frames: int
    quarantined: int
    curated: dict[str, Path]
    rows: dict[str, int]
    corrupt_segments: tuple[str, ...] = ()


def build_day(root: Path, day: date, *, futures_override: str | None = None,
              params: AnalyticsParams = DEFAULT_PARAMS, out: Path | None = None) -> DayBuild:
    """Run the analytics over the date's raw frames and write its curated tables and quarantine.

    Writes every table of ``transforms.schemas.CURATED`` and the classification-accuracy ledger
    (``transforms.classify``, table ``classification_ledger``) to ``<out>/curated/date=D/`` as one whole set with its
    manifest (``storage.lake.write_curated_day``: the previous set or the new one, never a mix) and the quarantined
    frames to ``<out>/quarantine/date=D/``. ``out`` defaults to the lake itself (the canonical tables); an
    experiment passes its own root (``replay.experiment``) with its ``params``. First removes what an interrupted
    run left (``storage.lake.clean_stale``) and moves unreadable raw segments to the quarantine with an event
    (:func:`check_raw`); the manifest's ``incomplete`` then names them (docs/reliability.md).

    The frames are read through the lake's parsed layer (``replay.parsed.load_parsed``): parsed from raw and
    written there on the first build for the date's current raw segments and parser, read back afterwards.

    Raises
    ------
    NoRawData : the lake has no readable raw segment for ``day`` (the message lists the dates it has).
    """
    corrupt = check_raw(root, day)
    parsed, frames = load_parsed(root, day)  # the lake's parsed layer, (re)built from raw when stale
    if frames == 0:
        raise NoRawData(day, root, lake.lake_dates(root))
    out = root if out is None else out
    tables = run_parsed(parsed, day, futures_override=futures_override, params=params)
    ledger = classification_ledger(tables["trades"], params=params.classification)
    lake.write_quarantine(out, day, tables["quarantine"])
    curated = lake.write_curated_day(out, day, {**{name: tables[name] for name in CURATED}, LEDGER_TABLE: ledger},
                                     meta={"frames": frames,
                                           "incomplete": [p.name for p in lake.quarantined_segments(root, day)]})
    return DayBuild(day=day, frames=frames, quarantined=tables["quarantine"].height, curated=curated,
                    rows={name: t.height for name, t in tables.items()}, corrupt_segments=tuple(corrupt))


def check_raw(root: Path, day: date) -> list[str]:
    """Clean what an interrupted run left for ``day`` and move its unreadable raw segments to the quarantine
    (``storage.lake.clean_stale``, ``storage.lake.quarantine_corrupt_segments``); returns the moved file names.
    Done by :func:`build_day`, and by the rebuild before it compacts raw."""
    lake.clean_stale(root, day)
    return [c.path.name for c in lake.quarantine_corrupt_segments(root, day)]


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
    """``vntrack replay --date D``: :func:`build_day`, then the daily report.

    Raises
    ------
    NoRawData : when the lake has no raw segment for ``day`` (the message lists the dates it has).
    """
    started = time.perf_counter()
    built = build_day(settings.lake, day, futures_override=settings.futures_override)
    report = build_report(settings.lake, day, settings.reports_root)
    return ReplayResult(day=day, frames=built.frames, rows=built.rows, curated=built.curated,
                        report_html=report.html, report_markdown=report.markdown,
                        seconds=time.perf_counter() - started, quarantined=built.quarantined,
                        corrupt_segments=built.corrupt_segments)
