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
