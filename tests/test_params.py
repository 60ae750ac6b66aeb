"""The analytics parameter set (transforms/params.py): every parameter reaches the transforms that use it, in the
vectorized pipeline and in the scalar reference alike, and the defaults are today's logic."""

from __future__ import annotations

from datetime import time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.frames import raw_frames, wire
from tests.test_equivalence import DAY, assert_same, frame_sequences
from transforms.params import (
    DEFAULT_PARAMS, AnalyticsParams, ParamsError, _flatten, load_params, params_from_mapping, to_toml,
)
from transforms.pipeline import run_day

DAY_TEXT = "20/07/2026"
LIMITS = {"Ceiling": 26_000.0, "Floor": 24_000.0, "RefPrice": 25_000.0}


def _trade(hms: str, price: float, vol: float = 100.0, session: str = "LO", side: str | None = None) -> str:
    return wire("X-TRADE", {"TradingDate": DAY_TEXT, "Time": hms, "Symbol": "AAA", "Exchange": "HOSE", **LIMITS,
                            "LastPrice": price, "LastVol": vol, "TotalVol": 0.0, "TradingSession": session,
                            "Side": side})


def _quote(hms: str, bid: float, ask: float) -> str:
    return wire("X-QUOTE", {"TradingDate": DAY_TEXT, "Time": hms, "Symbol": "AAA", "Exchange": "HOSE",
                            "BidPrice1": bid, "BidVol1": 100.0, "AskPrice1": ask, "AskVol1": 100.0,
                            "TradingSession": "LO"})


def _r(hms: str, buy_vol: int) -> str:
    return wire("R", {"TradingDate": DAY_TEXT, "Time": hms, "Symbol": "AAA", "TotalRoom": 1.0e9,
                      "CurrentRoom": 5.0e8, "BuyVol": float(buy_vol), "SellVol": 0.0, "BuyVal": buy_vol * 25_000.0,
                      "SellVal": 0.0})


def _mi(hms: str, value: float) -> str:
    return wire("MI", {"IndexId": "VN30", "IndexValue": value, "PriorIndexValue": 1300.0, "TradingDate": DAY_TEXT,
                       "Time": hms, "Advances": 1, "Declines": 1, "NoChanges": 1, "TotalValue": 1e9})


def _fut(hms: str, price: float) -> str:
    return wire("X-TRADE", {"TradingDate": DAY_TEXT, "Time": hms, "Symbol": "VN30F2608", "LastPrice": price,
                            "LastVol": 5.0, "TotalVol": 0.0, "Exchange": "DERIVATIVES", "TradingSession": "LO",
                            "Ceiling": 1400.0, "Floor": 1200.0, "RefPrice": 1300.0})


def scenario_day() -> pl.DataFrame:
    """A day built so that each parameter decides something: an ATO print at 09:15, a book with a wide spread
    (quote vs tick vs CLNV band), 40 small continuous trades and one large (VOLUME_SPIKE), two ceiling prints
    30 s apart (cooldown), R frames whose net value jumps (speed, acceleration, FOREIGN_ACCELERATION with its
    percent test), a futures basis that flips by one point, an afternoon print at 14:20."""
    frames = [_trade("09:15:00", 25_000.0, 5_000.0, side="BU"), _quote("09:15:30", 25_000.0, 25_300.0),
              _r("09:20:00", 20_000)]
    for i in range(40):
        s = 16 * 60 + i * 30
        frames.append(_trade(f"09:{s // 60:02d}:{s % 60:02d}", 25_250.0 if i % 2 else 25_050.0, side="SD"))
    frames += [_trade("09:36:10", 25_200.0, 1_000.0, side="BU"),  # after 25,250: tick sell; CLNV band 0.4 buy
               _trade("09:37:00", 25_000.0), _trade("09:37:10", 25_000.0),  # at the bid: sells
               _trade("10:00:00", 26_000.0), _trade("10:00:30", 26_000.0),  # ceiling twice
               _r("10:00:00", 20_000), _r("10:01:00", 100_000), _r("10:03:00", 110_000), _r("10:07:00", 150_000),
               _r("10:09:00", 151_000), _r("10:20:00", 300_000),
               _mi("10:30:00", 1300.0), _fut("10:30:05", 1301.0), _fut("10:31:00", 1299.0), _fut("10:33:00", 1301.5),
               _trade("14:20:00", 25_100.0)]
    return raw_frames(frames)


# dotted parameter -> (changed value, the table it must change)
CHANGES: dict[str, tuple[object, str]] = {
    "classification.rule": ("tick", "trades"),
    "classification.auctions_neutral": (False, "trades"),
    "classification.clnv_band": (0.4, "trades"),  # with rule clnv (below)
    "phases.ato_end": (time(9, 14), "trades"),
    "phases.atc_start": (time(14, 0), "trades"),
    "foreign.speed_window_s": (600, "foreign_flow"),
    "foreign.accel_lag_s": (120, "foreign_flow"),
    "alerts.cooldown_s": (0, "alerts"),
    "alerts.volume_spike.enabled": (False, "alerts"),
    "alerts.volume_spike.window_s": (120, "alerts"),
    "alerts.volume_spike.min_trades": (100, "alerts"),
    "alerts.volume_spike.factor": (20.0, "alerts"),
    "alerts.price_breakout.enabled": (False, "alerts"),
    "alerts.foreign_acceleration.enabled": (False, "alerts"),
    "alerts.foreign_acceleration.window_s": (900, "alerts"),
    "alerts.foreign_acceleration.min_vnd": (10_000_000_000, "alerts"),
    "alerts.foreign_acceleration.min_pct": (50, "alerts"),
    "alerts.basis_flip.enabled": (False, "alerts"),
    "alerts.basis_flip.deadband_pts": (1.5, "alerts"),
    "basis.front_month": ("VN30F2609", "basis"),
}


def _with(key: str, value: object, base: dict | None = None) -> AnalyticsParams:
    data = base or {}
    node = data
    *path, leaf = key.split(".")
    for p in path:
        node = node.setdefault(p, {})
    node[leaf] = value
    return params_from_mapping(data)


def test_every_parameter_is_exercised():
    assert set(CHANGES) == set(_flatten(DEFAULT_PARAMS.model_dump(mode="json")))


@pytest.mark.parametrize("key", list(CHANGES))
def test_a_parameter_change_reaches_its_transform(key):
    value, table = CHANGES[key]
    base = {"classification": {"rule": "clnv"}} if key == "classification.clnv_band" else None
    before_params = params_from_mapping(base or {})
    after_params = _with(key, value, {"classification": {"rule": "clnv"}} if base else None)
    raw = scenario_day()
    before = run_day(raw, DAY, params=before_params)
    after = assert_same(raw, DAY, params=after_params)  # the scalar reference agrees under the change
    assert not before[table].equals(after[table]), f"{key}={value!r} did not change {table}"


def test_defaults_are_todays_logic_on_the_scenario():
    raw = scenario_day()
    out = assert_same(raw, DAY, params=AnalyticsParams())
    plain = run_day(raw, DAY)
    assert all(out[name].equals(plain[name]) for name in plain)
    assert set(out["alerts"].get_column("alert_type")) == {
        "VOLUME_SPIKE", "PRICE_BREAKOUT", "FOREIGN_ACCELERATION", "BASIS_FLIP"}


params_strategy = st.builds(
    lambda rule, auctions, band, ato, spike, factor, cooldown, pct, dead, speed, lag: params_from_mapping({
        "classification": {"rule": rule, "auctions_neutral": auctions, "clnv_band": band},
        "phases": {"ato_end": ato},
        "foreign": {"speed_window_s": speed, "accel_lag_s": lag},
        "alerts": {"cooldown_s": cooldown, "volume_spike": {"window_s": spike, "factor": factor},
                   "foreign_acceleration": {"min_pct": pct}, "basis_flip": {"deadband_pts": dead}},
    }),
    st.sampled_from(["quote_tick", "quote", "tick", "lee_ready", "emo", "clnv"]), st.booleans(),
    st.sampled_from([0.1, 0.3, 0.45]), st.sampled_from([time(9, 15), time(9, 14, 59), time(10, 0)]),
    st.sampled_from([60, 1200]), st.sampled_from([1.5, 3.0]), st.sampled_from([0, 60, 300]),
    st.sampled_from([0, 30, 200]), st.sampled_from([0.0, 0.5]), st.sampled_from([60, 300]),
    st.sampled_from([1, 60, 299]),
)


@settings(max_examples=60, deadline=None)
@given(frames=frame_sequences(), params=params_strategy)
def test_generated_days_under_any_parameters(frames, params):
    assert_same(raw_frames(frames), DAY, params=params)


def test_toml_round_trip_and_messages(tmp_path):
    p = _with("alerts.volume_spike.factor", 4.5, {"classification": {"rule": "emo"}, "basis": {"front_month": None}})
    f = tmp_path / "p.toml"
    f.write_text(to_toml(p))
    assert load_params(f) == p and p.digest() != DEFAULT_PARAMS.digest()
    assert p.changed() == {"alerts.volume_spike.factor": (4.5, 3.0), "classification.rule": ("emo", "quote_tick")}
    f.write_text('[alerts.volume_spike]\nfactor = -1\nwindow = 5\n[phases]\nato_end = 15:00:00\n')
    with pytest.raises(ParamsError) as e:
        load_params(f)
    msg = str(e.value)
    assert "alerts.volume_spike.factor: Input should be greater than 0 (got -1)" in msg
    assert "alerts.volume_spike.window: unknown key" in msg
    assert "phases: Value error, phases.ato_end (15:00:00) must be before phases.atc_start" in msg
    f.write_text("[classification]\nrule = 'magic'\n")
    with pytest.raises(ParamsError, match="classification.rule: Input should be 'quote_tick'"):
        load_params(f)
    f.write_text("[classification\n")
    with pytest.raises(ParamsError, match="not valid TOML"):
        load_params(f)
    with pytest.raises(ParamsError, match="no such parameter file"):
        load_params(tmp_path / "missing.toml")
    with pytest.raises(Exception, match="frozen"):
        DEFAULT_PARAMS.foreign.speed_window_s = 1  # type: ignore[misc]


@pytest.mark.parametrize(("key", "value"), [
    ("classification.rule", "lee_ready"), ("foreign.speed_window_s", 1800), ("alerts.cooldown_s", 0),
    ("alerts.volume_spike.window_s", 3600), ("alerts.foreign_acceleration.window_s", 1800)])
def test_micro_batches_under_changed_parameters_equal_the_day(key, value):
    """The live loop's step carries the parameters in its state (checkpointed too) and sizes its context by them:
    frame-by-frame batches give the day's tables under any parameter set."""
    from transforms.incremental import ROW_TABLES, initial_state, snapshot_tables, state_from_tables, state_tables
    from transforms.incremental.step import run_batches

    params = _with(key, value)
    raw = scenario_day()
    day = run_day(raw, DAY, params=params)
    state = initial_state(DAY, None, params)
    tables, meta = state_tables(state)
    assert state_from_tables(tables, meta).params == params
    state, rows, _ = run_batches(state, [raw.slice(i, 1) for i in range(raw.height)])  # frame by frame
    from polars.testing import assert_frame_equal

    for name in ROW_TABLES:  # live and replay agree to the last bit
        assert_frame_equal(rows[name], day[name], check_exact=True)
    for name, table in snapshot_tables(state).items():
        assert_frame_equal(table, day[name], check_exact=True)
