"""``vntrack rebuild | backfill | reconcile | serve``: the Prefect flows from the command line (flows/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vntrack.commands.common import parse_day


def _print(result) -> None:
    print(json.dumps(result, default=str, indent=2, sort_keys=True))


def rebuild_command(
    date: Annotated[str, typer.Option("--date", "-d", help="trading date, YYYY-MM-DD")],
) -> None:
    """Rebuild a day: compact raw, curated tables, validation, warehouse load, report (Prefect flow)."""
    day = parse_day(date)
    from flows.rebuild import rebuild_day

    _print(rebuild_day(day))


def backfill_command(
    start: Annotated[str, typer.Option("--start", help="first date, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last date, YYYY-MM-DD (inclusive)")],
    runner: Annotated[str, typer.Option("--runner", help="thread | dask")] = "thread",
    workers: Annotated[int, typer.Option("--workers", min=1, help="threads or local Dask workers")] = 2,
    dask_address: Annotated[str | None, typer.Option("--dask-address", help="existing Dask scheduler, "
                                                                              "e.g. tcp://host:8786")] = None,
) -> None:
    """Rebuild every trading day of a range concurrently (thread pool or Dask)."""
    first, last = parse_day(start), parse_day(end)
    if first > last:
        raise typer.BadParameter(f"--start {first} is after --end {last}; swap them", param_hint="--start")
    if runner not in ("thread", "dask"):
        raise typer.BadParameter(f"{runner!r} is not a runner: choose thread or dask", param_hint="--runner")
    if dask_address and runner != "dask":
        raise typer.BadParameter("--dask-address needs --runner dask", param_hint="--dask-address")
    from market.calendar import trading_days

    if not trading_days(first, last):
        raise typer.BadParameter(f"no trading day between {first} and {last} (weekends / holidays only)",
                                 param_hint="--start")
    from flows.backfill import backfill

    _print(backfill(first, last, runner=runner, workers=workers, dask_address=dask_address))


def reconcile_command(
    date: Annotated[str, typer.Option("--date", "-d", help="trading date, YYYY-MM-DD (rebuilt already)")],
) -> None:
    """Completeness per symbol: captured totals vs SSI REST DailyStockPrice (VNTRACK_SSI_REST_URL)."""
    day = parse_day(date)
    from flows.reconcile import reconcile_day

    _print(reconcile_day(day))


def serve_command(
    file: Annotated[Path | None, typer.Option("--file", help="prefect.yaml to serve (default: ./prefect.yaml "
                                                              "or the repository's)")] = None,
) -> None:
    """Serve every deployment of prefect.yaml (schedules included) from this one process."""
    from flows.serve import find_prefect_yaml, serve

    try:
        path = find_prefect_yaml(file)
    except FileNotFoundError as e:
        raise typer.BadParameter(str(e), param_hint="--file") from None
    serve(path)
