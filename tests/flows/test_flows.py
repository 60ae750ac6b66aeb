"""Real Prefect runs (ephemeral API) of every flow: rebuild_day, backfill (threads and Dask), reconcile_day, tail."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from storage import lake as lake_io
from warehouse.read import WarehouseReader
from warehouse.target import Target
from tests.conftest import REAL_DAY
from tests.flows.conftest import SIM_DAY, SIM_DAY_2


@pytest.fixture(name="env")
def fixture_env(monkeypatch, tmp_path):
    """Point the flows' settings at a lake and warehouse of this test (flows read Settings() at run start)."""
    def configure(lake, database_url=None, **extra):
        monkeypatch.setenv("VNTRACK_LAKE", str(lake))
        monkeypatch.setenv("VNTRACK_REPORTS_DIR", str(tmp_path / "reports"))
        if database_url:
            monkeypatch.setenv("VNTRACK_DATABASE_URL", database_url)
        else:
            monkeypatch.delenv("VNTRACK_DATABASE_URL", raising=False)
            monkeypatch.setenv("VNTRACK_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
        for k, v in extra.items():
            monkeypatch.setenv(f"VNTRACK_{k.upper()}", str(v))
        return Target("postgres", url=database_url) if database_url else \
            Target("duckdb", path=tmp_path / "warehouse.duckdb")
    return configure


def _split_into_small_segments(lake, day, rows_per_segment=5000):
    raw = lake_io.read_raw(lake, day)
    for p in lake_io.raw_segments(lake, day):
        p.unlink()
    for (session,), frame in raw.group_by("session", maintain_order=True):
        for i, chunk in enumerate(frame.iter_slices(rows_per_segment)):
            lake_io.write_raw_segment(lake, day, session, i, lake_io.raw_table_from_polars(chunk))
    return raw


def test_rebuild_day_flow_on_a_simulated_day_into_duckdb(sim_lake_copy, env, tmp_path):
    from flows.rebuild import rebuild_day

    target = env(sim_lake_copy, compact_segment_rows=200_000)
    raw = _split_into_small_segments(sim_lake_copy, SIM_DAY)
    live = sim_lake_copy / "live" / f"date={SIM_DAY}" / "snapshot"
    live.mkdir(parents=True)
    state = rebuild_day(SIM_DAY, return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert result["compaction"]["before"] > 80 and result["compaction"]["after"] == 3
    assert lake_io.read_raw(sim_lake_copy, SIM_DAY).equals(raw)
    assert result["status"] == "ok" and result["validation"]["failed"] == 0
    assert result["retention"]["live_dropped"] and not live.exists()
    assert (tmp_path / "reports" / f"report-{SIM_DAY}.html").is_file()
    assert "expectations passed" in (tmp_path / "reports" / f"dq-{SIM_DAY}.md").read_text()
    assert "expectations passed" in (tmp_path / "reports" / f"report-{SIM_DAY}.md").read_text()  # the report's section
    wh = WarehouseReader(target)
    days = wh.days()
    assert days["trading_date"].to_list() == [SIM_DAY] and days["status"].to_list() == ["ok"]
    assert wh.trades(SIM_DAY).height == result["load"]["rows"]["trades"] > 100_000
    assert wh.dq_results(SIM_DAY)["success"].all()

    again = rebuild_day(SIM_DAY, return_state=True)  # idempotent: same rows, compaction a no-op
    assert again.is_completed() and again.result()["compaction"]["after"] == 3
    assert wh.trades(SIM_DAY).height == result["load"]["rows"]["trades"]


def test_rebuild_day_flow_on_the_real_recordings_into_postgres(real_lake_copy, env, pg_factory):
    from flows.rebuild import rebuild_day

    target = env(real_lake_copy, database_url=pg_factory())
    state = rebuild_day(REAL_DAY, return_state=True)
    assert state.is_completed(), state
    wh = WarehouseReader(target)
    curated = pl.read_parquet(real_lake_copy / "curated" / f"date={REAL_DAY}" / "trades.parquet")
    assert wh.trades(REAL_DAY).with_columns(pl.col("seq").cast(pl.UInt64)).equals(curated)
    assert wh.indices(REAL_DAY).height > 0
    assert json.loads(wh.days()["row_counts"][0])["trades"] == curated.height


def test_rebuild_skips_a_non_trading_day_and_fails_clearly_without_raw(sim_lake_copy, env):
    from flows.rebuild import rebuild_day
    from replay.day import NoRawData

    env(sim_lake_copy)
    assert "not a trading day" in rebuild_day(date(2026, 7, 25))["skipped"]  # a Saturday
    state = rebuild_day(date(2026, 7, 24), return_state=True)
    assert state.is_failed()
    with pytest.raises(NoRawData, match="2026-07-22, 2026-07-23"):
        state.result()


@pytest.mark.parametrize("runner", ["thread", "dask"])
def test_backfill_rebuilds_every_trading_day_of_the_range(runner, small_lake, env, pg_factory):
    from flows.backfill import backfill

    target = env(small_lake, database_url=pg_factory())
    state = backfill(SIM_DAY, SIM_DAY_2, runner=runner, workers=2, return_state=True)
    assert state.is_completed(), state
    results = state.result()
    assert [r["trading_date"] for r in results] == [SIM_DAY.isoformat(), SIM_DAY_2.isoformat()]
    wh = WarehouseReader(target)
    assert wh.days()["trading_date"].to_list() == [SIM_DAY, SIM_DAY_2]
    for r in results:
        day = date.fromisoformat(r["trading_date"])
        assert wh.trades(day).height == r["load"]["rows"]["trades"] > 0


def test_reconcile_scores_completeness_against_the_feed_servers_rest(sim_lake, sim_lake_copy, env, tmp_path):
    from testbed.feed.totals import daily_rows
    from flows.reconcile import reconcile_day
    from flows.rebuild import rebuild_day
    from tests.test_feed import CONSUMER_ID, CONSUMER_SECRET, start_feed

    feed = start_feed(sim_lake, tmp_path, SIM_DAY)  # serves the complete day
    try:
        # the capture side holds only the first 70% of the frames: reconcile must see what is missing
        raw = lake_io.read_raw(sim_lake_copy, SIM_DAY)
        for p in lake_io.raw_segments(sim_lake_copy, SIM_DAY):
            p.unlink()
        kept = raw.head(int(raw.height * 0.7))
        for (session,), frame in kept.group_by("session", maintain_order=True):
            lake_io.write_raw_segment(sim_lake_copy, SIM_DAY, session, 0, lake_io.raw_table_from_polars(frame))
        target = env(sim_lake_copy, ssi_rest_url=feed.base, ssi_consumer_id=CONSUMER_ID,
                     ssi_consumer_secret=CONSUMER_SECRET)
        assert rebuild_day(SIM_DAY, return_state=True).is_completed()
        state = reconcile_day(SIM_DAY, return_state=True)
        assert state.is_completed(), state
        result = state.result()
    finally:
        feed.stop()
    scores = WarehouseReader(target).completeness(SIM_DAY)
    rest = {r["Symbol"]: r for r in daily_rows(raw, SIM_DAY)}
    assert set(scores["symbol"]) == set(rest)
    assert result["symbols"] == scores.height and 0 < result["mean_score"] < 1
    for row in scores.iter_rows(named=True):
        assert row["rest_volume"] == int(rest[row["symbol"]]["TotalMatchVol"])
        assert row["rest_foreign_buy_vol"] == int(rest[row["symbol"]]["ForeignBuyVolTotal"])
        ratios = [1.0 if c == r == 0 else min(c, r) / max(c, r) for c, r in (
            (row["captured_volume"], row["rest_volume"]),
            (row["captured_foreign_buy_vol"], row["rest_foreign_buy_vol"]),
            (row["captured_foreign_sell_vol"], row["rest_foreign_sell_vol"]))]
        assert row["score"] == pytest.approx(min(ratios))


def test_reconcile_of_a_completely_captured_day_scores_one_everywhere(prepared, tmp_path):
    from testbed.feed.totals import daily_rows
    from flows.reconcile import captured_totals, completeness

    lake, _ = prepared["sim"]
    rest = pl.DataFrame([{"symbol": r["Symbol"], "rest_volume": int(r["TotalMatchVol"]),
                          "rest_foreign_buy_vol": int(r["ForeignBuyVolTotal"]),
                          "rest_foreign_sell_vol": int(r["ForeignSellVolTotal"])}
                         for r in daily_rows(lake_io.read_raw(lake, SIM_DAY), SIM_DAY)])
    scores = completeness(captured_totals(lake, SIM_DAY), rest, SIM_DAY)
    assert scores.height == rest.height and (scores["score"] == 1.0).all()  # correct to the last share


def test_tail_supervises_the_live_loop_until_the_session_end(env, sim_lake_copy, tmp_path):
    from flows.tail import TailFailed, tail, tail_command

    env(sim_lake_copy)
    assert tail_command(SIM_DAY)[1:] == ["-m", "vntrack.cli", "tail", "--date", SIM_DAY.isoformat()]
    marker = tmp_path / "stopped"
    loop = [sys.executable, "-c",
            "import signal, sys, time, pathlib\n"
            f"signal.signal(signal.SIGTERM, lambda *a: (pathlib.Path({str(marker)!r}).write_text('sealed'), "
            "sys.exit(0)))\n"
            "print('live loop running', flush=True)\n"
            "time.sleep(600)\n"]
    until = datetime.now().astimezone() + timedelta(seconds=3)
    state = tail(SIM_DAY, until=until, command=loop, return_state=True)
    assert state.is_completed(), state
    assert state.result()["stopped_at_end"] and marker.read_text() == "sealed"

    crashing = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
    failed = tail.with_options(retries=0)(SIM_DAY, until=until + timedelta(seconds=60), command=crashing,
                                          return_state=True)
    assert failed.is_failed()
    with pytest.raises(TailFailed, match="exited 3"):
        failed.result()
    assert "not a trading day" in tail(date(2026, 7, 26))["skipped"]


def test_daily_stock_price_keys_are_read_in_any_spelling():
    """SSI's PascalCase JSON and its published lower-case spellings give the same measures; a record without a
    measure is refused naming it (before, a missing key scored the symbol 0 without a word)."""
    from flows.reconcile import ReconcileError, daily_stock_price_frame

    pascal = [{"Symbol": "HPG", "TotalMatchVol": "1200", "ForeignBuyVolTotal": "300", "ForeignSellVolTotal": ""}]
    documented = [{"symbol": "HPG", "Totalmatchvol": "1200", "Foreignbuyvoltotal": "300",
                   "Foreignsellvoltotal": ""}]
    want = pl.DataFrame({"symbol": ["HPG"], "rest_volume": [1200], "rest_foreign_buy_vol": [300],
                         "rest_foreign_sell_vol": [0]})
    for records in (pascal, documented):
        assert daily_stock_price_frame(records, SIM_DAY).equals(want)
    with pytest.raises(ReconcileError, match="HPG.*no ForeignBuyVolTotal in any spelling.*Symbol, TotalMatchVol"):
        daily_stock_price_frame([{"Symbol": "HPG", "TotalMatchVol": "1"}], SIM_DAY)
    with pytest.raises(ReconcileError, match="TotalMatchVol = 'n/a' is not a number"):
        daily_stock_price_frame([{**pascal[0], "TotalMatchVol": "n/a"}], SIM_DAY)
