"""``vntrack import``: load recordings into the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from capture.importers import UnrecognisedRecording, import_paths
from storage.settings import get_settings

console = Console()


def import_command(
    paths: Annotated[list[Path], typer.Argument(help="JSONL of SSI Broadcast arguments, or vnstock/KBS tick CSV files")],
) -> None:
    """Import recorded SSI frames (JSONL) or vnstock/KBS intraday ticks (CSV) into the lake. Re-importing a file
    adds nothing."""
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise typer.BadParameter(f"not a file: {', '.join(map(str, missing))}", param_hint="PATHS")
    settings = get_settings()
    try:
        results = import_paths(settings.lake, paths)
    except UnrecognisedRecording as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    table = Table("file", "format", "session", "frames by date", "note", title=f"lake: {settings.lake}")
    for r in results:
        by_date = ", ".join(f"{d}: {n}" for d, n in sorted(r.frames.items()))
        table.add_row(r.path.name, r.format, r.session, by_date or "-", r.skipped_reason or "imported")
    console.print(table)
