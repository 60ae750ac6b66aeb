"""The app's data layer without Streamlit's runtime: the snapshot source (contract C3 and curated days), the
replay cut, and the history reader's SQL against the curated tables it reads."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from app.data import snapshot as snap_io
from app.data.history import LakeHistory
from app.data.replay import NotReplayable, load_replay_day, snapshot_at
from app.data.snapshot import SnapshotFormatError, exch_datetime
from storage import live as live_store
from app.ui import shaping
from storage import lake as lake_io
from tests.webapp.conftest import DAY, LIVE_AT
from tests.webapp.live_snapshot import health, publish
from transforms.schemas import CURATED


@pytest.fixture(name="replay", scope="module")
def fixture_replay(sim_lake):
    return load_replay_day(sim_lake, DAY)


def test_replay_at_the_end_of_the_day_equals_the_curated_tables(sim_lake, replay):
    cut = snapshot_at(replay, replay.end)
    for name in CURATED:
        assert_frame_equal(cut.table(name), lake_io.read_curated(sim_lake, DAY, name))


def test_replay_cut_holds_only_what_happened_before_the_cursor(sim_lake, replay):
    cursor = exch_datetime(DAY, "10:30:00")
    cut = snapshot_at(replay, cursor)
    for name in ("trades", "foreign_flow", "indices", "basis", "alerts"):
        t = cut.table(name)
        assert t.height and t["exch_time"].max() <= cursor
    assert cut.table("board")["last_exch_time"].max() <= cursor
    # the derived tables are those of the cut trades: session stats add up to the cut trades' volume
    total = cut.table("session_stats").filter(pl.col("phase") == "total")["volume"].sum()
    assert total == cut.table("trades")["volume"].sum()
    assert cut.table("candles_1m")["minute"].max() <= cursor
    before = snapshot_at(replay, replay.start - timedelta(seconds=1))
    assert before.is_empty and before.table("board").height == 0


def test_replay_of_a_day_without_curated_tables_says_how_to_build_it(empty_lake):
    with pytest.raises(NotReplayable, match="vntrack replay --date 2026-07-22"):
        load_replay_day(empty_lake, DAY)


# ------------------------------------------------------------------------------------------------ live (C3)


@pytest.fixture(name="published")
def fixture_published(tmp_path, replay) -> tuple[Path, dict]:
    lake = tmp_path / "lake"
    tables = dict(snapshot_at(replay, exch_datetime(DAY, LIVE_AT)).tables)
    for v in range(1, 6):
        publish(lake, DAY, tables, v, health(1000 * v))
    return lake, tables


def test_live_snapshot_reads_the_pointer_and_its_version(published):
    lake, tables = published
    snap = snap_io.read_live_snapshot(lake, DAY)
    assert snap.kind == "live" and snap.version == 5 and snap.health["frames_total"] == 5000
    assert sorted(snap.tables) == sorted(live_store.SNAPSHOT_TABLES)  # C3 carries foreign_flow, not trades
    assert not snap.has("trades") and snap.table("trades").height == 0
    for name in live_store.SNAPSHOT_TABLES:
        assert_frame_equal(snap.table(name), tables[name])
    kept = sorted(p.name for p in live_store.snapshot_root(lake, DAY).iterdir() if p.is_dir())
    assert kept == ["v000000000003", "v000000000004", "v000000000005"]
    assert snap_io.choose_source(lake) == ("live", DAY)


def test_a_reader_that_loses_the_race_retries_once(published, monkeypatch):
    lake, _ = published
    real = live_store.read_pointer
    calls = []

    def stale_then_current(lake_root, day):
        calls.append(1)
        ptr = real(lake_root, day)
        return {**ptr, "dir": "v000000000001", "version": 1} if len(calls) == 1 else ptr  # v1 was deleted

    monkeypatch.setattr(live_store, "read_pointer", stale_then_current)
    snap = snap_io.read_live_snapshot(lake, DAY)
    assert snap.version == 5 and len(calls) == 2


def test_a_malformed_pointer_is_a_clear_error(published):
    lake, _ = published
    path = live_store.current_path(lake, DAY)
    path.write_text(json.dumps({"version": "5", "dir": "v5"}))
    with pytest.raises(SnapshotFormatError, match="contract C3"):
        snap_io.read_live_snapshot(lake, DAY)
    path.write_text("{not json")
    with pytest.raises(SnapshotFormatError, match="not JSON"):
        snap_io.read_live_snapshot(lake, DAY)


def test_a_table_with_missing_columns_is_refused(published):
    lake, tables = published
    vdir = live_store.snapshot_root(lake, DAY) / "v000000000005"
    tables["board"].drop("last_price").write_parquet(vdir / "board.parquet")
    with pytest.raises(SnapshotFormatError, match="lacks columns \\['last_price'\\]"):
        snap_io.read_live_snapshot(lake, DAY)


def test_source_choice_prefers_a_running_live_day_then_the_curated_day(sim_lake, tmp_path, replay):
    lake = tmp_path / "lake"
    shutil.copytree(sim_lake / "curated", lake / "curated")
    assert snap_io.choose_source(lake) == ("curated", DAY)
    tables = dict(snapshot_at(replay, exch_datetime(DAY, LIVE_AT)).tables)
    publish(lake, DAY, tables, 1, health(10, state="running"))
    assert snap_io.choose_source(lake) == ("live", DAY)
    publish(lake, DAY, tables, 2, health(10, state="stopped"))
    assert snap_io.choose_source(lake) == ("curated", DAY)  # the rebuilt day is final
    later = date(2026, 7, 23)
    publish(lake, later, tables, 1, health(10, state="stopped"))
    assert snap_io.choose_source(lake) == ("live", later)  # newer date, even stopped
    assert snap_io.choose_source(tmp_path / "nothing") is None


# ------------------------------------------------------------------------------------------------- history


@pytest.fixture(name="history", scope="module")
def fixture_history(sim_lake):
    h = LakeHistory(sim_lake)
    yield h
    h.close()


def test_history_reads_the_curated_tables(sim_lake, history):
    assert history.days() == [DAY]
    candles = lake_io.read_curated(sim_lake, DAY, "candles_1m").filter(pl.col("symbol") == "FPT")
    got = history.candles(DAY, "FPT")
    assert_frame_equal(got, candles.drop("trading_date", "symbol"), check_dtypes=False)
    assert got["minute"].dtype.time_zone == "Asia/Ho_Chi_Minh"
    symbols = history.symbols(DAY)
    assert symbols[-2:] == ["VN30F2608", "VN30F2609"] or set(symbols[-2:]) == {"VN30F2608", "VN30F2609"}
    trades = history.trades(DAY, "FPT", 10)
    all_fpt = lake_io.read_curated(sim_lake, DAY, "trades").filter(pl.col("symbol") == "FPT")
    assert trades["seq"].to_list() == all_fpt.sort("seq", descending=True)["seq"].head(10).to_list()
    sides = history.trade_sides(DAY, "FPT")
    assert sides["volume"].sum() == all_fpt["volume"].sum()


def test_history_series_match_the_tables(sim_lake, history):
    summary, minutes = history.foreign_history(DAY)
    flow = lake_io.read_curated(sim_lake, DAY, "foreign_flow")
    # the cumulative line is the net level: it ends at the summary's net, baselines (first R rows) included
    last_levels = flow.sort("session", "seq").group_by("symbol").agg(pl.col("cum_net_val_vnd").last())
    assert minutes["cum_net_val_vnd"][-1] == last_levels["cum_net_val_vnd"].sum() == summary["net_val_vnd"].sum()
    baselines = flow.sort("session", "seq").group_by("symbol").agg(pl.col("cum_net_val_vnd").first())
    assert flow["net_val_vnd"].sum() == summary["net_val_vnd"].sum() - baselines["cum_net_val_vnd"].sum()
    idx = history.index_history(DAY)
    vn30 = lake_io.read_curated(sim_lake, DAY, "indices").filter(pl.col("index_id") == "VN30").sort("session", "seq")
    assert idx.filter(pl.col("index_id") == "VN30")["value"][-1] == vn30["value"][-1]
    basis = history.basis_history(DAY)
    assert basis["volume"].sum() == lake_io.read_curated(sim_lake, DAY, "basis")["volume"].sum()
    by_day = history.basis_by_day()
    assert by_day["symbol"].to_list() == ["VN30F2608"]
    assert history.alert_counts(DAY)["alerts"].sum() == lake_io.read_curated(sim_lake, DAY, "alerts").height
    assert history.dq_results(DAY).height == 0


def test_history_on_an_empty_lake_answers_empty(empty_lake):
    h = LakeHistory(empty_lake)
    assert h.days() == [] and h.candles(DAY, "FPT").height == 0 and h.index_by_day().height == 0
    h.close()
    assert not empty_lake.exists()


def test_history_parameters_are_never_sql(history):
    assert history.candles(DAY, "FPT' OR '1'='1").height == 0


# ------------------------------------------------------------------------------------------------- shaping


def test_vendor_agreement_counts_every_flagged_trade(sim_lake):
    trades = lake_io.read_curated(sim_lake, DAY, "trades")
    agree = shaping.vendor_agreement(trades)
    total = agree.filter(pl.col("phase") == "total").row(0, named=True)
    flagged = trades.filter(pl.col("vendor_side").is_in(["BU", "SD"]))
    expected = flagged.filter(((pl.col("vendor_side") == "BU") & (pl.col("aggressor_side") == "buy"))
                              | ((pl.col("vendor_side") == "SD") & (pl.col("aggressor_side") == "sell"))).height
    assert total["compared"] == flagged.height and total["agree"] == expected
    assert agree.filter(pl.col("phase") != "total")["compared"].sum() == flagged.height


def test_the_report_and_the_app_show_one_vendor_agreement(sim_lake):
    """Both read transforms.classify.vendor_agreement: same counts, whatever the flag's case or padding."""
    from reports.sections import _agreement

    trades = lake_io.read_curated(sim_lake, DAY, "trades")
    flagged = pl.col("vendor_side").is_in(["BU", "SD"])
    messy = trades.with_columns(pl.when(flagged & (pl.col("seq") % 2 == 0))
                                .then(pl.concat_str(pl.lit(" "), pl.col("vendor_side").str.to_lowercase()))
                                .otherwise(pl.col("vendor_side")).alias("vendor_side"))
    rows = messy.with_columns(pl.lit("quote").alias("rule"), pl.lit("-").alias("origin"), pl.lit("-").alias("source"))
    report = _agreement(rows).filter(pl.col("split") == "all").row(0, named=True)
    app = shaping.vendor_agreement(messy).filter(pl.col("phase") == "total").row(0, named=True)
    clean = shaping.vendor_agreement(trades).filter(pl.col("phase") == "total").row(0, named=True)
    assert report["n"] == app["compared"] == clean["compared"] == trades.filter(flagged).height > 0
    assert report["agree"] == app["agree"] == clean["agree"]


def test_phase_totals_add_up_to_the_day(sim_lake):
    stats = lake_io.read_curated(sim_lake, DAY, "session_stats")
    phases = shaping.phase_totals(stats)
    stocks_total = stats.filter((pl.col("phase") == "total") & ~pl.col("symbol").str.starts_with("VN30F"))
    for col in ("buy_volume", "sell_volume", "neutral_volume"):
        assert phases[col].sum() == stocks_total[col].sum()


def test_convergence_uses_the_third_thursday_expiry():
    assert shaping.expiry_of("VN30F2608") == date(2026, 8, 20)
    rows = pl.DataFrame({"basis_pts": [8.0, -2.0]})
    c = shaping.convergence(rows, DAY, "VN30F2608")
    assert c == {"days_to_expiry": 29, "abs_basis_now": 2.0, "abs_basis_open": 8.0, "ratio": 0.25}


# ---------------------------------------------------------------------------------------------- warehouse


def _warehouse(sim_lake: Path, lake: Path, tables) -> Path:
    import duckdb

    lake.mkdir(parents=True)
    path = lake / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for t in tables:
        src = str(sim_lake / "curated" / f"date={DAY}" / f"{t}.parquet")
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_parquet(?)", [src])
    con.close()
    return path


def test_the_warehouse_answers_like_the_lake(sim_lake, history, tmp_path):
    import duckdb

    from app.data.history import HISTORY_TABLES, WarehouseHistory, open_history

    path = _warehouse(sim_lake, tmp_path / "lake", HISTORY_TABLES)
    wh = open_history(path.parent)
    assert isinstance(wh, WarehouseHistory)
    assert wh.days() == history.days()
    assert_frame_equal(wh.candles(DAY, "FPT"), history.candles(DAY, "FPT"))
    assert_frame_equal(wh.index_history(DAY), history.index_history(DAY))
    assert wh.dq_results(DAY).height == 0
    duckdb.connect(str(path)).close()  # no lock is held between queries: the loader can write


def test_an_incomplete_warehouse_falls_back_to_the_lake(sim_lake, tmp_path):
    from app.data.history import WarehouseHistory, open_history

    path = _warehouse(sim_lake, tmp_path / "lake", ["trades"])
    assert not isinstance(open_history(path.parent), WarehouseHistory)


def test_cumulative_foreign_line_is_the_net_level_of_a_mid_day_capture():
    """A capture that starts at 10:00 with high levels: the line starts at the levels already reached (baselines)
    and ends at the summary's net, while the per-minute bars are flow only."""
    from tests.frames import sparse_r_capture_with_restart
    from transforms.pipeline import run_day

    out = run_day(sparse_r_capture_with_restart(), date(2026, 7, 22))
    cum = shaping.cumulative_net_by_minute(out["foreign_flow"])
    net = out["foreign_summary"]["net_val_vnd"].sum()
    assert round(cum["cum_net_bn"][-1] * 1e9) == net
    assert round(cum["net_bn"].sum() * 1e9) == out["foreign_flow"]["net_val_vnd"].sum() != net


def test_the_history_reads_the_warehouse_where_the_setting_puts_it(sim_lake, tmp_path, monkeypatch):
    """``VNTRACK_WAREHOUSE_PATH`` outside the lake: the app's history finds the warehouse there (it used to look
    only at ``lake/warehouse.duckdb``)."""
    from app.data.history import HISTORY_TABLES, WarehouseHistory, open_history
    from storage.settings import Settings

    elsewhere = _warehouse(sim_lake, tmp_path / "elsewhere", HISTORY_TABLES)
    monkeypatch.setenv("VNTRACK_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("VNTRACK_WAREHOUSE_PATH", str(elsewhere))
    settings = Settings()
    assert not (settings.lake / "warehouse.duckdb").exists()
    wh = open_history(settings.lake, settings.database_url, settings.warehouse_file)
    assert isinstance(wh, WarehouseHistory) and wh.path == elsewhere
    assert not isinstance(open_history(settings.lake, None), WarehouseHistory)


def test_the_apps_replay_sees_a_segment_sealed_after_it_was_first_loaded(sim_lake, tmp_path, monkeypatch):
    """The replay cache is keyed by the raw segments (not the curated tables): a segment added to a day that was
    already replayed is in the next replay at once, without a rebuild and without waiting for the cache's TTL."""
    import app.data as data

    segments = lake_io.raw_segments(sim_lake, DAY)
    last = max(segments, key=lambda p: pl.read_parquet(p, columns=["recv_ns"])["recv_ns"].max())
    assert len(segments) >= 2
    lake = tmp_path / "lake"
    for p in segments:
        if p != last:
            dest = lake / p.relative_to(sim_lake)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dest)
    monkeypatch.setenv("VNTRACK_LAKE", str(lake))
    full = load_replay_day(sim_lake, DAY)
    data.stop_replay()
    before = data.start_replay(DAY, speed=1.0)
    assert before.end < full.end  # the held-back segment holds the day's last frames
    shutil.copy2(last, lake / last.relative_to(sim_lake))
    after = data.start_replay(DAY, speed=1.0)
    assert after.end == full.end
    data.stop_replay()


def test_history_candles_of_5_minutes_and_1_hour_add_up_to_the_minutes(sim_lake, history):
    """5m / 1h candles: buckets on the exchange clock, open = first minute's open, close = last minute's close,
    high/low the extremes, volumes summed; the same as the DuckDB warehouse's candles_5m / candles_1h views."""
    symbol = history.symbols(DAY)[0]
    minutes = history.candles(DAY, symbol)
    for interval, width in (("5m", "5m"), ("1h", "1h")):
        got = history.candles(DAY, symbol, interval)
        want = (minutes.sort("minute").group_by_dynamic("minute", every=width).agg(
            pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last(),
            pl.col("volume").sum(), pl.col("value_vnd").sum(), pl.col("trade_count").sum()))
        assert minutes.height > got.height == want.height > 1
        assert_frame_equal(got.select(want.columns), want, check_dtypes=False)
        step = 5 if interval == "5m" else 60
        assert all(m % step == 0 for m in got["minute"].dt.minute().to_list()), interval
    with pytest.raises(ValueError, match="'1m', '5m', '1h'"):
        history.candles(DAY, symbol, "15m")
