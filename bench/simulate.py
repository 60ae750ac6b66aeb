"""Benchmark: the market-day simulator, frames per second for a VN30 day and a full-market day.

For each universe it times the three stages separately and then the whole ``simulate_day`` as the CLI runs it:

* build   numeric tables of the day (numpy: events, prints, books, R, MI, F);
* render  arrival order + every payload (polars string expressions), no I/O;
* lake    ``simulate_day`` end to end into a temporary lake (build + render + zstd Parquet segments).

    python bench/simulate.py [--universe vn30 all] [--seed N] [--date YYYY-MM-DD]

Prints frames, trades, seconds and frames/s per stage, and the ratio of the end-to-end time to a baseline measured
in the same run: writing the already rendered frames as zstd Parquet (the I/O floor).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testbed.simulate import DayFrames, build_day, simulate_day  # noqa: E402
from testbed.simulate.universe import UNIVERSES  # noqa: E402


def bench(day: date, universe: str, seed: int) -> None:
    """Time one universe and print a line per stage."""
    started = time.perf_counter()
    sim = build_day(day, universe, seed)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    plan = DayFrames(sim)
    bytes_ = 0
    batches = []
    for batch in plan.batches():
        bytes_ += batch.get_column("payload").str.len_bytes().sum()
        batches.append(batch)
    render_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        result = simulate_day(Path(tmp) / "lake", day, universe=universe, seed=seed)
        size = sum(p.stat().st_size for p in result.segments)
        # Baseline: the I/O floor, the already rendered frames written as zstd Parquet with no simulation at all.
        started = time.perf_counter()
        for i, batch in enumerate(batches):
            batch.write_parquet(Path(tmp) / f"floor-{i}.parquet", compression="zstd")
        floor_s = time.perf_counter() - started
    n = plan.total
    print(f"\n{universe}: {sim.universe.size:,} instruments, {sim.prints.height:,} trades, {n:,} frames "
          f"({bytes_ / 1e6:,.0f} MB of payload, {size / 1e6:,.0f} MB zstd Parquet in {len(result.segments)} segments)")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in result.by_channel.items()))
    print(f"  build  : {build_s:7.2f} s")
    print(f"  render : {render_s:7.2f} s  {n / render_s:12,.0f} frames/s")
    print(f"  lake   : {result.seconds:7.2f} s  {n / result.seconds:12,.0f} frames/s  (simulate_day end to end)")
    print(f"  floor  : {floor_s:7.2f} s  {n / floor_s:12,.0f} frames/s  (baseline: the rendered frames written as "
          f"zstd Parquet)")
    print(f"  ratio  : simulate_day end to end takes {result.seconds / floor_s:.1f}x the time of writing its output")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--universe", nargs="+", choices=UNIVERSES, default=["vn30", "all"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--date", type=date.fromisoformat, default=date(2026, 7, 22))
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or platform.system()}, python "
          f"{platform.python_version()}, polars {pl.__version__}, {pl.thread_pool_size()} threads; date {args.date}")
    for universe in args.universe:
        bench(args.date, universe, args.seed)


if __name__ == "__main__":
    main()
