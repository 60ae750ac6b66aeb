"""The defining property of docs/architecture.md §5: any split of a day into consecutive micro-batches, run through
``transforms.incremental.step``, gives exactly ``run_day``'s tables, row for row (real recordings and a
simulated VN30 day); plus the engine's refusals (restatement, order) and its bounded state."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from functools import cache

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from storage import lake as lake_io
from tests.conftest import REAL_DAY
from tests.frames import raw_frames, sparse_r_capture_with_restart, wire
from transforms.incremental import (
    ROW_TABLES,
    SNAPSHOT_TABLES,
    OrderViolation,
    Restatement,
    initial_state,
    snapshot_tables,
    state_from_tables,
    state_tables,
    step,
)
from transforms.incremental.context import REPEAT_HORIZON_S
from transforms.incremental.step import run_batches
from transforms.pipeline import run_day

SIM_DAY = date(2026, 7, 22)


def split(raw: pl.DataFrame, cuts: list[int]) -> list[pl.DataFrame]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < raw.height}), raw.height]
    return [raw.slice(a, b - a) for a, b in itertools.pairwise(bounds)]


def assert_split_equal(raw: pl.DataFrame, day: date, cuts: list[int], expected: dict | None = None,
                       *, roundtrip: bool = False) -> None:
    """Step through the batches (optionally serializing the state between them) and compare with run_day."""
    expected = expected or run_day(raw, day)
    state = initial_state(day)
    parts = {n: [] for n in ROW_TABLES}
    for batch in split(raw, cuts):
        state, out = step(state, batch)
        if roundtrip:
            state = state_from_tables(*state_tables(state))
        for n in ROW_TABLES:
            parts[n].append(out[n])
    snap = snapshot_tables(state)
    for n in ROW_TABLES:
        got = pl.concat(parts[n], how="vertical")
        try:
            assert_frame_equal(got, expected[n], check_exact=True)  # the same answers, to the last bit
        except AssertionError as e:
            raise AssertionError(f"row table {n!r} differs for cuts {sorted(cuts)}: {e}") from None
    for n in SNAPSHOT_TABLES:
        try:
            assert_frame_equal(snap[n], expected[n], check_exact=True)
        except AssertionError as e:
            raise AssertionError(f"snapshot table {n!r} differs for cuts {sorted(cuts)}: {e}") from None
    assert state.frames_total == raw.height


def cut_lists(max_cuts: int = 12):
    return st.lists(st.floats(0, 1, allow_nan=False), min_size=0, max_size=max_cuts)


# ------------------------------------------------------------------------------------------ real recordings


@cache
def _real(lake_root: str, day: date) -> tuple[pl.DataFrame, dict]:
    raw = lake_io.read_raw(lake_root, day)
    return raw, run_day(raw, day)


@pytest.mark.parametrize("day", [REAL_DAY, date(2026, 7, 17)])
@settings(max_examples=12)
@given(fractions=cut_lists())
def test_real_ssi_recordings_any_split(lake_real_day, day, fractions):
    raw, expected = _real(str(lake_real_day), day)
    assert_split_equal(raw, day, [int(f * raw.height) for f in fractions], expected)


@pytest.mark.parametrize("day", [date(2026, 2, 13), date(2026, 2, 23)])
@settings(max_examples=8)
@given(fractions=cut_lists())
def test_real_kbs_ticks_any_split(lake_kbs, day, fractions):
    raw, expected = _real(str(lake_kbs), day)
    assert_split_equal(raw, day, [int(f * raw.height) for f in fractions], expected)


def test_real_day_frame_by_frame_with_state_roundtrip(lake_real_day):
    """The finest split on a slice of the real day, serializing the state after every frame (the checkpoint)."""
    raw, _ = _real(str(lake_real_day), REAL_DAY)
    part = raw.slice(raw.height // 2, 120)
    assert_split_equal(part, REAL_DAY, list(range(1, part.height)), roundtrip=True)


# -------------------------------------------------------------------------------------------- simulated day


@cache
def _sim_day() -> pl.DataFrame:
    from testbed.simulate import simulate_frames

    return simulate_frames(SIM_DAY, "vn30", 0, None, 1.0)


def _local_ns(hh: int, mm: int) -> int:
    return int(datetime(2026, 7, 22, hh - 7, mm, tzinfo=UTC).timestamp() * 1e9)


@cache
def _sim_window(start: tuple[int, int], stop: tuple[int, int], max_frames: int) -> tuple[pl.DataFrame, dict]:
    raw = _sim_day().filter(pl.col("recv_ns").is_between(_local_ns(*start), _local_ns(*stop), closed="left"))
    raw = raw.head(max_frames)
    return raw, run_day(raw, SIM_DAY)


WINDOWS = {
    "ato": ((8, 58), (9, 20), 6000),      # futures ATO print, HOSE ATO burst at 09:15:00, continuous start
    "lunch": ((11, 20), (13, 10), 6000),  # 11:30 close, silent lunch, 13:00 restart (windows empty out)
    "atc": ((14, 25), (15, 1), 8000),     # 14:30 ATC, the 14:45:00 prints, put-through, 15:00 MI
}


@pytest.mark.parametrize("window", list(WINDOWS))
@settings(max_examples=6)
@given(fractions=cut_lists())
def test_simulated_windows_any_split(window, fractions):
    raw, expected = _sim_window(*WINDOWS[window])
    assert raw.height > 1000
    assert_split_equal(raw, SIM_DAY, [int(f * raw.height) for f in fractions], expected)


def test_simulated_full_day_random_cuts():
    import random

    raw = _sim_day()
    rnd = random.Random(20260722)
    assert_split_equal(raw, SIM_DAY, [rnd.randrange(1, raw.height) for _ in range(4)])


def test_sessions_restart_on_one_date():
    """Three capture sessions of one date (a restart): batches cut across the session boundaries."""
    raw = _sim_window(*WINDOWS["ato"])[0]
    thirds = raw.height // 3
    sessions = ["cap-20260722-085800000000-aaaa", "cap-20260722-090500000000-bbbb", "cap-20260722-091000000000-cccc"]
    parts = []
    for i, s in enumerate(sessions):
        chunk = raw.slice(i * thirds, thirds if i < 2 else raw.height - 2 * thirds)
        parts.append(chunk.with_columns(pl.lit(s).alias("session"), pl.int_range(1, chunk.height + 1, dtype=pl.UInt64)
                                        .alias("seq")))
    multi = pl.concat(parts)
    assert_split_equal(multi, SIM_DAY, [thirds - 7, thirds + 5, 2 * thirds, 2 * thirds + 1, 2 * thirds + 900])


# ---------------------------------------------------------------------------------------- refusals, memory


def _x_trade(sym: str, hms: str, price: float, vol: int, total: int) -> str:
    return wire("X-TRADE", {"Symbol": sym, "TradingDate": "22/07/2026", "Time": hms, "LastPrice": price,
                            "LastVol": vol, "TotalVol": total, "Exchange": "HOSE"})


def _bar(sym: str, hms: str, close: float, vol: int) -> str:
    return wire("B", {"Symbol": sym, "TradingDate": "22/07/2026", "Time": hms, "Open": close, "High": close,
                      "Low": close, "Close": close, "Volume": vol, "Value": close * vol})


def test_channel_upgrade_after_trades_is_a_restatement():
    raw = raw_frames([_bar("AAA", "10:00:00", 25000.0, 100), _x_trade("AAA", "10:00:01", 25050.0, 200, 300)])
    state, out = step(initial_state(SIM_DAY), raw.head(1))
    assert out["trades"].get_column("source").to_list() == ["B"]
    with pytest.raises(Restatement, match="AAA"):
        step(state, raw.tail(1))
    # one step over the whole day is the rebuild, and it equals run_day
    assert_split_equal(raw, SIM_DAY, [])


def test_stale_x_trade_beyond_the_repeat_horizon_is_a_restatement():
    late = f"{10 + REPEAT_HORIZON_S // 3600}:{REPEAT_HORIZON_S % 3600 // 60 + 1:02d}:00"
    raw = raw_frames([_x_trade("AAA", "10:00:00", 25000.0, 100, 100), _x_trade("AAA", late, 25050.0, 100, 200),
                      _x_trade("AAA", "10:00:00", 25000.0, 100, 100)])
    state, _ = step(initial_state(SIM_DAY), raw.head(2))
    with pytest.raises(Restatement, match="repeat"):
        step(state, raw.tail(1))
    assert_split_equal(raw, SIM_DAY, [1])  # within one batch the repeat is checked against the batch itself


def test_a_frame_before_the_last_consumed_one_is_an_order_violation():
    raw = raw_frames([_bar("AAA", "10:00:00", 25000.0, 100)] * 3)
    state, _ = step(initial_state(SIM_DAY), raw.slice(1, 2))
    with pytest.raises(OrderViolation, match="late segment"):
        step(state, raw.head(1))
    with pytest.raises(OrderViolation):
        step(state, raw.tail(1))


def test_quarantined_frame_in_the_middle_of_a_batch():
    raw = raw_frames([_bar("AAA", "10:00:00", 25000.0, 100), '{"DataType": "B", "Content": "{broken',
                      _bar("AAA", "10:00:05", 25100.0, 100)])
    state, out = step(initial_state(SIM_DAY), raw)
    assert out["quarantine"].get_column("seq").to_list() == [2]
    assert out["trades"].height == 2 and state.quarantined_total == 1
    assert_split_equal(raw, SIM_DAY, [1, 2])


def test_state_stays_within_the_windows():
    """After a full day the carried context is no larger than the windows need: every windowed row lies inside
    its window, and the context after the day is of the same size as after its first busy hour."""
    raw = _sim_day()
    hour = raw.filter(pl.col("recv_ns") < _local_ns(10, 0))
    batches = split(raw, list(range(hour.height, raw.height, raw.height // 8)))
    state_hour, _, _ = run_batches(initial_state(SIM_DAY), split(hour, [hour.height // 2]))
    state_day, rows, _ = run_batches(initial_state(SIM_DAY), split(hour, [hour.height // 2]) + batches[1:])
    windowed = ("xt_seen", "books", "tick", "trades_win", "flow_win", "spot", "basis_ctx", "x_baseline")
    day_rows = sum(state_day.context_rows()[k] for k in windowed)
    hour_rows = sum(state_hour.context_rows()[k] for k in windowed)
    assert day_rows < 2 * hour_rows, (state_day.context_rows(), state_hour.context_rows())
    assert day_rows < rows["trades"].height / 5  # the last 20 minutes of trades, twice (window + repeat keys)
    secs = pl.col("exch_time").dt.replace_time_zone(None).dt.epoch("s")
    tw = state_day.trades_win.with_columns(secs.cum_max().over("symbol").alias("t"))
    assert tw.filter(pl.col("t") <= pl.col("t").max().over("symbol") - 1200).height == 0
    # one row per symbol-minute for candles, one per symbol for the board: the outputs themselves
    assert state_day.candles.height == snapshot_tables(state_day)["candles_1m"].height


# ------------------------------------------------------------------------------- foreign flow in real operation


def test_sparse_r_frames_of_a_mid_day_capture_and_a_restart_any_split():
    raw = sparse_r_capture_with_restart()
    expected = run_day(raw, SIM_DAY)
    flow = expected["foreign_flow"]
    assert flow.height > 40 and flow.filter(pl.col("speed_vol_per_min").is_null()).height == 3  # 3 baselines
    assert_split_equal(raw, SIM_DAY, list(range(1, raw.height)), expected)  # frame by frame
    assert_split_equal(raw, SIM_DAY, [raw.height // 3, raw.height // 2], expected, roundtrip=True)
