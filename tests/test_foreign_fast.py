"""The query-free helpers of transforms/windows.py (foreign flow and the alerts use them) equal the Polars
formulas they stand for: the exchange wall-clock seconds of ``EXCH_TIME`` and the arrival key / new-row mask of a
frame (one session read from seq; several sessions, unsorted rows and ties by Polars)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from transforms import schemas
from transforms.foreign import foreign_flow
from transforms.windows import after_key, arrival_key, arrival_keys, arrival_order, local_epoch_s


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(189_302_400_000_000, 4_102_444_800_000_000), min_size=1, max_size=30),  # 1976 .. 2100
       st.sampled_from([[], [0], [-10**15]]))  # UTC us; before 1976 (the zone was UTC+8 in 1970): Polars
def test_local_epoch_s_is_polars_wall_clock_seconds(us, old):
    us = us + old
    exch = pl.Series("exch_time", us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(
        schemas.TZ).cast(schemas.EXCH_TIME)
    want = exch.dt.replace_time_zone(None).dt.epoch("s").to_numpy()
    assert np.array_equal(local_epoch_s(exch), want)
    with_null = pl.concat([exch, pl.Series("exch_time", [None], dtype=schemas.EXCH_TIME)])  # the Polars path
    assert np.array_equal(local_epoch_s(with_null)[:-1], want)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.integers(0, 20)), min_size=1, max_size=20,
                unique=True),
       st.sampled_from([None, ("s1", 5), ("s2", 0), ("s0", 3), ("s3", 1)]), st.booleans())
def test_arrival_keys_equal_polars(keys, after, shuffle):
    if not shuffle:
        keys = sorted(keys)
    frame = pl.DataFrame({"session": [s for s, _ in keys], "seq": [q for _, q in keys]},
                         schema={"session": pl.String, "seq": pl.UInt64})
    ranks = arrival_order(frame)
    out, arr, new = arrival_keys(frame, ranks, after)
    want = frame.with_columns(arrival_key(ranks)).sort("_arr")
    assert_frame_equal(out, want.drop("_arr"))
    assert np.array_equal(arr, want.get_column("_arr").to_numpy())
    assert np.array_equal(new, want.select(after_key(after)).to_series().to_numpy() if after else
                          np.ones(len(keys), dtype=bool))


def test_foreign_flow_of_shuffled_rows_is_that_of_arrival_order():
    rng = np.random.default_rng(7)
    n = 200
    t0 = pl.datetime(2026, 7, 22, 9, 15, time_zone=schemas.TZ)
    room = pl.DataFrame({
        "session": ["s1"] * n, "seq": np.arange(1, n + 1, dtype=np.uint64), "recv_ns": np.zeros(n, dtype=np.int64),
        "symbol": rng.choice(["ACB", "FPT", "HPG"], n), "secs": np.sort(rng.integers(0, 3600, n)),
        "buy_vol": np.cumsum(rng.integers(-5, 100, n)), "sell_vol": np.cumsum(rng.integers(-5, 100, n)),
        "buy_val": np.cumsum(rng.uniform(-1e6, 1e8, n)), "sell_val": np.cumsum(rng.uniform(-1e6, 1e8, n)),
        "total_room": rng.integers(0, 10**6, n), "current_room": rng.integers(0, 10**6, n),
    }).with_columns((t0 + pl.duration(seconds=pl.col("secs"))).cast(schemas.EXCH_TIME).alias("exch_time"),
                    pl.lit(None, pl.Date).alias("trading_date"))
    room = room.with_columns(pl.when(pl.col("seq") % 17 == 0).then(None).otherwise(pl.col("buy_vol"))
                             .alias("buy_vol"))
    flow = foreign_flow(room)
    assert flow.schema == schemas.FOREIGN_FLOW and flow.get_column("seq").is_sorted()
    assert_frame_equal(foreign_flow(room.sample(fraction=1.0, shuffle=True, seed=3)), flow)
