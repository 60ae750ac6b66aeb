"""Benchmark: what the classification-accuracy ledger and the other classification rules cost, as ratios to the
day's whole analytics (``transforms.pipeline.run_day``) on the same input, in the same run.

Input: the real KBS days (tests/fixtures/kbs-ticks), the last day concatenated ``--copies`` times (each copy another
capture session and symbol) so the timings are not all overhead. Prints seconds (best of ``--repeat``), trades/s and the ratios;
machines here are noisy, so only the ratios are comparable across runs.

    python bench/classify.py [--copies N] [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.replay import best_time  # noqa: E402  (best of N, the same timer as the replay bench)
from capture.importers import import_paths  # noqa: E402
from storage import lake  # noqa: E402
from transforms.classify import classification_ledger  # noqa: E402
from transforms.params import params_from_mapping  # noqa: E402
from transforms.pipeline import run_day  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp()) / "lake"
    fixtures = ROOT / "tests" / "fixtures" / "kbs-ticks"
    import_paths(root, [fixtures / "HPG.csv", fixtures / "TCB.csv"])
    day = lake.lake_dates(root)[-1]
    raw = lake.read_raw(root, day)
    symbol = raw.item(0, "payload").split("Symbol")[1].strip('\\": ')[:3]
    raw = pl.concat([raw.with_columns(pl.lit(f"s{i:03d}").alias("session"),  # each copy another symbol
                                      pl.col("payload").str.replace_all(symbol, f"{symbol[:1]}{i:02d}"))
                     for i in range(args.copies)])
    trades = run_day(raw, day)["trades"]
    lee_ready = params_from_mapping({"classification": {"rule": "lee_ready"}})
    base = best_time(lambda: run_day(raw, day), args.repeat)
    alt = best_time(lambda: run_day(raw, day, params=lee_ready), args.repeat)
    ledger = best_time(lambda: classification_ledger(trades), args.repeat)
    print(f"{raw.height:,} frames, {trades.height:,} trades ({args.copies} copies of {day}); "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    print(f"run_day (defaults)      {base:8.3f} s  {trades.height / base:12,.0f} trades/s  ratio 1.00")
    print(f"run_day (lee_ready)     {alt:8.3f} s  {trades.height / alt:12,.0f} trades/s  ratio {alt / base:.2f}")
    print(f"classification_ledger   {ledger:8.3f} s  {trades.height / ledger:12,.0f} trades/s  ratio {ledger / base:.2f}")


if __name__ == "__main__":
    main()
