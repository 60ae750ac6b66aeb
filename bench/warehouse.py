"""Benchmark: warehouse loads and the daily rebuild, on every flavour (DuckDB, PostgreSQL, TimescaleDB).

1. Rows/s loaded by each COPY loader on the same rows, each in one transaction (TRUNCATE + COPY + COMMIT) into the
   date's partition of ``trades`` (plain PostgreSQL) and into the ``trades`` hypertable (TimescaleDB):
   ``write_row`` (psycopg ``set_types`` + ``write_row`` over Polars rows: the previous loader, the baseline),
   ``pgpq`` (Arrow record batches encoded to binary COPY by pgpq: the loader now), ``adbc`` (the ADBC PostgreSQL
   driver's bulk ingest, ``adbc_ingest``), and pgpq's encoding alone (the client's share, no server).
2. ``rebuild_day`` wall time for a simulated VN30 day, per step (compaction, analytics, validation, load into the
   flavour's warehouse, report), and the Prefect flow run end to end, per flavour, with the flow's own overhead
   (end to end minus the sum of its task run times, from the Prefect API).
3. The same for a full-market day (``--universe all``, ~1,600 stocks) unless ``--skip-full``.

The TimescaleDB server is ``--timescale`` (a server that preloads it), else a throwaway PostgreSQL 15 cluster
preloading it (tests/flows/pgcluster.py; TimescaleDB from scripts/timescaledb.sh), else that flavour is skipped.

    python bench/warehouse.py [--pg postgresql://postgres@127.0.0.1:5432] [--timescale URL] [--copies 4] [--skip-full]
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
from warehouse.load import arrow_for_copy, conform, copy_rows, ensure_partitions, partition_name  # noqa: E402
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


def _copy_dest(url: str, flavour: str) -> str:
    """Migrate the database as ``flavour``; the COPY destination of ``trades`` on DAY (partition or hypertable)."""
    migrate(Target("postgres", url=url, flavor=flavour))
    if flavour == "timescaledb":
        return "trades"  # a hypertable: rows go to their 1-day chunk; no partitions to create
    with connect_postgres(url, autocommit=True) as admin:
        ensure_partitions(admin, DAY, ["trades"])
    return partition_name("trades", DAY)


def _pgpq_encode(arrow) -> float:
    import pgpq

    started = time.perf_counter()
    encoder = pgpq.ArrowToPostgresBinaryEncoder(arrow.schema)
    size = len(encoder.write_header())
    for batch in arrow.to_batches(max_chunksize=65_536):
        size += len(encoder.write_batch(batch))
    size += len(encoder.finish())
    return time.perf_counter() - started


def bench_copy(url: str, flavour: str, trades: pl.DataFrame, copies: int, repeat: int = 3) -> dict[str, float]:
    """Best-of-``repeat`` rows/s per loader into ``trades`` of a ``flavour`` database; prints and returns them."""
    frame = conform("trades", pl.concat([trades] * copies), DAY)
    dest = _copy_dest(url, flavour)
    arrow = arrow_for_copy(frame)

    def psycopg_loader(method: str):
        def run() -> float:
            with connect_postgres(url) as conn:
                started = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(f'TRUNCATE "{dest}"')
                    copy_rows(cur, dest, frame, table="trades", method=method)
                return time.perf_counter() - started
        return run

    def adbc() -> float:
        import adbc_driver_postgresql.dbapi as adbc_dbapi

        with adbc_dbapi.connect(url) as conn, conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute(f'TRUNCATE "{dest}"')
            cur.adbc_ingest(dest, arrow, mode="append")
            conn.commit()
            return time.perf_counter() - started

    loaders = {"write_row (previous loader, baseline)": psycopg_loader("write_row"),
               "pgpq (the loader)": psycopg_loader("pgpq"), "adbc_ingest (ADBC driver)": adbc,
               "pgpq encoding only (client share)": lambda: _pgpq_encode(arrow)}
    results = {label: min(run() for _ in range(repeat)) for label, run in loaders.items()}
    with connect_postgres(url) as conn:
        loaded = conn.execute(f'SELECT count(*) FROM "{dest}"').fetchone()[0]
    assert loaded == frame.height, (loaded, frame.height)
    where = "the trades hypertable" if flavour == "timescaledb" else "one day partition of trades"
    print(f"\n{flavour}: COPY of {frame.height:,} trades rows ({len(frame.columns)} columns) into {where}, "
          f"TRUNCATE + COPY + COMMIT, best of {repeat}:")
    base = results["write_row (previous loader, baseline)"]
    for label, sec in results.items():
        print(f"  {label:40s} {frame.height / sec:>12,.0f} rows/s  {sec:6.2f} s  {base / sec:5.2f}x baseline")
    return results


def _task_seconds(flow_run_id) -> tuple[float, str]:
    """Sum of the flow run's task run times (Prefect API), and each task's: what the flow did, without its
    own overhead."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    runs = sorted(runs, key=lambda r: r.start_time or r.expected_start_time)
    each = ", ".join(f"{r.task_key.rsplit('-', 1)[0] if r.task_key else r.name} {r.total_run_time.total_seconds():.1f}"
                     for r in runs)
    return sum(r.total_run_time.total_seconds() for r in runs), each


def bench_rebuild(lake: Path, day: date, target: Target, label: str) -> dict[str, float]:
    """Per-step times of rebuild_day into ``target``, then the Prefect flow twice (cold, warm) end to end."""
    timings = {}

    def timed(name, fn):
        started = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - started
        return out

    comp = timed("compact raw", lambda: compact_day(lake, day))
    cur = timed("analytics (run_day) + curated", lambda: steps.build_curated(lake, day))
    _, failed, total = timed("validation (GX)", lambda: steps.validate(lake, day))
    migrate(target)
    flavour = target.flavor if target.kind == "postgres" else "duckdb"
    loaded = timed(f"load {flavour}", lambda: steps.load(lake, day, target, frames=cur.frames, dq_failed=failed,
                                                         dq_total=total))
    timed("report", lambda: build_report(lake, day, lake / "reports"))
    print(f"\nrebuild_day steps, {label} -> {flavour}: {cur.frames:,} frames, {sum(loaded.rows.values()):,} "
          f"warehouse rows, {comp.before} -> {comp.after} segments, {total - failed}/{total} expectations passed")
    for name, sec in timings.items():
        print(f"  {name:34s} {sec:7.2f} s")
    print(f"  {'total of the steps':34s} {sum(timings.values()):7.2f} s")

    from flows.rebuild import rebuild_day

    os.environ["VNTRACK_LAKE"] = str(lake)
    os.environ.pop("VNTRACK_DATABASE_URL", None)
    os.environ.pop("VNTRACK_WAREHOUSE_PATH", None)
    if target.kind == "postgres":
        os.environ["VNTRACK_DATABASE_URL"], os.environ["VNTRACK_WAREHOUSE_FLAVOR"] = target.url, target.flavor
    else:
        os.environ["VNTRACK_WAREHOUSE_PATH"] = str(target.path)
    out = {"steps": sum(timings.values())}
    for run in ("first", "second"):
        cold = not _FLOW_RUNS
        started = time.perf_counter()
        state = rebuild_day(day, return_state=True)
        wall = time.perf_counter() - started
        _FLOW_RUNS.append(wall)
        assert state.is_completed(), state
        tasks, each = _task_seconds(state.state_details.flow_run_id)
        out[run] = wall
        print(f"  Prefect flow rebuild_day, {run} run: {wall:6.2f} s end to end, {tasks:6.2f} s in its tasks, "
              f"{wall - tasks:5.2f} s Prefect's own (API, state changes"
              f"{'; the first flow of the process starts the ephemeral API server' if cold else ''})")
        print(f"    tasks (s): {each}")
    return out


_FLOW_RUNS: list[float] = []


def _timescale_server(arg: str | None):
    """(server URL, stop) of a server that preloads TimescaleDB, or (None, reason)."""
    if arg:
        return arg.rstrip("/"), lambda: None
    from tests.flows.pgcluster import TIMESCALEDB_HOWTO, TIMESCALEDB_PG, Cluster, can_make_clusters, \
        timescaledb_installed

    why = can_make_clusters() or ("" if timescaledb_installed() else TIMESCALEDB_HOWTO)
    if why:
        return None, why
    cluster = Cluster(f"/usr/lib/postgresql/{TIMESCALEDB_PG}/bin", preload=("timescaledb",))
    return cluster.server, cluster.stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("VNTRACK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    ap.add_argument("--timescale", default=os.environ.get("VNTRACK_BENCH_TIMESCALE"),
                    help="server URL (no database) that preloads TimescaleDB; default: a throwaway cluster")
    ap.add_argument("--copies", type=int, default=4, help="trades of the VN30 day repeated N times for COPY")
    ap.add_argument("--skip-full", action="store_true", help="skip the full-market day")
    ap.add_argument("--skip-rebuild", action="store_true", help="only the COPY loaders")
    ap.add_argument("--flavours", default="duckdb,postgres,timescaledb",
                    help="flavours the days are rebuilt into and COPY runs on (comma-separated)")
    args = ap.parse_args()
    load1 = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load1:.1f} at start, Python "
          f"{platform.python_version()}, psycopg {psycopg.__version__}, PostgreSQL at {args.pg}")
    root = Path(tempfile.mkdtemp(prefix="vntrack-bench-"))
    os.environ["PREFECT_HOME"] = str(root / "prefect")
    ts_server, ts_stop = _timescale_server(args.timescale)
    if ts_server is None:
        print(f"timescaledb flavour skipped: {ts_stop}")
        ts_stop = lambda: None  # noqa: E731
    wanted = set(args.flavours.split(","))
    servers = {"postgres": args.pg} | ({"timescaledb": ts_server} if ts_server else {})
    drops = []

    def database(flavour: str) -> str:
        url, drop = _database(servers[flavour])
        drops.append(drop)
        return url

    try:
        vn30 = root / "vn30"
        simulate_day(vn30, DAY, universe="vn30")
        if not args.skip_rebuild:
            for flavour in [f for f in ("duckdb", *servers) if f in wanted]:
                target = (Target("duckdb", path=root / f"vn30-{flavour}.duckdb") if flavour == "duckdb" else
                          Target("postgres", url=database(flavour), flavor=flavour))
                bench_rebuild(vn30, DAY, target, "simulated VN30 day")
        else:
            steps.build_curated(vn30, DAY)
        trades = lake_io.read_curated(vn30, DAY, "trades")
        for flavour in [f for f in servers if f in wanted]:
            bench_copy(database(flavour), flavour, trades, args.copies)
        if not args.skip_full and not args.skip_rebuild:
            full = root / "full"
            started = time.perf_counter()
            simulate_day(full, DAY, universe="all")
            print(f"\nsimulated the full-market day in {time.perf_counter() - started:.1f} s")
            for flavour in [f for f in ("duckdb", *servers) if f in wanted]:
                target = (Target("duckdb", path=root / f"full-{flavour}.duckdb") if flavour == "duckdb" else
                          Target("postgres", url=database(flavour), flavor=flavour))
                bench_rebuild(full, DAY, target, "simulated full-market day")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (2 cores shared with other work skew figures)")
    finally:
        for drop in drops:
            drop()
        ts_stop()


if __name__ == "__main__":
    main()
