"""The steps of the daily rebuild as plain functions (paths in, paths out); ``flows.rebuild`` wraps them in tasks.

No Prefect here, so each step is testable and callable on its own. Every step is idempotent per trading date:
running it again replaces what it wrote for that date.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from storage import lake as lake_io
from storage.live import live_day_dir
from replay.day import DayBuild, build_day, check_raw
from warehouse.capture_events import read_capture_events
from warehouse.load import LoadResult, replace_day
from warehouse.target import Target
from transforms.schemas import CURATED


class LoadBlocked(RuntimeError):
    """Validation failed and ``VNTRACK_DQ_ON_FAILURE=block``: the date was not loaded."""


dq_path = lake_io.dq_results_path
"""``lake/dq/date=YYYY-MM-DD/dq_results.parquet``: the date's last validation results (storage.lake)."""


def build_curated(lake: Path, day: date, *, futures_override: str | None = None) -> DayBuild:
    """The day's curated tables and quarantine (``replay.day.build_day``, the one day build).

    Raises
    ------
    replay.day.NoRawData : the date has no raw segment (the message lists the dates the lake has).
    """
    return build_day(lake, day, futures_override=futures_override)


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
    unreadable and moved to the quarantine (``observed`` lists them), so such a day loads as degraded
    (docs/reliability.md)."""
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
    frames_by_table = {name: lake_io.read_curated(lake, day, name) for name in CURATED}
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


def _direct(name: str, fn: Callable, **_options) -> Callable:
    return fn


def rebuild_date(settings, day: date, *, as_step: Callable[..., Callable] = _direct, log=None) -> dict:
    """Rebuild one date: compaction, the day build, validation, warehouse load, report, retention.

    The one sequence of the daily rebuild: backfill calls it as a plain call (its unit of work), and the Prefect
    flow ``flows.rebuild.rebuild_day`` passes ``as_step`` to run each step as a task of the same name (with the
    retries given here for the steps whose I/O can fail transiently).

    Parameters
    ----------
    settings : ``storage.settings.Settings``.
    day : the trading date.
    as_step : ``as_step(name, fn, retries=..., retry_delay_seconds=...)`` -> the callable to run for that step.
    log : a logger for the day's outcome (the flow's run logger), or None.

    Returns
    -------
    dict : ``skipped`` (the reason) on a non-trading day; else ``trading_date``, ``corrupt_segments`` (raw files
        moved to the quarantine by this run), ``compaction`` (before, after,
        rows, compacted, reason), ``frames``, ``validation`` (path, failed, total), ``status`` ("ok" | "degraded"),
        ``load`` (target, rows per table, seconds), ``report`` (html, markdown, dq), ``retention``.

    Raises
    ------
    replay.day.NoRawData : the lake has no raw frames for the date.
    LoadBlocked : validation failed and ``VNTRACK_DQ_ON_FAILURE=block``.
    """
    from flows.common import non_trading_reason

    if reason := non_trading_reason(day):
        if log is not None:
            log.info("skipped: %s", reason)
        return {"trading_date": day.isoformat(), "skipped": reason}
    from warehouse.target import target_from_settings

    target_from_settings(settings)  # a VNTRACK_DATABASE_URL that cannot work fails now, not after the analytics
    lake, reports = Path(settings.lake), Path(settings.reports_root)
    corrupt = as_step("check_raw", check_raw)(lake, day)
    if corrupt and log is not None:
        log.warning("%s: unreadable raw segments moved to the quarantine, the day is incomplete: %s", day,
                    ", ".join(corrupt))
    compaction = as_step("compact_raw", compact_raw, retries=2, retry_delay_seconds=[1, 5])(
        lake, day, settings.compact_segment_rows)
    built = as_step("build_curated", build_curated)(lake, day, futures_override=settings.futures_override)
    path, failed, total = as_step("validate_curated", validate)(lake, day)
    if failed and log is not None:
        log.warning("%s: %d of %d expectations failed (%s)", day, failed, total,
                    "load blocked" if settings.dq_on_failure == "block" else "loading the day as degraded")
    loaded = as_step("load_warehouse", load_warehouse, retries=3, retry_delay_seconds=[2, 5, 15])(
        settings, lake, day, built.frames, failed, total)
    report = as_step("write_report", write_report)(lake, day, reports)
    retention = as_step("apply_retention", apply_retention)(settings, lake, day)
    status = "degraded" if failed else "ok"
    if log is not None:
        log.info("%s rebuilt: %s, %s trades, status %s", day, loaded["target"], loaded["rows"]["trades"], status)
    return {"trading_date": day.isoformat(), "corrupt_segments": corrupt, "compaction": compaction,
            "frames": built.frames,
            "validation": {"path": str(path), "failed": failed, "total": total}, "status": status,
            "load": loaded, "report": report, "retention": retention}


def compact_raw(lake: Path, day: date, max_rows: int) -> dict:
    """Compact the date's raw segments (``storage.compact``); the segment counts before and after."""
    from storage.compact import compact_day

    r = compact_day(lake, day, max_rows=max_rows)
    return {"before": r.before, "after": r.after, "rows": r.rows, "compacted": r.compacted, "reason": r.reason}


def load_warehouse(settings, lake: Path, day: date, frames: int, dq_failed: int, dq_total: int) -> dict:
    """Migrate the warehouse if needed, then replace the date in it (one transaction; a retry starts over)."""
    from warehouse.migrate import migrate
    from warehouse.target import target_from_settings

    target = target_from_settings(settings)
    migrate(target)
    result = load(lake, day, target, frames=frames, dq_failed=dq_failed, dq_total=dq_total,
                  on_failure=settings.dq_on_failure)
    return {"target": target.describe(), "rows": result.rows, "seconds": round(result.seconds, 3)}


def write_report(lake: Path, day: date, out_dir: Path) -> dict:
    """The daily report (``reports.daily``) and the data-quality summary beside it."""
    from reports.daily import build_report

    report = build_report(lake, day, out_dir)
    return {"html": str(report.html), "markdown": str(report.markdown), "dq": str(write_dq_markdown(lake, day, out_dir))}


def apply_retention(settings, lake: Path, day: date) -> dict:
    """Lake retention after the date was rebuilt (:func:`apply_lake_retention`) and warehouse retention."""
    from flows.common import today_vn
    from warehouse.load import drop_expired
    from warehouse.target import target_from_settings

    out = apply_lake_retention(lake, day, raw_retention_days=settings.raw_retention_days,
                               keep_live=settings.keep_live_after_rebuild)
    out["warehouse_dropped"] = [d.isoformat() for d in drop_expired(
        target_from_settings(settings), retention_days=settings.warehouse_retention_days, today=today_vn())]
    return out
