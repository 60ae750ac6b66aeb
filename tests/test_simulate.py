"""The market-day simulator (testbed/simulate): a whole simulated VN30 day written to a lake, replayed through the
analytics (every curated table, every alert), equal to the scalar reference over the whole day, coherent frame by
frame, deterministic, calibrated on the real recordings; plus the full-market universe, the X channel and the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from storage import lake as lake_io
from testbed.simulate import (
    AlreadySimulated,
    NotATradingDay,
    build_universe,
    check_trading_day,
    parse_channels,
    session_id,
    simulate_day,
    simulate_frames,
)
from testbed.simulate.calibration import activity_by_half_hour, ato_burst, continuous_stats
from testbed.simulate.frames import HOSE_LEVELS, WIRE_KEYS
from testbed.simulate.universe import SYNTHETIC_COUNTS, synthetic_tickers
from tests.test_equivalence import assert_same
from transforms import schemas
from market.calendar import front_month
from market.rules import INDEX_SYMBOLS, hose_tick, price_limits
from transforms.pipeline import run_day

DAY = date(2026, 7, 22)  # a Wednesday; front month VN30F2608
SEED = 7
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(name="sim_lake", scope="module")
def fixture_sim_lake(tmp_path_factory):
    """A lake holding one simulated VN30 day (``simulate_day`` as the CLI runs it), and its result."""
    lake = tmp_path_factory.mktemp("sim") / "lake"
    return lake, simulate_day(lake, DAY, universe="vn30", seed=SEED)


@pytest.fixture(name="sim_raw", scope="module")
def fixture_sim_raw(sim_lake) -> pl.DataFrame:
    return lake_io.read_raw(sim_lake[0], DAY)


@pytest.fixture(name="sim_out", scope="module")
def fixture_sim_out(sim_raw) -> dict[str, pl.DataFrame]:
    return run_day(sim_raw, DAY)


def _sides_agree(trades: pl.DataFrame) -> bool:
    """Our aggressor side equals SSI's Side on every row (BU = buy, SD = sell)."""
    vendor = trades.get_column("vendor_side").replace_strict({"BU": "buy", "SD": "sell"})
    return bool((trades.get_column("aggressor_side") == vendor).all())


# ------------------------------------------------------------------------------------------------ the lake


def test_writes_one_session_in_segments(sim_lake, sim_raw):
    lake, result = sim_lake
    assert result.session == session_id(DAY, "vn30", SEED) == "sim-20260722-vn30-7"
    assert sim_raw.height == result.frames > 300_000  # a whole VN30 day
    assert set(sim_raw.get_column("session").unique()) == {result.session}
    assert set(sim_raw.get_column("source").unique()) == {"sim:vn30:7"}
    assert sim_raw.get_column("seq").to_list() == list(range(1, sim_raw.height + 1))
    assert (sim_raw.get_column("recv_ns").diff().drop_nulls() >= 0).all()
    sizes = [pl.read_parquet(p).height for p in result.segments]
    assert len(sizes) >= 2 and all(n == 250_000 for n in sizes[:-1]) and sizes[-1] <= 250_000
    assert result.by_channel.keys() == {"X-TRADE", "X-QUOTE", "B", "R", "MI", "F"}  # X only on request
    declared = sim_raw.select(pl.col("payload").str.extract(r'^\{"DataType":"([^"]+)"')).to_series()
    assert (declared == sim_raw.get_column("data_type")).all()


def test_resimulating_is_refused_and_adds_nothing(sim_lake):
    lake, result = sim_lake
    before = sorted(p.name for p in lake_io.raw_segments(lake, DAY))
    with pytest.raises(AlreadySimulated, match="already in the lake.*append-only.*another --seed"):
        simulate_day(lake, DAY, universe="vn30", seed=SEED)
    assert sorted(p.name for p in lake_io.raw_segments(lake, DAY)) == before


@pytest.mark.parametrize(("day", "why", "next_day"), [
    (date(2026, 9, 2), "National Day", "2026-09-03"),
    (date(2026, 7, 25), "Saturday", "2026-07-27"),
    (date(2026, 2, 17), "Tet", "2026-02-23"),
])
def test_holidays_and_weekends_are_refused_naming_the_next_trading_day(tmp_path, day, why, next_day):
    with pytest.raises(NotATradingDay, match=f"{why}.*next trading day is {next_day}"):
        check_trading_day(day)
    with pytest.raises(NotATradingDay):
        simulate_day(tmp_path / "lake", day)
    assert not (tmp_path / "lake").exists()


def test_channel_option_is_validated():
    assert parse_channels(None) == ("X-TRADE", "X-QUOTE", "B", "R", "MI", "F")
    assert parse_channels("r, x-trade") == ("X-TRADE", "R")
    assert parse_channels(["X", "MI,B"]) == ("B", "MI", "X")
    with pytest.raises(ValueError, match="unknown channel.*FOO"):
        parse_channels("X-TRADE,FOO")


def test_same_inputs_give_byte_identical_frames(sim_lake, sim_raw, tmp_path):
    again = simulate_day(tmp_path / "lake", DAY, universe="vn30", seed=SEED)
    raw2 = lake_io.read_raw(tmp_path / "lake", DAY)
    assert again.frames == sim_raw.height
    assert raw2.equals(sim_raw)  # payload bytes, seq, recv_ns, everything
    other = simulate_frames(DAY, "vn30", SEED + 1, channels="X-TRADE", activity=0.05)
    assert not other.get_column("payload").head(1000).equals(
        sim_raw.filter(pl.col("data_type") == "X-TRADE").get_column("payload").head(1000))


# ------------------------------------------------------------------------------------------------ wire format


def test_payloads_are_wire_exact(sim_raw):
    """Both JSON layers re-serialise to the same bytes (compact, key order kept, numbers as Python writes them),
    keys are the wire keys in wire order, numbers are doubles except MI breadth counts."""
    sample = sim_raw.filter(pl.int_range(pl.len()).mod(97) == 0)
    sample = pl.concat([sample, sim_raw.filter(pl.col("data_type").is_in(["F", "MI"])).head(400)])
    for data_type, payload in sample.select("data_type", "payload").iter_rows():
        envelope = json.loads(payload)
        assert list(envelope) == ["DataType", "Content"] and envelope["DataType"] == data_type
        content = json.loads(envelope["Content"])
        assert json.dumps(envelope, separators=(",", ":")) == payload
        assert json.dumps(content, separators=(",", ":")) == envelope["Content"]
        assert tuple(content) == WIRE_KEYS[data_type], data_type
        for key, value in content.items():
            if data_type == "MI" and key in ("Advances", "NoChanges", "Declines", "Ceilings", "Floors"):
                assert type(value) is int
            elif isinstance(value, (int, float)):
                assert type(value) is float, (data_type, key, value)


def test_books_have_the_exchange_depth(sim_out):
    q = sim_out["x_quote"].filter(pl.col("trading_session") == "LO")
    hose = q.filter(pl.col("exchange") == "HOSE")
    deep = [f"{s}_price_{i}" for s in ("ask", "bid") for i in range(HOSE_LEVELS + 1, 11)]
    assert hose.select(pl.sum_horizontal(deep).max()).item() == 0.0  # HOSE shows 3 levels
    fut = q.filter(pl.col("exchange") == "DERIVATIVES")
    assert (fut.get_column("ask_price_10") > 0).mean() > 0.9  # VN30F shows 10
    both = q.filter((pl.col("bid_price_1") > 0) & (pl.col("ask_price_1") > 0))
    assert (both.get_column("bid_price_1") < both.get_column("ask_price_1")).all()


# ------------------------------------------------------------------------------------------------ analytics


def test_a_whole_day_fills_every_table_and_fires_every_alert(sim_out):
    assert sim_out["quarantine"].height == 0
    for table in schemas.CURATED:
        assert sim_out[table].height > 0, f"curated table {table} is empty"
    assert set(sim_out["alerts"].get_column("alert_type").unique()) == {
        "VOLUME_SPIKE", "PRICE_BREAKOUT", "FOREIGN_ACCELERATION", "BASIS_FLIP"}
    assert set(sim_out["session_stats"].filter(pl.col("trade_count") > 0).get_column("phase")) == {
        "ato", "continuous", "atc", "pt", "total"}


def test_the_reference_agrees_with_the_vectorized_analytics_over_the_whole_day(sim_raw):
    """Every parsed and curated table, row for row, floats to 1e-12 relative (tests/test_equivalence.py)."""
    out = assert_same(sim_raw, DAY)
    assert out["trades"].height > 100_000


# ------------------------------------------------------------------------------------------------ coherence


def test_every_continuous_trade_hit_the_book_it_saw(sim_out):
    trades = sim_out["trades"]
    cont = trades.filter(pl.col("phase") == "continuous")
    assert (cont.get_column("rule") == "quote").all()  # a book always arrived before the trade
    assert _sides_agree(cont)
    buys, sells = cont.filter(pl.col("vendor_side") == "BU"), cont.filter(pl.col("vendor_side") == "SD")
    assert (buys.get_column("price") == buys.get_column("best_ask")).all()  # a buy takes the best ask
    assert (sells.get_column("price") == sells.get_column("best_bid")).all()  # a sell hits the best bid
    auctions = trades.filter(pl.col("phase").is_in(["ato", "atc"]))
    assert (auctions.get_column("rule") == "auction").all() and auctions.get_column("vendor_side").is_null().all()


def test_x_trade_totals_extremes_and_price_grid(sim_out):
    x = sim_out["x_trade"].sort("symbol", "session", "seq")
    pt = pl.col("trading_session") == "PT"
    x = x.with_columns(
        pl.when(~pt).then(pl.col("last_vol")).otherwise(0).cum_sum().over("symbol").alias("run_vol"),
        pl.when(~pt).then(pl.col("last_price")).cum_max().forward_fill().over("symbol").alias("run_hi"),
        pl.when(~pt).then(pl.col("last_price")).cum_min().forward_fill().over("symbol").alias("run_lo"),
    )
    assert (x.get_column("total_vol") == x.get_column("run_vol")).all()  # put-through never enters TotalVol
    assert (x.get_column("highest") == x.get_column("run_hi")).all()
    assert (x.get_column("lowest") == x.get_column("run_lo")).all()
    assert x.select(pl.col("last_price").is_between(pl.col("floor"), pl.col("ceiling")).all()).item()
    for ref, ceiling, floor, exchange in x.select("ref_price", "ceiling", "floor", "exchange").unique().iter_rows():
        assert (ceiling, floor) == price_limits(ref, exchange)
    stocks = x.filter(pl.col("exchange") == "HOSE").get_column("last_price").to_numpy()
    assert all(p % hose_tick(p) == 0 for p in np.unique(stocks))
    fut = x.filter(pl.col("exchange") == "DERIVATIVES").get_column("last_price").to_numpy()
    assert np.allclose(np.round(fut * 10), fut * 10, rtol=0, atol=1e-6)


def test_the_timetable(sim_out):
    t = sim_out["trades"].with_columns(pl.col("exch_time").dt.strftime("%H:%M:%S").alias("hms"))
    hose, fut = t.filter(pl.col("exchange") == "HOSE"), t.filter(pl.col("exchange") == "DERIVATIVES")

    def times(frame, phase):
        return set(frame.filter(pl.col("phase") == phase).get_column("hms"))

    assert times(hose, "ato") == {"09:15:00"} and times(hose, "atc") == {"14:45:00"}
    assert times(fut, "ato") == {"09:00:00"} and times(fut, "atc") == {"14:45:00"}
    cont = hose.filter(pl.col("phase") == "continuous").get_column("hms")
    assert ((cont > "09:15:00") & (cont < "11:30:00") | (cont > "13:00:00") & (cont < "14:30:00")).all()
    assert all(h > "14:45:00" and h < "15:00:00" for h in times(hose, "pt"))
    assert set(hose.filter(pl.col("phase") == "pt").get_column("trading_session")) == {"PT"}
    # one match price per symbol per auction, many prints (the real HPG ATO: 504 prints of one price)
    per = t.filter(pl.col("phase").is_in(["ato", "atc"])).group_by("symbol", "phase").agg(pl.col("price").n_unique())
    assert (per.get_column("price") == 1).all()
    status = sim_out["status"].filter(pl.col("symbol") == "HPG").sort("seq")
    assert status.get_column("trading_session").to_list() == ["ATO", "LO", "BREAK", "LO", "ATC", "PT", "C"]


def test_foreign_room_is_cumulative_with_rare_corrections(sim_out):
    flow = sim_out["foreign_flow"]
    r = sim_out["foreign_room"].sort("symbol", "session", "seq")
    levels = ["buy_vol", "sell_vol", "buy_val", "sell_val"]
    went_down = pl.any_horizontal([pl.col(c).diff().over("symbol") < 0 for c in levels]).fill_null(False)
    down = r.select(went_down).to_series()
    corrections = int(flow.get_column("correction").sum())
    assert 1 <= corrections <= flow.height // 1000  # deliberate and rare
    assert int(down.sum()) == corrections  # every decrease is a flagged correction and nothing else goes down
    assert ((r.get_column("current_room") >= 0) & (r.get_column("current_room") <= r.get_column("total_room"))).all()
    assert (flow.get_column("d_buy_vol") >= 0).all() and (flow.get_column("d_sell_val_vnd") >= 0).all()


def test_vn30_is_its_members_prices_with_weights(sim_out):
    """Recompute every VN30 MI frame from the trades that arrived before it (last matched price per member, else
    the reference) and the basket weights: the value to 2 decimals and the breadth agree."""
    u = build_universe(DAY, "vn30")
    members = pl.DataFrame({"symbol": u.symbol[u.is_vn30].tolist(), "w": u.vn30_weight[u.is_vn30],
                            "ref": u.ref[u.is_vn30]})
    mi = sim_out["indices"].filter(pl.col("index_id") == "VN30").select("seq", "value", "advances", "declines",
                                                                         "trading_session")
    trades = (sim_out["trades"].filter(pl.col("phase") != "pt").select("seq", "symbol", "price")
              .join(members.select("symbol"), on="symbol").sort("seq"))
    grid = mi.join(members, how="cross").sort("seq")
    last = grid.join_asof(trades, on="seq", by="symbol", strategy="backward", check_sortedness=False).with_columns(
        pl.col("price").fill_null(pl.col("ref")))
    check = last.group_by("seq", maintain_order=True).agg(
        pl.col("value").first(), pl.col("trading_session").first(),
        (u.vn30_prior * (pl.col("w") * pl.col("price") / pl.col("ref")).sum()).alias("computed"),
        (pl.col("price") > pl.col("ref")).sum().alias("adv"), (pl.col("price") < pl.col("ref")).sum().alias("dec"),
        pl.col("advances").first(), pl.col("declines").first(),
    )
    assert check.height > 3000
    assert ((check.get_column("computed") - check.get_column("value")).abs() <= 0.005 + 1e-9).all()
    open_ = check.filter(pl.col("trading_session") != "C")
    assert (open_.get_column("adv") == open_.get_column("advances")).all()
    assert (open_.get_column("dec") == open_.get_column("declines")).all()


def test_futures_trade_at_a_basis_that_changes_sign(sim_out):
    basis = sim_out["basis"]
    front = front_month(DAY)
    assert set(basis.get_column("symbol")) == {front, "VN30F2609"}
    fm = basis.filter(pl.col("symbol") == front)
    assert fm.get_column("is_front_month").all() and fm.height > 5_000
    assert 0.1 < fm.get_column("premium").mean() < 0.9  # premium and discount both occur
    assert fm.get_column("basis_pts").abs().median() < 15  # it tracks VN30


def test_limit_movers_reach_their_limits(sim_out):
    board = sim_out["board"]
    assert board.filter(pl.col("price_state").is_in(["ceiling", "floor"])).height >= 1
    hits = sim_out["alerts"].filter(pl.col("alert_type") == "PRICE_BREAKOUT")
    assert hits.get_column("symbol").n_unique() >= 1


# ------------------------------------------------------------------------------------------------ calibration


@pytest.fixture(name="real_trades", scope="module")
def fixture_real_trades(lake_real_day, lake_kbs) -> dict[str, pl.DataFrame]:
    """Curated trades of the real recordings: KBS HPG (13/02/2026), KBS TCB (23/02/2026), SSI B (20/07/2026)."""
    return {
        "kbs_hpg": run_day(lake_io.read_raw(lake_kbs, date(2026, 2, 13)), date(2026, 2, 13))["trades"],
        "kbs_tcb": run_day(lake_io.read_raw(lake_kbs, date(2026, 2, 23)), date(2026, 2, 23))["trades"],
        "b": run_day(lake_io.read_raw(lake_real_day, date(2026, 7, 20)), date(2026, 7, 20))["trades"],
    }


def test_calibrated_on_the_real_recordings(sim_out, real_trades):
    """The bounds, stated: simulated statistics of continuous HOSE prints against the real KBS ticks (with the
    broker's aggressor side) and the real SSI B prints."""
    sim = continuous_stats(sim_out["trades"])
    sim_hpg = continuous_stats(sim_out["trades"], ["HPG"])
    kbs = [continuous_stats(real_trades["kbs_hpg"]), continuous_stats(real_trades["kbs_tcb"])]
    b = [continuous_stats(real_trades["b"], [s]) for s in ("HPG", "VCB", "TCB")]
    real = kbs + b

    def span(stat, stats=real):
        values = [s[stat] for s in stats]
        return min(values), max(values)

    lo, hi = span("size_p50", kbs)  # 700 .. 900 shares
    assert lo / 2 <= sim["size_p50"] <= hi * 2
    for q in ("size_p25", "size_p75", "size_p90", "size_p99"):  # the whole distribution within a factor 2.5
        lo, hi = span(q, kbs)
        assert lo / 2.5 <= sim[q] <= hi * 2.5, q
    assert sim["size_p10"] == 100.0  # one board lot, as in every real file
    lo, hi = span("zero_change")  # 0.66 (KBS) .. 0.92 (B VCB)
    assert lo - 0.1 <= sim["zero_change"] <= hi + 0.05
    assert sim["within_one_tick"] >= 0.98  # real: >= 99.4% of changes are one tick
    lo, hi = span("same_second")  # 0.09 (KBS TCB) .. 0.81 (B VCB)
    assert lo <= sim["same_second"] <= hi
    lo, hi = span("gap_mean_s", [kbs[0], b[0]])  # HPG: 0.74 s (B, a busy afternoon) .. 2.15 s (KBS)
    assert lo / 3 <= sim_hpg["gap_mean_s"] <= hi * 3
    lo, hi = span("buy_share", kbs)  # 0.55
    assert lo - 0.08 <= sim["buy_share"] <= hi + 0.08
    lo, hi = span("side_run_mean", kbs)  # 2.7 .. 2.9 prints
    assert lo / 1.5 <= sim["side_run_mean"] <= hi * 1.5
    assert sim["buy_below_prev"] <= 0.01  # a buy takes the ask (real: 0.1-0.3%)

    real_ato = ato_burst(real_trades["b"])  # HPG 504 prints, TCB 79, VCB 47, median 200 shares, at 09:15:00
    sim_ato = ato_burst(sim_out["trades"])
    hpg = real_ato.filter(pl.col("symbol") == "HPG").row(0, named=True)
    assert hpg["prints"] / 3 <= sim_ato.get_column("prints").max() <= hpg["prints"] * 3
    assert 10 <= sim_ato.get_column("prints").median() <= hpg["prints"]
    assert (sim_ato.get_column("prices") == 1).all() and (sim_ato.get_column("times") == 1).all()
    assert hpg["size_p50"] / 2.5 <= sim_ato.get_column("size_p50").median() <= hpg["size_p50"] * 2.5


def test_intraday_activity_is_u_shaped(sim_out):
    half = {r["start"]: r["prints"] for r in activity_by_half_hour(sim_out["trades"]).iter_rows(named=True)}
    opening_rate = half["09:00"] / 15  # 09:15-09:30
    midday_rate = (half["10:30"] + half["11:00"]) / 60
    closing_rate = half["14:00"] / 30
    assert opening_rate > 1.5 * midday_rate and closing_rate > 1.3 * midday_rate


# ------------------------------------------------------------------------------------------------ other universes


def test_the_full_market_universe():
    u = build_universe(DAY, "all")
    stocks = ~u.is_futures
    assert stocks.sum() == 30 + sum(SYNTHETIC_COUNTS.values()) == 1_600
    assert len(set(u.symbol.tolist())) == u.size
    assert not set(u.symbol.tolist()) & INDEX_SYMBOLS
    assert {e: int(u.mask(e).sum()) for e in ("HOSE", "HNX", "UPCOM")} == {"HOSE": 400, "HNX": 330, "UPCOM": 870}
    assert synthetic_tickers() == synthetic_tickers()  # a fixed list
    hose = build_universe(DAY, "hose")
    assert hose.size == 402 and (hose.ref[:30] == u.ref[:30]).all()  # reference data does not depend on the universe
    assert u.prints_per_day[stocks].sum() > 700_000  # of the order of a million trades a day


def test_hnx_and_upcom_follow_their_own_rules():
    """A full-market day at 3% activity: 10-level books on HNX/UPCOM, no auctions on UPCOM, the HNX closing call,
    and every continuous trade consistent with its book on every exchange."""
    raw = simulate_frames(DAY, "all", seed=1, activity=0.03)
    out = run_day(raw, DAY)
    assert out["quarantine"].height == 0
    trades = out["trades"]
    assert set(trades.get_column("exchange")) == {"HOSE", "HNX", "UPCOM", "DERIVATIVES"}
    cont = trades.filter(pl.col("phase") == "continuous")
    assert (cont.get_column("rule") == "quote").all()
    assert _sides_agree(cont)
    phases = trades.group_by("exchange").agg(pl.col("phase").unique().sort())
    by = dict(phases.iter_rows())
    assert set(by["UPCOM"]) <= {"continuous", "pt"}  # no call auctions on UPCOM
    assert "atc" in by["HNX"] and "ato" not in by["HNX"]
    q = out["x_quote"].filter(pl.col("exchange").is_in(["HNX", "UPCOM"]))
    assert (q.get_column("bid_price_4") > 0).mean() > 0.5  # deeper than HOSE's 3 levels
    assert out["indices"].filter(pl.col("index_id") == "VNINDEX").get_column("advances").max() > 30


def test_the_x_channel_alone_gives_the_same_trades():
    """With only X (combined snapshots), the analytics derive every trade from the TotalVol deltas and classify it
    against the snapshot's book exactly as SSI's Side says."""
    raw = simulate_frames(DAY, "vn30", seed=3, channels="X", activity=0.1)
    for payload in raw.get_column("payload").gather_every(50):
        envelope = json.loads(payload)
        assert json.dumps(envelope, separators=(",", ":")) == payload
        content = json.loads(envelope["Content"])  # AvgPrice is a bare NaN before the first trade, as on the wire
        assert tuple(content) == WIRE_KEYS["X"] and json.dumps(content, separators=(",", ":")) == envelope["Content"]
    x = run_day(raw, DAY)["trades"]
    xt = run_day(simulate_frames(DAY, "vn30", seed=3, channels="X-TRADE,X-QUOTE", activity=0.1), DAY)["trades"]
    assert set(x.get_column("source")) == {"X"}
    matched = xt.filter(pl.col("phase") != "pt")
    assert x.height == matched.height
    assert x.select("symbol", "price", "volume", "phase").equals(matched.select("symbol", "price", "volume", "phase"))
    cont = x.filter(pl.col("phase") == "continuous")
    assert (cont.get_column("rule") == "quote").all()
    assert _sides_agree(cont)


# ------------------------------------------------------------------------------------------------ command


def _simulate(lake: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VNTRACK_LAKE": str(lake), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vntrack.commands.simulate", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_command(tmp_path):
    lake = tmp_path / "lake"
    ok = _simulate(lake, "--date", "2026-07-22", "--seed", "5", "--activity", "0.05")
    assert ok.returncode == 0, ok.stderr
    assert "session sim-20260722-vn30-5" in ok.stdout and "X-TRADE" in ok.stdout
    assert lake_io.read_raw(lake, DAY).height > 10_000
    again = _simulate(lake, "--date", "2026-07-22", "--seed", "5", "--activity", "0.05")
    assert again.returncode == 1 and "already in the lake" in again.stdout
    holiday = _simulate(lake, "--date", "2026-09-02")
    assert holiday.returncode == 2 and "2026-09-03" in holiday.stderr
    bad = _simulate(lake, "--date", "2026-07-22", "--channels", "X-TRADE,NOPE")
    assert bad.returncode == 2 and "NOPE" in bad.stderr
