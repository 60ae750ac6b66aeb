"""The snapshot aggregates' merges (transforms/sessions.py, transforms/candles.py) give, for any split of the
trades into consecutive parts, exactly the aggregate of the whole: the live loop merges one micro-batch at a time,
through the numpy fast paths (a tail update of the day's candles, key-by-key sums of session stats) and, for a
trade stamped minutes late or a symbol's first trade, through the general path. The day-level property (live ==
batch) is tests/test_incremental.py's."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from transforms import schemas
from transforms.candles import candle_parts, merge_candle_parts
from transforms.sessions import merge_session_stats, session_stats

T0 = datetime(2026, 7, 22, 9, 15)
trade_st = st.tuples(
    st.sampled_from(["ACB", "FPT", "HPG", "VN30F2608"]),
    st.integers(0, 240),  # seconds after the previous trade
    st.integers(-600, 0),  # a late stamp, applied to every 7th trade
    st.sampled_from([24950.0, 25000.0, 25050.0]),
    st.integers(1, 50),
    st.sampled_from(schemas.PHASES),
    st.sampled_from(["buy", "sell", "neutral", None]),
    st.sampled_from([date(2026, 7, 22), date(2026, 7, 23)]),
)


def _trades(rows) -> pl.DataFrame:
    t, times = T0, []
    for i, (_, gap, late, *_rest) in enumerate(rows):
        t += timedelta(seconds=gap)
        times.append(t + timedelta(seconds=late if i % 7 == 6 else 0))
    return pl.DataFrame({
        "trading_date": [r[7] for r in rows], "symbol": [r[0] for r in rows],
        "exch_time": pl.Series(times).dt.replace_time_zone(schemas.TZ).cast(schemas.EXCH_TIME),
        "price": [r[3] for r in rows], "volume": [r[4] * 100 for r in rows],
        "value_vnd": [int(r[3] * r[4] * 100) for r in rows], "phase": [r[5] for r in rows],
        "aggressor_side": [r[6] for r in rows], "exchange": ["HOSE"] * len(rows),
    })


def _split(df: pl.DataFrame, cuts: list[int]) -> list[pl.DataFrame]:
    bounds = [0, *sorted({c % (df.height + 1) for c in cuts}), df.height]
    return [df.slice(a, b - a) for a, b in zip(bounds, bounds[1:]) if b > a]


@settings(max_examples=150, deadline=None)
@given(st.lists(trade_st, min_size=1, max_size=60), st.lists(st.integers(0, 60), max_size=20))
def test_merged_parts_equal_the_whole(rows, cuts):
    trades = _trades(rows)
    parts = _split(trades, cuts)
    candles, stats = candle_parts(parts[0]), session_stats(parts[0])
    for part in parts[1:]:
        candles = merge_candle_parts(candles, candle_parts(part))
        stats = merge_session_stats(stats, session_stats(part))
    assert_frame_equal(candles, candle_parts(trades))
    assert_frame_equal(stats, session_stats(trades))


def test_session_stats_rows_sum_to_the_total():
    trades = _trades([("ACB", 10, 0, 25000.0, 3, p, s, date(2026, 7, 22))
                      for p in schemas.PHASES for s in ("buy", "sell", "neutral", None)])
    stats = session_stats(trades)
    assert stats.get_column("phase").to_list() == list(schemas.SESSION_STATS_PHASES)
    phases, total = stats.filter(pl.col("phase") != "total"), stats.filter(pl.col("phase") == "total")
    assert phases.select(pl.exclude("trading_date", "symbol", "phase").sum()).row(0) == total.drop(
        "trading_date", "symbol", "phase").row(0)
    assert total.item(0, "trade_count") == trades.height and total.item(0, "buy_volume") == 5 * 300
