"""``rebuild_day``: one recorded trading date -> compacted raw, curated tables, validation, warehouse, report.

The flow runs the one rebuild sequence (``flows.steps.rebuild_date``) with each step as a Prefect task of its own
name, so the Prefect UI shows compaction, the day build, validation, load, report and retention separately; steps
pass paths, never frames, and only the I/O that can fail transiently (the raw compaction, the warehouse load)
retries. Idempotent per date: running it again replaces the date's curated tables, dq results, warehouse rows and
report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows import steps
from flows.common import flow_settings, today_vn


def _as_task(name: str, fn: Callable, **options) -> Callable:
    return task(fn, name=name, cache_policy=NONE, **options)


@flow(name="rebuild-day", flow_run_name="rebuild-{trading_date}", log_prints=True)
def rebuild_day(trading_date: date | None = None) -> dict:
    """Rebuild one trading date from its raw frames and load it into the warehouse.

    Parameters
    ----------
    trading_date : the date; None = today in Asia/Ho_Chi_Minh (what the 15:40 schedule uses).

    Returns
    -------
    dict : ``skipped`` (reason) on a non-trading day; else ``compaction``, ``frames``, ``validation`` (failed /
        total), ``status`` ('ok' | 'degraded'), ``load``, ``report``, ``retention`` (``flows.steps.rebuild_date``).

    Raises
    ------
    replay.day.NoRawData : the lake has no raw frames for the date.
    flows.steps.LoadBlocked : validation failed and ``VNTRACK_DQ_ON_FAILURE=block``.
    """
    return steps.rebuild_date(flow_settings(), trading_date or today_vn(), as_step=_as_task, log=get_run_logger())
