"""A day appears whole or not at all, and a damaged raw segment costs only its own frames (issue 11, points 6
and 7; rules in docs/reliability.md). Real ``vntrack`` processes, real Parquet files, real ``kill -9``."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from app.data.snapshot import curated_days, day_notice
from storage import lake as lake_io
from storage.events import read_events
from capture.importers import import_paths
from tests.conftest import KBS_HPG, SSI_B, SSI_MI
from transforms.classify import LEDGER_TABLE
from transforms.schemas import CURATED

REPO = Path(__file__).resolve().parents[1]
SIM_DAY, JUL17, JUL20, HPG_DAY = date(2026, 7, 22), date(2026, 7, 17), date(2026, 7, 20), date(2026, 2, 13)


def _env(lake: Path) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")}, "VNTRACK_LAKE": str(lake),
            "COLUMNS": "250"}


def vntrack(lake: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vntrack.cli", *args], cwd=REPO, env=_env(lake),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(name="sim_lake", scope="module")
def fixture_sim_lake(tmp_path_factory) -> Path:
    from testbed.simulate import simulate_day

    lake = tmp_path_factory.mktemp("integrity") / "lake"
    simulate_day(lake, SIM_DAY, universe="vn30", seed=4, activity=0.3)
    return lake


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _kill_while_staging(lake: Path, tmp_path: Path) -> Path:
    """Start `vntrack replay`, kill -9 it once its staged curated set holds 3 files; returns the stage dir."""
    root = lake / "curated"
    with (tmp_path / "replay.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "vntrack.cli", "replay", "--date", SIM_DAY.isoformat()],
                                cwd=REPO, env=_env(lake), stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            stages = [p for p in root.glob(".stage-*")] if root.is_dir() else []
            if stages and len(list(stages[0].iterdir())) >= 3:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return stages[0]
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pytest.fail(f"the replay ended before it was caught staging:\n{(tmp_path / 'replay.log').read_text()}")


def test_kill_9_during_replay_leaves_the_day_missing_never_partial(sim_lake: Path, tmp_path: Path):
    lake = tmp_path / "lake"
    shutil.copytree(sim_lake, lake)
    stage = _kill_while_staging(lake, tmp_path)
    assert stage.is_dir() and not lake_io.curated_day_dir(lake, SIM_DAY).exists()
    assert lake_io.curated_day_state(lake, SIM_DAY, tuple(CURATED)) == "missing"
    assert curated_days(lake) == []
    assert day_notice(lake) == f"{SIM_DAY} has raw frames but was not built yet: run `vntrack replay --date {SIM_DAY}`."
    again = vntrack(lake, "replay", "--date", SIM_DAY.isoformat())
    assert again.returncode == 0, again.stderr
    assert not stage.exists() and not list((lake / "curated").glob(".*")), "stale staging not cleaned"
    manifest = lake_io.read_manifest(lake, SIM_DAY)
    whole = set(CURATED) | {LEDGER_TABLE}  # every curated table and the classification ledger, one set
    assert set(manifest["tables"]) == whole and manifest["incomplete"] == []
    assert {p.stem for p in lake_io.curated_day_dir(lake, SIM_DAY).glob("*.parquet")} == whole
    assert lake_io.curated_day_state(lake, SIM_DAY, tuple(CURATED)) == "complete"
    assert curated_days(lake) == [SIM_DAY] and day_notice(lake) is None


def test_kill_9_during_a_second_replay_keeps_the_previous_whole_set(sim_lake: Path, tmp_path: Path):
    lake = tmp_path / "lake"
    shutil.copytree(sim_lake, lake)
    assert vntrack(lake, "replay", "--date", SIM_DAY.isoformat()).returncode == 0
    before = _files(lake_io.curated_day_dir(lake, SIM_DAY))
    _kill_while_staging(lake, tmp_path)
    assert _files(lake_io.curated_day_dir(lake, SIM_DAY)) == before
    assert curated_days(lake) == [SIM_DAY]


def test_stale_leftovers_are_cleaned_and_a_set_left_aside_is_put_back(tmp_path: Path):
    lake = tmp_path / "lake"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    lake_io.write_curated_day(lake, JUL20, {"trades": pl.DataFrame({"a": [1]})})
    final = lake_io.curated_day_dir(lake, JUL20)
    aside = final.parent / f".old-{JUL20}-{pid}-abcd"
    os.replace(final, aside)  # a crash between the two renames of write_curated_day
    (final.parent / f".stage-{JUL20}-{pid}-beef").mkdir()
    lake_io.quarantine_path(lake, JUL20).parent.mkdir(parents=True)
    tmp_dead = lake_io.quarantine_path(lake, JUL20).with_name(f"quarantine.parquet.{pid}-0123456789ab.tmp")
    tmp_mine = lake_io.quarantine_path(lake, JUL20).with_name(f"quarantine.parquet.{os.getpid()}-0123456789ab.tmp")
    tmp_dead.write_bytes(b"half")
    tmp_mine.write_bytes(b"being written")
    cleaned = lake_io.clean_stale(lake, JUL20)
    assert set(cleaned) == {aside, final.parent / f".stage-{JUL20}-{pid}-beef", tmp_dead}
    assert lake_io.read_manifest(lake, JUL20)["tables"] == {"trades": 1}
    assert tmp_mine.exists(), "a running writer's temp file was removed"


def test_partial_legacy_set_is_told_apart_from_a_missing_one(tmp_path: Path):
    lake = tmp_path / "lake"
    import_paths(lake, [SSI_MI])
    assert "was not built yet" in day_notice(lake)
    lake_io.write_curated(lake, JUL20, {"trades": pl.DataFrame({"a": [1]}), "board": pl.DataFrame({"a": [1]})})
    assert lake_io.curated_day_state(lake, JUL20, tuple(CURATED)) == "partial"
    assert "only part of its curated tables" in day_notice(lake)
    assert curated_days(lake) == []


# ------------------------------------------------------------------------------------------ corrupt segments


def _damage(lake: Path, day: date, how: str) -> Path:
    """A copy of the day's first segment under a new session, truncated or with random bytes in the middle."""
    seg = lake_io.raw_segments(lake, day)[0]
    bad = seg.with_name(f"cap-damaged-{how}-000000.parquet")
    data = bytearray(seg.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:
        mid = len(data) // 2
        data[mid:mid + 64] = random.Random(0).randbytes(64)
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("how", ["truncated", "random-bytes"])
def test_replay_all_quarantines_a_corrupt_segment_and_replays_every_day(tmp_path: Path, how: str):
    lake, clean = tmp_path / "lake", tmp_path / "clean"
    import_paths(lake, [SSI_B, SSI_MI, KBS_HPG])
    import_paths(clean, [SSI_B, SSI_MI, KBS_HPG])
    bad = _damage(lake, JUL20, how)
    r = vntrack(lake, "replay", "--all")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert bad.name in r.stdout and "INCOMPLETE" in r.stdout
    for day in (HPG_DAY, JUL17, JUL20):
        assert lake_io.read_manifest(lake, day) is not None, f"{day} not replayed"
    assert not bad.exists()
    moved = lake_io.quarantined_segments(lake, JUL20)
    assert [p.name for p in moved] == [bad.name]
    events = read_events(lake, JUL20).filter(pl.col("kind") == "corrupt_segment")
    assert events.height == 1 and json.loads(events["detail"][0])["file"] == bad.name
    assert lake_io.read_manifest(lake, JUL20)["incomplete"] == [bad.name]
    assert lake_io.curated_day_state(lake, JUL20, tuple(CURATED)) == "incomplete"
    assert lake_io.curated_day_state(lake, JUL17, tuple(CURATED)) == "complete"
    assert bad.name in day_notice(lake, JUL20) and day_notice(lake, JUL17) is None
    report = (lake / "reports" / f"report-{JUL20}.md").read_text()
    assert "Incomplete day" in report and bad.name in report
    assert "Incomplete day" not in (lake / "reports" / f"report-{JUL17}.md").read_text()
    # the rest of the day is exactly what a lake without the damaged copy gives
    vntrack(clean, "replay", "--date", JUL20.isoformat())
    for table in ("trades", "indices", "session_stats"):
        assert lake_io.read_curated(lake, JUL20, table).equals(lake_io.read_curated(clean, JUL20, table))
    # run again: nothing more to move, still incomplete
    again = vntrack(lake, "replay", "--date", JUL20.isoformat())
    assert again.returncode == 0 and lake_io.read_manifest(lake, JUL20)["incomplete"] == [bad.name]


def test_read_raw_names_the_unreadable_file(tmp_path: Path):
    lake = tmp_path / "lake"
    import_paths(lake, [SSI_MI])
    bad = _damage(lake, JUL20, "truncated")
    with pytest.raises(lake_io.CorruptSegmentError, match=bad.name):
        lake_io.read_raw(lake, JUL20)


def test_replay_all_goes_on_when_a_day_has_only_unreadable_segments(tmp_path: Path):
    lake = tmp_path / "lake"
    import_paths(lake, [SSI_B, SSI_MI])
    for seg in lake_io.raw_segments(lake, JUL17):
        seg.write_bytes(seg.read_bytes()[:100])
    r = vntrack(lake, "replay", "--all")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"error: {JUL17} not replayed" in r.stderr
    assert lake_io.read_manifest(lake, JUL20) is not None
    assert lake_io.quarantined_segments(lake, JUL17)
