"""One function per path of ``lake/live/date=YYYY-MM-DD/`` (live/README.md)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

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
