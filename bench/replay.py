"""Benchmark: parse + all analytics, vectorized (transforms.pipeline) against the scalar reference, same input.

The input is one full simulated trading day (``testbed.simulate.simulate_frames``: every VN30 member plus the VN30F
front and next month, X-QUOTE / X-TRADE / B / R / MI / F in SSI wire format and arrival order), optionally with the
real B and MI recordings of 2026-07-20 appended as a second capture session. Prints frames/s of both
implementations and their ratio (machines here are noisy: only the ratio is comparable across runs).

    python bench/replay.py [--date YYYY-MM-DD] [--universe vn30|hose|all] [--seed N] [--repeat K] [--no-reference]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testbed.simulate import simulate_frames  # noqa: E402
from transforms.pipeline import run_day  # noqa: E402
from transforms.reference import run_reference  # noqa: E402


def _time(fn, repeat: int) -> float:
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
    vec = _time(lambda: run_day(raw, args.date), args.repeat)
    print(f"vectorized : {raw.height / vec:12,.0f} frames/s  ({vec:.2f} s, best of {args.repeat})")
    if not args.no_reference:
        ref = _time(lambda: run_reference(raw, args.date), 1)
        print(f"reference  : {raw.height / ref:12,.0f} frames/s  ({ref:.2f} s)")
        print(f"ratio      : {ref / vec:12.1f} x  (vectorized / reference, same input, same run)")


if __name__ == "__main__":
    main()
