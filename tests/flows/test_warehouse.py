"""The warehouse on DuckDB and on the real PostgreSQL server: migrations, replace-a-date loads, same answers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import date

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from flows import steps
from warehouse.flavor import offer
from warehouse.load import conform, replace_day
from warehouse.migrate import migrate, status
from warehouse.read import WarehouseReader
from warehouse.schema_v1 import TABLES_V1
from warehouse.schema_v2 import ADDED_IN_0002, TABLES_V2
from warehouse.target import Target
from tests.conftest import REAL_DAY
from tests.flows.conftest import SIM_DAY, SIM_DAY_2
from transforms.schemas import CURATED


MIGRATIONS = ["0001_initial", "0002_foreign_flow_side_speeds"]


def _queries(day: date, symbol: str):
    return {
        "days": lambda w: w.days().drop("loaded_at"),
        "trades": lambda w: w.trades(day), "trades_sym": lambda w: w.trades(day, symbol),
        "candles_1m": lambda w: w.candles(day, symbol), "candles_5m": lambda w: w.candles(day, symbol, "5m"),
        "candles_1h": lambda w: w.candles(day, symbol, "1h"), "book_top": lambda w: w.book_top(day, symbol),
        "session_stats": lambda w: w.session_stats(day), "foreign_flow": lambda w: w.foreign_flow(day),
        "foreign_summary": lambda w: w.foreign_summary(day), "indices": lambda w: w.indices(day),
        "basis": lambda w: w.basis(day), "alerts": lambda w: w.alerts(day), "board": lambda w: w.board(day),
        "dq_results": lambda w: w.dq_results(day).drop("run_id", "checked_at"),
        "capture_events": lambda w: w.capture_events(day),
    }


def test_migrations_are_versioned_idempotent_and_report_the_flavour(pg_factory, tmp_path):
    pg = Target("postgres", url=pg_factory())
    duck = Target("duckdb", path=tmp_path / "wh.duckdb")
    with psycopg.connect(pg.url) as conn:
        found = offer(conn)
    for target, flavour in ((pg, "timescaledb" if found.timescaledb else "postgres"), (duck, "duckdb")):
        assert status(target).pending == MIGRATIONS
        assert migrate(target) == MIGRATIONS
        assert migrate(target) == []
        st = status(target)
        assert (st.flavor, st.applied, st.pending, st.days) == (flavour, MIGRATIONS, [], 0)
    st = status(pg)
    assert (st.timescale_available, st.timescale_preloaded) == (found.installed, found.preloaded)


def test_warehouse_tables_carry_the_curated_schemas():
    """Schema v2 (the current one) stores every curated column in the curated order; v1 lacked exactly the
    columns migration 0002 adds (foreign_flow's buy/sell speed and acceleration, issue 11)."""
    specs = {t.name: [c for c, _ in t.columns] for t in TABLES_V2}
    for name in CURATED:
        assert specs[name] == CURATED[name].names(), name
    v1 = {t.name: [c for c, _ in t.columns] for t in TABLES_V1}
    for name, cols in specs.items():
        assert [c for c in cols if c not in v1[name]] == [c for c, _ in ADDED_IN_0002.get(name, ())], name
    assert all("trading_date" in cols for cols in specs.values())


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "timescaledb"])
def test_migration_0002_upgrades_a_warehouse_loaded_under_v1(engine, prepared, pg_factory, ts_factory, tmp_path):
    """A date loaded under schema v1 keeps its rows through 0002 (NULL in the four added columns; on
    TimescaleDB with its chunk compressed), and loading it again fills them with the curated values."""
    import psycopg

    from warehouse.load import ensure_partitions, partition_name
    from warehouse.target import connect_duckdb

    lake, infos = prepared["sim"]
    target = (Target("duckdb", path=tmp_path / "wh.duckdb") if engine == "duckdb" else
              Target("postgres", url=(ts_factory if engine == "timescaledb" else pg_factory)(), flavor=engine))
    assert migrate(target, upto="0001_initial") == ["0001_initial"]
    with pytest.raises(ValueError, match="0002_foreign_flow_side_speeds"):
        migrate(target, upto="0003")
    flow = pl.read_parquet(lake / "curated" / f"date={SIM_DAY}" / "foreign_flow.parquet")
    v1 = [c for c, _ in next(t for t in TABLES_V1 if t.name == "foreign_flow").columns]
    old = flow.select(v1).with_columns(pl.col("seq").cast(pl.Int64))
    if engine == "duckdb":
        conn = connect_duckdb(target.path)
        conn.register("_old", old.to_arrow())
        conn.execute(f"INSERT INTO foreign_flow ({', '.join(v1)}) SELECT {', '.join(v1)} FROM _old")
        conn.close()
    else:
        with psycopg.connect(target.url, autocommit=True) as conn:
            if engine == "postgres":
                ensure_partitions(conn, SIM_DAY, ["foreign_flow"])
            with conn.cursor().copy(f"COPY foreign_flow ({', '.join(v1)}) FROM STDIN") as copy:
                for row in old.iter_rows():
                    copy.write_row(row)
            if engine == "timescaledb":
                conn.execute("SELECT compress_chunk(c) FROM show_chunks('foreign_flow') c")
                assert conn.execute("SELECT count(*) FROM timescaledb_information.chunks WHERE "
                                    "hypertable_name = 'foreign_flow' AND is_compressed").fetchone()[0] >= 1
            else:
                assert conn.execute("SELECT to_regclass(%s)", (partition_name("foreign_flow", SIM_DAY),)
                                    ).fetchone()[0] is not None
    assert status(target).pending == MIGRATIONS[1:]
    assert migrate(target) == MIGRATIONS[1:]
    added = [c for c, _ in ADDED_IN_0002["foreign_flow"]]
    read = WarehouseReader(target).foreign_flow(SIM_DAY)
    assert read.height == flow.height > 0
    assert read.select(added).null_count().row(0) == (flow.height,) * len(added)  # loaded before 0002
    assert_frame_equal(read.select(v1).sort("session", "seq"), old.sort("session", "seq"))
    steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])  # loading the date again fills them
    read = WarehouseReader(target).foreign_flow(SIM_DAY)
    assert read.select(added).null_count().row(0) == flow.select(added).null_count().row(0)
    assert all(n < flow.height for n in flow.select(added).null_count().row(0))  # the curated values arrived
    assert_frame_equal(read.with_columns(pl.col("seq").cast(pl.UInt64)), flow)


@pytest.mark.parametrize("which", ["simulated", "real"])
def test_duckdb_and_each_postgres_flavour_give_the_same_answers(which, prepared, pg_target, tmp_path):
    """DuckDB vs plain PostgreSQL, and DuckDB vs TimescaleDB (hypertables, continuous aggregates): every query."""
    day, symbol = (SIM_DAY, "FPT") if which == "simulated" else (REAL_DAY, "HPG")
    lake, infos = prepared["sim" if which == "simulated" else "real"]
    info = infos[day]
    pg, duck = pg_target(), Target("duckdb", path=tmp_path / "wh.duckdb")
    for target in (pg, duck):
        migrate(target)
        steps.load(lake, day, target, **info)
    assert status(pg).flavor == pg.flavor
    a, b = WarehouseReader(pg), WarehouseReader(duck)
    trades = pl.read_parquet(lake / "curated" / f"date={day}" / "trades.parquet")
    assert a.trades(day).height == trades.height > 0
    assert_frame_equal(a.trades(day).with_columns(pl.col("seq").cast(pl.UInt64)), trades)
    for name, query in _queries(day, symbol).items():
        assert_frame_equal(query(a), query(b), check_exact=False, rel_tol=1e-12), name
    assert a.candles(day, symbol, "5m")["volume"].sum() == a.candles(day, symbol)["volume"].sum() > 0


@pytest.mark.parametrize("kind", ["postgres", "timescaledb", "duckdb"])
def test_loading_a_date_twice_leaves_exactly_one_copy(kind, prepared, request, tmp_path):
    if kind == "duckdb":
        target = Target("duckdb", path=tmp_path / "w.db")
    else:
        factory = request.getfixturevalue("ts_factory" if kind == "timescaledb" else "pg_factory")
        target = Target("postgres", url=factory(), flavor=kind)
    migrate(target)
    assert status(target).flavor == kind
    lake, infos = prepared["sim"]
    first = steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
    steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
    wh = WarehouseReader(target)
    assert wh.trades(SIM_DAY).height == first.rows["trades"]
    assert wh.candles(SIM_DAY, "FPT", "5m")["volume"].sum() == wh.candles(SIM_DAY, "FPT")["volume"].sum()
    days = wh.days()
    assert days["trading_date"].to_list() == [SIM_DAY]
    assert json.loads(days["row_counts"][0])["trades"] == first.rows["trades"]


def test_two_dates_loading_concurrently_do_not_interfere(prepared, pg_target):
    target = pg_target()
    migrate(target)
    sim_lake_copy, infos = prepared["sim"]
    expected = {day: pl.read_parquet(sim_lake_copy / "curated" / f"date={day}" / "trades.parquet").height
                for day in infos}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(day):
        try:
            barrier.wait(timeout=60)
            for _ in range(2):
                steps.load(sim_lake_copy, day, target, **infos[day])
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(day,)) for day in infos]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    wh = WarehouseReader(target)
    assert wh.days()["trading_date"].to_list() == [SIM_DAY, SIM_DAY_2]
    for day, n in expected.items():
        trades = wh.trades(day)
        assert trades.height == n and trades["trading_date"].unique().to_list() == [day]


def test_a_frame_of_another_date_is_refused_and_nothing_changes(prepared, tmp_path):
    target = Target("duckdb", path=tmp_path / "w.duckdb")
    migrate(target)
    sim_lake_copy, infos = prepared["sim"]
    steps.load(sim_lake_copy, SIM_DAY, target, **infos[SIM_DAY])
    trades = pl.read_parquet(sim_lake_copy / "curated" / f"date={SIM_DAY}" / "trades.parquet")
    with pytest.raises(ValueError, match="other trading dates"):
        replace_day(target, SIM_DAY_2, {"trades": trades})
    with pytest.raises(ValueError, match="lacks columns"):
        conform("trades", trades.drop("price"), SIM_DAY)
    assert WarehouseReader(target).trades(SIM_DAY).height == trades.height


def test_the_read_side_imports_without_prefect_or_great_expectations():
    code = ("import sys, warehouse.read, warehouse.migrate, warehouse.load;"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert "warehouse" in loaded and not {"prefect", "great_expectations", "dask", "flows"} & loaded


def test_the_apps_history_reads_each_postgres_flavour_with_the_same_answers_as_the_lake(prepared, pg_target):
    """app.data.history over the PostgreSQL / TimescaleDB warehouse (VNTRACK_DATABASE_URL) == over the lake's
    curated files."""
    from app.data.history import LakeHistory, PostgresHistory, open_history

    lake, infos = prepared["sim"]
    target = pg_target()
    url = target.url
    migrate(target)
    assert status(target).flavor == target.flavor
    steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
    pg, files = open_history(lake, url), LakeHistory(lake)
    assert isinstance(pg, PostgresHistory)
    assert pg.days() == [SIM_DAY] and SIM_DAY in files.days()  # only SIM_DAY was loaded
    assert pg.symbols(SIM_DAY) == files.symbols(SIM_DAY)
    for name, call in {
        "candles": lambda h: h.candles(SIM_DAY, "FPT"),
        "candles_5m": lambda h: h.candles(SIM_DAY, "FPT", "5m"),  # PostgreSQL: the continuous aggregate
        "candles_1h": lambda h: h.candles(SIM_DAY, "FPT", "1h"),
        "trades": lambda h: h.trades(SIM_DAY, "FPT", 200),
        "trade_sides": lambda h: h.trade_sides(SIM_DAY, "FPT"),
        "foreign": lambda h: h.foreign_history(SIM_DAY)[1],
        "index": lambda h: h.index_history(SIM_DAY),
        "basis": lambda h: h.basis_by_day().filter(pl.col("trading_date") == SIM_DAY),
        "alerts": lambda h: h.alert_counts(SIM_DAY),
    }.items():
        got, want = call(pg), call(files)
        assert got.height == want.height > 0, name
        assert_frame_equal(got, want, check_dtypes=False, check_exact=False, rel_tol=1e-12), name
    assert pg.dq_results(SIM_DAY).height == infos[SIM_DAY]["dq_total"] > 0  # the day's expectation results
