"""End to end, real processes: vntrack feed -> vntrack capture -> vntrack tail over a simulated day, then
``vntrack replay --verify`` (docs/architecture.md §5) and the daily rebuild of the captured day.

The afternoon of the day (14:00 on: continuous trading, the ATC auction, put-through) keeps the run short.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, time
from pathlib import Path

import pytest

from storage import lake as lake_io
from storage.events import read_events
from vntrack.pipeline import run_pipeline

DAY = date(2026, 7, 22)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(name="pipeline_run", scope="module")
def fixture_pipeline_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    lines: list[str] = []
    result = run_pipeline(root / "lake", root / "source", DAY, speed="max", start=time(14, 0),
                          progress=lines.append, timeout_s=600)
    return root / "lake", root / "source", result, lines


def test_every_served_frame_is_captured_once_and_live_equals_replay(pipeline_run):
    lake, source, result, lines = pipeline_run
    assert result.served > 10_000 and result.captured == result.served
    raw = lake_io.read_raw(lake, DAY)
    assert raw.height == result.served
    assert raw.select("session", "seq").is_unique().all()
    served = lake_io.read_raw(source, DAY)
    assert raw["payload"].is_in(served["payload"].implode()).all()  # verbatim: every payload is a served one
    got = raw.group_by("payload").len()  # ... and each served one arrived exactly as often as it was served
    want = served.filter(served["payload"].is_in(raw["payload"].implode())).group_by("payload").len()
    assert got.sort("payload").equals(want.sort("payload"))
    v = result.verification
    assert v.equal, str(v.difference)
    assert v.counts["trades"][0] > 1_000 and v.counts["alerts"][0] > 0
    assert {e for e in read_events(lake, DAY)["kind"]} >= {"connect", "subscribe"}
    assert any("live loop: drained" in line for line in lines)


def test_replay_verify_command_confirms_the_captured_day(pipeline_run):
    lake, _, _, _ = pipeline_run
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")} | {"VNTRACK_LAKE": str(lake)}
    done = subprocess.run([sys.executable, "-m", "vntrack.cli", "replay", "--verify", "--date", DAY.isoformat()],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EQUAL" in done.stdout and "trades" in done.stdout


def test_the_target_lake_must_be_empty_for_the_day(pipeline_run):
    lake, source, _, _ = pipeline_run
    with pytest.raises(ValueError, match="already has raw frames"):
        run_pipeline(lake, source, DAY)
    with pytest.raises(ValueError, match="must differ"):
        run_pipeline(source, source, DAY)
