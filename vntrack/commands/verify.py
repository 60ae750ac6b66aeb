"""``vntrack replay --verify --date D``: print the live-vs-batch comparison; exit 1 on any difference."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from storage.settings import Settings

console = Console()


def verify_command(settings: Settings, day: date) -> None:
    """Run :func:`replay.verify.verify_day` and report it (counts per table, or the first differing row/column)."""
    from replay.verify import NoLiveOutputs, verify_day

    try:
        v = verify_day(settings.lake, day, futures_override=settings.futures_override)
    except NoLiveOutputs as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    table = Table("table", "live rows", "batch rows", title=f"live vs batch, {day}")
    for name, (live, batch) in v.counts.items():
        table.add_row(name, f"{live:,}", f"{batch:,}")
    console.print(table)
    print(f"frames: live consumed {v.frames_live:,}, sealed in the lake {v.frames_raw:,}")
    for e in v.rebuilds:
        print(f"note: the live loop rebuilt the day from raw at batch {e['batch']} ({e['frames']:,} frames): "
              + "; ".join(e["reasons"]))
    if v.frames_live != v.frames_raw:
        print(f"DIFFERENT: the live loop consumed {v.frames_live:,} frames but the lake has {v.frames_raw:,} sealed "
              "(capture still running, or unsealed journals)")
    if v.difference is not None:
        print(f"DIFFERENT: {v.difference}")
    if not v.equal:
        raise typer.Exit(1)
    print(f"EQUAL: every live table equals the batch run of {day}, row for row")
