"""The vectorized analytics equal the scalar reference (the oracle), row for row, on every real recording and on
hypothesis-generated frame sequences built to hit the rules' edges (docs/analytics.md)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from storage import lake as lake_io
from tests.conftest import REAL_DAY
from tests.frames import raw_frames, single_frame_payloads, single_frames, wire
from transforms import schemas
from transforms.pipeline import run_day
from transforms.reference import run_reference

TABLES = [name for name, _ in schemas.PARSED.values()] + ["quarantine", *schemas.CURATED]


def assert_same(raw: pl.DataFrame, day: date, **kw) -> dict[str, pl.DataFrame]:
    """Run both implementations and compare every table exactly (floats to 1e-12 relative)."""
    vec, ref = run_day(raw, day, **kw), run_reference(raw, day, **kw)
    assert set(vec) == set(ref) == set(TABLES)
    for name in TABLES:
        left, right = vec[name], ref[name]
        if name == "quarantine":  # same frames, same reason category; wording may differ in detail
            left = left.with_columns(pl.col("reason").str.extract(r"^([a-z]+)"))
            right = right.with_columns(pl.col("reason").str.extract(r"^([a-z]+)"))
        try:
            assert_frame_equal(left, right, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        except AssertionError as e:
            raise AssertionError(f"table {name!r} differs: {e}") from None
    return vec


@pytest.mark.parametrize("day", [REAL_DAY, date(2026, 7, 17)])
def test_real_ssi_recordings(lake_real_day, day):
    out = assert_same(lake_io.read_raw(lake_real_day, day), day)
    assert out["trades"].height > 0


@pytest.mark.parametrize("day", [date(2026, 2, 13), date(2026, 2, 23)])
def test_real_kbs_ticks(lake_kbs, day):
    out = assert_same(lake_io.read_raw(lake_kbs, day), day)
    assert out["trades"].height > 1900


def test_real_single_frames():
    assert_same(raw_frames(single_frame_payloads(single_frames())), REAL_DAY)


# ------------------------------------------------------------------------------------------------ generated days

DAY = date(2026, 7, 20)
DAY_TEXT = "20/07/2026"
REF, TICK = 25_000.0, 50.0
LIMITS = {"Ceiling": REF + 3 * TICK, "Floor": REF - 3 * TICK, "RefPrice": REF}  # tight limits: breakouts happen
STOCKS = ["AAA", "BBB"]
FUT = "VN30F2608"  # the front month on 2026-07-20


def _hms(secs: int) -> str:
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


@st.composite
def frame_sequences(draw) -> list[str]:
    """A day of frames: books, X-TRADE / X / B trades around the spread, R with corrections, VN30 MI and futures
    trades around it, with times that repeat, step back and straddle the auction and window boundaries."""
    n = draw(st.integers(1, 70))
    t = draw(st.sampled_from([9 * 3600 + 14 * 60 + 58, 10 * 3600, 14 * 3600 + 29 * 60 + 55]))
    foreign = {s: [0, 0] for s in STOCKS}
    x_total = {s: 0 for s in STOCKS}
    vn30 = 1300.0
    out = []
    for _ in range(n):
        t += draw(st.sampled_from([0, 0, 1, 2, 5, 30, 59, 60, 61, 299, 300, 301, -3]))
        hms = _hms(t)
        kind = draw(st.sampled_from(["quote", "quote", "trade", "trade", "trade", "trade", "trade", "x", "bar", "r", "mi",
                                     "fut", "bad", "burst"]))
        sym = draw(st.sampled_from(STOCKS))
        k = draw(st.integers(-4, 4))
        price = REF + k * TICK
        vol = draw(st.sampled_from([100, 100, 100, 100, 200, 300, 1000, 5000, 50_000]))
        base = {"TradingDate": DAY_TEXT, "Time": hms, "Symbol": sym}
        exchange = draw(st.sampled_from(["HOSE", "HOSE", "HNX", None]))
        if kind == "quote":
            bid = REF + draw(st.integers(-3, 1)) * TICK if draw(st.booleans()) else 0.0
            ask = bid + draw(st.integers(1, 3)) * TICK if bid else draw(st.sampled_from([0.0, REF]))
            out.append(wire("X-QUOTE", {**base, "Exchange": exchange, "BidPrice1": bid, "BidVol1": 100.0,
                                        "AskPrice1": ask, "AskVol1": 200.0, "TradingSession": "LO"}))
        elif kind == "trade":
            session = draw(st.sampled_from(["LO", "LO", "ATO", "ATC", "PT", "C", None]))
            side = draw(st.sampled_from(["BU", "SD", None, "Unknown"]))
            content = {**base, **LIMITS, "LastPrice": price, "LastVol": float(vol), "TotalVol": float(vol * 10),
                       "Exchange": exchange, "TradingSession": session, "Side": side}
            out.append(wire("X-TRADE", content))
            if draw(st.integers(0, 9)) == 0:
                out.append(wire("X-TRADE", content))  # a repeated frame
        elif kind == "x":
            x_total[sym] += draw(st.sampled_from([0, 100, 500]))
            out.append(wire("X", {**base, **LIMITS, "LastPrice": price, "LastVol": 100.0,
                                  "TotalVol": float(x_total[sym]), "BidPrice1": price - TICK, "AskPrice1": price + TICK,
                                  "Exchange": "HOSE", "TradingSession": "LO"}))
        elif kind == "bar":
            out.append(wire("B", {**base, "Symbol": draw(st.sampled_from(["CCC", "VNINDEX"])), "Open": price,
                                  "High": price, "Low": price, "Close": price, "Volume": float(vol), "Value": 0.0}))
        elif kind == "r":
            f = foreign[sym]
            f[0] = max(0, f[0] + draw(st.sampled_from([0, 10_000, 100_000, -5_000])))  # negative step: correction
            f[1] = max(0, f[1] + draw(st.sampled_from([0, 20_000, 60_000])))
            out.append(wire("R", {**base, "TotalRoom": 1.0e9, "CurrentRoom": 5.0e8, "BuyVol": float(f[0]),
                                  "SellVol": float(f[1]), "BuyVal": f[0] * REF, "SellVal": f[1] * REF + 0.5}))
        elif kind == "mi":
            vn30 = round(vn30 + draw(st.sampled_from([-1.0, 0.0, 1.0])), 2)
            out.append(wire("MI", {"IndexId": "VN30", "IndexValue": vn30, "PriorIndexValue": 1300.0,
                                   "TradingDate": DAY_TEXT, "Time": hms, "Advances": draw(st.integers(0, 3)),
                                   "Declines": draw(st.integers(0, 3)), "NoChanges": 1, "TotalValue": 1e9}))
        elif kind == "fut":
            fp = round(vn30 + draw(st.sampled_from([-0.5, 0.0, 0.5, 1.2])), 1)
            out.append(wire("X-TRADE", {**base, "Symbol": draw(st.sampled_from([FUT, FUT, "VN30F2609", "VN30"])),
                                        "LastPrice": fp, "LastVol": 5.0, "Exchange": "DERIVATIVES",
                                        "TradingSession": "LO", "Ceiling": 1400.0, "Floor": 1200.0, "RefPrice": 1300.0}))
        elif kind == "burst":  # 9-11 small continuous trades, then one of 3x the mean (no alert) or more
            for _ in range(draw(st.integers(9, 11))):
                t += draw(st.sampled_from([0, 1, 30]))
                out.append(wire("B", {**base, "Symbol": "DDD", "Time": _hms(t), "Close": price, "Volume": 100.0}))
            out.append(wire("B", {**base, "Symbol": "DDD", "Time": _hms(t), "Close": price,
                                  "Volume": float(draw(st.sampled_from([300, 301, 2000])))}))
        else:
            out.append(draw(st.sampled_from(["{", wire("X-TRADE", {"Time": hms}), wire("Quote", base)])))
    return out


@given(frames=frame_sequences(), split=st.integers(0, 70))
def test_generated_days(frames, split):
    split = min(split, len(frames))
    raw = pl.concat([raw_frames(frames[:split], "s1"), raw_frames(frames[split:], "s2", start_seq=1)])
    assert_same(raw, DAY)


def _edges(out: dict[str, pl.DataFrame]) -> set[str]:
    edges = set(out["alerts"].get_column("alert_type").to_list())
    edges |= {f"rule {r}" for r in out["trades"].get_column("rule").to_list()}
    if out["foreign_flow"].get_column("correction").any():
        edges.add("correction")
    if out["quarantine"].height:
        edges.add("quarantine")
    at_limit = out["trades"].filter(
        ((pl.col("price") >= pl.col("ceiling")) | (pl.col("price") <= pl.col("floor"))) & (pl.col("phase") != "pt"))
    if at_limit.height > out["alerts"].filter(pl.col("alert_type") == "PRICE_BREAKOUT").height > 0:
        edges.add("cooldown")  # some breakout candidates were suppressed
    return edges


EDGES = {"PRICE_BREAKOUT", "VOLUME_SPIKE", "FOREIGN_ACCELERATION", "BASIS_FLIP", "cooldown", "correction",
         "quarantine", "rule quote", "rule tick", "rule auction", "rule none"}


def test_generator_reaches_every_edge():
    """The property above can only fail on what the generator produces: every edge must be reached."""
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    seen: set[str] = set()

    def all_seen(frames: list[str]) -> bool:
        seen.update(_edges(run_day(raw_frames(frames), DAY)))
        return EDGES <= seen

    try:
        find(frame_sequences(), all_seen, settings=settings(max_examples=400, deadline=None, database=None,
                                                            derandomize=True))
    except NoSuchExample:
        pytest.fail(f"the generator never produced: {sorted(EDGES - seen)}")


def test_a_day_without_frames_gives_every_table_empty_with_its_schema():
    from storage.schemas import RAW_FRAME_PL

    empty = pl.DataFrame(schema=RAW_FRAME_PL)
    out = run_day(empty, REAL_DAY)
    for name, schema in schemas.CURATED.items():
        assert out[name].height == 0 and out[name].schema == schema, name
    ref = run_reference(empty, REAL_DAY)
    assert all(ref[name].height == 0 for name in schemas.CURATED)
