"""Rows of the X channel (combined snapshot: trade fields + 10-level book; docs/ssi-wire.md §2.3), only on request.

X fires on trade or quote changes. The simulator writes one X after every matched print (the print's fields and
the book after it: the book it hit until its event's last print, then the next book; after a call auction, the
book the auction leaves) and one X beside every X-QUOTE (that book, with the latest trade that arrived before it:
``LastVol`` repeats until the next trade, as on the wire). Put-through deals have no X. So a day recorded with X
only gives the analytics every matched trade (from the TotalVol deltas) and a book before each of them.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from testbed.simulate.build import SimulatedDay
from testbed.simulate.quotes import LEVELS, level_volumes
from testbed.simulate.trades import PT, SESSION_CODES
from testbed.simulate.universe import UNIVERSES


def snapshot_tables(sim: SimulatedDay) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The X rows of a simulated day (module docstring).

    Returns
    -------
    (x_prints, x_books) : two tables for ``frames.render_x``, each with the arrival key ``sym, sec, sub_ns, event``
        (``child`` for prints, ``ord`` for books), the book ``b`` i64 + ``session_text`` str + ``ask_vol_1..10``,
        ``bid_vol_1..10`` i64 (shares or contracts), and the trade state ``price, vol, total_vol, total_val, avg,
        est, open, highest, lowest, side`` (zeros and the reference as ``est`` before the first trade).
    """
    rng = np.random.default_rng([sim.seed, sim.day.toordinal(), UNIVERSES.index(sim.universe_name), 7])
    state = ["price", "vol", "total_vol", "total_val", "avg", "est", "open", "highest", "lowest", "side"]
    matched = sim.prints.filter(pl.col("session") != PT)
    sym = matched.get_column("sym").to_numpy()
    ask, bid = level_volumes(rng, sim.universe, sym)
    vols = [pl.Series(f"ask_vol_{i + 1}", ask[:, i]) for i in range(LEVELS)] + \
        [pl.Series(f"bid_vol_{i + 1}", bid[:, i]) for i in range(LEVELS)]
    x_prints = matched.with_columns(
        pl.col("b_after").alias("b"),
        pl.col("session").replace_strict(list(range(len(SESSION_CODES))), list(SESSION_CODES),
                                         return_dtype=pl.String).alias("session_text"),
        *vols,
    )
    books = sim.books
    key_p = _composite(matched)
    key_b = _composite(books)
    pos = np.searchsorted(key_p, key_b, side="right") - 1
    ok = pos >= 0
    ok[ok] = sym[pos[ok]] == books.get_column("sym").to_numpy()[ok]
    last = matched.select(state)[np.clip(pos, 0, None)]
    u = sim.universe
    b_sym = books.get_column("sym").to_numpy()
    fill = dict.fromkeys(state, 0) | {"avg": 0.0}
    last = last.with_columns(
        [pl.when(pl.Series(ok)).then(pl.col(c)).otherwise(pl.lit(fill[c])).alias(c) for c in state if c != "est"]
        + [pl.when(pl.Series(ok)).then(pl.col("est")).otherwise(pl.Series(u.ref[b_sym])).alias("est")]
    )
    x_books = pl.concat([books.rename({"session": "session_text"}), last], how="horizontal")
    return x_prints, x_books


def _composite(table: pl.DataFrame) -> np.ndarray:
    sym = table.get_column("sym").to_numpy().astype(np.int64)
    sec = table.get_column("sec").to_numpy().astype(np.int64)
    return (sym * 86_400 + sec) * 1_000_000_000 + table.get_column("sub_ns").to_numpy().astype(np.int64)
