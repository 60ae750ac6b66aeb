"""Benchmark: feed, capture and the live loop running together, as real processes (``vntrack.pipeline``).

A window of the simulated VN30 day of 2026-07-22 is served by ``vntrack feed --speed N --from HH:MM``,
recorded by ``vntrack capture`` and analysed by ``vntrack tail --interval I`` (1 s by default). A thread polls
the live snapshot's ``CURRENT.json`` every 20 ms; a frame's latency is ``published_ns`` of the first snapshot whose watermark covers
its (session, seq) minus its ``recv_ns`` (stamped by capture at receipt). Frames received before the loop's
first snapshot (its start-up: the process imports polars and catches up) are left out of the figures and counted.

Baseline in the same run: the interval itself. A loop polling every interval that published the instant a batch
closed would show a latency uniform over [0, interval] (p50 = interval/2, p99 = 0.99 x interval); the ratios say
how far the real loop is from that. The loop wakes on new data (file-system events), so the interval is only its
upper bound and ratios below 1 are the gain over a fixed poll. CPU: user+system seconds of each child over the wall time of the run (= cores used).

    python bench/pipeline.py [--speed 1 10] [--window 14:20-14:35] [--interval 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.lake import read_raw  # noqa: E402
from storage import live as paths  # noqa: E402
from vntrack import pipeline  # noqa: E402

DAY = date(2026, 7, 22)


def _poll(lake: Path, stop: threading.Event, seen: list[tuple[int, dict]]) -> None:
    current = paths.current_path(lake, DAY)
    last = None
    while not stop.is_set():
        try:
            doc = json.loads(current.read_text())
            if doc["version"] != last:
                last = doc["version"]
                seen.append((doc["published_ns"], doc["health"].get("watermarks", {})))
        except (FileNotFoundError, ValueError, KeyError):
            pass
        time.sleep(0.02)


def _latencies(raw: pl.DataFrame, seen: list[tuple[int, dict]]) -> tuple[np.ndarray, int]:
    out, before = [], 0
    for session, part in raw.group_by("session", maintain_order=True):
        session = session[0]
        seq = part["seq"].to_numpy().astype(np.int64)
        recv = part["recv_ns"].to_numpy()
        marks = [(ns, int(w[session])) for ns, w in seen if session in w]
        if not marks:
            continue
        pub = np.array([m[0] for m in marks])
        wm = np.maximum.accumulate(np.array([m[1] for m in marks]))
        idx = np.searchsorted(wm, seq, side="left")  # first snapshot whose watermark >= seq
        steady = recv >= pub[0]  # frames received once the loop had published its first snapshot
        ok = (idx < len(wm)) & steady
        before += int((~steady).sum())
        out.append(pub[idx[ok]] - recv[ok])
    return (np.concatenate(out) if out else np.array([])) / 1e6, before


def run(speed: str, start: str, end: str, interval_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lake, source = Path(tmp) / "lake", Path(tmp) / "source"
        t0 = datetime.strptime(start, "%H:%M").time()
        stop, seen = threading.Event(), []
        poller = threading.Thread(target=_poll, args=(lake, stop, seen), daemon=True)
        poller.start()
        span_s = (datetime.combine(DAY, datetime.strptime(end, "%H:%M").time())
                  - datetime.combine(DAY, t0)).total_seconds()
        result = pipeline.run_pipeline(lake, source, DAY, speed=speed, start=t0, progress=lambda _: None,
                                       stop_at_s=span_s / float(speed), interval=f"{interval_s:g}")
        stop.set()
        poller.join()
        raw = read_raw(lake, DAY).select("session", "seq", "recv_ns")
        lat, before = _latencies(raw, seen)
        print(f"\nspeed {speed}, window {start}-{end} ({span_s / float(speed):.0f} s wall): {raw.height:,} frames "
              f"captured, {len(seen)} snapshots, live == replay: {result.verification.equal}")
        if len(lat):
            p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
            print(f"  latency recv -> published snapshot: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms, max {lat.max():,.0f} "
                  f"ms over {len(lat):,} frames ({before:,} received before the first snapshot left out)")
            print(f"  baseline (publish at batch close, interval {interval_s:g} s): p50 {interval_s * 500:,.0f} ms, "
                  f"p99 {interval_s * 990:,.0f} ms -> ratios p50 {p50 / (interval_s * 500):.2f}x, "
                  f"p99 {p99 / (interval_s * 990):.2f}x")
        for name, cpu in result.cpu_s.items():
            print(f"  CPU {name:8s}: {cpu:6.1f} s = {cpu / result.seconds:.2f} cores over {result.seconds:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed", nargs="+", default=["1", "10"])
    ap.add_argument("--window", default="14:20-14:35", help="exchange-time window HH:MM-HH:MM")
    ap.add_argument("--interval", type=float, default=1.0, help="the live loop's interval, seconds (default 1)")
    args = ap.parse_args()
    start, end = args.window.split("-")
    print(f"machine: {platform.machine()}, python {platform.python_version()}, polars {pl.__version__}; "
          f"simulated VN30 day {DAY}")
    for speed in args.speed:
        run(speed, start, end, args.interval)


if __name__ == "__main__":
    main()
