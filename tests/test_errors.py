"""Bad input gets one line that says what is wrong, never a traceback, and leaves nothing half-done (issue 11
point 11; rules in docs/reliability.md). Every case runs the real ``vntrack`` entry point as a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from capture.importers import import_paths
from storage import lake as lake_io
from tests.conftest import KBS_HPG, SSI_MI

REPO = Path(__file__).resolve().parents[1]


def vntrack(lake: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith(("VNTRACK_", "SSI_"))},
            "VNTRACK_LAKE": str(lake), "COLUMNS": "250", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vntrack.cli", *args], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=300)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    """The only line starting with 'error:' (stdout or stderr), after checking there is no traceback."""
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, out
    return lines[0]


def test_kbs_csv_with_an_impossible_date_names_it_and_imports_nothing(tmp_path: Path):
    lines = KBS_HPG.read_text(encoding="utf-8-sig").split("\n")
    lines[1] = lines[1].replace("2026-02-13 13:18:47", "2026-02-30 13:18:47").replace("13/02/2026", "30/02/2026")
    bad = tmp_path / "HPG-bad.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    lake = tmp_path / "lake"
    r = vntrack(lake, "import", str(SSI_MI), str(bad))  # the good file is named first
    assert r.returncode == 2
    line = one_error_line(r)
    assert "HPG-bad.csv line 2" in line and "2026-02-30" in line and "nothing was imported" in line
    assert lake_io.lake_dates(lake) == []


def test_jsonl_of_only_unparseable_content_says_why(tmp_path: Path):
    rec = tmp_path / "garbage.jsonl"
    rec.write_text('{"DataType":"X","Content":"not json"}\n{"DataType":"B","Content":"{broken"}\n')
    r = vntrack(tmp_path / "lake", "import", str(rec))
    assert r.returncode == 2
    assert "garbage.jsonl: no line carries a parseable Content.TradingDate" in one_error_line(r)


def test_first_line_over_1_mib_is_refused_saying_what_was_wrong(tmp_path: Path):
    rec = tmp_path / "one-line.jsonl"
    rec.write_text('[{"DataType":"B","Content":"' + "x" * (1 << 21) + '"}]')
    r = vntrack(tmp_path / "lake", "import", str(rec))
    assert r.returncode == 2
    assert "its first line is longer than 1,048,576 bytes" in one_error_line(r)


@pytest.mark.parametrize("args", [("import", str(SSI_MI)), ("replay", "--all"), ("db", "status")])
def test_lake_setting_pointing_at_a_file(tmp_path: Path, args: tuple[str, ...]):
    not_a_dir = tmp_path / "lake.txt"
    not_a_dir.write_text("oops")
    r = vntrack(not_a_dir, *args)
    assert r.returncode == 1
    assert f"VNTRACK_LAKE={not_a_dir} is a file, not a folder" in one_error_line(r)


@pytest.fixture(name="read_only_lake")
def fixture_read_only_lake(tmp_path: Path):
    """A lake holding the real MI recording on a file system mounted read-only (needs the right to mount)."""
    lake = tmp_path / "ro"
    lake.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(lake)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        import_paths(lake, [SSI_MI])
        subprocess.run(["mount", "-o", "remount,ro", str(lake)], check=True)
        yield lake
    finally:
        subprocess.run(["umount", str(lake)], check=True)


def test_read_only_lake_is_one_line(read_only_lake: Path):
    for args in (("replay", "--date", "2026-07-20"), ("import", str(KBS_HPG))):
        r = vntrack(read_only_lake, *args)
        assert r.returncode == 1, args
        assert "Read-only file system" in one_error_line(r)


def test_capture_metrics_port_in_use_is_one_line_and_leaves_no_journal(tmp_path: Path):
    lake = tmp_path / "lake"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = vntrack(lake, "capture", "--date", "2026-07-20", env={
            "SSI_CONSUMER_ID": "me", "SSI_CONSUMER_SECRET": "secret-value-1", "VNTRACK_CAPTURE_METRICS_PORT": str(port),
            "VNTRACK_CAPTURE_REST_URL": "http://127.0.0.1:9/", "VNTRACK_CAPTURE_STREAM_URL": "http://127.0.0.1:9/"})
    assert r.returncode == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in one_error_line(r)
    assert not list((lake / "raw").rglob("*")) if (lake / "raw").exists() else True
    assert "secret-value-1" not in r.stdout + r.stderr
