"""Publication of the live snapshot (contract C3): one directory per version, then an atomic pointer."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import polars as pl

from storage import live as paths
from live.store import _write_json
from transforms import schemas

SNAPSHOT = ("board", "session_stats", "foreign_summary", "foreign_by_sector", "indices", "basis", "alerts",
            "candles_1m")
KEEP_VERSIONS = 3


def next_version(lake: Path, day: date) -> int:
    """One more than the newest published version (1 for a fresh day)."""
    root = paths.snapshot_root(lake, day)
    found = [int(m["version"]) for p in root.iterdir() if (m := paths.VERSION_DIR.match(p.name))] \
        if root.is_dir() else []
    return max(found, default=0) + 1


def publish(lake: Path, day: date, version: int, tables: Mapping[str, pl.DataFrame] | Callable[[], Mapping],
            health: dict, *, reuse: frozenset[str] = frozenset()) -> Path:
    """Write ``snapshot/v<version>/`` (one Parquet per C3 table + health.json), point CURRENT.json at it, and
    delete all but the newest :data:`KEEP_VERSIONS` versions.

    Tables named in ``reuse`` did not change since the previous version: their file is hard-linked from it
    (no rewrite); ``tables`` may be a function, called only when some table must be written. Snapshot files are not fsynced one by one: a snapshot is rebuilt every interval from the
    checkpointed state, and the pointer is only renamed after every file of the version is complete.

    Raises
    ------
    ValueError : a table is missing or does not have its ``transforms.schemas.CURATED`` schema.
    """
    vdir = paths.snapshot_version_dir(lake, day, version)
    vdir.mkdir(parents=True, exist_ok=True)
    previous = _current_dir(lake, day)
    resolved: Mapping[str, pl.DataFrame] | None = None if callable(tables) else tables
    for name in SNAPSHOT:
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
        if df.schema != schemas.CURATED[name]:
            raise ValueError(f"snapshot table {name} has schema {df.schema}, expected {schemas.CURATED[name]}")
        tmp = vdir / f"{name}.parquet.tmp"
        df.write_parquet(tmp, compression="lz4")
        os.replace(tmp, target)
    (vdir / "health.json").write_text(json.dumps(health, indent=1), encoding="utf-8")
    _write_json(paths.current_path(lake, day), {
        "version": version, "dir": vdir.name, "trading_date": day.isoformat(), "published_ns": time.time_ns(),
        "health": health,
    })
    root = paths.snapshot_root(lake, day)
    versions = sorted(int(m["version"]) for p in root.iterdir() if (m := paths.VERSION_DIR.match(p.name)))
    for v in versions[:-KEEP_VERSIONS]:
        shutil.rmtree(paths.snapshot_version_dir(lake, day, v), ignore_errors=True)
    return vdir


def _current_dir(lake: Path, day: date) -> Path | None:
    try:
        pointer = json.loads(paths.current_path(lake, day).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return paths.snapshot_root(lake, day) / pointer["dir"]


def read_snapshot(lake: Path, day: date) -> tuple[dict, dict[str, pl.DataFrame]]:
    """The published snapshot: (CURRENT.json, tables); retries once when a newer publication removed the dir.

    Raises
    ------
    FileNotFoundError : nothing published for ``day``.
    """
    for attempt in range(2):
        pointer = json.loads(paths.current_path(lake, day).read_text(encoding="utf-8"))
        vdir = paths.snapshot_root(lake, day) / pointer["dir"]
        try:
            return pointer, {name: pl.read_parquet(vdir / f"{name}.parquet") for name in SNAPSHOT}
        except FileNotFoundError:
            if attempt:
                raise
    raise AssertionError("unreachable")
