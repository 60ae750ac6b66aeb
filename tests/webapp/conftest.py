"""Lakes for the app's tests: a simulated + replayed VN30 day, the same with a live snapshot (C3), empty."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from app.data.replay import load_replay_day, snapshot_at
from app.data.snapshot import exch_datetime
from storage import lake as lake_io
from storage.events import write_events
from testbed.simulate import simulate_day
from tests.webapp.live_snapshot import health, publish
from transforms.parse import parse_frames
from replay.day import replay_day
from storage.settings import Settings

DAY = date(2026, 7, 22)
LIVE_AT = "11:00:00"
SESSION = "cap-20260722-084500123456-1a2b"


@pytest.fixture(name="sim_lake", scope="session")
def fixture_sim_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with one full simulated VN30 day (2026-07-22) replayed into curated tables. Read only."""
    lake = tmp_path_factory.mktemp("app_sim") / "lake"
    simulate_day(lake, DAY)
    replay_day(Settings(lake=lake), DAY)
    return lake


@pytest.fixture(name="live_lake", scope="session")
def fixture_live_lake(sim_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sim_lake`` plus what a running capture and live loop leave: a C3 live snapshot of the same day as it
    stood at 11:00 (state running, so the live pages show it), capture events (connect, subscribe, a gap, a
    reconnect) and one quarantined frame. Read only."""
    lake = tmp_path_factory.mktemp("app_live") / "lake"
    shutil.copytree(sim_lake, lake)
    cut = snapshot_at(load_replay_day(lake, DAY), exch_datetime(DAY, LIVE_AT))
    publish(lake, DAY, dict(cut.tables), 41, health(400_000, state="running"))
    publish(lake, DAY, dict(cut.tables), 42, health(410_000, state="running"))
    now = time.time_ns()
    write_events(lake, DAY, SESSION, [
        {"wall_ns": now - 600_000_000_000, "kind": "connect", "seq": None, "detail": "{}"},
        {"wall_ns": now - 599_000_000_000, "kind": "subscribe", "seq": None, "detail": '{"channels": ["X:ALL"]}'},
        {"wall_ns": now - 300_000_000_000, "kind": "gap", "seq": 1200,
         "detail": json.dumps({"start_ns": now - 300_000_000_000, "end_ns": now - 296_500_000_000,
                               "reason": "heartbeat timeout"})},
        {"wall_ns": now - 296_000_000_000, "kind": "reconnect", "seq": 1200, "detail": '{"attempt": 1}'},
    ])
    payload = json.dumps({"DataType": "X-TRADE", "Content": json.dumps({"Symbol": "FPT", "LastPrice": "abc"})})
    bad = pl.DataFrame({"session": [SESSION], "seq": [7], "recv_ns": [now], "data_type": ["X-TRADE"],
                        "payload": [payload],
                        "cursor": [None], "source": ["ssi"]}).cast(dict(lake_io.RAW_FRAME_PL))
    quarantined = parse_frames(bad, DAY)["quarantine"]
    assert quarantined.height == 1
    lake_io.write_quarantine(lake, DAY, quarantined)
    return lake


@pytest.fixture(name="empty_lake")
def fixture_empty_lake(tmp_path: Path) -> Path:
    """A lake root that does not exist yet (a fresh install)."""
    return tmp_path / "lake"
