"""Every page of the app through ``streamlit.testing.v1.AppTest``: on a finished day, on a live snapshot (C3),
in a replay, and on an empty lake (a helpful message, never a traceback)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from storage import lake as lake_io
from tests.webapp.conftest import DAY, LIVE_AT
from market.reference_data import vn30_members

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGES = {
    "board": "pages/board.py", "foreign": "pages/foreign.py", "volume": "pages/volume.py",
    "derivatives": "pages/derivatives.py", "indices": "pages/indices.py", "alerts": "pages/alerts.py",
    "history": "pages/history.py", "replay": "pages/replay.py", "health": "pages/health.py",
    "experiments": "pages/experiments.py",
}


def open_page(lake: Path, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Run the app on ``lake`` and switch to ``page``; fail on any exception element."""
    monkeypatch.setenv("VNTRACK_LAKE", str(lake))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    if page != "board":
        at.switch_page(PAGES[page]).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in (at.title, at.caption, at.info, at.warning, at.success, at.markdown, at.subheader)
             for e in kind]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label_start: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(label_start)]
    assert found, f"no metric {label_start!r} among {[m.label for m in at.metric]}"
    return found[0]


def frame(at: AppTest, i: int = 0):
    value = at.dataframe[i].value
    return getattr(value, "data", value)  # a Styler keeps its frame in .data


# ------------------------------------------------------------------------------------------------ empty lake


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_on_an_empty_lake_says_what_to_do(page, empty_lake, monkeypatch):
    at = open_page(empty_lake, page, monkeypatch)
    shown = texts(at)
    assert "vntrack simulate" in shown or "No replay" in shown or "empty" in shown, shown
    assert "Traceback" not in shown
    assert not empty_lake.exists(), "the app must never write to the lake"


# ------------------------------------------------------------------------------------------------ finished day


def test_board_shows_every_vn30_member_with_its_numbers(sim_lake, monkeypatch):
    at = open_page(sim_lake, "board", monkeypatch)
    assert "Finished day" in texts(at)
    board = frame(at)
    expected = lake_io.read_curated(sim_lake, DAY, "board").filter(pl.col("symbol").is_in(vn30_members()))
    assert sorted(board["symbol"]) == sorted(expected["symbol"].to_list()) and len(board) == 30
    fpt = board[board["symbol"] == "FPT"].iloc[0]
    want = expected.filter(pl.col("symbol") == "FPT").row(0, named=True)
    assert fpt["last_price"] == want["last_price"] and fpt["volume"] == want["volume"]
    assert fpt["value_bn"] == pytest.approx(want["value_vnd"] / 1e9)
    assert len(fpt["trend"]) > 200  # the intraday sparkline: one close per minute
    assert metric(at, "Symbols") == "30"
    assert sorted(frame(at, 1)["symbol"]) == ["VN30F2608", "VN30F2609"]


def test_board_sorts_by_the_chosen_column(sim_lake, monkeypatch):
    at = open_page(sim_lake, "board", monkeypatch)
    at.selectbox(key="board_sort").set_value("% change (thay đổi)").run()
    assert_clean(at)
    pcts = list(frame(at)["change_pct"])
    assert pcts == sorted(pcts, reverse=True)


def test_board_colours_follow_the_vietnamese_convention(sim_lake):
    from app.ui.board import shape, styled
    from app.ui.common import STATE_COLOURS

    board = lake_io.read_curated(sim_lake, DAY, "board")
    html = styled(shape(board, lake_io.read_curated(sim_lake, DAY, "candles_1m"), "Symbol (mã)")).to_html()
    for state in board["price_state"].unique().drop_nulls():
        assert STATE_COLOURS[state] in html
    assert STATE_COLOURS["up"] == "#1fd15a" and STATE_COLOURS["down"] == "#ff4d4f"  # green up, red down


def test_foreign_page_totals_top10_and_speed(sim_lake, monkeypatch):
    at = open_page(sim_lake, "foreign", monkeypatch)
    summary = lake_io.read_curated(sim_lake, DAY, "foreign_summary")
    assert metric(at, "Net value") == f"{summary['net_val_vnd'].sum() / 1e9:+,.1f} bn"
    top_buy = frame(at, 0)
    assert list(top_buy["rank"]) == list(range(1, 11))
    speeds = frame(at, 2)
    assert set(speeds["symbol"]) == set(summary["symbol"])  # speed/acceleration per symbol
    assert {"speed_buy_vol_per_min", "speed_sell_vol_per_min", "accel_buy_vol_per_min",
            "accel_sell_vol_per_min"} <= set(speeds.columns)  # buy and sell beside net
    assert len(at.get("plotly_chart")) == 2  # cumulative net, by sector


def test_volume_page_phases_and_vendor_agreement(sim_lake, monkeypatch):
    at = open_page(sim_lake, "volume", monkeypatch)
    phases = frame(at, 0)
    assert list(phases["label"])[:3] == ["ATO (mở cửa)", "Continuous (liên tục)", "ATC (đóng cửa)"]
    ato = phases[phases["label"] == "ATO (mở cửa)"].iloc[0]
    assert ato["buy_volume"] == 0 and ato["sell_volume"] == 0 and ato["neutral_volume"] > 0  # auctions: neutral
    agree = frame(at, 2)
    total = agree[agree["phase"] == "total"].iloc[0]
    trades = lake_io.read_curated(sim_lake, DAY, "trades").filter(pl.col("vendor_side").is_in(["BU", "SD"]))
    assert total["compared"] == trades.height and 50 < total["agree_pct"] <= 100
    at.radio(key="volume_phase").set_value("continuous").run()
    assert_clean(at)
    assert frame(at, 1)["neutral_volume"].sum() >= 0


def test_derivatives_page_front_month_basis_and_convergence(sim_lake, monkeypatch):
    at = open_page(sim_lake, "derivatives", monkeypatch)
    basis = lake_io.read_curated(sim_lake, DAY, "basis").filter(pl.col("is_front_month"))
    last = basis.sort("session", "seq").row(-1, named=True)
    assert "VN30F2608" in texts(at)
    assert metric(at, "Basis") == f"{last['basis_pts']:+.2f} pts"
    assert metric(at, "Days to expiry") == "29"  # 2026-08-20 is the third Thursday of August
    assert metric(at, "Premium / discount") == ("Premium" if last["premium"] else "Discount")


def test_indices_page_both_indices_and_breadth(sim_lake, monkeypatch):
    at = open_page(sim_lake, "indices", monkeypatch)
    shown = texts(at)
    assert "VN30" in shown and "VNINDEX" in shown
    adv = [m.value for m in at.metric if m.label.startswith("Advances")]
    dec = [m.value for m in at.metric if m.label.startswith("Declines")]
    assert len(adv) == 2 and int(adv[0]) + int(dec[0]) > 0


def test_alerts_page_filters_with_counts(sim_lake, monkeypatch):
    at = open_page(sim_lake, "alerts", monkeypatch)
    alerts = lake_io.read_curated(sim_lake, DAY, "alerts")
    assert metric(at, "Shown / all") == f"{alerts.height:,} / {alerts.height:,}"
    assert set(alerts["alert_type"]) == {"VOLUME_SPIKE", "PRICE_BREAKOUT", "FOREIGN_ACCELERATION", "BASIS_FLIP"}
    at.multiselect(key="alert_types").set_value(["PRICE_BREAKOUT"]).run()
    assert_clean(at)
    breakouts = alerts.filter(pl.col("alert_type") == "PRICE_BREAKOUT")
    assert metric(at, "Shown / all") == f"{breakouts.height:,} / {alerts.height:,}"
    assert set(frame(at)["alert_type"]) == {"PRICE_BREAKOUT"} and set(frame(at)["severity"]) == {"CRITICAL"}
    symbol = breakouts["symbol"][0]
    at.multiselect(key="alert_symbols").set_value([symbol]).run()
    assert set(frame(at)["symbol"]) == {symbol}


def test_history_page_candles_trades_and_histories(sim_lake, monkeypatch):
    at = open_page(sim_lake, "history", monkeypatch)
    assert at.selectbox(key="history_day").value == DAY
    at.selectbox(key="history_symbol").set_value("FPT").run()
    assert_clean(at)
    candles = lake_io.read_curated(sim_lake, DAY, "candles_1m").filter(pl.col("symbol") == "FPT")
    assert f"{candles.height} candles of 1 minute" in texts(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 4
    trades = frame(at, 1)
    assert len(trades) == 500 and (trades["price"] > 0).all()
    at.radio(key="history_interval").set_value("5m").run()  # the same day in 5-minute candles
    assert_clean(at)
    five = candles.sort("minute").group_by_dynamic("minute", every="5m").agg(pl.col("volume").sum())
    assert f"{five.height} candles of 5 minutes" in texts(at) and five.height < candles.height
    assert f"volume {candles['volume'].sum():,}" in texts(at)


def test_health_page_without_live_loop_and_prefect(sim_lake, monkeypatch):
    at = open_page(sim_lake, "health", monkeypatch)
    shown = texts(at)
    assert "No live snapshot is published" in shown
    assert "PREFECT_API_URL is not set" in shown
    assert "No quarantined frame" in shown


def test_prefect_down_is_a_warning_not_a_traceback(sim_lake, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("VNTRACK_LAKE", str(sim_lake))
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port}/api")
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    at.switch_page(PAGES["health"]).run()
    assert not at.exception
    assert any("did not answer" in w.value for w in at.warning)


# ------------------------------------------------------------------------------------------------ live snapshot


def test_live_pages_read_the_c3_snapshot(live_lake, monkeypatch):
    at = open_page(live_lake, "board", monkeypatch)
    assert "Live snapshot" in texts(at) and "version 42" in texts(at)
    assert "Market session (phiên): HOSE " in texts(at)  # the header names each exchange's session state
    board = frame(at)
    assert len(board) == 30
    live = pl.read_parquet(live_lake / "live" / f"date={DAY}" / "snapshot" / "v000000000042" / "board.parquet")
    fpt = board[board["symbol"] == "FPT"].iloc[0]
    assert fpt["last_price"] == live.filter(pl.col("symbol") == "FPT")["last_price"][0]
    assert live["last_exch_time"].max().strftime("%H:%M:%S") <= LIVE_AT


@pytest.mark.parametrize("page", ["foreign", "volume", "derivatives", "indices", "alerts"])
def test_every_live_page_renders_the_snapshot(page, live_lake, monkeypatch):
    at = open_page(live_lake, page, monkeypatch)
    shown = texts(at)
    assert "Live snapshot" in shown
    if page == "volume":
        assert "contract C3" in shown  # what the snapshot does not carry (per-trade rows) is said, not hidden
    if page == "foreign":
        assert "contract C3" not in shown and "Speed and acceleration" in shown  # C3 carries foreign_flow


def test_health_page_shows_capture_state_events_and_quarantine(live_lake, monkeypatch):
    at = open_page(live_lake, "health", monkeypatch)
    assert metric(at, "Capture state") == "running"
    assert metric(at, "Frames today") == "410,000"
    assert metric(at, "gap") == "1" and metric(at, "reconnect") == "1"
    assert len(at.get("plotly_chart")) == 1  # the events timeline
    reasons = frame(at, 1)
    assert "not a number" in " ".join(reasons["reason"])


# ------------------------------------------------------------------------------------------------------ replay


def test_replay_unfolds_the_day_in_the_live_pages(sim_lake, monkeypatch):
    from replay.cursor import load_day_cursor

    at = open_page(sim_lake, "replay", monkeypatch)
    assert "No replay running" in texts(at)
    at.time_input(key="replay_start").set_value(__import__("datetime").time(10, 0))
    at.select_slider(key="replay_speed").set_value(1)
    at.button(key="replay_go").click().run()
    assert_clean(at)
    shown = texts(at)
    assert "2026-07-22 · 10:00:0" in shown and "playing at 1x" in shown
    trades_so_far = int(metric(at, "Trades so far").replace(",", ""))
    all_trades = lake_io.read_curated(sim_lake, DAY, "trades")
    assert 0 < trades_so_far < all_trades.height
    # the trades of the frames that had arrived while the exchange clock read at most the cursor (replay.cursor)
    day = load_day_cursor(sim_lake, DAY)
    arrived = day.frames.filter(day.clock.dt.strftime("%H:%M:%S") <= shown.split("· ")[1][:8]).select("session", "seq")
    assert trades_so_far == all_trades.join(arrived, on=["session", "seq"], how="semi").height
    at.switch_page(PAGES["board"]).run()
    assert_clean(at)
    assert "Replay (phát lại) of 2026-07-22 at 10:00:0" in texts(at)
    board = frame(at)
    full = lake_io.read_curated(sim_lake, DAY, "board")
    assert board["volume"].sum() < full.filter(pl.col("symbol").is_in(vn30_members()))["volume"].sum()
    at.switch_page(PAGES["replay"]).run()
    at.button(key="replay_stop").click().run()
    at.switch_page(PAGES["board"]).run()
    assert "Finished day" in texts(at)


def test_a_new_live_version_shows_at_the_next_refresh(sim_lake, tmp_path, monkeypatch):
    from app.data.replay import load_replay_day, snapshot_at
    from app.data.snapshot import exch_datetime
    from tests.webapp.live_snapshot import health, publish

    lake = tmp_path / "lake"
    day = load_replay_day(sim_lake, DAY)
    publish(lake, DAY, dict(snapshot_at(day, exch_datetime(DAY, "10:00:00")).tables), 1, health(100))
    at = open_page(lake, "board", monkeypatch)
    assert "version 1 " in texts(at)
    before = frame(at)["volume"].sum()
    publish(lake, DAY, dict(snapshot_at(day, exch_datetime(DAY, "10:05:00")).tables), 2, health(200))
    at.run()  # what the 1 s fragment refresh does
    assert_clean(at)
    assert "version 2 " in texts(at) and frame(at)["volume"].sum() > before
