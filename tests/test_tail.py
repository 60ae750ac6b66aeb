"""``vntrack tail`` over lakes filled the way capture fills them (contract C1): exactness against the batch run
through session restarts, late segments, quarantined frames, kill -9 at random moments; the C3 snapshot; and
``vntrack replay --verify`` in both outcomes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from storage.events import write_events
from storage.journal import open_journals, read_journal
from storage.lake import raw_table_from_polars, read_raw, write_raw_segment
from storage.schemas import RAW_FRAME_PL
from storage import live as paths
from live.loop import TailLoop
from storage.live import SNAPSHOT_TABLES as SNAPSHOT, read_snapshot
from live.store import LiveStore
from tests.capture_like import CaptureLike, as_session
from transforms import schemas
from market.calendar import market_sessions
from transforms.incremental import ROW_TABLES, SNAPSHOT_TABLES
from transforms.pipeline import run_day

REPO = Path(__file__).resolve().parents[1]
DAY = date(2026, 7, 22)
S1, S2, S3 = ("cap-20260722-084500000000-aaaa", "cap-20260722-101500000000-bbbb", "cap-20260722-133000000000-cccc")


@cache
def sim_slice(start: int, n: int) -> pl.DataFrame:
    from testbed.simulate import simulate_frames

    return simulate_frames(DAY, "vn30", 0, None, 1.0).slice(start, n)


def assert_live_equals_batch(lake: Path) -> None:
    store = LiveStore(lake, DAY)
    expected = run_day(read_raw(lake, DAY), DAY)
    for t in ROW_TABLES:
        assert_frame_equal(store.read_table(t), expected[t], check_exact=True)
    _, snap = read_snapshot(lake, DAY)
    for t in (*SNAPSHOT_TABLES, "indices", "basis", "alerts"):
        assert_frame_equal(snap[t], expected[t], check_exact=True)


def vntrack(lake: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "VNTRACK_LAKE": str(lake), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vntrack.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


# --------------------------------------------------------------------------------------- in-process loop


def test_sessions_restart_late_segment_and_quarantine(lake):
    frames = sim_slice(40_000, 9_000)
    a, b = as_session(frames.head(4_000), S1), as_session(frames.slice(4_000, 4_000), S2)
    late = as_session(frames.slice(8_000), S1).with_columns(pl.col("seq") + 4_000)  # S1's rows after 4000
    loop = TailLoop(lake, DAY, compact_every=5)
    loop.start()
    cap = CaptureLike(lake, DAY, S1)
    for i in range(0, a.height, 500):                       # flushes, a seal every 3 flushes, one batch per tick
        batch = a.slice(i, 500)
        if i == 1_500:                                        # a frame that cannot be parsed, mid-batch
            batch = batch.with_columns(pl.when(pl.col("seq") == batch.item(250, "seq"))
                                       .then(pl.lit('{"DataType":"X-TRADE","Content":"{oops'))
                                       .otherwise(pl.col("payload")).alias("payload"))
        cap.write(batch)
        if i % 1_500 == 1_000:
            cap.seal()
        assert loop.run_once().rebuilt == ()
    cap.close()                                              # S1 stops cleanly; capture restarts as S2
    cap2 = CaptureLike(lake, DAY, S2)
    for i in range(0, b.height, 1_000):
        cap2.write(b.slice(i, 1_000))
        loop.run_once()
    h = loop.health()
    assert h["sessions"] == [S1, S2] and h["watermarks"] == {S1: 4_000, S2: 2 * 2_000}
    assert h["quarantined_total"] == 1 and h["open_journals"] == [S2] and h["rebuilds"] == 0
    assert_live_equals_batch_partial(lake, loop)
    # a segment of S1 appears after S2 was consumed: arrival order says it comes first -> rebuild, reported
    write_raw_segment(lake, DAY, S1, 99, raw_table_from_polars(late))
    r = loop.run_once()
    assert r.rebuilt and "session " + S1 in r.rebuilt[0]
    cap2.close()
    loop.run_once()
    h = loop.health()
    assert h["rebuilds"] == 1 and S1 in h["late_data"][0] and h["frames_total"] == 9_000
    assert LiveStore(lake, DAY).file_count() <= 2 * 4 * len(ROW_TABLES)   # <= 4 parts + 4 chunks per table
    assert_live_equals_batch(lake)
    result = vntrack(lake.parent / "lake", "replay", "--verify", "--date", DAY.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "EQUAL" in result.stdout and "rebuilt the day from raw" in result.stdout


def test_the_loop_wakes_on_new_data_not_on_its_interval(lake):
    """With a 600 s interval, a batch still runs right after capture writes: the loop waits on file-system events
    of lake/raw, the interval only bounds the wait."""
    import threading

    frames = as_session(sim_slice(40_000, 1_000), S1)
    cap = CaptureLike(lake, DAY, S1)
    cap.write(frames.head(500))  # lake/raw exists before the loop starts, as with capture running
    loop = TailLoop(lake, DAY)
    runner = threading.Thread(target=loop.run, kwargs={"interval_s": 600.0, "max_batches": 2}, daemon=True)
    runner.start()
    deadline = time.monotonic() + 60
    while loop.state.frames_total < 500 if hasattr(loop, "state") else True:
        assert time.monotonic() < deadline, "the first batch never ran"
        time.sleep(0.05)
    cap.write(frames.slice(500))  # the second batch: only a wake-up on this write can run it within 600 s
    runner.join(timeout=60)
    assert not runner.is_alive(), "the loop slept through new data"
    assert loop.state.frames_total == 1_000
    cap.close()


def read_raw_with_journal(lake: Path) -> pl.DataFrame:
    """Sealed segments + open journals of DAY, deduplicated: what the loop has been able to consume."""
    journals = [pl.from_arrow(read_journal(p).table) for p in open_journals(lake)]
    return (pl.concat([read_raw(lake, DAY), *journals]).cast(dict(RAW_FRAME_PL)).unique(["session", "seq"])
            .sort("session", "seq"))


def assert_live_equals_batch_partial(lake: Path, loop: TailLoop) -> None:
    """Mid-day: the committed rows equal the batch run over exactly the frames consumed (journal included)."""
    expected = run_day(read_raw_with_journal(lake), DAY)
    for t in ROW_TABLES:
        assert_frame_equal(LiveStore(lake, DAY).read_table(t), expected[t])


def test_compaction_keeps_rows_and_bounds_files(lake):
    """Two-tier compaction at every=3 over 40 batches: the rows read back are the rows appended, in order."""
    from live.source import Cursor
    from live.store import Checkpoint
    from transforms.incremental import initial_state

    store, state, written = LiveStore(lake, DAY), initial_state(DAY), []
    trades = run_day(as_session(sim_slice(30_000, 2_000), S1), DAY)["trades"]
    empty = {t: schemas.empty(schemas.QUARANTINE if t == "quarantine" else schemas.CURATED[t]) for t in ROW_TABLES}
    for n in range(1, 41):
        part = trades.slice((n - 1) * 20, 20)
        written.append(part)
        ck = Checkpoint(n, 1, Cursor())
        store.commit(ck, state, {**empty, "trades": part})
        store.compact(ck, every=3)
        assert len(list(paths.table_dir(lake, DAY, "trades").glob("*.parquet"))) <= 2 * 3
    assert_frame_equal(store.read_table("trades"), pl.concat(written))
    # a merge cut short (inputs not yet deleted) reads the same: the chunk wins over what it covers
    chunk = min(paths.table_dir(lake, DAY, "trades").glob("chunk-*"))
    extra = paths.part_path(lake, DAY, "trades", int(chunk.name[6:15]))
    written[int(chunk.name[6:15]) - 1].write_parquet(extra)
    assert_frame_equal(store.read_table("trades"), pl.concat(written))


def test_snapshot_contract_c3(lake):
    cap = CaptureLike(lake, DAY, S1)
    cap.write(as_session(sim_slice(60_000, 3_000), S1))
    write_events(lake, DAY, S1, [{"wall_ns": 1, "kind": "gap", "seq": 10, "detail": '{"reason": "test"}'},
                                 {"wall_ns": 2, "kind": "reconnect", "seq": 10}])
    loop = TailLoop(lake, DAY)
    loop.start()
    for _ in range(5):
        loop.run_once()
    pointer = json.loads(paths.current_path(lake, DAY).read_text())
    assert set(pointer) == {"version", "dir", "trading_date", "published_ns", "health"}
    assert pointer["dir"] == f"v{pointer['version']:012d}" and pointer["trading_date"] == DAY.isoformat()
    versions = sorted(p.name for p in paths.snapshot_root(lake, DAY).iterdir() if p.is_dir())
    assert len(versions) == 3 and versions[-1] == pointer["dir"]
    vdir = paths.snapshot_root(lake, DAY) / pointer["dir"]
    for t in SNAPSHOT:
        assert pl.read_parquet(vdir / f"{t}.parquet").schema == schemas.CURATED[t]
    health = json.loads((vdir / "health.json").read_text())
    assert {"lag_ms", "frames_per_s", "last_frame_age_s", "frames_total", "quarantined_total", "sessions", "gaps",
            "reconnects", "watermarks", "batch_ms", "state"} <= set(health)
    assert health["frames_total"] == 3_000 and health["state"] == "running"
    assert health["gaps"] == 1 and health["reconnects"] == 1 and health["open_journals"] == [S1]
    # the market-session state per exchange at the newest exchange time of the data (docs/analytics.md §12)
    session = health["market_session"]
    as_of = datetime.fromisoformat(session["as_of"])
    assert session == {"as_of": session["as_of"], **market_sessions(as_of)}
    board = read_snapshot(lake, DAY)[1]["board"]
    assert as_of >= board["last_exch_time"].max()
    # idle intervals publish a new version whose unchanged tables are hard links, not rewrites
    assert all((vdir / f"{t}.parquet").stat().st_nlink >= 2 for t in SNAPSHOT)
    assert_frame_equal(read_snapshot(lake, DAY)[1]["candles_1m"], run_day(read_raw_with_journal(lake), DAY)["candles_1m"])
    cap.close()


# ------------------------------------------------------------------------------------ real process, kill -9


def _start_tail(lake: Path) -> subprocess.Popen:
    env = {**os.environ, "VNTRACK_LAKE": str(lake)}
    return subprocess.Popen([sys.executable, "-m", "vntrack.cli", "tail", "--date", DAY.isoformat(),
                             "--interval", "50ms"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _published_after(lake: Path, ns: int) -> bool:
    try:
        return json.loads(paths.current_path(lake, DAY).read_text())["published_ns"] > ns
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def test_kill_minus_9_at_random_moments_loses_and_repeats_nothing(lake):
    """The test keeps writing journal batches and seals; the loop process is killed with SIGKILL at a random
    moment after it is up (mid-batch, mid-commit or mid-publish), and restarted, several times."""
    rnd = random.Random(5)
    frames = sim_slice(100_000, 12_000)
    sessions = [as_session(frames.head(7_000), S1), as_session(frames.slice(7_000), S3)]
    spawned, proc = time.time_ns(), _start_tail(lake)
    kill_at = None
    kills = 0
    try:
        for session in sessions:
            cap = CaptureLike(lake, DAY, session.item(0, "session"))
            for k, i in enumerate(range(0, session.height, 200)):
                cap.write(session.slice(i, 200))
                if k % 5 == 4:
                    cap.seal()
                deadline = time.monotonic() + 60
                while kill_at is None and not _published_after(lake, spawned):  # wait until it is up
                    assert time.monotonic() < deadline and proc.poll() is None, "vntrack tail did not start"
                    time.sleep(0.02)
                if kill_at is None:
                    kill_at = time.monotonic() + rnd.uniform(0.0, 0.6)
                time.sleep(0.05)
                if time.monotonic() >= kill_at:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                    kills += 1
                    spawned, proc, kill_at = time.time_ns(), _start_tail(lake), None
            cap.close()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert kills >= 3
    done = vntrack(lake, "tail", "--date", DAY.isoformat(), "--interval", "50ms", "--stop-when-idle", "1s")
    assert done.returncode == 0, done.stderr
    assert_live_equals_batch(lake)
    h = read_snapshot(lake, DAY)[0]["health"]
    assert h["frames_total"] == 12_000 and h["state"] == "stopped" and h["restarts"] >= 1


def _health_now(lake: Path) -> dict | None:
    try:
        return json.loads(paths.current_path(lake, DAY).read_text())["health"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def test_kill_minus_9_between_checkpoints_redoes_the_batches_and_equals_a_replay(lake):
    """Publication runs ahead of the checkpoint (VNTRACK_TAIL_CHECKPOINT_INTERVAL): the process is killed with
    SIGKILL after its snapshot showed frames that no checkpoint holds yet; the restart redoes them from the
    checkpoint's cursor, and the day's outputs equal the batch run row for row."""
    frames = as_session(sim_slice(100_000, 6_000), S1)
    env = {**os.environ, "VNTRACK_LAKE": str(lake), "VNTRACK_TAIL_CHECKPOINT_INTERVAL": "3600"}
    cap = CaptureLike(lake, DAY, S1)
    cap.write(frames.head(1_000))
    proc = subprocess.Popen([sys.executable, "-m", "vntrack.cli", "tail", "--date", DAY.isoformat(), "--interval",
                             "50ms"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        def wait_for(frames_total: int) -> dict:
            deadline = time.monotonic() + 120
            while (h := _health_now(lake)) is None or h["frames_total"] < frames_total:
                assert time.monotonic() < deadline and proc.poll() is None, "vntrack tail did not get there"
                time.sleep(0.02)
            return h

        wait_for(1_000)
        for i in range(1_000, 5_000, 500):                  # batches after the first checkpoint, one seal on the way
            cap.write(frames.slice(i, 500))
            if i == 3_000:
                cap.seal()
            h = wait_for(i + 500)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    committed = json.loads(paths.checkpoint_path(lake, DAY).read_text())
    assert h["batch"] > committed["batch"] >= 1            # killed between two checkpoints
    assert LiveStore(lake, DAY).load()[1].frames_total < 5_000 == h["frames_total"]
    cap.write(frames.slice(5_000))
    cap.close()
    done = vntrack(lake, "tail", "--date", DAY.isoformat(), "--interval", "50ms", "--stop-when-idle", "1s")
    assert done.returncode == 0, done.stderr
    assert_live_equals_batch(lake)
    h = read_snapshot(lake, DAY)[0]["health"]
    assert h["frames_total"] == 6_000 and h["checkpoint_batch"] == h["batch"] and h["restarts"] == 1


def test_checkpoints_every_few_batches_in_process_equal_the_batch_run(lake):
    """checkpoint_s > 0 in one process: the rows of the batches since a checkpoint are written together by the
    background writer, and what is committed equals the batch run over what was consumed."""
    frames = as_session(sim_slice(40_000, 3_000), S1)
    cap = CaptureLike(lake, DAY, S1)
    loop = TailLoop(lake, DAY, checkpoint_s=3600.0)
    loop.start()
    for i in range(0, 3_000, 300):
        cap.write(frames.slice(i, 300))
        loop.run_once()
    assert loop.health()["frames_total"] == 3_000
    loop.checkpoint()                                       # waits for the writer
    parts = sorted(p.name for p in paths.table_dir(lake, DAY, "trades").glob("part-*"))
    assert parts == ["part-000000001.parquet", "part-000000010.parquet"]  # the first batch; batches 2-10 together
    assert LiveStore(lake, DAY).checkpoint().batch == loop.ck.batch == 10
    assert_live_equals_batch_partial(lake, loop)
    cap.close()


# ----------------------------------------------------------------------------------------- replay --verify


def test_replay_verify_names_the_first_differing_row_and_column(lake):
    cap = CaptureLike(lake, DAY, S1)
    cap.write(as_session(sim_slice(50_000, 2_500), S1))
    cap.close()
    ok = vntrack(lake, "tail", "--date", DAY.isoformat(), "--interval", "50ms", "--stop-when-idle", "0.2s")
    assert ok.returncode == 0, ok.stderr
    equal = vntrack(lake, "replay", "--verify", "--date", DAY.isoformat())
    assert equal.returncode == 0 and "EQUAL" in equal.stdout
    assert "trades" in equal.stdout and "candles_1m" in equal.stdout
    part = max(paths.table_dir(lake, DAY, "trades").glob("*.parquet"))
    trades = pl.read_parquet(part)
    seq = trades.item(7, "seq")
    trades.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(pl.col("volume") + 1).otherwise(pl.col("volume"))
                        .alias("volume")).write_parquet(part)
    diff = vntrack(lake, "replay", "--verify", "--date", DAY.isoformat())
    assert diff.returncode == 1
    assert "DIFFERENT" in diff.stdout and "trades" in diff.stdout and "'volume'" in diff.stdout
    assert f"seq={seq}" in diff.stdout


def test_replay_verify_without_live_outputs_says_what_to_run(lake):
    cap = CaptureLike(lake, DAY, S1)
    cap.write(as_session(sim_slice(0, 100), S1))
    cap.close()
    r = vntrack(lake, "replay", "--verify", "--date", DAY.isoformat())
    assert r.returncode == 1 and "vntrack tail --date 2026-07-22" in r.stdout


def test_tail_rejects_a_bad_interval(lake):
    r = vntrack(lake, "tail", "--date", DAY.isoformat(), "--interval", "fast")
    assert r.returncode == 2 and "500ms" in r.stderr


@pytest.mark.parametrize("args", [["--verify"], ["--verify", "--all"]])
def test_replay_verify_needs_one_date(lake, args):
    r = vntrack(lake, "replay", *args)
    assert r.returncode == 2 and "--verify needs exactly one --date" in r.stderr


def test_torn_journal_tail_is_not_read_until_complete(lake):
    """A crash mid-flush leaves a torn last batch: the complete batches are consumed, the torn one is not, and
    health names the journal; once capture recovers it (seals the complete rows) nothing is counted twice."""
    from storage.journal import journal_path, recover_journal

    frames = as_session(sim_slice(70_000, 1_500), S1)
    cap = CaptureLike(lake, DAY, S1)
    cap.write(frames.head(1_000))
    cap.journal.flush()
    with open(journal_path(lake, S1), "ab") as fh:          # half of a record batch, as a kill -9 leaves it
        fh.write(b"\xff\xff\xff\xff\x10\x00\x00\x00garbage-of-a-torn-batch")
    loop = TailLoop(lake, DAY)
    loop.start()
    loop.run_once()
    h = loop.health()
    assert h["torn_journals"] == [S1] and h["frames_total"] == 1_000
    recover_journal(lake, journal_path(lake, S1))          # capture's start-up recovery
    loop.run_once()
    assert loop.health()["frames_total"] == 1_000 and loop.health()["torn_journals"] == []
    assert_live_equals_batch(lake)
