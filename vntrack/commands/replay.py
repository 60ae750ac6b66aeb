"""``vntrack replay``: run the analytics over recorded days and write the curated tables and reports."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pathlib import Path

from storage import lake
from vntrack.commands.common import parse_day
from replay.day import NoRawData, replay_day
from storage.settings import get_settings

console = Console()


def replay_command(
    date: Annotated[str | None, typer.Option("--date", "-d", help="trading date, YYYY-MM-DD")] = None,
    all_dates: Annotated[bool, typer.Option("--all", help="replay every date in the lake")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="compare the day's live outputs (vntrack tail) with a "
                                                          "fresh batch run instead of writing curated tables")] = False,
    start: Annotated[str | None, typer.Option("--from", help="first day of a range (with --to), YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day of a range (with --from), YYYY-MM-DD")] = None,
    params_file: Annotated[Path | None, typer.Option("--params", help="TOML parameter file (docs/analysis.md); "
                                                                      "needs --experiment")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", help="write under lake/experiments/NAME "
                                                                        "instead of the canonical curated tables")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="days in parallel (experiments)")] = 1,
    dask: Annotated[bool, typer.Option("--dask", help="run an experiment's days on a local Dask cluster")] = False,
) -> None:
    """Replay days of the lake: curated tables, quarantine and the daily report (HTML + Markdown); or, with
    --experiment, the same tables under other parameters into lake/experiments/NAME (canonical tables untouched)."""
    settings = get_settings()
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --from and --to")
    if params_file is not None and experiment is None:
        raise typer.BadParameter("--params needs --experiment NAME (an experiment never overwrites the canonical "
                                 "curated tables)")
    if experiment is not None:
        _experiment(settings, experiment, params_file, date, all_dates, start, end, workers, dask)
        return
    if verify:
        if date is None or all_dates:
            raise typer.BadParameter("--verify needs exactly one --date YYYY-MM-DD (not --all)")
        from vntrack.commands.verify import verify_command

        verify_command(settings, parse_day(date))
        return
    days = _days(settings, date, all_dates, start, end)
    if not days:
        console.print(f"[red]error:[/red] the lake {settings.lake} is empty: run `vntrack import PATH...` first")
        raise typer.Exit(1)
    table = Table("date", "frames", "trades", "quarantined", "alerts", "seconds", "note", title="replay")
    reports, failed = [], []
    many = len(days) > 1  # --all or a range: one bad day never stops the others
    for day in days:
        try:
            r = replay_day(settings, day)
        except NoRawData as e:
            if not many:
                console.print(f"[red]error:[/red] {e}", soft_wrap=True)
                raise typer.Exit(1) from None
            failed.append((day, str(e)))
            continue
        except (OSError, ValueError) as e:  # a single day fails in one line (vntrack.cli.main)
            if not many:
                raise
            failed.append((day, f"{type(e).__name__}: {e}"))
            continue
        note = f"INCOMPLETE: {len(r.corrupt_segments)} unreadable raw segment(s) quarantined: " \
               f"{', '.join(r.corrupt_segments)}" if r.corrupt_segments else ""
        table.add_row(day.isoformat(), f"{r.frames:,}", f"{r.rows['trades']:,}", f"{r.quarantined:,}",
                      f"{r.rows['alerts']:,}", f"{r.seconds:.2f}", note)
        reports.append(r)
    console.print(table)
    for r in reports:
        print(f"report {r.day}: {r.report_html.resolve()}  (summary: {r.report_markdown.resolve()})")
    for day, why in failed:
        print(f"error: {day} not replayed: {' '.join(why.split())}", file=sys.stderr)
    if failed:
        raise typer.Exit(1)


def _days(settings, date: str | None, all_dates: bool, start: str | None, end: str | None) -> list:
    if sum([date is not None, all_dates, start is not None]) != 1:
        raise typer.BadParameter("give exactly one of --date YYYY-MM-DD, --from D1 --to D2, or --all")
    if start is not None:
        d1, d2 = parse_day(start), parse_day(end)
        days = [d for d in lake.lake_dates(settings.lake) if d1 <= d <= d2]
        if not days:
            console.print(f"[red]error:[/red] no day between {d1} and {d2} in {settings.lake}; dates in the lake: "
                          f"{', '.join(map(str, lake.lake_dates(settings.lake))) or 'none'}")
            raise typer.Exit(1)
        return days
    return lake.lake_dates(settings.lake) if all_dates else [parse_day(date)]


def _experiment(settings, name: str, params_file: Path | None, date, all_dates, start, end, workers: int,
                dask: bool) -> None:
    from replay.experiment import ExperimentError, run_experiment
    from transforms.params import DEFAULT_PARAMS, ParamsError, load_params

    try:
        params = load_params(params_file) if params_file is not None else DEFAULT_PARAMS
    except ParamsError as e:
        console.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from e
    days = _days(settings, date, all_dates, start, end)
    try:
        r = run_experiment(settings.lake, name, days, params, futures_override=settings.futures_override,
                           workers=workers, dask=dask)
    except ExperimentError as e:
        console.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(1) from e
    table = Table("date", "frames", "trades", "alerts", "seconds", title=f"experiment {name}")
    for d in r.days:
        table.add_row(d.day.isoformat(), f"{d.frames:,}", f"{d.trades:,}", f"{d.alerts:,}", f"{d.seconds:.2f}")
    console.print(table)
    changed = params.changed()
    print(f"experiment {name}: params {r.params_digest} ({len(changed)} changed from the defaults"
          + (": " + ", ".join(f"{k}={v[0]}" for k, v in changed.items()) if changed else "")
          + f"), code {r.code_version} -> {r.root.resolve()}")


def compare_command(
    a: Annotated[str, typer.Argument(help="experiment NAME (or 'curated', the canonical tables)")],
    b: Annotated[str, typer.Argument(help="experiment NAME to compare with A (or 'curated')")],
    date: Annotated[list[str] | None, typer.Option("--date", "-d", help="day(s) to compare; default: all common")]
    = None,
) -> None:
    """Compare two experiments: alerts added/removed, aggressor-side changes, per-phase buy/sell shares, foreign
    speed extremes. Prints Markdown; writes HTML + Markdown under lake/experiments/compare/."""
    from replay.compare import compare, to_markdown, write_comparison
    from replay.experiment import ExperimentError

    settings = get_settings()
    try:
        c = compare(settings.lake, a, b, [parse_day(d) for d in date] if date else None)
    except ExperimentError as e:
        console.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(1) from e
    md, page = write_comparison(settings.lake, c)
    print(to_markdown(c, max_rows=20))
    print(f"written: {page.resolve()}  (markdown: {md.resolve()})")
