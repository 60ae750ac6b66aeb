"""Benchmark of the live loop: latency from a frame's receipt (``recv_ns``) to its effect in the published
snapshot, the loop's CPU share, and ``step`` throughput against ``run_day`` over the same frames.

The capture daemon is not merged yet, so a *writer process* plays capture exactly per contract C1
(tests/capture_like.py: JournalWriter batches, sealed into segments and the journal restarted): it replays a
window of the simulated VN30 day of 2026-07-22 in real time x ``--speed``, stamping each frame's ``recv_ns`` with
the wall clock at its due time and flushing one journal batch every 200 ms; it seals every 30 s. The frames of
the day before the window are sealed first (the tail catches up on them before measuring). ``vntrack tail`` runs
as its own process. The bench polls ``snapshot/CURRENT.json`` and takes a frame's latency as ``published_ns`` of
the first snapshot whose watermark covers its (session, seq) minus its ``recv_ns``.

    python bench/tail.py [--speed 1 10] [--interval 250ms] [--windows 09:14-09:22,14:24-14:32] [--no-latency]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.lake import raw_table_from_polars, write_raw_segment  # noqa: E402
from testbed.simulate import simulate_frames  # noqa: E402
from storage import live as paths  # noqa: E402
from tests.capture_like import CaptureLike  # noqa: E402
from transforms.incremental import initial_state  # noqa: E402
from transforms.incremental.step import run_batches  # noqa: E402
from transforms.pipeline import run_day  # noqa: E402

DAY = date(2026, 7, 22)
SESSION = "cap-20260722-084500000000-bead"
FLUSH_S = 0.2
SEAL_S = 30.0


def _local_ns(hhmm: str) -> int:
    h, m = map(int, hhmm.split(":"))
    return int(datetime(DAY.year, DAY.month, DAY.day, h - 7, m, tzinfo=timezone.utc).timestamp() * 1e9)


def _writer(lake: str, frames_path: str, speed: float, t0_wall_ns: int, ready) -> None:
    """The capture stand-in: frames due by (wall - t0) * speed of simulated time, one journal batch per 200 ms."""
    frames = pl.read_parquet(frames_path)
    sim_ns = frames.get_column("recv_ns").to_numpy()
    sim0 = int(sim_ns[0])
    cap = CaptureLike(Path(lake), DAY, SESSION)
    ready.set()
    done, last_seal = 0, time.monotonic()
    while done < frames.height:
        time.sleep(FLUSH_S)
        now = time.time_ns()
        due = int(np.searchsorted(sim_ns, sim0 + (now - t0_wall_ns) * speed, side="right"))
        if due > done:
            chunk = frames.slice(done, due - done)
            wall = t0_wall_ns + ((chunk.get_column("recv_ns").to_numpy() - sim0) / speed).astype(np.int64)
            cap.write(chunk.with_columns(pl.Series("recv_ns", wall, dtype=pl.Int64)))
            done = due
        if time.monotonic() - last_seal >= SEAL_S:
            cap.seal()
            last_seal = time.monotonic()
    cap.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_window(raw: pl.DataFrame, start: str, stop: str, speed: float, interval: str) -> dict:
    """Run writer + tail over one window; returns latency percentiles, CPU share and counts."""
    seq = raw.with_columns(pl.lit(SESSION).alias("session"), pl.int_range(1, raw.height + 1, dtype=pl.UInt64)
                           .alias("seq"))
    before = seq.filter(pl.col("recv_ns") < _local_ns(start))
    window = seq.filter(pl.col("recv_ns").is_between(_local_ns(start), _local_ns(stop), closed="left"))
    with tempfile.TemporaryDirectory(prefix="bench-tail-") as tmp:
        lake = Path(tmp) / "lake"
        for k, i in enumerate(range(0, before.height, 100_000)):
            write_raw_segment(lake, DAY, SESSION, k, raw_table_from_polars(before.slice(i, 100_000)))
        frames_path = Path(tmp) / "window.parquet"
        window.write_parquet(frames_path)
        env = {**os.environ, "VNTRACK_LAKE": str(lake)}
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        t0 = time.time_ns() + 600_000_000_000  # set for real once the tail has caught up
        tail = subprocess.Popen([sys.executable, "-m", "vntrack.cli", "tail", "--date", DAY.isoformat(),
                                 "--interval", interval], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        writer = None
        try:
            current = paths.current_path(lake, DAY)
            _wait_caught_up(current, tail, before.height)
            t0 = time.time_ns() + 2_000_000_000
            writer = ctx.Process(target=_writer, args=(str(lake), str(frames_path), speed, t0, ready))
            writer.start()
            ready.wait(60)
            cpu0, wall0 = _cpu_s(tail.pid), time.monotonic()
            published = _watch(current, before.height + window.height)
            cpu1, wall1 = _cpu_s(tail.pid), time.monotonic()
        finally:
            if writer is not None:
                writer.join(60)
                if writer.is_alive():
                    writer.terminate()
            tail.terminate()
            tail.wait(60)
    pub = np.array(published, dtype=np.int64)
    seqs = window.get_column("seq").to_numpy().astype(np.int64)
    sim = window.get_column("recv_ns").to_numpy()
    recv = t0 + ((sim - sim[0]) / speed).astype(np.int64)
    first = np.searchsorted(np.maximum.accumulate(pub[:, 1]), seqs, side="left")
    latency_ms = (pub[first, 0] - recv) / 1e6
    return {"window": f"{start}-{stop}", "speed": speed, "frames": window.height,
            "p50_ms": float(np.percentile(latency_ms, 50)), "p99_ms": float(np.percentile(latency_ms, 99)),
            "max_ms": float(latency_ms.max()), "cpu_share": (cpu1 - cpu0) / (wall1 - wall0),
            "wall_s": wall1 - wall0, "snapshots": len(published)}


def _wait_caught_up(current: Path, tail: subprocess.Popen, frames: int) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            if json.loads(current.read_text())["health"]["frames_total"] >= frames:
                return
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        if time.monotonic() > deadline or tail.poll() is not None:
            raise RuntimeError("vntrack tail did not catch up with the sealed frames")
        time.sleep(0.05)


def _watch(current: Path, target: int) -> list[tuple[int, int]]:
    """(published_ns, watermark) of every snapshot version seen, until the watermark reaches ``target``."""
    published, last_version = [], -1
    while True:
        try:
            pointer = json.loads(current.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            continue
        if pointer["version"] != last_version:
            last_version = pointer["version"]
            published.append((pointer["published_ns"], pointer["health"]["watermarks"].get(SESSION, 0)))
            if published[-1][1] >= target:
                return published
        time.sleep(0.005)


def throughput(raw: pl.DataFrame, start: str, stop: str, speed: float) -> dict:
    """step() over the window split into 200 ms-of-wall-time batches vs run_day over the same frames; the steps
    start from the state after the day's frames before the window (the context a live loop carries then)."""
    w = raw.filter(pl.col("recv_ns").is_between(_local_ns(start), _local_ns(stop), closed="left"))
    slot = (pl.col("recv_ns") - _local_ns(start)) // int(FLUSH_S * speed * 1e9)
    batches = [b for _, b in w.with_columns(slot.alias("_b")).group_by("_b", maintain_order=True)]
    batches = [b.drop("_b") for b in batches]
    t = time.perf_counter()
    run_day(w, DAY)
    batch_s = time.perf_counter() - t
    before, _, _ = run_batches(initial_state(DAY), [raw.filter(pl.col("recv_ns") < _local_ns(start))])
    _, _, timing = run_batches(before, batches)
    return {"window": f"{start}-{stop}", "speed": speed, "frames": w.height, "batches": len(batches),
            "run_day_fps": w.height / batch_s, "step_fps": w.height / timing["seconds"],
            "step_ms_per_batch": timing["seconds"] * 1000 / len(batches)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--interval", default="250ms")
    ap.add_argument("--windows", default="09:14-09:19,14:27-14:32", help="speed-1 windows (exchange time)")
    ap.add_argument("--windows-fast", default="09:00-09:30,14:15-14:50", help="windows at speeds > 1")
    ap.add_argument("--no-throughput", action="store_true", help="latency only")
    ap.add_argument("--no-latency", action="store_true", help="step throughput only (no processes)")
    args = ap.parse_args()
    print(f"{date.today()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"polars {pl.__version__}; tail --interval {args.interval}")
    raw = simulate_frames(DAY, "vn30", 0, None, 1.0)
    print(f"simulated VN30 day {DAY}: {raw.height:,} frames")
    for speed in args.speed:
        for spec in (args.windows if speed == 1 else args.windows_fast).split(","):
            start, stop = spec.split("-")
            th = None if args.no_throughput else throughput(raw, start, stop, speed)
            if th:
                print(f"throughput {th['window']} x{speed:g}: {th['frames']:,} frames in {th['batches']} batches; "
                      f"step {th['step_fps']:,.0f} frames/s ({th['step_ms_per_batch']:.0f} ms/batch) vs run_day "
                      f"{th['run_day_fps']:,.0f} frames/s (one call): step/run_day {th['step_fps'] / th['run_day_fps']:.4f}",
                      flush=True)
            if args.no_latency:
                continue
            m = measure_window(raw, start, stop, speed, args.interval)
            print(f"latency {m['window']} x{speed:g}: {m['frames']:,} frames, p50 {m['p50_ms']:.0f} ms, "
                  f"p99 {m['p99_ms']:.0f} ms, max {m['max_ms']:.0f} ms; tail CPU {m['cpu_share']:.0%} of one core "
                  f"over {m['wall_s']:.0f} s, {m['snapshots']} snapshots", flush=True)


if __name__ == "__main__":
    main()
