"""The snapshot source of the live pages: a live snapshot (contract C3), else a finished day's curated tables.

Three kinds of :class:`Snapshot`, one shape (``{table name: frame}`` with exactly the schemas of
``transforms.schemas.CURATED``):

* ``live``: the published live snapshot (contract C3, read by ``storage.live.read_snapshot``): the tables of
  ``storage.live.SNAPSHOT_TABLES`` as the live loop last published them.
* ``curated``: ``lake/curated/date=D/<table>.parquet``, written by ``vntrack replay`` / the daily rebuild.
* ``replay``: a curated day cut at a replay cursor (``app.data.replay``).

Which source the live pages show (:func:`latest_snapshot`): the newest trading date that has a live snapshot or
curated tables; on that date a running live snapshot wins, else the curated tables (final, rebuilt from raw),
else a stopped live snapshot.

Read only: nothing here writes to the lake. No Streamlit import (the cached facade is ``app.data``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from storage import lake as _lake
from storage import live as live_store
from storage.lake import curated_path
from storage.live import SnapshotFormatError  # noqa: F401  (raised through this module's readers)
from transforms.schemas import CURATED, TZ, empty

SourceKind = Literal["live", "curated", "replay"]
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


# ----------------------------------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class Snapshot:
    """What the live pages show: one trading date's tables at one moment.

    Attributes
    ----------
    kind : ``live``, ``curated`` or ``replay``.
    trading_date : the date.
    tables : ``{name: frame}``, each with exactly its ``transforms.schemas.CURATED`` schema; a live snapshot has
        only ``storage.live.SNAPSHOT_TABLES``.
    version : published version (live only).
    published_ns : UTC ns of publication (live only).
    health : the pointer's ``health`` object (live only; keys in contract C3), else empty.
    cursor : the replay cursor, exchange time (replay only).
    """

    kind: SourceKind
    trading_date: date
    tables: Mapping[str, pl.DataFrame]
    version: int | None = None
    published_ns: int | None = None
    health: Mapping[str, Any] = field(default_factory=dict)
    cursor: datetime | None = None

    def has(self, name: str) -> bool:
        """True when the source carries table ``name`` (a live snapshot has no ``trades``)."""
        return name in self.tables

    def table(self, name: str) -> pl.DataFrame:
        """Table ``name``; an empty frame of its schema when the source does not carry it.

        Raises
        ------
        KeyError : ``name`` is not a curated table.
        """
        if name not in CURATED:
            raise KeyError(f"{name!r} is not a curated table; known: {', '.join(CURATED)}")
        return self.tables.get(name, empty(CURATED[name]))

    @property
    def as_of(self) -> datetime | None:
        """Exchange time the data reaches: the replay cursor, else the latest ``last_exch_time`` of the board."""
        if self.cursor is not None:
            return self.cursor
        board = self.table("board")
        return board.get_column("last_exch_time").max() if board.height else None

    @property
    def is_empty(self) -> bool:
        """True when no table has a row."""
        return not any(t.height for t in self.tables.values())


def _read_table(path: Path, name: str) -> pl.DataFrame:
    """A curated-schema table from Parquet, cast to its declared schema.

    Raises
    ------
    SnapshotFormatError : a declared column is missing.
    """
    return _conform(pl.read_parquet(path), name, path)


def _conform(df: pl.DataFrame, name: str, path: Path) -> pl.DataFrame:
    """``df`` (read from ``path``) with exactly the columns and dtypes of ``CURATED[name]``.

    Raises
    ------
    SnapshotFormatError : a declared column is missing.
    """
    schema = CURATED[name]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise SnapshotFormatError(
            f"{path}: table {name!r} lacks columns {missing}; it must have exactly transforms.schemas.CURATED[{name!r}]"
        )
    return df.select(list(schema)).cast(dict(schema))


# -------------------------------------------------------------------------------------------------- live (C3)


def read_live_snapshot(lake: Path, day: date) -> Snapshot | None:
    """The published live snapshot of ``day`` (contract C3, ``storage.live.read_snapshot``), or None.

    Every table of ``storage.live.SNAPSHOT_TABLES`` is present (a file an older publisher did not write is an empty
    table), each cast to its ``transforms.schemas.CURATED`` schema.

    Raises
    ------
    SnapshotFormatError : malformed pointer or table; or the version vanished twice in a row.
    """
    published = live_store.read_snapshot(lake, day)
    if published is None:
        return None
    ptr, frames = published
    directory = live_store.snapshot_root(lake, day) / ptr["dir"]
    tables = {name: _conform(frames[name], name, directory / f"{name}.parquet") if name in frames
              else empty(CURATED[name]) for name in live_store.SNAPSHOT_TABLES}
    return Snapshot(kind="live", trading_date=date.fromisoformat(ptr["trading_date"]), tables=tables,
                    version=ptr["version"], published_ns=ptr["published_ns"], health=ptr["health"])


# ------------------------------------------------------------------------------------------------------ curated


def curated_days(lake: Path) -> list[date]:
    """Trading dates with a whole curated set (complete or incomplete, not partial) that has a ``board`` table,
    ascending."""
    root = Path(lake) / "curated"
    if not root.is_dir():
        return []
    out = [date.fromisoformat(m[1]) for d in root.iterdir() if (m := _DATE_DIR.match(d.name))]
    return sorted(d for d in out if curated_path(lake, d, "board").is_file()
                  and _lake.curated_day_state(lake, d, tuple(CURATED)) in ("complete", "incomplete"))


def day_notice(lake: Path, day: date | None = None) -> str | None:
    """What the app must say about days that are not whole, or None.

    With ``day``: that day's state when it is ``incomplete`` (unreadable raw segments in the quarantine).
    Without: the newest date that has raw frames but no whole curated set (``missing`` or ``partial``), so an
    empty page says "not built yet" or "interrupted", never "no market data", for a day that has data.
    """
    if day is not None:
        if _lake.curated_day_state(lake, day, tuple(CURATED)) != "incomplete":
            return None
        bad = [p.name for p in _lake.quarantined_segments(lake, day)] or (_lake.read_manifest(lake, day) or {}).get(
            "incomplete", [])
        return (f"Incomplete day {day}: {len(bad)} raw segment(s) could not be read and are in the quarantine "
                f"({', '.join(bad)}); the figures leave their frames out.")
    for d in reversed(_lake.lake_dates(lake)):
        state = _lake.curated_day_state(lake, d, tuple(CURATED))
        if state == "partial":
            return (f"{d} has raw frames but only part of its curated tables (a replay or rebuild was interrupted):"
                    f" run `vntrack replay --date {d}`.")
        if state == "missing":
            return f"{d} has raw frames but was not built yet: run `vntrack replay --date {d}`."
    return None


def curated_signature(lake: Path, day: date) -> tuple[tuple[str, int], ...]:
    """``(table, mtime_ns)`` of the curated files of ``day``: a cache key that changes when a day is rebuilt."""
    out = []
    for name in CURATED:
        p = curated_path(lake, day, name)
        if p.is_file():
            out.append((name, p.stat().st_mtime_ns))
    return tuple(out)


def read_curated_snapshot(lake: Path, day: date, tables: tuple[str, ...] | None = None) -> Snapshot | None:
    """A finished day's curated tables as a snapshot, or None when the day has none.

    Parameters
    ----------
    lake : lake root.
    day : trading date.
    tables : which tables to read (default: every curated table present).
    """
    names = tables or tuple(CURATED)
    found = {n: _read_table(curated_path(lake, day, n), n) for n in names if curated_path(lake, day, n).is_file()}
    if not found:
        return None
    return Snapshot(kind="curated", trading_date=day, tables=found)


# ------------------------------------------------------------------------------------------------------- choice


def choose_source(lake: Path) -> tuple[SourceKind, date] | None:
    """Which snapshot the live pages show: ``(kind, day)``, or None for an empty lake.

    The newest date among live snapshots and curated days; on it, a live snapshot whose health ``state`` is not
    ``stopped`` wins, else the curated day, else the (stopped) live snapshot.
    """
    live, cur = live_store.live_days(lake), curated_days(lake)
    if not live and not cur:
        return None
    day = max([*live[-1:], *cur[-1:]])
    if day in live:
        ptr = live_store.read_pointer(lake, day)
        running = ptr is not None and ptr["health"].get("state") != "stopped"
        if running or day not in cur:
            return "live", day
    return "curated", day


def latest_snapshot(lake: Path) -> Snapshot | None:
    """The snapshot :func:`choose_source` picks, read; None for an empty lake."""
    choice = choose_source(lake)
    if choice is None:
        return None
    kind, day = choice
    return read_live_snapshot(lake, day) if kind == "live" else read_curated_snapshot(lake, day)


def exch_datetime(day: date, hhmmss: str) -> datetime:
    """Exchange time ``day`` + ``HH:MM:SS`` in Asia/Ho_Chi_Minh (docs/architecture.md §4)."""
    from zoneinfo import ZoneInfo

    return datetime.combine(day, datetime.strptime(hhmmss, "%H:%M:%S").time(), tzinfo=ZoneInfo(TZ))
