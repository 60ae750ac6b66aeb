"""Test helper: publish a live snapshot exactly as contract C3 lays it out, from a replayed day's tables.

Stands in for the live loop (issue 5) in the app's tests: the same folder, file names, schemas and atomic
pointer as the publisher must write, so the live pages are tested on the C3 layout.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl

from app.data.snapshot import LIVE_TABLES, pointer_path, snapshot_dir, version_dir_name
from transforms.schemas import CURATED


def health(frames_total: int, **overrides) -> dict:
    """A C3 ``health`` object with every key."""
    h = {"lag_ms": 180.0, "frames_per_s": 412.5, "last_frame_age_s": 0.4, "frames_total": frames_total,
         "quarantined_total": 1, "sessions": ["cap-20260722-084500123456-1a2b"], "gaps": 1, "reconnects": 1,
         "watermarks": {"cap-20260722-084500123456-1a2b": frames_total}, "batch_ms": 85.0, "state": "running"}
    return {**h, **overrides}


def publish(lake: Path, day: date, tables: dict[str, pl.DataFrame], version: int, health_obj: dict,
            *, keep: int = 3) -> Path:
    """Write version ``version`` of ``day``'s snapshot, then point CURRENT.json at it (temp file + rename), then
    delete all but the last ``keep`` versions. Returns the version directory."""
    root = snapshot_dir(lake, day)
    vdir = root / version_dir_name(version)
    tmp_dir = root / f".{vdir.name}.tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for name in LIVE_TABLES:
        tables[name].select(list(CURATED[name])).cast(dict(CURATED[name])).write_parquet(tmp_dir / f"{name}.parquet")
    (tmp_dir / "health.json").write_text(json.dumps(health_obj))
    os.replace(tmp_dir, vdir)
    pointer = {"version": version, "dir": vdir.name, "trading_date": day.isoformat(),
               "published_ns": time.time_ns(), "health": health_obj}
    tmp = pointer_path(lake, day).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(pointer))
    os.replace(tmp, pointer_path(lake, day))
    versions = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("v"))
    for old in versions[:-keep]:
        shutil.rmtree(old)
    return vdir
