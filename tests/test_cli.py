"""The ``vntrack`` command line, run as a real process against a temporary lake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from storage import lake as lake_io
from tests.conftest import KBS_HPG, SSI_B, SSI_MI

REPO = Path(__file__).resolve().parents[1]


def vntrack(lake: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VNTRACK_LAKE": str(lake), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vntrack.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(name="imported", scope="module")
def fixture_imported(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    lake = tmp_path_factory.mktemp("cli") / "lake"
    return lake, vntrack(lake, "import", str(SSI_B), str(SSI_MI), str(KBS_HPG))


def test_import_reports_frames_per_date(imported):
    lake, result = imported
    assert result.returncode == 0, result.stderr
    assert "2026-07-20: 1810" in result.stdout and "2026-02-13: 1988" in result.stdout
    assert lake_io.lake_dates(lake) == sorted(lake_io.lake_dates(lake))
    assert [d.isoformat() for d in lake_io.lake_dates(lake)] == ["2026-02-13", "2026-07-17", "2026-07-20"]


def test_reimport_adds_nothing(imported):
    lake, _ = imported
    before = lake_io.read_raw(lake, lake_io.lake_dates(lake)[-1]).height
    again = vntrack(lake, "import", str(SSI_B))
    assert again.returncode == 0 and "already imported" in again.stdout
    assert lake_io.read_raw(lake, lake_io.lake_dates(lake)[-1]).height == before


def test_replay_writes_curated_tables_and_a_report(imported):
    lake, _ = imported
    result = vntrack(lake, "replay", "--date", "2026-07-20")
    assert result.returncode == 0, result.stderr
    assert "report 2026-07-20:" in result.stdout
    html = Path(result.stdout.split("report 2026-07-20: ")[1].split()[0])
    assert html.is_file() and html.stat().st_size > 100_000
    trades = lake_io.read_curated(lake, __import__("datetime").date(2026, 7, 20), "trades")
    assert set(trades.get_column("symbol").unique().to_list()) == {"HPG", "TCB", "VCB"}
    assert trades.filter(pl.col("rule") == "auction").height > 500  # the 09:15:00 ATO burst


def test_replay_of_a_missing_date_lists_the_lake_dates(imported):
    lake, _ = imported
    result = vntrack(lake, "replay", "--date", "2026-07-21")
    assert result.returncode == 1
    out = " ".join((result.stdout + result.stderr).split())
    assert "no raw frames for 2026-07-21" in out and "2026-02-13, 2026-07-17, 2026-07-20" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--date", "20-07-2026x"], "is not a date: expected YYYY-MM-DD"),
        (["replay"], "give exactly one of --date YYYY-MM-DD, --from D1 --to D2, or --all"),
        (["replay", "--from", "2026-02-01"], "give both --from and --to"),
        (["import", "/nonexistent/file.jsonl"], "not a file"),
    ],
)
def test_wrong_arguments_say_what_would_be_right(tmp_path, args, message):
    result = vntrack(tmp_path / "lake", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_unrecognised_file_is_refused_naming_both_formats(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello\nworld\n")
    result = vntrack(tmp_path / "lake", "import", str(bogus))
    assert result.returncode == 2
    out = " ".join(result.stdout.split())
    assert "JSONL" in out and "KBS" in out
    assert not (tmp_path / "lake" / "raw").exists()


def test_import_of_a_grown_recording_counts_every_frame_once(tmp_path: Path):
    """head -n1000 rec > a; head -n1001 rec > b; vntrack import a; vntrack import b: frame 1001 added, nothing twice."""
    lake = tmp_path / "lake"
    lines = SSI_B.read_bytes().split(b"\n")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"\n".join(lines[:1000]) + b"\n")
    b.write_bytes(b"\n".join(lines[:1001]) + b"\n")
    assert vntrack(lake, "import", str(a)).returncode == 0
    second = vntrack(lake, "import", str(b))
    assert second.returncode == 0, second.stderr
    assert "2026-07-20: 1" in second.stdout and "new frames only, continuing import-" in second.stdout
    frames = lake_io.read_raw(lake, lake_io.lake_dates(lake)[-1])
    assert frames["payload"].to_list() == [line.decode() for line in lines[3:1001]]  # the file's order, once each
    replay = vntrack(lake, "replay", "--date", "2026-07-20")
    assert replay.returncode == 0 and "│ 998 " in replay.stdout.replace("┃", "│"), replay.stdout
