"""``vntrack import``: load recordings into the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from capture.importers import import_paths
from storage.settings import get_settings

console = Console()


def import_command(
    paths: Annotated[list[Path], typer.Argument(help="JSONL of SSI Broadcast arguments, or vnstock/KBS tick CSV files")],
) -> None:
    """Import recorded SSI frames (JSONL) or vnstock/KBS intraday ticks (CSV) into the lake, all files or none.
    Re-importing a file, or a part of one, adds nothing; a grown recording adds only its new frames."""
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise typer.BadParameter(f"not a file: {', '.join(map(str, missing))}", param_hint="PATHS")
    settings = get_settings()
    try:
        results = import_paths(settings.lake, paths)
    except ValueError as e:  # unrecognised, overlapping, or a bad cell/date: nothing of the command was written
        console.print(f"[red]error:[/red] {e}; nothing was imported", soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table("file", "format", "session", "frames by date", "note", title=f"lake: {settings.lake}")
    for r in results:
        by_date = ", ".join(f"{d}: {n}" for d, n in sorted(r.frames.items()))
        note = r.skipped_reason or "imported"
        if r.continued:
            note = "new frames only, continuing " + ", ".join(f"{s} ({d})" for d, s in sorted(r.continued.items()))
        table.add_row(r.path.name, r.format, r.session, by_date or "-", note)
    console.print(table)
