"""Test helper: publish a live snapshot of a replayed day's tables with the live loop's own publisher (contract C3).

Stands in for a running ``vntrack tail`` in the app's tests: the tables are a replay cut, the publication is
``storage.live.publish`` itself, so the live pages are tested on exactly what the loop writes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from storage.live import publish as publish_snapshot
from transforms.schemas import CURATED


def health(frames_total: int, **overrides) -> dict:
    """A C3 ``health`` object with every key."""
    h = {"lag_ms": 180.0, "frames_per_s": 412.5, "last_frame_age_s": 0.4, "frames_total": frames_total,
         "quarantined_total": 1, "sessions": ["cap-20260722-084500123456-1a2b"], "gaps": 1, "reconnects": 1,
         "watermarks": {"cap-20260722-084500123456-1a2b": frames_total}, "batch_ms": 85.0, "state": "running"}
    return {**h, **overrides}


def publish(lake: Path, day: date, tables: dict[str, pl.DataFrame], version: int, health_obj: dict) -> Path:
    """Publish version ``version`` of ``day``'s snapshot (the publisher keeps the last 3). Returns its directory."""
    return publish_snapshot(lake, day, version, {n: t.select(list(CURATED[n])) for n, t in tables.items()},
                            health_obj, schemas=CURATED)
