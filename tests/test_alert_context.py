"""The fast paths of the live step's alert rules and carried contexts equal the plain Polars formulas they replace
(transforms/alerts.py, transforms/incremental/context.py, transforms/windows.py); the day-level property (live ==
batch for any split) is tests/test_incremental.py's."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from transforms import schemas
from transforms.alerts import alerts_after
from transforms.incremental import context
from transforms.trades import REPEAT_KEY
from transforms.windows import effective_time, group_by_codes, running_max

DAY = date(2026, 7, 22)
T0 = datetime(2026, 7, 22, 9, 15)
SYMS = ["ACB", "FPT", "HPG", "VN30F2608"]
rows_st = st.lists(st.tuples(st.sampled_from(SYMS), st.integers(-30, 900), st.integers(-5, 50)),
                   min_size=1, max_size=40)


def _trades(rows, start_seq=1) -> pl.DataFrame:
    """TRADES rows, one per frame, in arrival order; ``t`` seconds after 09:15 with jitter (some stamped earlier)."""
    n = len(rows)
    t = np.cumsum([max(dt, 0) for _, dt, _ in rows]) + np.array([min(dt, 0) for _, dt, _ in rows])
    df = pl.DataFrame({
        "session": ["s1"] * n, "seq": list(range(start_seq, start_seq + n)), "trading_date": [DAY] * n,
        "exch_time": [T0.replace(hour=9 + int(x) // 3600, minute=15 + 0) for x in [0] * n],
        "symbol": [s for s, _, _ in rows], "volume": [v * 100 for _, _, v in rows],
    })
    secs = pl.Series(t.astype(np.int64) * 1_000_000)
    df = df.with_columns((pl.col("exch_time") + pl.duration(microseconds=secs)).dt.replace_time_zone(schemas.TZ)
                         .cast(schemas.EXCH_TIME))
    full = schemas.empty(schemas.TRADES)
    return pl.concat([full, df], how="diagonal_relaxed").select(list(schemas.TRADES)).cast(dict(schemas.TRADES))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10**6)), max_size=50))
def test_running_max_by_group_equals_cum_max_over(pairs):
    codes = np.array([c for c, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    order, dense = group_by_codes(codes)
    got = np.empty(len(values), dtype=np.int64)
    got[order] = running_max(dense, values[order])
    want = pl.DataFrame({"c": codes, "v": values}).select(pl.col("v").cum_max().over("c")).to_series().to_numpy()
    assert got.tolist() == want.tolist()


@settings(max_examples=40, deadline=None)
@given(rows_st, st.data())
def test_carried_teff_equals_the_recomputed_one_and_the_window_keeps_it(rows, data):
    trades = _trades(rows).with_columns(pl.col("phase").fill_null("continuous"))
    cut = data.draw(st.integers(0, trades.height))
    want = trades.with_columns(effective_time("symbol"))
    first = context.trades_with_context(None, trades[:cut])
    window = context.trade_window(first) if cut else None
    both = context.trades_with_context(window, trades[cut:])
    # every window row and every new row has its true t_eff
    keys = ["session", "seq"]
    assert_frame_equal(both.select(*keys, "_teff"), want.join(both.select(keys), on=keys, maintain_order="right")
                       .select(*keys, "_teff"))
    # the window without _teff (the old state) is the same rows
    assert_frame_equal(context.trade_window(trades), context.trade_window(want).drop("_teff"))
    # the live step's cut, which looks only at the new rows' symbols, keeps the same rows as the full cut
    if cut < trades.height:
        moved = trades[cut:].get_column("symbol").to_list()
        assert_frame_equal(context.trade_window(both, moved=moved), context.trade_window(both))


@settings(max_examples=40, deadline=None)
@given(rows_st, st.data())
def test_alerts_after_with_a_carried_teff_equals_without(rows, data):
    trades = _trades(rows).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 3).then(pl.lit("ato")).otherwise(pl.lit("continuous")).alias("phase"),
        pl.lit(1000.0).alias("price"), pl.lit(1000.0).alias("ceiling"), pl.lit(900.0).alias("floor"))
    cut = data.draw(st.integers(0, trades.height))
    after = ("s1", cut) if cut else None
    empty_flow, empty_basis = schemas.empty(schemas.FOREIGN_FLOW), schemas.empty(schemas.BASIS)
    plain = alerts_after(trades, empty_flow, empty_basis, after=after)
    carried = alerts_after(context.trades_with_context(None, trades), empty_flow, empty_basis, after=after)
    assert_frame_equal(plain[0], carried[0])
    assert plain[1] == carried[1]
    assert (plain[0].height > 0) == (cut < trades.height)  # every trade is at its ceiling (then cooldown)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SYMS[:3]), st.integers(-30, 700), st.integers(0, 3)), min_size=1,
                max_size=40), st.data())
def test_repeat_keys_equal_unique_then_horizon(rows, data):
    t = _trades(rows)
    x = t.select("symbol", "exch_time", pl.col("volume").cast(pl.Float64).alias("last_price"),
                 (pl.col("volume") // 100).alias("last_vol"), pl.lit(5, pl.Int64).alias("total_vol"),
                 "session", "seq")
    secs = pl.col("exch_time").dt.replace_time_zone(None).dt.epoch("s")
    cuts = sorted(data.draw(st.lists(st.integers(0, x.height), max_size=4)))
    kept, reference = {}, None
    for lo, hi in zip([0, *cuts], [*cuts, x.height], strict=True):
        batch = x[lo:hi]
        if batch.height:
            keys = batch.select(REPEAT_KEY) if reference is None else pl.concat(
                [reference, batch.select(REPEAT_KEY)], how="vertical_relaxed")
            keys = keys.unique(maintain_order=True)
            reference = keys.filter(secs > secs.max().over("symbol") - context.REPEAT_HORIZON_S)
        kept = context.repeat_keys(kept, batch)
        if reference is None:
            assert kept == {}
        else:  # per symbol, the reference's rows in their order
            assert sorted(kept) == sorted(reference.get_column("symbol").unique().to_list())
            for sym, keys in kept.items():
                assert_frame_equal(keys, reference.filter(pl.col("symbol") == sym))
            seen = context.seen_keys(kept, batch.head(1))
            if batch.height:
                assert_frame_equal(seen, reference.filter(pl.col("symbol") == batch.item(0, "symbol")))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SYMS[:3]), st.integers(-200, 400), st.integers(-3, 30)), min_size=1,
                max_size=40))
def test_flow_window_and_basis_context_equal_their_polars_versions(rows):
    t = _trades(rows)
    flow = schemas.empty(schemas.FOREIGN_FLOW).vstack(
        t.select("session", "seq", "trading_date", "exch_time", "symbol",
                 (pl.col("volume") * 3).alias("buy_vol"), pl.col("volume").alias("sell_vol"),
                 (pl.col("volume") * 7).alias("buy_val_vnd"), (pl.col("volume") * 2).alias("sell_val_vnd"))
        .pipe(lambda f: pl.concat([schemas.empty(schemas.FOREIGN_FLOW), f], how="diagonal_relaxed"))
        .cast(dict(schemas.FOREIGN_FLOW)))
    assert_frame_equal(context.flow_window(flow), context._flow_window_polars(flow, context.DEFAULT_PARAMS))
    basis = t.select("session", "seq", "exch_time", "symbol",
                     ((pl.col("volume") // 100) % 5 - 2).cast(pl.Float64).alias("basis_pts"))
    assert_frame_equal(context.basis_context(basis), context._basis_context_polars(basis))


def test_trade_window_drops_a_row_exactly_the_window_behind():
    """t_eff > T - W keeps a row; one exactly W behind the symbol's latest falls out, on both cuts."""
    trades = _trades([("ACB", 0, 1), ("FPT", 5, 1), ("ACB", 1195, 1)])
    both = context.trades_with_context(context.trade_window(context.trades_with_context(None, trades[:2])),
                                       trades[2:])
    for window in (context.trade_window(both), context.trade_window(both, moved=["ACB"])):
        assert window.get_column("seq").to_list() == [2, 3]
