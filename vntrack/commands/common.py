"""Argument types shared by the commands."""

from __future__ import annotations

from datetime import date

import typer


def parse_day(value: str) -> date:
    """``YYYY-MM-DD`` (or ``dd/mm/yyyy`` as SSI writes it) -> date, with an error that says what is expected."""
    for parse in (date.fromisoformat, lambda v: date(int(v[6:10]), int(v[3:5]), int(v[0:2]))):
        try:
            return parse(value)
        except (ValueError, IndexError):
            continue
    raise typer.BadParameter(f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2026-07-20")
