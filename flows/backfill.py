"""``backfill``: rebuild every trading day of a range, concurrently, on a thread pool or a Dask cluster.

``runner="thread"`` uses Prefect's ThreadPoolTaskRunner; ``runner="dask"`` uses prefect-dask's DaskTaskRunner —
a temporary local cluster (``n_workers`` processes), or an existing cluster when ``dask_address`` is given
(``tcp://scheduler:8786``), so years of data scale out on a real engine. Each day is one task (idempotent, so a
retry or a re-run replaces that date only); the warehouse serializes loads of one DuckDB file and runs
PostgreSQL loads of different dates concurrently.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import steps
from flows.common import flow_settings
from market.calendar import trading_days


@task(retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE, task_run_name="rebuild-{trading_date}")
def rebuild_one(trading_date: date) -> dict:
    """``steps.rebuild_date`` for one date (runs in a thread or on a Dask worker)."""
    return steps.rebuild_date(flow_settings(), trading_date)


def _worker_env() -> dict[str, str]:
    """Environment of local Dask worker processes: the API this flow run reports to.

    Without it, a worker of a run on the ephemeral API would start a temporary Prefect server of its own.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {"PREFECT_API_URL": str(client.api_url).rstrip("/")}


@flow(name="backfill-days", log_prints=True)
def _backfill(days: list[date]) -> list[dict]:
    futures = rebuild_one.map(days)
    return [f.result() for f in futures]


@flow(name="backfill", flow_run_name="backfill-{start}-{end}-{runner}", log_prints=True)
def backfill(start: date, end: date, runner: Literal["thread", "dask"] = "thread", workers: int = 2,
             dask_address: str | None = None) -> list[dict]:
    """Rebuild every trading day from ``start`` to ``end`` (inclusive) concurrently.

    Parameters
    ----------
    start, end : the range; weekends and holidays (market/calendar.py) are left out.
    runner : ``thread`` (ThreadPoolTaskRunner) or ``dask`` (prefect-dask DaskTaskRunner).
    workers : threads, or local Dask worker processes.
    dask_address : an existing Dask scheduler (``runner="dask"`` only); None = a temporary local cluster.

    Returns
    -------
    list[dict] : ``steps.rebuild_date`` results, in date order.

    Raises
    ------
    ValueError : ``start`` after ``end``, an unknown runner, or no trading day in the range.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}: give the range as start <= end")
    days = trading_days(start, end)
    if not days:
        raise ValueError(f"no trading day between {start} and {end} (weekends and holidays only)")
    if runner == "thread":
        task_runner = ThreadPoolTaskRunner(max_workers=workers)
    elif runner == "dask":
        from prefect_dask import DaskTaskRunner

        task_runner = (DaskTaskRunner(address=dask_address) if dask_address else DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                            "dashboard_address": ":0", "env": _worker_env()}))
    else:
        raise ValueError(f"runner {runner!r} is not 'thread' or 'dask'")
    get_run_logger().info("backfill of %d trading days on %s", len(days), runner)
    return _backfill.with_options(task_runner=task_runner)(days)
