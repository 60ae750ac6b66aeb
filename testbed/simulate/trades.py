"""Matched trades: continuous order flow against the book, call-auction prints and put-through deals.

Continuous trading is a sequence of *events* per instrument: an incoming marketable order that matches one or
more resting orders at the best price, giving one *print* per matched resting order (the real B recording shows
VCB with 24 prints in one second). Event times follow the U-shaped activity profile with self-excited clustering
(each event spawns follow-ups a few seconds later), the inter-trade gaps of the real KBS ticks.

Side and price of an event follow the book (module ``prices``): with ``b`` the best-bid index before the event and
``b'`` the one before the next event, a book that moves up was moved by a buyer who took the ask, one that moves
down by a seller who hit the bid, otherwise the side follows a persistent two-state chain (runs of buys and sells,
as in the real ticks). A buy prints at the best ask ``grid[b + 1]`` ("BU"), a sell at the best bid ``grid[b]``
("SD"); at the ceiling only sells can print (no ask), at the floor only buys. So every continuous print agrees
with the book it hit, and a buy never prints below the previous print (real KBS: 0.1-0.3% of buys do).

Print sizes are log-normal in board lots (100 shares; contracts for futures) with the median and spread of the
real KBS ticks (median ~700 shares, p90 ~10,000, p99 ~70,000: a heavy tail, so VOLUME_SPIKE fires).

Call auctions (HOSE ATO, VN30F ATO, every ATC) match at one price and print many times at the match second, with
small sizes (real HPG ATO: 504 prints of median 200 shares). Put-through deals are few, large, negotiated within
the limits, ``TradingSession`` "PT", and never enter TotalVol.

Every table here is a polars DataFrame sorted by ``(sym, sec, sub_ns, event, child)``, the per-instrument arrival
order. Columns: ``sym`` i64 instrument index, ``sec`` i64 seconds since local midnight, ``sub_ns`` i64 position
inside the second (ns), ``event`` i64 unique event id, ``child`` i64 print number inside its event.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from testbed.simulate.prices import book_state, grid_price
from testbed.simulate.schedule import SCHEDULES, activity_profile, continuous_mask
from testbed.simulate.universe import Universe

SESSION_CODES: tuple[str, ...] = ("ATO", "LO", "C", "PT")
"""``TradingSession`` of a print, by the ``session`` column's value. ATC prints say "C", as the capture-backed
HOSE X-TRADE of 14/08/2026 does at 14:45:00 (docs/ssi-wire.md §2.1); the analytics decide the phase by time."""
ATO, LO, ATC, PT = range(4)

CLUSTER_RATE = 0.35  # follow-up events spawned per event (self-excitation)
CLUSTER_DELAY_S = 3.0  # mean delay of a follow-up (s)
SWEEP_P, SWEEP_MEAN = 0.012, 10.0  # share of events that sweep many resting orders, mean extra prints
MULTI_P, MULTI_MEAN = 0.28, 1.6  # share of events matching a few resting orders, mean extra prints
BUY_RUN, SELL_RUN = 2.1, 1.7  # mean run lengths (events) of the side chain: ~54% buys (real KBS: 55%)
STOCK_LOT_SIGMA, FUTURES_LOT_SIGMA = 2.0, 1.3  # log-sd of print sizes
MAX_LOTS = 10_000  # largest single print: 1,000,000 shares
_SUB_MAX_NS = 990_000_000  # continuous events stay clear of the end of the second (index frames go there)
_KEY = ["sym", "sec", "sub_ns", "event", "child"]


def mean_prints_per_event() -> float:
    """Expected prints per continuous event (1 + multi-match + sweep extras)."""
    return 1.0 + MULTI_P * MULTI_MEAN + SWEEP_P * SWEEP_MEAN


# ------------------------------------------------------------------------------------------------ event times


def sample_event_times(rng: np.random.Generator, universe: Universe, syms: np.ndarray, activity: float) -> pl.DataFrame:
    """Continuous-session event times of ``syms`` (one exchange or several).

    Parameters
    ----------
    rng : the generator (consumed in a fixed order: deterministic).
    universe : instruments.
    syms : instrument indices to simulate.
    activity : multiplier of every instrument's expected prints per day (1.0 = calibrated).

    Returns
    -------
    pl.DataFrame ``sym, sec, sub_ns`` sorted by them; about ``prints_per_day * activity / mean_prints_per_event()``
    events per instrument, U-shaped over the day and clustered.
    """
    parts = []
    for exchange, sched in SCHEDULES.items():
        mine = syms[universe.exchange[syms] == exchange]
        if len(mine) == 0:
            continue
        seconds = sched.continuous_seconds()
        cdf = np.cumsum(activity_profile(sched, seconds))
        cdf /= cdf[-1]
        expected = universe.prints_per_day[mine] * activity / mean_prints_per_event()
        base = rng.poisson(expected / (1.0 + CLUSTER_RATE + CLUSTER_RATE**2))
        sym = np.repeat(mine, base)
        t = seconds[np.searchsorted(cdf, rng.random(len(sym)), side="right").clip(0, len(seconds) - 1)]
        t = t + rng.random(len(sym))
        allowed = continuous_mask(sched)
        gen_sym, gen_t = sym, t
        all_sym, all_t = [sym], [t]
        for _ in range(2):  # two generations of follow-ups
            k = rng.poisson(CLUSTER_RATE, len(gen_sym))
            gen_sym = np.repeat(gen_sym, k)
            gen_t = np.repeat(gen_t, k) + rng.exponential(CLUSTER_DELAY_S, len(gen_sym))
            keep = allowed[np.minimum(gen_t.astype(np.int64), 86_399)]
            gen_sym, gen_t = gen_sym[keep], gen_t[keep]
            all_sym.append(gen_sym)
            all_t.append(gen_t)
        sym, t = np.concatenate(all_sym), np.concatenate(all_t)
        sec = t.astype(np.int64)
        sub_ns = ((t - sec) * _SUB_MAX_NS).astype(np.int64)
        parts.append(pl.DataFrame({"sym": sym.astype(np.int64), "sec": sec, "sub_ns": sub_ns}))
    if not parts:
        return pl.DataFrame(schema={"sym": pl.Int64, "sec": pl.Int64, "sub_ns": pl.Int64})
    return pl.concat(parts).sort("sym", "sec", "sub_ns")


def idio_walk(rng: np.random.Generator, universe: Universe, sym: np.ndarray) -> np.ndarray:
    """Idiosyncratic log-price random walk per instrument in event order (business time): each instrument's
    ``n`` steps have sd ``idio_vol / sqrt(n)``, so the day's variance is ``idio_vol^2``. ``sym`` sorted."""
    n = len(sym)
    if n == 0:
        return np.zeros(0)
    counts = np.bincount(sym, minlength=universe.size)
    sd = universe.idio_vol[sym] / np.sqrt(np.maximum(counts[sym], 1))
    steps = rng.standard_normal(n) * sd
    return _group_cumsum(steps, sym)


def _group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each new value of ``group`` (``group`` sorted)."""
    total = np.cumsum(values)
    start = np.r_[True, group[1:] != group[:-1]]
    return total - _ffill(np.where(start, total - values, np.nan))


def _ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (the first value must not be NaN)."""
    idx = np.where(np.isnan(x), 0, np.arange(len(x)))
    np.maximum.accumulate(idx, out=idx)
    return x[idx]


# ------------------------------------------------------------------------------------------------ sides, prints


def side_chain(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` sides (+1 buy, -1 sell) as alternating runs with geometric lengths of mean :data:`BUY_RUN` and
    :data:`SELL_RUN` (int8)."""
    out = np.empty(0, dtype=np.int8)
    first = 1 if rng.random() < 0.5 else -1
    while len(out) < n:
        m = max(16, int((n - len(out)) / (BUY_RUN + SELL_RUN) * 2.2) + 16)
        buy = rng.geometric(1.0 / BUY_RUN, m)
        sell = rng.geometric(1.0 / SELL_RUN, m)
        lengths = np.empty(2 * m, dtype=np.int64)
        signs = np.empty(2 * m, dtype=np.int8)
        if first > 0:
            lengths[0::2], lengths[1::2], signs[0::2], signs[1::2] = buy, sell, 1, -1
        else:
            lengths[0::2], lengths[1::2], signs[0::2], signs[1::2] = sell, buy, -1, 1
        out = np.concatenate([out, np.repeat(signs, lengths)])
        first = -int(out[-1])
    return out[:n]


def trade_events(rng: np.random.Generator, universe: Universe, events: pl.DataFrame, latent_price: np.ndarray,
                 first_event_id: int) -> pl.DataFrame:
    """Attach book state, side, price and print count to continuous events.

    Parameters
    ----------
    events : ``sym, sec, sub_ns`` sorted (from :func:`sample_event_times`).
    latent_price : float64 latent price of each event (VND or points; module ``prices``).
    first_event_id : event ids are ``first_event_id + row``.

    Returns
    -------
    ``events`` plus ``event`` i64, ``b`` i64 best-bid index before the event, ``b_next`` i64 the index after it,
    ``side`` i8 (+1 buy at the ask, -1 sell at the bid), ``price`` f64, ``prints`` i64 (>= 1).
    """
    sym = events.get_column("sym").to_numpy()
    n = len(sym)
    b = book_state(universe, sym, latent_price)
    same_next = np.r_[sym[1:] == sym[:-1], False]
    b_next = np.where(same_next, np.r_[b[1:], 0], b)
    db = b_next - b
    top = universe.grid_len[sym] - 1
    side = np.where(db > 0, 1, np.where(db < 0, -1, side_chain(rng, n))).astype(np.int8)
    side = np.where(b >= top, -1, np.where(b < 0, 1, side)).astype(np.int8)
    price = grid_price(universe, sym, np.where(side > 0, b + 1, b))
    multi = rng.random(n) < MULTI_P
    sweep = rng.random(n) < SWEEP_P
    extra = (np.where(multi, rng.geometric(1.0 / MULTI_MEAN, n), 0)
             + np.where(sweep, rng.geometric(1.0 / SWEEP_MEAN, n), 0))
    return events.with_columns(
        pl.Series("event", np.arange(first_event_id, first_event_id + n, dtype=np.int64)),
        pl.Series("b", b.astype(np.int64)), pl.Series("b_next", b_next.astype(np.int64)),
        pl.Series("side", side), pl.Series("price", price), pl.Series("prints", (1 + extra).astype(np.int64)),
    )


def lot_sizes(rng: np.random.Generator, universe: Universe, sym: np.ndarray, median_scale: float = 1.0,
              sigma: float | None = None) -> np.ndarray:
    """Print volumes (int64 shares, or contracts): log-normal lots, median ``lot_median * median_scale``,
    board lot 100 shares for stocks, at least one lot, at most :data:`MAX_LOTS`."""
    fut = universe.is_futures[sym]
    s = np.where(fut, FUTURES_LOT_SIGMA, STOCK_LOT_SIGMA) if sigma is None else np.full(len(sym), sigma)
    lots = np.rint(universe.lot_median[sym] * median_scale * np.exp(rng.standard_normal(len(sym)) * s))
    lots = np.clip(lots, 1, MAX_LOTS).astype(np.int64)
    return np.where(fut, lots, lots * 100)


def expand_prints(rng: np.random.Generator, universe: Universe, events: pl.DataFrame) -> pl.DataFrame:
    """One row per print of continuous events: the event's price and side, its own size.

    Returns
    -------
    pl.DataFrame ``sym, sec, sub_ns, event, child, session (LO), price, vol, side, last, b_after`` where
    ``b_after`` is the book after the print (the event's ``b`` until its last print, then ``b_next``).
    """
    k = events.get_column("prints").to_numpy()
    idx = np.repeat(np.arange(events.height), k)
    starts = np.cumsum(k) - k
    child = np.arange(len(idx)) - np.repeat(starts, k)
    last = child == np.repeat(k - 1, k)
    ev = events[idx]
    sym = ev.get_column("sym").to_numpy()
    b_after = np.where(last, ev.get_column("b_next").to_numpy(), ev.get_column("b").to_numpy())
    return ev.select("sym", "sec", "sub_ns", "event", "price", "side").with_columns(
        pl.Series("child", child.astype(np.int64)), pl.lit(LO, pl.Int8).alias("session"),
        pl.Series("vol", lot_sizes(rng, universe, sym)), pl.Series("last", last),
        pl.Series("b_after", b_after.astype(np.int64)),
    ).select(PRINT_COLUMNS)


PRINT_COLUMNS = ["sym", "sec", "sub_ns", "event", "child", "session", "price", "vol", "side", "last", "b_after"]


# ------------------------------------------------------------------------------------------------ auctions, PT


def auction_print_count(universe: Universe, syms: np.ndarray, rng: np.random.Generator, scale: float,
                        activity: float) -> np.ndarray:
    """Prints of a call auction per instrument: ~500 for the most liquid VN30 member (real HPG ATO: 504), falling
    as liquidity^1.5 (real TCB 79, VCB 47), Poisson around it (int64, may be 0 for illiquid stocks)."""
    liquidity = universe.prints_per_day[syms] * activity / 9_000.0
    fut = universe.is_futures[syms]
    expected = np.where(fut, 40.0 * activity, 500.0 * liquidity**1.5) * scale
    return rng.poisson(expected * np.exp(rng.normal(0.0, 0.4, len(syms))))


def auction_prints(rng: np.random.Generator, universe: Universe, syms: np.ndarray, price: np.ndarray,
                   counts: np.ndarray, sec: int, session: int, first_event_id: int,
                   median_scale: float) -> pl.DataFrame:
    """The prints of one call auction: ``counts[i]`` prints of ``syms[i]`` at ``price[i]``, all stamped ``sec``.

    Each instrument's auction is one event (id ``first_event_id + i``) at a random instant of the second (before
    the session change, which comes at half past); sizes log-normal with median ``lot_median * median_scale`` lots.
    Side 0 (no aggressor), ``b_after`` -9 (the auction leaves no book of its own).
    """
    keep = counts > 0
    syms, price, counts = syms[keep], price[keep], counts[keep]
    event = first_event_id + np.flatnonzero(keep).astype(np.int64)
    sub = rng.integers(0, 450_000_000, len(syms))
    idx = np.repeat(np.arange(len(syms)), counts)
    starts = np.cumsum(counts) - counts
    child = np.arange(len(idx)) - np.repeat(starts, counts)
    sym = syms[idx]
    return pl.DataFrame({
        "sym": sym.astype(np.int64), "sec": np.full(len(idx), sec, dtype=np.int64), "sub_ns": sub[idx].astype(np.int64),
        "event": event[idx], "child": child.astype(np.int64), "session": np.full(len(idx), session, dtype=np.int8),
        "price": price[idx].astype(np.float64), "vol": lot_sizes(rng, universe, sym, median_scale, sigma=1.5),
        "side": np.zeros(len(idx), dtype=np.int8), "last": child == np.repeat(counts - 1, counts),
        "b_after": np.full(len(idx), -9, dtype=np.int64),
    }).select(PRINT_COLUMNS)


PT_RATE = {"vn30": 1.2, "HOSE": 0.25, "HNX": 0.15, "UPCOM": 0.1}  # expected put-through deals per stock per day


def put_through_deals(rng: np.random.Generator, universe: Universe, syms: np.ndarray,
                      first_event_id: int) -> pl.DataFrame:
    """Negotiated deals (``TradingSession`` "PT"): a few per stock, large (median 100,000 shares), priced within
    the limits around the reference, in the exchange's put-through window, at most one per stock per second.

    Returns print rows (one per deal, side 0, ``b_after`` -9).
    """
    stocks = syms[~universe.is_futures[syms]]
    rate = np.array([PT_RATE["vn30"] if universe.is_vn30[s] else PT_RATE[universe.exchange[s]] for s in stocks])
    k = rng.poisson(rate) if len(stocks) else np.zeros(0, dtype=np.int64)
    sym = np.repeat(stocks, k).astype(np.int64)
    sec = np.zeros(len(sym), dtype=np.int64)
    for exchange, sched in SCHEDULES.items():
        m = universe.exchange[sym] == exchange
        if not m.any() or sched.put_through is None:
            continue
        a, b = sched.put_through
        window = np.arange(a + 1, b, dtype=np.int64)
        window = window[continuous_mask(sched)[window] | (window >= sched.close)]
        sec[m] = window[rng.integers(0, len(window), int(m.sum()))]
    keyed = np.unique(sym * 86_400 + sec)  # one deal per stock per second (the analytics drop exact repeats)
    sym, sec = keyed // 86_400, keyed % 86_400
    n = len(sym)
    raw = universe.ref[sym] * np.exp(rng.normal(0.0, 0.02, n))
    raw = np.clip(raw, universe.floor[sym], universe.ceiling[sym])
    b = book_state(universe, sym, raw)
    price = grid_price(universe, sym, np.maximum(b, 0))
    vol = np.clip(np.rint(1_000 * np.exp(rng.normal(0.0, 1.0, n))), 10, 100_000).astype(np.int64) * 100
    return pl.DataFrame({
        "sym": sym, "sec": sec, "sub_ns": rng.integers(0, _SUB_MAX_NS, n).astype(np.int64),
        "event": first_event_id + np.arange(n, dtype=np.int64), "child": np.zeros(n, dtype=np.int64),
        "session": np.full(n, PT, dtype=np.int8), "price": price, "vol": vol, "side": np.zeros(n, dtype=np.int8),
        "last": np.ones(n, dtype=bool), "b_after": np.full(n, -9, dtype=np.int64),
    }).select(PRINT_COLUMNS)


# ------------------------------------------------------------------------------------------------ day totals


def with_running_totals(prints: pl.DataFrame, universe: Universe) -> pl.DataFrame:
    """Add the cumulative fields of X-TRADE, per instrument in arrival order (docs/ssi-wire.md §2.1).

    Adds ``value_vnd`` i64 (price x volume x multiplier), ``total_vol`` i64 and ``total_val`` i64 (VND; normal
    board only: put-through never enters them), ``highest``/``lowest``/``open`` f64 (normal prints so far; 0.0
    before the first), ``est`` f64 (the last call-auction price, else the reference), ``avg`` f64 (``AvgPrice``:
    VND/share rounded to 2 decimals for stocks, VND per contract for futures; 0.0 before the first print).
    """
    p = prints.sort(_KEY)
    sym = p.get_column("sym").to_numpy()
    fut = universe.is_futures[sym]
    unit_vnd = np.rint(p.get_column("price").to_numpy() * np.where(fut, 100_000.0, 1.0)).astype(np.int64)
    p = p.with_columns(
        pl.Series("value_vnd", unit_vnd * p.get_column("vol").to_numpy()),
        pl.Series("_ref", universe.ref[sym]), pl.Series("_fut", fut),
    )
    normal = pl.col("session") != PT
    trade_px = pl.when(normal).then(pl.col("price"))
    auction_px = pl.when(pl.col("session").is_in([ATO, ATC])).then(pl.col("price"))
    p = p.with_columns(
        pl.when(normal).then(pl.col("vol")).otherwise(0).cum_sum().over("sym").alias("total_vol"),
        pl.when(normal).then(pl.col("value_vnd")).otherwise(0).cum_sum().over("sym").alias("total_val"),
        trade_px.cum_max().forward_fill().over("sym").fill_null(0.0).alias("highest"),
        trade_px.cum_min().forward_fill().over("sym").fill_null(0.0).alias("lowest"),
        trade_px.drop_nulls().first().over("sym").fill_null(0.0).alias("_first"),
        auction_px.forward_fill().over("sym").fill_null(pl.col("_ref")).alias("est"),
    )
    avg = pl.col("total_val").cast(pl.Float64) / pl.col("total_vol").cast(pl.Float64)
    return p.with_columns(
        pl.when(pl.col("total_vol") == 0).then(0.0).when(pl.col("_fut")).then(avg).otherwise(avg.round(2)).alias("avg"),
        pl.when(pl.col("total_vol") == 0).then(0.0).otherwise(pl.col("_first")).alias("open"),
    ).drop("_first", "_ref", "_fut")
