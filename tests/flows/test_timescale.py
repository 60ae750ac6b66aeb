"""TimescaleDB: hypertables, continuous aggregates, compression and retention policies on a real server.

No TimescaleDB build is reachable on this machine (docs/operations.md §6): give one with
``VNTRACK_TEST_TIMESCALE_URL=postgresql://user@host:port/db`` (a database this test may fill); otherwise the
test is skipped and says why.
"""

from __future__ import annotations

import os

import polars as pl
import psycopg
import pytest

from flows import steps
from warehouse.migrate import apply_retention, migrate, status
from warehouse.read import WarehouseReader
from warehouse.schema_v1 import TABLES_V1
from warehouse.target import Target
from tests.flows.conftest import SIM_DAY

URL = os.environ.get("VNTRACK_TEST_TIMESCALE_URL")
pytestmark = pytest.mark.skipif(
    not URL, reason="VNTRACK_TEST_TIMESCALE_URL not set: no TimescaleDB server given (none is packaged for this "
                    "machine); the TimescaleDB statements run only against a real one")


def test_timescaledb_flavour_hypertables_aggregates_and_policies(prepared):
    target = Target("postgres", url=URL)
    migrate(target)
    assert status(target).flavor == "timescaledb"
    lake, infos = prepared["sim"]
    steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
    steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])  # replace, not append
    apply_retention(target, retention_days=3650)
    with psycopg.connect(URL) as conn:
        hypertables = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
        assert hypertables >= {t.name for t in TABLES_V1 if t.time}
        caggs = {r[0] for r in conn.execute("SELECT view_name FROM timescaledb_information.continuous_aggregates")}
        assert caggs >= {"candles_5m", "candles_1h"}
        jobs = {r[0] for r in conn.execute("SELECT proc_name FROM timescaledb_information.jobs")}
        assert {"policy_compression", "policy_refresh_continuous_aggregate", "policy_retention"} <= jobs
    wh = WarehouseReader(target)
    assert wh.candles(SIM_DAY, "FPT", "5m")["volume"].sum() == wh.candles(SIM_DAY, "FPT")["volume"].sum() > 0
    curated = lake / "curated" / f"date={SIM_DAY}" / "trades.parquet"
    assert wh.trades(SIM_DAY).height == pl.read_parquet(curated).height
