"""``vntrack replay``: run the analytics over recorded days and write the curated tables and reports."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from storage import lake
from vntrack.commands.common import parse_day
from replay.day import NoDataForDate, replay_day
from storage.settings import get_settings

console = Console()


def replay_command(
    date: Annotated[str | None, typer.Option("--date", "-d", help="trading date, YYYY-MM-DD")] = None,
    all_dates: Annotated[bool, typer.Option("--all", help="replay every date in the lake")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="compare the day's live outputs (vntrack tail) with a "
                                                          "fresh batch run instead of writing curated tables")] = False,
) -> None:
    """Replay a day of the lake: curated tables, quarantine and the daily report (HTML + Markdown)."""
    settings = get_settings()
    if verify:
        if date is None or all_dates:
            raise typer.BadParameter("--verify needs exactly one --date YYYY-MM-DD (not --all)")
        from vntrack.commands.verify import verify_command

        verify_command(settings, parse_day(date))
        return
    if all_dates == (date is not None):
        raise typer.BadParameter("give exactly one of --date YYYY-MM-DD or --all")
    days = lake.lake_dates(settings.lake) if all_dates else [parse_day(date)]
    if not days:
        console.print(f"[red]error:[/red] the lake {settings.lake} is empty: run `vntrack import PATH...` first")
        raise typer.Exit(1)
    table = Table("date", "frames", "trades", "quarantined", "alerts", "seconds", title="replay")
    reports = []
    for day in days:
        try:
            r = replay_day(settings, day)
        except NoDataForDate as e:
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(1) from e
        table.add_row(day.isoformat(), f"{r.frames:,}", f"{r.rows['trades']:,}", f"{r.quarantined:,}",
                      f"{r.rows['alerts']:,}", f"{r.seconds:.2f}")
        reports.append(r)
    console.print(table)
    for r in reports:
        print(f"report {r.day}: {r.report_html.resolve()}  (summary: {r.report_markdown.resolve()})")
