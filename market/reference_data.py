"""Reference data shipped with the project: the dated VN30 member list with exchanges and sectors.

``market/data/vn30_members.csv`` (see ``market/data/README.md`` for its date and sources). SSI REST
``IndexComponents`` replaces it when credentials exist (a later issue's capture daemon).
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

AS_OF = date(2026, 7, 20)
UNKNOWN_SECTOR = "Other"
_DATA = Path(__file__).with_name("data")


@cache
def _members() -> dict[str, dict[str, str]]:
    with (_DATA / "vn30_members.csv").open(encoding="utf-8") as fh:
        return {row["symbol"]: row for row in csv.DictReader(fh)}


def vn30_members() -> list[str]:
    """The VN30 basket as of :data:`AS_OF`, sorted."""
    return sorted(_members())


def listed_exchanges() -> dict[str, str]:
    """Symbol -> exchange for every listed member."""
    return {s: row["exchange"] for s, row in _members().items()}


def sectors() -> dict[str, str]:
    """Symbol -> sector for every listed member."""
    return {s: row["sector"] for s, row in _members().items()}


def instrument_exchange(symbol: str) -> str | None:
    """Exchange of a listed member, else None."""
    row = _members().get(symbol.upper())
    return row["exchange"] if row else None


def sector(symbol: str) -> str:
    """Sector of a listed member, else :data:`UNKNOWN_SECTOR`."""
    row = _members().get(symbol.upper())
    return row["sector"] if row else UNKNOWN_SECTOR


def instruments() -> pl.DataFrame:
    """The shipped list as a frame: symbol, exchange, sector, name (all String)."""
    rows = list(_members().values())
    return pl.DataFrame(rows, schema={"symbol": pl.String, "exchange": pl.String, "sector": pl.String, "name": pl.String})
