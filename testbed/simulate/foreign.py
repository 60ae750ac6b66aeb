"""Foreign investors' participation in prints and the cumulative R frames (docs/ssi-wire.md §2.4).

Each print's buyer is foreign with probability ``p_buy`` and, independently, its seller with ``p_sell``:
``foreign_share * (1 + bias)`` and ``foreign_share * (1 - bias)`` (VN30 members 12-25%), where the day's ``bias``
of a stock is ``+-U(0.25, 0.7)``: foreign money leans one way on a stock all day, so its net position builds a
trend rather than wandering around zero (a level near zero would make every 5-minute swing a "30% change").
During *foreign episodes*, windows of 10-30 minutes, foreign money pushes one way hard (``p`` of that side x5,
capped at 85%; the other side halved).
Episodes make net foreign flow accelerate (FOREIGN_ACCELERATION fires: >= 1 bn VND and > 30% change over
5 minutes, docs/analytics.md §9).

An R frame follows every event (a continuous order, an auction, a put-through deal) in which a foreign investor
took part: the cumulative ``BuyVol/SellVol`` (shares) and ``BuyVal/SellVal`` (VND, volume x print price, as HOSE
approximates them) of the day, ``TotalRoom`` (the foreign-ownership cap, shares) and ``CurrentRoom`` (room left:
room at the open minus net foreign buying, within [0, TotalRoom]). The levels never go down, except for rare
deliberate *corrections*: one extra frame right after a genuine one with ``SellVol``/``SellVal`` (or the buy
side) lowered by 5%, as a vendor restating a number would; the next frame is back on the true path.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from testbed.simulate.schedule import SCHEDULES
from testbed.simulate.universe import Universe

EPISODE_RATE_VN30 = 1.0  # expected foreign episodes per VN30 member per day
EPISODE_RATE_OTHER = 0.15
BIAS = (0.25, 0.7)  # range of the daily lean of foreign money on one stock (fraction of its base participation)
CORRECTION_RATE = 0.03  # share of instruments with one corrected R frame in the day


def foreign_episodes(rng: np.random.Generator, universe: Universe) -> pl.DataFrame:
    """Foreign episodes of the day: ``sym`` i64, ``start``/``end`` i64 seconds since midnight, ``dir`` i8 (+1
    foreign buying, -1 selling). Instruments without foreign participation (futures) have none."""
    rate = np.where(universe.is_vn30, EPISODE_RATE_VN30, EPISODE_RATE_OTHER) * (universe.foreign_share > 0)
    k = rng.poisson(rate)
    sym = np.repeat(np.arange(universe.size), k)
    start = np.zeros(len(sym), dtype=np.int64)
    for exchange, sched in SCHEDULES.items():
        m = universe.exchange[sym] == exchange
        if m.any():
            seconds = sched.continuous_seconds()
            start[m] = seconds[rng.integers(0, len(seconds), int(m.sum()))]
    duration = rng.integers(600, 1800, len(sym))
    return pl.DataFrame({"sym": sym.astype(np.int64), "start": start, "end": start + duration,
                         "dir": np.where(rng.random(len(sym)) < 0.5, 1, -1).astype(np.int8)})


def foreign_flags(rng: np.random.Generator, universe: Universe, prints: pl.DataFrame,
                  episodes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per print: is the buyer foreign, is the seller foreign (two bool arrays, ``prints`` row order).

    ``prints`` must be sorted by ``(sym, sec, ...)``.
    """
    sym = prints.get_column("sym").to_numpy()
    sec = prints.get_column("sec").to_numpy()
    key = sym * 86_400 + sec
    direction = np.zeros(len(sym) + 1, dtype=np.int64)
    if episodes.height:
        e_sym = episodes.get_column("sym").to_numpy()
        lo = np.searchsorted(key, e_sym * 86_400 + episodes.get_column("start").to_numpy(), side="left")
        hi = np.searchsorted(key, e_sym * 86_400 + episodes.get_column("end").to_numpy(), side="left")
        d = episodes.get_column("dir").to_numpy().astype(np.int64)
        np.add.at(direction, lo, d)
        np.add.at(direction, hi, -d)
    direction = np.sign(np.cumsum(direction)[:-1])
    lean = rng.uniform(*BIAS, universe.size) * np.where(rng.random(universe.size) < 0.5, 1, -1)
    bias = lean[sym]
    base = universe.foreign_share[sym]
    buy, sell = base * (1 + bias), base * (1 - bias)
    p_buy = np.where(direction > 0, np.minimum(5 * base, 0.85), np.where(direction < 0, buy / 2, buy))
    p_sell = np.where(direction < 0, np.minimum(5 * base, 0.85), np.where(direction > 0, sell / 2, sell))
    return rng.random(len(sym)) < p_buy, rng.random(len(sym)) < p_sell


def room_frames(rng: np.random.Generator, universe: Universe, prints: pl.DataFrame, fbuy: np.ndarray,
                fsell: np.ndarray, *, force_correction: bool) -> pl.DataFrame:
    """The R frames of the day.

    Parameters
    ----------
    prints : every print, sorted by ``(sym, sec, sub_ns, event, child)``; columns ``sym, sec, sub_ns, event,
        price, vol``.
    fbuy, fsell : foreign buyer / seller per print (:func:`foreign_flags`).
    force_correction : make sure at least one VN30 member carries a correction (the ``vn30`` universe shows
        every analytic).

    Returns
    -------
    pl.DataFrame ``sym, sec, sub_ns, event, ord (0 genuine, 1 correction), buy_vol, sell_vol, buy_val,
    sell_val, total_room, current_room`` (float64 shares / VND), sorted by ``(sym, sec, sub_ns, event, ord)``.
    """
    vol = prints.get_column("vol").to_numpy()
    price = prints.get_column("price").to_numpy()
    bv, sv = np.where(fbuy, vol, 0), np.where(fsell, vol, 0)
    frame = prints.select("sym", "sec", "sub_ns", "event").with_columns(
        pl.Series("_bv", bv), pl.Series("_sv", sv),
        pl.Series("_bval", bv * price), pl.Series("_sval", sv * price),
    ).with_columns(
        pl.col("_bv").cum_sum().over("sym").alias("buy_vol"), pl.col("_sv").cum_sum().over("sym").alias("sell_vol"),
        pl.col("_bval").cum_sum().over("sym").alias("buy_val"), pl.col("_sval").cum_sum().over("sym").alias("sell_val"),
        ((pl.col("_bv") + pl.col("_sv")) > 0).any().over("sym", "event").alias("_touched"),
    )
    last_of_event = np.r_[prints.get_column("event").to_numpy()[1:] != prints.get_column("event").to_numpy()[:-1], True]
    r = frame.filter(pl.Series(last_of_event) & pl.col("_touched")).drop("_bv", "_sv", "_bval", "_sval", "_touched")
    rs = r.get_column("sym").to_numpy()
    net = (r.get_column("buy_vol") - r.get_column("sell_vol")).to_numpy()
    current = np.clip(universe.room0[rs] - net, 0, universe.total_room[rs])
    r = r.with_columns(
        pl.lit(0, pl.Int64).alias("ord"),
        pl.col("buy_vol", "sell_vol", "buy_val", "sell_val").cast(pl.Float64),
        pl.Series("total_room", universe.total_room[rs]), pl.Series("current_room", current.astype(np.float64)),
    )
    return pl.concat([r, _corrections(rng, universe, r, force_correction)]).sort("sym", "sec", "sub_ns", "event", "ord")


def _corrections(rng: np.random.Generator, universe: Universe, r: pl.DataFrame, force: bool) -> pl.DataFrame:
    """One corrected copy of a mid-day R frame for a few instruments (module docstring)."""
    counts = r.group_by("sym", maintain_order=True).len().filter(pl.col("len") >= 8)
    if counts.height == 0:
        return r.clear()
    cand = counts.get_column("sym").to_numpy()
    chosen = cand[rng.random(len(cand)) < CORRECTION_RATE]
    members = cand[universe.is_vn30[cand]]
    if force and not universe.is_vn30[chosen].any() and len(members):
        chosen = np.r_[chosen, rng.choice(members)]
    rows = []
    for s in np.sort(chosen):
        mine = r.filter(pl.col("sym") == s)
        row = mine.row(int(rng.integers(mine.height // 4, 3 * mine.height // 4)), named=True)
        side = "sell" if row["sell_vol"] >= 200 else "buy"
        cut = max(100.0, round(0.05 * row[f"{side}_vol"], -2))
        ratio = (row[f"{side}_vol"] - cut) / row[f"{side}_vol"] if row[f"{side}_vol"] else 0.0
        row[f"{side}_vol"] = max(0.0, row[f"{side}_vol"] - cut)
        row[f"{side}_val"] = float(round(row[f"{side}_val"] * ratio))
        row["ord"] = 1
        rows.append(row)
    return pl.DataFrame(rows, schema=r.schema) if rows else r.clear()
