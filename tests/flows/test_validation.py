"""The Great Expectations suites catch what they claim to, and the day is flagged or blocked as configured."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from storage import lake as lake_io
from flows import steps
from flows.validate import validate_day
from warehouse.migrate import migrate
from warehouse.read import WarehouseReader
from warehouse.target import Target
from tests.flows.conftest import SIM_DAY
from transforms.schemas import CURATED


@pytest.fixture(name="curated", scope="module")
def fixture_curated(prepared):
    lake, _ = prepared["sim"]
    return {name: lake_io.read_curated(lake, SIM_DAY, name) for name in CURATED}


def _failures(tables) -> set[tuple[str, str, str]]:
    r = validate_day(SIM_DAY, tables).results.filter(~pl.col("success"))
    return set(zip(r["table_name"], r["expectation"], r["column_name"]))


def test_a_clean_day_passes_every_expectation(prepared):
    lake, infos = prepared["sim"]
    assert infos[SIM_DAY]["dq_failed"] == 0 and infos[SIM_DAY]["dq_total"] > 80
    results = pl.read_parquet(steps.dq_path(lake, SIM_DAY))
    assert results["success"].all() and set(results["table_name"]) >= {
        "trades", "session_stats_sums", "foreign_flow_steps", "indices_steps", "candles_1m"}


def test_each_broken_rule_fails_its_expectation(curated):
    t = dict(curated)
    trades = t["trades"]
    first = trades.row(0, named=True)
    bad_trades = pl.concat([
        trades,
        trades.head(1),  # duplicate key
    ]).with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.col("ceiling") + 1000).otherwise(pl.col("price")).alias("price"),
        pl.when(pl.int_range(pl.len()) == 2).then(0).otherwise(pl.col("volume")).alias("volume"),
        pl.when(pl.int_range(pl.len()) == 3).then(pl.col("exch_time") + timedelta(hours=9))
        .otherwise(pl.col("exch_time")).alias("exch_time"),
    )
    t["trades"] = bad_trades
    stats = t["session_stats"]
    t["session_stats"] = stats.with_columns(
        pl.when((pl.col("phase") == "ato") & (pl.col("symbol") == first["symbol"]))
        .then(pl.col("volume") + 100).otherwise(pl.col("volume")).alias("volume"))
    flow = t["foreign_flow"].sort("session", "seq")
    sym = flow["symbol"][0]
    idx = flow.with_row_index().filter((pl.col("symbol") == sym) & ~pl.col("correction"))["index"][-1]
    t["foreign_flow"] = flow.with_columns(
        pl.when(pl.int_range(pl.len()) == idx).then(0).otherwise(pl.col("buy_vol")).alias("buy_vol"))
    failed = _failures(t)
    assert ("trades", "expect_compound_columns_to_be_unique", "session,seq") in failed
    assert ("trades", "expect_column_pair_values_a_to_be_greater_than_b", "ceiling,price") in failed
    assert ("trades", "expect_column_values_to_be_between", "volume") in failed
    assert ("trades", "expect_column_values_to_be_between", "exch_seconds") in failed
    assert ("session_stats_sums", "expect_column_pair_values_to_be_equal", "volume_phases,volume_total") in failed
    assert ("session_stats_sides", "expect_column_pair_values_to_be_equal", "sides_volume,volume") in failed
    assert ("foreign_flow_steps", "expect_column_values_to_be_between", "buy_vol_step") in failed
    assert not {f for f in failed if f[0] in ("candles_1m", "indices", "board", "alerts", "basis")}


@pytest.mark.parametrize("policy", ["degrade", "block"])
def test_a_failed_expectation_degrades_or_blocks_the_day(policy, prepared, tmp_path):
    lake, infos = prepared["sim"]
    target = Target("duckdb", path=tmp_path / "w.duckdb")
    migrate(target)
    info = {**infos[SIM_DAY], "dq_failed": 2}
    if policy == "block":
        with pytest.raises(steps.LoadBlocked, match="VNTRACK_DQ_ON_FAILURE=block"):
            steps.load(lake, SIM_DAY, target, on_failure="block", **info)
        assert WarehouseReader(target).days().height == 0
    else:
        steps.load(lake, SIM_DAY, target, on_failure="degrade", **info)
        days = WarehouseReader(target).days()
        assert days["status"].to_list() == ["degraded"] and days["dq_failed"].to_list() == [2]
