"""The steps of the daily rebuild as plain functions (paths in, paths out); ``flows.rebuild`` wraps them in tasks.

No Prefect here, so each step is testable and callable on its own. Every step is idempotent per trading date:
running it again replaces what it wrote for that date.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from storage import lake as lake_io
from warehouse.frames import book_top, read_capture_events
from warehouse.load import LoadResult, replace_day
from warehouse.target import Target
from transforms.pipeline import run_day
from transforms.schemas import CURATED

WAREHOUSE_CURATED = ("trades", "session_stats", "foreign_flow", "foreign_summary", "foreign_by_sector", "indices",
                     "basis", "alerts", "candles_1m", "board")
"""Curated tables loaded into the warehouse under the same name (contract C4)."""


class NoRawData(LookupError):
    """The lake has no sealed raw segment for the date."""


class LoadBlocked(RuntimeError):
    """Validation failed and ``VNTRACK_DQ_ON_FAILURE=block``: the date was not loaded."""


dq_path = lake_io.dq_results_path
"""``lake/dq/date=YYYY-MM-DD/dq_results.parquet``: the date's last validation results (storage.lake)."""


def live_day_dir(lake: Path, day: date) -> Path:
    """``lake/live/date=YYYY-MM-DD``: the live loop's state and snapshots of that date (contract C3)."""
    return Path(lake) / "live" / f"date={day:%Y-%m-%d}"


@dataclass(frozen=True)
class Curated:
    """What build_curated wrote: ``{table: path}`` and the frame count."""

    paths: dict[str, Path]
    frames: int


def build_curated(lake: Path, day: date, *, futures_override: str | None = None) -> Curated:
    """Run the batch analytics (``transforms.pipeline.run_day``) over the date's raw frames.

    Writes every table of ``transforms.schemas.CURATED`` plus ``book_top`` to ``lake/curated/date=D/`` as one
    set (``storage.lake.write_curated_day``, manifest included) and the quarantine to ``lake/quarantine/date=D/``.
    Stale leftovers of an interrupted run are removed first and unreadable raw segments moved to the quarantine
    (:func:`check_raw`; the manifest then lists them under ``incomplete``).

    Raises
    ------
    NoRawData : the date has no readable raw segment (the message lists the dates the lake has).
    """
    check_raw(lake, day)
    raw = lake_io.read_raw(lake, day)
    if raw.height == 0:
        have = ", ".join(d.isoformat() for d in lake_io.lake_dates(lake)) or "none"
        raise NoRawData(f"no raw frames for {day} in {lake}; dates in the lake: {have}")
    tables = run_day(raw, day, futures_override=futures_override)
    out = {name: tables[name] for name in CURATED}
    out["book_top"] = book_top(tables["x_quote"], tables["x"])
    lake_io.write_quarantine(lake, day, tables["quarantine"])
    paths = lake_io.write_curated_day(lake, day, out, meta={
        "frames": raw.height, "incomplete": [p.name for p in lake_io.quarantined_segments(lake, day)]})
    return Curated(paths, raw.height)


def check_raw(lake: Path, day: date) -> list[str]:
    """Clean what an interrupted run left for ``day`` and move its unreadable raw segments to the quarantine
    (``storage.lake.clean_stale``, ``storage.lake.quarantine_corrupt_segments``); returns the moved file names."""
    lake_io.clean_stale(lake, day)
    return [c.path.name for c in lake_io.quarantine_corrupt_segments(lake, day)]


def validate(lake: Path, day: date) -> tuple[Path, int, int]:
    """Validate the date's curated tables (``flows.validate``); results to :func:`dq_path`.

    Returns
    -------
    (path, failed, total) : the results file and the expectation counts.
    """
    from flows.validate import validate_day

    tables = {name: lake_io.read_curated(lake, day, name) for name in CURATED}
    result = validate_day(day, tables)
    results = pl.concat([result.results, raw_readable_row(lake, day, result.results)]).sort(
        "table_name", "expectation", "column_name")
    path = lake_io.write_table(dq_path(lake, day), results)
    failed = result.failed + int(not results.filter(pl.col("table_name") == "raw")["success"].all())
    return path, failed, results.height


def raw_readable_row(lake: Path, day: date, like: pl.DataFrame) -> pl.DataFrame:
    """The data-quality row ``raw`` / ``raw_segments_readable``: fails when any raw segment of the day was
    unreadable and moved to the quarantine (``observed`` lists them), so such a day loads as degraded."""
    from datetime import datetime, timezone

    bad = [p.name for p in lake_io.quarantined_segments(lake, day)]
    total = len(lake_io.raw_segments(lake, day)) + len(bad)
    run_id = like["run_id"][0] if like.height else f"{day:%Y%m%d}-raw"
    checked = like["checked_at"][0] if like.height else datetime.now(timezone.utc)
    return pl.DataFrame([{
        "trading_date": day, "run_id": run_id, "table_name": "raw", "expectation": "raw_segments_readable",
        "column_name": None, "success": not bad, "element_count": total, "unexpected_count": len(bad),
        "observed": json.dumps({"quarantined": bad}), "checked_at": checked}], schema=like.schema)


def load(lake: Path, day: date, target: Target, *, frames: int, dq_failed: int, dq_total: int,
         on_failure: str = "degrade", progress=None) -> LoadResult:
    """Load the date's curated tables, book top, capture events and dq results into the warehouse.

    The date's status is ``ok`` when every expectation passed, else ``degraded`` (loaded, flagged); with
    ``on_failure="block"`` a failed expectation raises :class:`LoadBlocked` and nothing is loaded.
    """
    if dq_failed and on_failure == "block":
        raise LoadBlocked(f"{day}: {dq_failed} of {dq_total} expectations failed and VNTRACK_DQ_ON_FAILURE=block; "
                          f"see {dq_path(lake, day)} (set it to 'degrade' to load the day flagged)")
    frames_by_table = {name: lake_io.read_curated(lake, day, name) for name in (*WAREHOUSE_CURATED, "book_top")}
    frames_by_table["capture_events"] = read_capture_events(lake, day)
    frames_by_table["dq_results"] = pl.read_parquet(dq_path(lake, day))
    counts = {name: df.height for name, df in frames_by_table.items()}
    return replace_day(target, day, frames_by_table, progress=progress, day_row={
        "status": "degraded" if dq_failed else "ok", "frames": frames, "row_counts": counts,
        "dq_failed": dq_failed, "dq_total": dq_total})


def write_dq_markdown(lake: Path, day: date, out_dir: Path) -> Path:
    """``dq-YYYY-MM-DD.md`` beside the daily report: every expectation, failures first."""
    results = pl.read_parquet(dq_path(lake, day)).sort("success", "table_name", "expectation")
    failed = int((~results["success"]).sum())
    lines = [f"# Data quality {day}", "", f"{results.height - failed} of {results.height} expectations passed"
             + (f"; **{failed} failed: the day is degraded**" if failed else "."), "",
             "| table | expectation | column | rows | unexpected | ok |", "|---|---|---|---:|---:|---|"]
    for r in results.iter_rows(named=True):
        lines.append(f"| {r['table_name']} | {r['expectation']} | {r['column_name']} | {r['element_count'] or 0:,} "
                     f"| {r['unexpected_count'] or 0:,} | {'yes' if r['success'] else '**no**'} |")
    path = Path(out_dir) / f"dq-{day:%Y-%m-%d}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def apply_lake_retention(lake: Path, day: date, *, raw_retention_days: int | None, keep_live: bool) -> dict:
    """Retention of the lake after ``day`` was rebuilt and loaded.

    * ``lake/live/date=D`` (live-loop state and snapshots) is deleted unless ``keep_live`` — the curated tables
      of the date now hold the same tables (contract C3).
    * raw dates older than ``day - raw_retention_days`` are deleted when ``raw_retention_days`` is set; None
      (the default) keeps raw forever: it is the source of truth everything else is rebuilt from.

    Returns ``{"live_dropped": bool, "raw_dropped": [dates]}``.
    """
    out = {"live_dropped": False, "raw_dropped": []}
    live = live_day_dir(lake, day)
    if not keep_live and live.is_dir():
        shutil.rmtree(live)
        out["live_dropped"] = True
    if raw_retention_days is not None:
        cutoff = day - timedelta(days=raw_retention_days)
        for old in lake_io.lake_dates(lake):
            if old < cutoff:
                shutil.rmtree(lake_io.raw_day_dir(lake, old))
                out["raw_dropped"].append(old.isoformat())
    return out


def summary_json(**values) -> str:
    """A flow's result as one JSON line (what the CLI prints)."""
    return json.dumps(values, default=str, sort_keys=True)


def rebuild_date(settings, day: date) -> dict:
    """Every step of ``flows.rebuild.rebuild_day`` for one date, as one plain call (backfill's unit of work).

    Returns the same keys as the flow; ``skipped`` on a non-trading day.
    """
    from flows.common import non_trading_reason, today_vn
    from storage.compact import compact_day
    from warehouse.load import drop_expired
    from warehouse.migrate import migrate
    from warehouse.target import target_from_settings
    from reports.daily import build_report

    if reason := non_trading_reason(day):
        return {"trading_date": day.isoformat(), "skipped": reason}
    target = target_from_settings(settings)  # a bad VNTRACK_DATABASE_URL fails before the analytics
    lake = Path(settings.lake)
    check_raw(lake, day)
    comp = compact_day(lake, day, max_rows=settings.compact_segment_rows)
    cur = build_curated(lake, day, futures_override=settings.futures_override)
    _, failed, total = validate(lake, day)
    migrate(target)
    result = load(lake, day, target, frames=cur.frames, dq_failed=failed, dq_total=total,
                  on_failure=settings.dq_on_failure)
    report = build_report(lake, day, Path(settings.reports_root))
    write_dq_markdown(lake, day, Path(settings.reports_root))
    retention = apply_lake_retention(lake, day, raw_retention_days=settings.raw_retention_days,
                                     keep_live=settings.keep_live_after_rebuild)
    retention["warehouse_dropped"] = [d.isoformat() for d in drop_expired(
        target, retention_days=settings.warehouse_retention_days, today=today_vn())]
    return {"trading_date": day.isoformat(), "compaction": {"before": comp.before, "after": comp.after},
            "frames": cur.frames, "validation": {"failed": failed, "total": total},
            "status": "degraded" if failed else "ok", "load": {"rows": result.rows}, "report": str(report.html),
            "retention": retention}
