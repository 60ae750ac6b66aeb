"""Order-book snapshots: the X-QUOTE frames (docs/ssi-wire.md §2.2).

A book is the best-bid index ``b`` in the instrument's tick grid (module ``prices``) plus resting volume per
level: the ask side ``grid[b + 1], grid[b + 2], ...``, the bid side ``grid[b], grid[b - 1], ...``; a level off
the grid (past the ceiling or floor) is empty (price and volume 0.0). HOSE shows 3 levels, HNX/UPCOM/VN30F 10.

Snapshots of each instrument, in arrival order:

* the opening call's indicative book (HOSE at 09:00, VN30F at 08:45; ``TradingSession`` "ATO"), bid at the
  auction price;
* the opening book when continuous trading starts (HOSE 09:15:00, others 09:00:00), after the auction prints;
* one after every continuous event, showing the book the next event will hit;
* quote-only updates between events (about 0.6 per event): same prices, new volumes.

So the latest book before any continuous print is the one it hit. Level volumes are log-normal (VN30 member:
median 40 lots at the touch, deeper levels larger); the level the next event takes holds at least that event's
volume, and exactly its volume when the event moves the book (the level is exhausted).

Table columns: ``sym, sec, sub_ns, event, ord`` (arrival key), ``b`` i64, ``session`` str, ``ask_vol_1..10``,
``bid_vol_1..10`` i64 (shares, or contracts).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from testbed.simulate.schedule import SCHEDULES, continuous_mask
from testbed.simulate.universe import Universe

LEVELS = 10
UPDATES_PER_EVENT = 0.6
POST_ORD = 1 << 30  # arrival rank of the post-event book inside its event (after every print)
_TOUCH_LOTS = 40.0


def level_volumes(rng: np.random.Generator, universe: Universe, sym: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Random resting volumes ``[n, LEVELS]`` for the ask and the bid side (int64 shares or contracts)."""
    n = len(sym)
    depth = 1.0 + 0.5 * np.arange(LEVELS)
    fut = universe.is_futures[sym]
    scale = np.where(fut, 0.5, 1.0) * _TOUCH_LOTS * np.sqrt(np.maximum(universe.lot_median[sym], 1) / 6.0)

    def side() -> np.ndarray:
        lots = np.rint(scale[:, None] * depth[None, :] * np.exp(rng.normal(0.0, 0.9, (n, LEVELS))))
        lots = np.maximum(lots, 1).astype(np.int64)
        return np.where(fut[:, None], lots, lots * 100)

    return side(), side()


def book_rows(rng: np.random.Generator, universe: Universe, events: pl.DataFrame, event_vol: np.ndarray,
              opening: pl.DataFrame, indicative: pl.DataFrame) -> pl.DataFrame:
    """Every X-QUOTE row of the day.

    Parameters
    ----------
    events : continuous events (``trades.trade_events``), sorted by ``(sym, sec, sub_ns)``.
    event_vol : total volume of each event (int64, ``events`` order).
    opening : ``sym, sec, sub_ns, event, b`` of each instrument's opening book (session "LO").
    indicative : ``sym, sec, sub_ns, event, b`` of the opening-call indicative books (session "ATO").

    Returns
    -------
    pl.DataFrame (module docstring), sorted by ``(sym, sec, sub_ns, event, ord)``.
    """
    sym = events.get_column("sym").to_numpy()
    sec = events.get_column("sec").to_numpy()
    sub = events.get_column("sub_ns").to_numpy()
    ev = events.get_column("event").to_numpy()
    b_next = events.get_column("b_next").to_numpy()
    n = len(sym)
    has_next = np.r_[sym[1:] == sym[:-1], False]
    idx = np.arange(n)

    post = pl.DataFrame({"sym": sym, "sec": sec, "sub_ns": sub, "event": ev, "ord": np.full(n, POST_ORD, np.int64),
                         "b": b_next, "_next": np.where(has_next, idx + 1, -1)})
    # quote-only updates: between an event and the next one of the same instrument, inside continuous trading
    pick = has_next & (rng.random(n) < UPDATES_PER_EVENT)
    j = np.flatnonzero(pick)
    t0 = sec[j] + sub[j] / 1e9
    t1 = sec[j + 1] + sub[j + 1] / 1e9
    t = t0 + (t1 - t0) * rng.uniform(0.05, 0.95, len(j))
    t_sec = t.astype(np.int64)
    t_sub = ((t - t_sec) * 1e9).astype(np.int64).clip(0, 989_999_999)
    allowed = np.zeros(len(j), dtype=bool)
    for exchange, sched in SCHEDULES.items():
        m = universe.exchange[sym[j]] == exchange
        allowed[m] = continuous_mask(sched)[t_sec[m]]
    # strictly between the two events in arrival order: the update takes the event id of the earlier one
    later = (t_sec > sec[j]) | ((t_sec == sec[j]) & (t_sub > sub[j]))
    j, t_sec, t_sub = j[allowed & later], t_sec[allowed & later], t_sub[allowed & later]
    updates = pl.DataFrame({"sym": sym[j], "sec": t_sec, "sub_ns": t_sub, "event": ev[j],
                            "ord": np.full(len(j), POST_ORD + 10, np.int64), "b": b_next[j], "_next": j + 1})
    first = np.full(universe.size, -1, dtype=np.int64)
    if n:
        starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
        first[sym[starts]] = starts
    open_rows = opening.with_columns(pl.lit(0, pl.Int64).alias("ord"),
                                     pl.Series("_next", first[opening.get_column("sym").to_numpy()]))
    ind_rows = indicative.with_columns(pl.lit(0, pl.Int64).alias("ord"), pl.lit(-1, pl.Int64).alias("_next"))
    cols = ["sym", "sec", "sub_ns", "event", "ord", "b", "_next"]
    rows = pl.concat([
        ind_rows.select(cols).with_columns(pl.lit("ATO").alias("session")),
        open_rows.select(cols).with_columns(pl.lit("LO").alias("session")),
        post.select(cols).with_columns(pl.lit("LO").alias("session")),
        updates.select(cols).with_columns(pl.lit("LO").alias("session")),
    ]).sort("sym", "sec", "sub_ns", "event", "ord")
    return _with_volumes(rng, universe, rows, events, event_vol)


def _with_volumes(rng: np.random.Generator, universe: Universe, rows: pl.DataFrame, events: pl.DataFrame,
                  event_vol: np.ndarray) -> pl.DataFrame:
    sym = rows.get_column("sym").to_numpy()
    ask, bid = level_volumes(rng, universe, sym)
    nxt = rows.get_column("_next").to_numpy()
    ok = nxt >= 0
    k = np.where(ok, nxt, 0)
    if events.height:
        side = events.get_column("side").to_numpy()[k]
        moved = (events.get_column("b_next").to_numpy() != events.get_column("b").to_numpy())[k]
        vol = event_vol[k]
    else:
        side = moved = vol = np.zeros(len(k), dtype=np.int64)
    # the level the next event takes: exactly its volume when the book moves after it, else more than it
    touch = np.where(moved, vol, vol + np.minimum(ask[:, 0], bid[:, 0]))
    ask[:, 0] = np.where(ok & (side > 0), touch, ask[:, 0])
    bid[:, 0] = np.where(ok & (side < 0), touch, bid[:, 0])
    return rows.drop("_next").with_columns(
        *[pl.Series(f"ask_vol_{i + 1}", ask[:, i]) for i in range(LEVELS)],
        *[pl.Series(f"bid_vol_{i + 1}", bid[:, i]) for i in range(LEVELS)],
    )
