"""Argument types shared by the commands."""

from __future__ import annotations

from datetime import date, datetime

import typer


def parse_day(value: str) -> date:
    """``YYYY-MM-DD`` (or ``dd/mm/yyyy`` as SSI writes it) -> date, with an error that says what is expected."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2026-07-20")
