"""The snapshot source of the live pages: a live snapshot (contract C3), else a finished day's curated tables.

Three kinds of :class:`Snapshot`, one shape (``{table name: frame}`` with exactly the schemas of
``transforms.schemas.CURATED``):

* ``live``: ``lake/live/date=D/snapshot/CURRENT.json`` -> ``{"version", "dir", "trading_date", "published_ns",
  "health"}`` and the Parquet files of ``snapshot/<dir>/`` (``board``, ``session_stats``, ``foreign_summary``,
  ``foreign_by_sector``, ``indices``, ``basis``, ``alerts``, ``candles_1m``). The publisher keeps the last 3
  versions; a reader that loses the race with a deletion retries once (contract C3).
* ``curated``: ``lake/curated/date=D/<table>.parquet``, written by ``vntrack replay`` / the daily rebuild.
* ``replay``: a curated day cut at a replay cursor (``app.data.replay``).

Which source the live pages show (:func:`latest_snapshot`): the newest trading date that has a live snapshot or
curated tables; on that date a running live snapshot wins, else the curated tables (final, rebuilt from raw),
else a stopped live snapshot.

Read only: nothing here writes to the lake. No Streamlit import (the cached facade is ``app.data``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from storage import lake as _lake
from storage.lake import curated_path
from transforms.schemas import CURATED, TZ, empty

SourceKind = Literal["live", "curated", "replay"]

LIVE_TABLES: tuple[str, ...] = (
    "board", "session_stats", "foreign_summary", "foreign_by_sector", "indices", "basis", "alerts", "candles_1m",
)
"""Tables a live snapshot publishes (contract C3). A finished day also has ``trades`` and ``foreign_flow``."""

POINTER = "CURRENT.json"
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_VERSION_DIR = re.compile(r"^v\d{12}$")


class SnapshotFormatError(ValueError):
    """A live snapshot's pointer or files do not follow contract C3."""


# ------------------------------------------------------------------------------------------------------- paths


def live_day_dir(lake: Path, day: date) -> Path:
    """``lake/live/date=YYYY-MM-DD``: the live loop's outputs for one trading date (contract C3)."""
    return Path(lake) / "live" / f"date={day:%Y-%m-%d}"


def snapshot_dir(lake: Path, day: date) -> Path:
    """``lake/live/date=YYYY-MM-DD/snapshot``: the published versions and the pointer."""
    return live_day_dir(lake, day) / "snapshot"


def pointer_path(lake: Path, day: date) -> Path:
    """``lake/live/date=YYYY-MM-DD/snapshot/CURRENT.json``: the pointer to the published version."""
    return snapshot_dir(lake, day) / POINTER


def version_dir_name(version: int) -> str:
    """``v<version:012d>``, the directory of one published version (e.g. ``v000000000042``)."""
    return f"v{version:012d}"


# ----------------------------------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class Snapshot:
    """What the live pages show: one trading date's tables at one moment.

    Attributes
    ----------
    kind : ``live``, ``curated`` or ``replay``.
    trading_date : the date.
    tables : ``{name: frame}``, each with exactly its ``transforms.schemas.CURATED`` schema; a live snapshot has
        only :data:`LIVE_TABLES`.
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
        """True when the source carries table ``name`` (a live snapshot has no ``trades``/``foreign_flow``)."""
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
    df = pl.read_parquet(path)
    schema = CURATED[name]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise SnapshotFormatError(
            f"{path}: table {name!r} lacks columns {missing}; it must have exactly transforms.schemas.CURATED[{name!r}]"
        )
    return df.select(list(schema)).cast(dict(schema))


# -------------------------------------------------------------------------------------------------- live (C3)


def live_days(lake: Path) -> list[date]:
    """Trading dates that have a published live snapshot pointer, ascending."""
    root = Path(lake) / "live"
    if not root.is_dir():
        return []
    out = [date.fromisoformat(m[1]) for d in root.iterdir() if (m := _DATE_DIR.match(d.name))]
    return sorted(d for d in out if pointer_path(lake, d).is_file())


def read_pointer(lake: Path, day: date) -> dict[str, Any] | None:
    """The parsed ``CURRENT.json`` of ``day``, or None when nothing is published.

    Returns
    -------
    dict with ``version`` (int), ``dir`` (str), ``trading_date`` (str), ``published_ns`` (int), ``health`` (dict).

    Raises
    ------
    SnapshotFormatError : not JSON, or a key missing or of the wrong type (contract C3).
    """
    path = pointer_path(lake, day)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        ptr = json.loads(text)
    except json.JSONDecodeError as e:
        raise SnapshotFormatError(f"{path} is not JSON ({e}); the publisher must write it atomically") from None
    expected = {"version": int, "dir": str, "trading_date": str, "published_ns": int, "health": dict}
    bad = [k for k, t in expected.items() if not isinstance(ptr.get(k), t)]
    if bad or not _VERSION_DIR.match(ptr["dir"]):
        raise SnapshotFormatError(
            f"{path}: keys {bad or ['dir']} missing or mistyped; expected "
            '{"version": int, "dir": "v000000000042", "trading_date": "YYYY-MM-DD", "published_ns": int, '
            '"health": {...}} (contract C3)'
        )
    return ptr


def read_live_snapshot(lake: Path, day: date) -> Snapshot | None:
    """The published live snapshot of ``day`` (contract C3), or None when there is none.

    Reads the pointer, then every :data:`LIVE_TABLES` file of its version directory (a missing file is an empty
    table). When the version was deleted between the two reads (the publisher keeps 3), it reads the pointer once
    more.

    Raises
    ------
    SnapshotFormatError : malformed pointer or table; or the version vanished twice in a row.
    """
    for attempt in range(2):
        ptr = read_pointer(lake, day)
        if ptr is None:
            return None
        directory = snapshot_dir(lake, day) / ptr["dir"]
        try:
            if not directory.is_dir():
                raise FileNotFoundError(directory)
            tables = {}
            for name in (*LIVE_TABLES, "trades", "foreign_flow"):
                p = directory / f"{name}.parquet"
                if p.is_file() or name in LIVE_TABLES:
                    tables[name] = _read_table(p, name) if p.is_file() else empty(CURATED[name])
        except FileNotFoundError:
            if attempt == 0:
                continue
            raise SnapshotFormatError(
                f"live snapshot {directory} vanished twice while being read; is the publisher deleting the "
                "current version? (it must keep the last 3, contract C3)"
            ) from None
        return Snapshot(kind="live", trading_date=date.fromisoformat(ptr["trading_date"]), tables=tables,
                        version=ptr["version"], published_ns=ptr["published_ns"], health=ptr["health"])
    return None  # pragma: no cover


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
    live, cur = live_days(lake), curated_days(lake)
    if not live and not cur:
        return None
    day = max([*live[-1:], *cur[-1:]])
    if day in live:
        ptr = read_pointer(lake, day)
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
    """Exchange time ``day`` + ``HH:MM:SS`` in Asia/Ho_Chi_Minh (design.md §4)."""
    from zoneinfo import ZoneInfo

    return datetime.combine(day, datetime.strptime(hhmmss, "%H:%M:%S").time(), tzinfo=ZoneInfo(TZ))
