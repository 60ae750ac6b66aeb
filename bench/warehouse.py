"""Benchmark: warehouse loads and the daily rebuild.

1. Rows/s loaded into PostgreSQL by ``COPY ... (FORMAT BINARY)`` with psycopg ``set_types`` + ``write_row`` (the
   loader's path), against text ``COPY`` with ``write_row`` (the baseline), same rows, same run, each inside one
   transaction into a day partition of ``trades`` of a throwaway database (dropped afterwards).
2. ``rebuild_day`` wall time for a simulated VN30 day, per step (compaction, analytics, validation, load into
   PostgreSQL and DuckDB, report), and the Prefect flow run end to end (the ephemeral API already started).
3. The same for a full-market day (``--universe all``, ~1,600 stocks) unless ``--skip-full``.

    python bench/warehouse.py [--pg postgresql://postgres@127.0.0.1:5432] [--copies 4] [--skip-full]
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import polars as pl  # noqa: E402
import psycopg  # noqa: E402

from storage import lake as lake_io  # noqa: E402
from testbed.simulate import simulate_day  # noqa: E402
from flows import steps  # noqa: E402
from storage.compact import compact_day  # noqa: E402
from warehouse.load import conform, copy_rows, ensure_partitions, partition_name  # noqa: E402
from warehouse.migrate import migrate  # noqa: E402
from warehouse.target import Target, connect_postgres  # noqa: E402
from reports.daily import build_report  # noqa: E402

DAY = date(2026, 7, 22)


def _database(server: str) -> tuple[str, callable]:
    name = f"vntrack_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"{server}/{name}", drop


def bench_copy(url: str, trades: pl.DataFrame, copies: int) -> None:
    frame = conform("trades", pl.concat([trades] * copies), DAY)
    with connect_postgres(url, autocommit=True) as admin:
        ensure_partitions(admin, DAY, ["trades"])
    dest = partition_name("trades", DAY)
    results = {}
    for label, binary in (("text COPY + write_row (baseline)", False), ("binary COPY + set_types (loader)", True)):
        best = float("inf")
        for _ in range(3):
            with connect_postgres(url) as conn:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(f'TRUNCATE "{dest}"')
                    started = time.perf_counter()
                    copy_rows(cur, dest, frame, table="trades", binary=binary)
                    best = min(best, time.perf_counter() - started)
        results[label] = best
    print(f"\nCOPY of {frame.height:,} trades rows ({len(frame.columns)} columns) into one day partition, best of 3:")
    for label, s in results.items():
        print(f"  {label:36s} {frame.height / s:>12,.0f} rows/s  {s:6.2f} s")
    text, binary = results.values()
    print(f"  ratio binary / text: {text / binary:.2f}x")


def bench_rebuild(lake: Path, day: date, url: str, duck: Path, label: str) -> None:
    timings = {}

    def timed(name, fn):
        started = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - started
        return out

    comp = timed("compact raw", lambda: compact_day(lake, day))
    cur = timed("analytics (run_day) + curated", lambda: steps.build_curated(lake, day))
    _, failed, total = timed("validation (GX, incl. import)", lambda: steps.validate(lake, day))
    pg, dk = Target("postgres", url=url), Target("duckdb", path=duck)
    migrate(pg)
    migrate(dk)
    pg_rows = timed("load PostgreSQL", lambda: steps.load(lake, day, pg, frames=cur.frames, dq_failed=failed,
                                                          dq_total=total))
    timed("load DuckDB", lambda: steps.load(lake, day, dk, frames=cur.frames, dq_failed=failed, dq_total=total))
    timed("report", lambda: build_report(lake, day, lake / "reports"))
    print(f"\nrebuild_day steps, {label}: {cur.frames:,} frames, {sum(pg_rows.rows.values()):,} warehouse rows, "
          f"{comp.before} -> {comp.after} segments, {total - failed}/{total} expectations passed")
    for name, s in timings.items():
        print(f"  {name:34s} {s:7.2f} s")
    print(f"  {'total (both warehouses)':34s} {sum(timings.values()):7.2f} s")

    from flows.rebuild import rebuild_day

    os.environ["VNTRACK_LAKE"], os.environ["VNTRACK_DATABASE_URL"] = str(lake), url
    started = time.perf_counter()
    state = rebuild_day(day, return_state=True)
    assert state.is_completed(), state
    print(f"  Prefect flow rebuild_day -> PostgreSQL, end to end: {time.perf_counter() - started:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("VNTRACK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    ap.add_argument("--copies", type=int, default=4, help="trades of the VN30 day repeated N times for COPY")
    ap.add_argument("--skip-full", action="store_true", help="skip the full-market day")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"psycopg {psycopg.__version__}, PostgreSQL at {args.pg}")
    root = Path(tempfile.mkdtemp(prefix="vntrack-bench-"))
    os.environ["PREFECT_HOME"] = str(root / "prefect")
    url, drop = _database(args.pg)
    try:
        vn30 = root / "vn30"
        simulate_day(vn30, DAY, universe="vn30")
        bench_rebuild(vn30, DAY, url, root / "vn30.duckdb", "simulated VN30 day")
        bench_copy(url, lake_io.read_curated(vn30, DAY, "trades"), args.copies)
        if not args.skip_full:
            full = root / "full"
            started = time.perf_counter()
            simulate_day(full, DAY, universe="all")
            print(f"\nsimulated the full-market day in {time.perf_counter() - started:.1f} s")
            drop()
            url, drop = _database(args.pg)
            bench_rebuild(full, DAY, url, root / "full.duckdb", "simulated full-market day")
    finally:
        drop()


if __name__ == "__main__":
    main()
