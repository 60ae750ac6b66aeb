"""Benchmark: parse + all analytics, vectorized (transforms.pipeline) against the scalar reference, same input.

The input is one full simulated trading day (``testbed.simulate.simulate_frames``: every VN30 member plus the VN30F
front and next month, X-QUOTE / X-TRADE / B / R / MI / F in SSI wire format and arrival order), optionally with the
real B and MI recordings of 2026-07-20 appended as a second capture session. Two figures, each also as a ratio to
the scalar reference measured in the same run (machines here are noisy: only ratios compare across runs):

* cold: raw frames -> every table (``transforms.pipeline.run_day``: parse + analytics);
* warm: the lake's parsed layer -> every table (``replay.parsed.load_parsed`` reading the Parquet written by a
  first, untimed load of the day from a temporary lake, + ``transforms.pipeline.run_parsed``).

The parse alone and the compile time of the envelope scanner (numba, cached on disk after the first run) are
printed too.

    python bench/replay.py [--date YYYY-MM-DD] [--universe vn30|hose|all] [--seed N] [--repeat K] [--no-reference]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replay.parsed import load_parsed  # noqa: E402
from storage import lake as lake_io  # noqa: E402
from testbed.simulate import simulate_frames  # noqa: E402
from transforms.parse import parse_frames  # noqa: E402
from transforms.pipeline import run_day, run_parsed  # noqa: E402
from transforms.reference import run_reference  # noqa: E402


def best_time(fn, repeat: int) -> float:
    """The best wall time of ``repeat`` calls of ``fn``, s (the least disturbed run on a noisy machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--date", type=date.fromisoformat, default=date(2026, 7, 22), help="simulated trading date")
    ap.add_argument("--universe", default="vn30", help="vn30 (default), hose or all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="best of K runs of the vectorized path (default 3)")
    ap.add_argument("--no-reference", action="store_true", help="skip the scalar reference")
    args = ap.parse_args()

    started = time.perf_counter()
    raw = simulate_frames(args.date, args.universe, args.seed)
    built = time.perf_counter() - started
    counts = raw.group_by("data_type").len().sort("data_type")
    print(f"input: simulated {args.universe} day {args.date} seed {args.seed}: {raw.height:,} frames, "
          f"{raw.get_column('payload').str.len_bytes().sum() / 1e6:.0f} MB "
          f"({', '.join(f'{d}={n:,}' for d, n in counts.rows())}), simulated in {built:.1f} s")
    print(f"machine: {platform.machine()}, {platform.processor() or platform.system()}, "
          f"python {platform.python_version()}, polars {pl.__version__}")
    print(f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores")
    started = time.perf_counter()
    parse_frames(raw.head(10), args.date)  # compiles the scanner, or loads it from numba's cache
    print(f"scanner compile/load: {time.perf_counter() - started:.2f} s (once per process)")
    parse = best_time(lambda: parse_frames(raw, args.date), args.repeat)
    cold = best_time(lambda: run_day(raw, args.date), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        for (session,), frame in raw.group_by("session", maintain_order=True):
            lake_io.write_raw_segment(lake, args.date, session, 0, lake_io.raw_table_from_polars(frame))
        load_parsed(lake, args.date)  # the first load publishes the parsed layer
        warm = best_time(lambda: run_parsed(load_parsed(lake, args.date)[0], args.date), args.repeat)
        read = best_time(lambda: load_parsed(lake, args.date), args.repeat)
    n = raw.height
    print(f"parse only : {n / parse:12,.0f} frames/s  ({parse:.2f} s, best of {args.repeat})")
    print(f"cold       : {n / cold:12,.0f} frames/s  ({cold:.2f} s, best of {args.repeat}; raw -> all tables)")
    print(f"warm       : {n / warm:12,.0f} frames/s  ({warm:.2f} s, best of {args.repeat}; parsed layer -> all tables,"
          f" of which reading the layer {read:.2f} s)")
    if not args.no_reference:
        ref = best_time(lambda: run_reference(raw, args.date), 1)
        print(f"reference  : {n / ref:12,.0f} frames/s  ({ref:.2f} s)")
        print(f"ratio cold : {ref / cold:12.1f} x  (same input, same run)")
        print(f"ratio warm : {ref / warm:12.1f} x  (same input, same run)")
    print(f"load: {os.getloadavg()[0]:.1f} (1 min) at the end")

if __name__ == "__main__":
    main()
