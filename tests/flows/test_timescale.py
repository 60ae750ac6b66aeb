"""TimescaleDB for real: flavour detection, hypertables, continuous aggregates, compression and retention policies.

The TimescaleDB server is a throwaway PostgreSQL 15 cluster preloading the extension (``timescale_server`` in
tests/flows/conftest.py; TimescaleDB built by scripts/timescaledb.sh). The shared server on 5432 may have the
extension's files installed without preloading them: the flavour tests assert what each server really offers.
"""

from __future__ import annotations

import warnings
from datetime import date

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from flows import steps
from warehouse.flavor import FlavorUnavailable, FlavorWarning, Offer, choose, offer
from warehouse.load import replace_day
from warehouse.migrate import apply_retention, migrate, status
from warehouse.read import WarehouseReader
from warehouse.schema_v1 import TABLES_V1
from warehouse.target import Target
from tests.flows.conftest import SIM_DAY, SIM_DAY_2

HYPERTABLES = {t.name for t in TABLES_V1 if t.time}


def _offer(url: str) -> Offer:
    with psycopg.connect(url) as conn:
        return offer(conn)


def _migrate_quietly(target: Target) -> list[FlavorWarning]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        migrate(target)
    return [w.message for w in seen if issubclass(w.category, FlavorWarning)]


def test_the_flavour_is_what_the_server_really_offers(pg_factory, ts_factory):
    ts = _offer(ts_factory())
    assert ts.installed and ts.preloaded and ts.timescaledb and ts.version == 15

    # the shared server: TimescaleDB is usable only when installed *and* preloaded
    shared_url = pg_factory()
    shared = _offer(shared_url)
    auto = Target("postgres", url=shared_url)
    told = _migrate_quietly(auto)
    assert status(auto).flavor == ("timescaledb" if shared.timescaledb else "postgres")
    if shared.installed and not shared.preloaded:  # installed is not usable: one warning naming the setting
        assert len(told) == 1 and "VNTRACK_WAREHOUSE_FLAVOR" in str(told[0])
        assert "shared_preload_libraries" in str(told[0])
    else:
        assert told == []
    if not shared.timescaledb:  # asked for explicitly: refused, saying what to change, and nothing is applied
        explicit = Target("postgres", url=pg_factory(), flavor="timescaledb")
        with pytest.raises(FlavorUnavailable, match="VNTRACK_WAREHOUSE_FLAVOR=timescaledb") as refused:
            migrate(explicit)
        assert ("shared_preload_libraries" if shared.installed else "scripts/timescaledb.sh") in str(refused.value)
        assert status(explicit).applied == [] and status(explicit).flavor is None

    # the TimescaleDB server: auto takes it, postgres is honoured on it too
    for asked, got in (("auto", "timescaledb"), ("timescaledb", "timescaledb"), ("postgres", "postgres")):
        target = Target("postgres", url=ts_factory(), flavor=asked)
        assert _migrate_quietly(target) == []
        assert status(target).flavor == got, asked


def test_every_fallback_rule():
    installed_only, usable, absent = Offer(True, False, 15), Offer(True, True, 15), Offer(False, False, 15)
    with pytest.warns(FlavorWarning, match="shared_preload_libraries = 'timescaledb'"):
        assert choose(installed_only, "auto") == "postgres"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert choose(absent, "auto") == choose(usable, "postgres") == "postgres"
        assert choose(usable, "auto") == choose(usable, "timescaledb") == "timescaledb"
    with pytest.raises(FlavorUnavailable, match="restart the server"):
        choose(installed_only, "timescaledb")
    with pytest.raises(FlavorUnavailable, match="not installed for PostgreSQL 15"):
        choose(absent, "timescaledb")
    with pytest.raises(ValueError, match="auto, timescaledb or postgres"):
        choose(usable, "timescale")


def _jobs(conn, proc: str) -> list[int]:
    return [r[0] for r in conn.execute("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = %s "
                                       "ORDER BY job_id", (proc,))]


def _compressed_chunks(conn) -> dict[str, int]:
    return dict(conn.execute("SELECT hypertable_name, count(*) FROM timescaledb_information.chunks "
                             "WHERE is_compressed GROUP BY 1").fetchall())


def _answers(wh: WarehouseReader, day: date) -> dict[str, pl.DataFrame]:
    return {"trades": wh.trades(day), "book_top": wh.book_top(day, "FPT"), "foreign_flow": wh.foreign_flow(day),
            "indices": wh.indices(day), "candles_1m": wh.candles(day, "FPT"),
            "candles_5m": wh.candles(day, "FPT", "5m"), "candles_1h": wh.candles(day, "FPT", "1h")}


def test_hypertables_aggregates_compression_and_retention_work(prepared, ts_factory):
    target = Target("postgres", url=ts_factory(), flavor="timescaledb")
    migrate(target)
    assert status(target).flavor == "timescaledb"
    lake, infos = prepared["sim"]
    for day in (SIM_DAY, SIM_DAY_2):
        steps.load(lake, day, target, **infos[day])
    steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])  # replace, not append
    apply_retention(target, retention_days=3650)
    wh = WarehouseReader(target)
    with psycopg.connect(target.url, autocommit=True) as conn:
        hypertables = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
        assert hypertables >= HYPERTABLES
        caggs = {r[0] for r in conn.execute("SELECT view_name FROM timescaledb_information.continuous_aggregates")}
        assert caggs >= {"candles_5m", "candles_1h"}
        assert _jobs(conn, "policy_refresh_continuous_aggregate") and _jobs(conn, "policy_retention")

        # continuous aggregates were refreshed by the load: 5m / 1h candles hold the 1m candles' totals
        one_minute = wh.candles(SIM_DAY, "FPT")
        for interval in ("5m", "1h"):
            agg = wh.candles(SIM_DAY, "FPT", interval)
            assert agg["volume"].sum() == one_minute["volume"].sum() > 0
            assert agg["high"].max() == one_minute["high"].max() and agg["open"][0] == one_minute["open"][0]
        before = _answers(wh, SIM_DAY)
        assert before["trades"].height == pl.read_parquet(
            lake / "curated" / f"date={SIM_DAY}" / "trades.parquet").height

        # the compression policy (7 days) compresses the July chunks; they still read the same
        assert not _compressed_chunks(conn)
        for job in _jobs(conn, "policy_compression"):
            conn.execute("CALL run_job(%s)", (job,))
        compressed = _compressed_chunks(conn)
        assert {"trades", "candles_1m", "book_top"} <= set(compressed), compressed
        for name, frame in _answers(wh, SIM_DAY).items():
            assert_frame_equal(frame, before[name]), name

        # replacing a date whose chunks are compressed replaces its rows there (half the trades, then all again)
        half = before["trades"].head(before["trades"].height // 2)
        replace_day(target, SIM_DAY, {"trades": half})
        assert_frame_equal(wh.trades(SIM_DAY), half)
        steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
        for name, frame in _answers(wh, SIM_DAY).items():
            assert_frame_equal(frame, before[name]), name
        assert wh.trades(SIM_DAY_2).height == pl.read_parquet(
            lake / "curated" / f"date={SIM_DAY_2}" / "trades.parquet").height

        # the retention policy (30 days, from the setting) drops the July chunks when its job runs
        apply_retention(target, retention_days=30)
        for job in _jobs(conn, "policy_retention"):
            conn.execute("CALL run_job(%s)", (job,))
        assert wh.trades(SIM_DAY).height == wh.trades(SIM_DAY_2).height == wh.candles(SIM_DAY, "FPT").height == 0
        apply_retention(target, retention_days=None)
        assert not _jobs(conn, "policy_retention")
