"""``rebuild_day``: one recorded trading date -> compacted raw, curated tables, validation, warehouse, report.

Each task wraps a plain function of ``flows.steps`` / ``storage.compact`` and passes paths, never frames; only the
I/O that can fail transiently (the warehouse load, the raw compaction) retries. Idempotent per date: running it
again replaces the date's curated tables, dq results, warehouse rows and report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows import steps
from flows.common import flow_settings, non_trading_reason, today_vn
from storage.compact import compact_day
from warehouse.migrate import migrate
from warehouse.target import target_from_settings
from reports.daily import build_report


@task(retries=2, retry_delay_seconds=[1, 5], cache_policy=NONE)
def compact_raw(lake: Path, trading_date: date, max_rows: int) -> dict:
    """Compact the date's raw segments (storage.compact); returns the segment counts before and after."""
    r = compact_day(lake, trading_date, max_rows=max_rows)
    return {"before": r.before, "after": r.after, "rows": r.rows, "compacted": r.compacted, "reason": r.reason}


@task(cache_policy=NONE)
def check_raw(lake: Path, trading_date: date) -> list[str]:
    """Stale leftovers removed, unreadable raw segments moved to the quarantine (flows.steps.check_raw)."""
    return steps.check_raw(lake, trading_date)


@task(cache_policy=NONE)
def build_curated(lake: Path, trading_date: date, futures_override: str | None) -> dict:
    """Batch analytics into ``lake/curated/date=D/``; returns ``{"paths": {table: path}, "frames": n}``."""
    cur = steps.build_curated(lake, trading_date, futures_override=futures_override)
    return {"paths": {k: str(v) for k, v in cur.paths.items()}, "frames": cur.frames}


@task(cache_policy=NONE)
def validate_curated(lake: Path, trading_date: date) -> dict:
    """Great Expectations checkpoints over the curated tables; returns the results path and counts."""
    path, failed, total = steps.validate(lake, trading_date)
    return {"path": str(path), "failed": failed, "total": total}


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NONE)
def load_warehouse(lake: Path, trading_date: date, frames: int, dq_failed: int, dq_total: int) -> dict:
    """Migrate if needed, then replace the date in the warehouse (one transaction; a retry starts over)."""
    settings = flow_settings()
    target = target_from_settings(settings)
    migrate(target)
    result = steps.load(lake, trading_date, target, frames=frames, dq_failed=dq_failed, dq_total=dq_total,
                        on_failure=settings.dq_on_failure)
    return {"target": target.describe(), "rows": result.rows, "seconds": round(result.seconds, 3)}


@task(cache_policy=NONE)
def write_report(lake: Path, trading_date: date, out_dir: Path) -> dict:
    """The daily report (reports.daily) and the data-quality summary beside it."""
    report = build_report(lake, trading_date, out_dir)
    dq = steps.write_dq_markdown(lake, trading_date, out_dir)
    return {"html": str(report.html), "markdown": str(report.markdown), "dq": str(dq)}


@task(cache_policy=NONE)
def apply_retention(lake: Path, trading_date: date) -> dict:
    """Lake retention after a successful rebuild (live state dropped; raw kept unless configured)."""
    from warehouse.load import drop_expired

    settings = flow_settings()
    out = steps.apply_lake_retention(lake, trading_date, raw_retention_days=settings.raw_retention_days,
                                     keep_live=settings.keep_live_after_rebuild)
    out["warehouse_dropped"] = [d.isoformat() for d in drop_expired(
        target_from_settings(settings), retention_days=settings.warehouse_retention_days, today=today_vn())]
    return out


@flow(name="rebuild-day", flow_run_name="rebuild-{trading_date}", log_prints=True)
def rebuild_day(trading_date: date | None = None) -> dict:
    """Rebuild one trading date from its raw frames and load it into the warehouse.

    Parameters
    ----------
    trading_date : the date; None = today in Asia/Ho_Chi_Minh (what the 15:05 schedule uses).

    Returns
    -------
    dict : ``skipped`` (reason) on a non-trading day; else ``compaction``, ``curated``, ``validation``
        (failed / total), ``status`` ('ok' | 'degraded'), ``load``, ``report``, ``retention``.

    Raises
    ------
    flows.steps.NoRawData : the lake has no raw frames for the date.
    flows.steps.LoadBlocked : validation failed and ``VNTRACK_DQ_ON_FAILURE=block``.
    """
    day = trading_date or today_vn()
    log = get_run_logger()
    if reason := non_trading_reason(day):
        log.info("skipped: %s", reason)
        return {"trading_date": day.isoformat(), "skipped": reason}
    settings = flow_settings()
    target_from_settings(settings)  # a VNTRACK_DATABASE_URL that cannot work fails now, not after the analytics
    lake = Path(settings.lake)
    corrupt = check_raw(lake, day)
    if corrupt:
        log.warning("%s: unreadable raw segments moved to the quarantine, the day is incomplete: %s", day,
                    ", ".join(corrupt))
    compaction = compact_raw(lake, day, settings.compact_segment_rows)
    curated = build_curated(lake, day, settings.futures_override)
    validation = validate_curated(lake, day)
    status = "degraded" if validation["failed"] else "ok"
    if validation["failed"]:
        log.warning("%s: %d of %d expectations failed (%s)", day, validation["failed"], validation["total"],
                    "load blocked" if settings.dq_on_failure == "block" else "loading the day as degraded")
    loaded = load_warehouse(lake, day, curated["frames"], validation["failed"], validation["total"])
    report = write_report(lake, day, Path(settings.reports_root))
    retention = apply_retention(lake, day)
    log.info("%s rebuilt: %s, %s trades, status %s", day, loaded["target"], loaded["rows"]["trades"], status)
    return {"trading_date": day.isoformat(), "corrupt_segments": corrupt, "compaction": compaction,
            "frames": curated["frames"],
            "validation": validation, "status": status, "load": loaded, "report": report, "retention": retention}
