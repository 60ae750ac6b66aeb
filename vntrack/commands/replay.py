"""``vntrack replay``: run the analytics over recorded days and write the curated tables and reports."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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
    table = Table("date", "frames", "trades", "quarantined", "alerts", "seconds", "note", title="replay")
    reports, failed = [], []
    for day in days:
        try:
            r = replay_day(settings, day)
        except NoRawData as e:
            if not all_dates:
                console.print(f"[red]error:[/red] {e}", soft_wrap=True)
                raise typer.Exit(1) from None
            failed.append((day, str(e)))
            continue
        except (OSError, ValueError) as e:  # one bad day never stops --all; a single day fails in one line
            if not all_dates:
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
