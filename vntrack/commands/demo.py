"""``vntrack demo``: the whole pipeline on a simulated day, then the app (README command 1 ends with it)."""

from __future__ import annotations

import os
from datetime import date as Date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from storage import lake as lake_io
from vntrack.commands.common import parse_day
from storage.settings import get_settings

console = Console()

# Prefect offline (docs/operations.md §5): no analytics, and room for the ephemeral API's cold start on 2 cores.
_PREFECT_OFFLINE = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


def demo_command(
    date: Annotated[str, typer.Option("--date", "-d", help="trading date to simulate and run, YYYY-MM-DD")]
    = "2026-07-22",
    speed: Annotated[str, typer.Option("--speed", help="feed speed: max, or N exchange seconds per second")] = "max",
    app: Annotated[bool, typer.Option("--app/--no-app", help="serve the app at the end (foreground)")] = True,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="the app's port (0 = any free)")] = 8501,
) -> None:
    """Simulate a VN30 day, serve it over SSI's protocol, capture it, run the live loop over it, verify live ==
    replay, rebuild every day of the lake into the embedded warehouse (Prefect flow), and serve the app."""
    day = parse_day(date)
    settings = get_settings()
    lake = Path(settings.lake).resolve()
    source = lake / "feed-source"
    if lake_io.raw_segments(lake, day):
        console.print(f"[yellow]{day} is already captured in {lake}[/yellow]: skipping feed -> capture -> live loop "
                      f"(delete {lake / 'raw' / f'date={day}'} to run it again)")
    else:
        _run_live(lake, source, day, speed)
    for k, v in _PREFECT_OFFLINE.items():
        os.environ.setdefault(k, v)
    from flows.rebuild import rebuild_day

    for d in lake_io.lake_dates(lake):  # the real recordings imported before, and the captured day
        console.print(f"[bold]rebuild[/bold] {d}: compact raw, curated tables, validation, warehouse, report ...")
        result = rebuild_day(d)
        if "skipped" in result:
            console.print(f"{d}: skipped ({result['skipped']})")
            continue
        load, dq = result.get("load", {}), result.get("validation", {})
        console.print(f"rebuilt {d}: status {result.get('status')}, {result.get('frames', 0):,} frames, "
                      f"{dq.get('failed')} of {dq.get('total')} expectations failed, warehouse {load.get('target')}")
        for kind, path in (result.get("report") or {}).items():
            print(f"report {d} ({kind}): {path}")
    if app:
        from vntrack.commands.app import app_command

        app_command(port=port, host="127.0.0.1")


def _run_live(lake: Path, source: Path, day: Date, speed: str) -> None:
    from vntrack.pipeline import PipelineError, run_pipeline

    console.print(f"[bold]live run[/bold] of {day}: feed (speed {speed}) -> capture -> live loop, into {lake}")
    try:
        r = run_pipeline(lake, source, day, speed=speed, progress=lambda line: console.print(f"  {line}"))
    except (PipelineError, ValueError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    v = r.verification
    rows = ", ".join(f"{t} {live:,}" for t, (live, _) in v.counts.items())
    if v.equal:
        console.print(f"[green]EQUAL[/green]: the live outputs equal a fresh replay of {day}, row for row ({rows})")
    else:
        console.print(f"[red]DIFFERENT[/red]: {v.difference or 'frame counts differ'} (logs: {r.logs})")
        raise typer.Exit(1)
