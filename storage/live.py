"""The live area ``lake/live/date=YYYY-MM-DD/``: one function per path, and the live snapshot (contract C3).

The snapshot is published by the live loop (``live.loop``) and read by the app and ``vntrack replay --verify``:
one directory per version (``snapshot/v<version:012d>/<table>.parquet`` + ``health.json``), then an atomic pointer
``snapshot/CURRENT.json`` = ``{"version", "dir", "trading_date", "published_ns", "health"}``. The publisher keeps
the newest :data:`KEEP_VERSIONS`; a reader that loses the race with a deletion reads the pointer once more.
Layout and guarantees: docs/architecture.md (C3), live/README.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl


SNAPSHOT_TABLES: tuple[str, ...] = ("board", "session_stats", "foreign_summary", "foreign_by_sector", "indices",
                                    "basis", "alerts", "candles_1m", "foreign_flow")
"""The tables every published version holds (contract C3): the day so far of every table the live pages show."""
KEEP_VERSIONS = 3
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")

PART = re.compile(r"^part-(?P<batch>\d{9})\.parquet$")
COMPACT = re.compile(r"^chunk-(?P<first>\d{9})-(?P<batch>\d{9})\.parquet$")
STATE_DIR = re.compile(r"^ckpt-(?P<batch>\d{9})$")
VERSION_DIR = re.compile(r"^v(?P<version>\d{12})$")


def live_day_dir(lake: Path, day: date) -> Path:
    """``lake/live/date=YYYY-MM-DD``."""
    return Path(lake) / "live" / f"date={day:%Y-%m-%d}"


def table_dir(lake: Path, day: date, table: str) -> Path:
    """``live/date=D/tables/<table>``: the row table's parts and compactions."""
    return live_day_dir(lake, day) / "tables" / table


def part_path(lake: Path, day: date, table: str, batch: int) -> Path:
    """``tables/<table>/part-<batch:09d>.parquet``: the rows micro-batch ``batch`` appended."""
    return table_dir(lake, day, table) / f"part-{batch:09d}.parquet"


def compact_path(lake: Path, day: date, table: str, first: int, batch: int) -> Path:
    """``tables/<table>/chunk-<first:09d>-<batch:09d>.parquet``: the rows of batches ``first..batch``."""
    return table_dir(lake, day, table) / f"chunk-{first:09d}-{batch:09d}.parquet"


def state_root(lake: Path, day: date) -> Path:
    """``live/date=D/state``."""
    return live_day_dir(lake, day) / "state"


def state_dir(lake: Path, day: date, batch: int) -> Path:
    """``state/ckpt-<batch:09d>``: the engine state after ``batch`` (Arrow IPC tables + meta.json)."""
    return state_root(lake, day) / f"ckpt-{batch:09d}"


def checkpoint_path(lake: Path, day: date) -> Path:
    """``live/date=D/CHECKPOINT.json``: the commit point (batch, base, watermarks, state dir)."""
    return live_day_dir(lake, day) / "CHECKPOINT.json"


def snapshot_root(lake: Path, day: date) -> Path:
    """``live/date=D/snapshot`` (contract C3)."""
    return live_day_dir(lake, day) / "snapshot"


def snapshot_version_dir(lake: Path, day: date, version: int) -> Path:
    """``snapshot/v<version:012d>``."""
    return snapshot_root(lake, day) / f"v{version:012d}"


def current_path(lake: Path, day: date) -> Path:
    """``snapshot/CURRENT.json``: the pointer to the published version."""
    return snapshot_root(lake, day) / "CURRENT.json"


class SnapshotFormatError(ValueError):
    """A live snapshot's pointer or files do not follow contract C3."""


def live_days(lake: Path) -> list[date]:
    """Trading dates that have a published snapshot pointer, ascending."""
    root = Path(lake) / "live"
    if not root.is_dir():
        return []
    out = [date.fromisoformat(m[1]) for d in root.iterdir() if (m := _DATE_DIR.match(d.name))]
    return sorted(d for d in out if current_path(lake, d).is_file())


def next_version(lake: Path, day: date) -> int:
    """One more than the newest published version (1 for a fresh day)."""
    root = snapshot_root(lake, day)
    found = [int(m["version"]) for p in root.iterdir() if (m := VERSION_DIR.match(p.name))] if root.is_dir() else []
    return max(found, default=0) + 1


def publish(lake: Path, day: date, version: int, tables: Mapping[str, pl.DataFrame] | Callable[[], Mapping],
            health: dict, *, schemas: Mapping[str, pl.Schema], reuse: frozenset[str] = frozenset()) -> Path:
    """Write ``snapshot/v<version>/`` (one Parquet per :data:`SNAPSHOT_TABLES` table + health.json), point
    CURRENT.json at it, and delete all but the newest :data:`KEEP_VERSIONS` versions.

    Tables named in ``reuse`` did not change since the previous version: their file is hard-linked from it (no
    rewrite); ``tables`` may be a function, called only when some table must be written. Nothing is fsynced: the
    pointer is renamed (atomically) only after every file of the version is complete, which is all a reader needs
    while the machine runs (a killed publisher leaves the previous version current); the snapshot is derived
    data, and after a machine crash the loop republishes it from the checkpoint and raw on start
    (docs/reliability.md, "The live loop: checkpoints and crashes").

    Raises
    ------
    ValueError : a table does not have its schema in ``schemas`` (``transforms.schemas.CURATED``).
    KeyError : a table of :data:`SNAPSHOT_TABLES` is missing.
    """
    vdir = snapshot_version_dir(lake, day, version)
    vdir.mkdir(parents=True, exist_ok=True)
    previous = _current_dir(lake, day)
    resolved: Mapping[str, pl.DataFrame] | None = None if callable(tables) else tables
    for name in SNAPSHOT_TABLES:
        target = vdir / f"{name}.parquet"
        if name in reuse and previous is not None and (previous / f"{name}.parquet").is_file():
            target.unlink(missing_ok=True)
            try:
                os.link(previous / f"{name}.parquet", target)
                continue
            except OSError:
                pass
        if resolved is None:
            resolved = tables()
        df = resolved[name]
        if df.schema != schemas[name]:
            raise ValueError(f"snapshot table {name} has schema {df.schema}, expected {schemas[name]}")
        tmp = vdir / f"{name}.parquet.tmp"
        df.write_parquet(tmp, compression="uncompressed", statistics=False)  # small, short-lived: cheapest write
        os.replace(tmp, target)
    (vdir / "health.json").write_text(json.dumps(health, indent=1), encoding="utf-8")
    pointer = current_path(lake, day)
    tmp = pointer.with_name(f"{pointer.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": version, "dir": vdir.name, "trading_date": day.isoformat(),
                               "published_ns": time.time_ns(), "health": health}, default=str), encoding="utf-8")
    os.replace(tmp, pointer)
    root = snapshot_root(lake, day)
    versions = sorted(int(m["version"]) for p in root.iterdir() if (m := VERSION_DIR.match(p.name)))
    for v in versions[:-KEEP_VERSIONS]:
        shutil.rmtree(snapshot_version_dir(lake, day, v), ignore_errors=True)
    return vdir


def _current_dir(lake: Path, day: date) -> Path | None:
    try:
        pointer = read_pointer(lake, day)
    except SnapshotFormatError:
        return None
    return None if pointer is None else snapshot_root(lake, day) / pointer["dir"]


def read_pointer(lake: Path, day: date) -> dict[str, Any] | None:
    """The parsed ``CURRENT.json`` of ``day``, or None when nothing is published.

    Returns
    -------
    dict with ``version`` (int), ``dir`` (str), ``trading_date`` (str), ``published_ns`` (int, UTC ns), ``health``
    (dict).

    Raises
    ------
    SnapshotFormatError : not JSON, or a key missing or of the wrong type (contract C3).
    """
    path = current_path(lake, day)
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
    if bad or not VERSION_DIR.match(ptr["dir"]):
        raise SnapshotFormatError(
            f"{path}: keys {bad or ['dir']} missing or mistyped; expected "
            '{"version": int, "dir": "v000000000042", "trading_date": "YYYY-MM-DD", "published_ns": int, '
            '"health": {...}} (contract C3)'
        )
    return ptr


def read_snapshot(lake: Path, day: date) -> tuple[dict[str, Any], dict[str, pl.DataFrame]] | None:
    """The published snapshot of ``day``: (pointer, ``{table: frame}``), or None when nothing is published.

    Reads the pointer, then every :data:`SNAPSHOT_TABLES` file of its version present (a table an older publisher
    did not write is absent from the dict). When the version was deleted between the two reads, it reads the
    pointer once more.

    Raises
    ------
    SnapshotFormatError : malformed pointer; or the version vanished twice in a row.
    """
    for attempt in range(2):
        ptr = read_pointer(lake, day)
        if ptr is None:
            return None
        directory = snapshot_root(lake, day) / ptr["dir"]
        try:
            if not directory.is_dir():
                raise FileNotFoundError(directory)
            return ptr, {name: pl.read_parquet(path) for name in SNAPSHOT_TABLES
                         if (path := directory / f"{name}.parquet").is_file()}
        except FileNotFoundError:
            if attempt == 0:
                continue
            raise SnapshotFormatError(
                f"live snapshot {directory} vanished twice while being read; is the publisher deleting the "
                "current version? (it must keep the last 3, contract C3)") from None
    return None  # pragma: no cover
