"""Per-symbol volume and value by aggressor side and session phase (docs/analytics.md §4).

Input: classified trades (``transforms.schemas.TRADES``). Output: ``transforms.schemas.SESSION_STATS``,
one row per (trading_date, symbol) and phase of ``schemas.SESSION_STATS_PHASES`` (ato, continuous, atc, plo,
pt, total) — the phases sum exactly to the total.

Every column is a sum, so the table is held as a key list and an Int64 array of shape (keys, phases, measures):
one group_by of the trades fills it, two parts of a day add up key by key (:func:`merge_session_stats`), and the
frame is assembled once. The live loop merges a micro-batch of a few trades into the day's table every batch;
an array addition costs microseconds where a group_by costs a Polars query.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms import schemas

_SIDES = ("buy", "sell", "neutral")
_PHASES = schemas.SESSION_STATS_PHASES
_TOTAL = _PHASES.index("total")
_PHASE_AT = {p: i for i, p in enumerate(_PHASES) if p != "total"}
_MEASURES = tuple(c for c in schemas.SESSION_STATS if c not in ("trading_date", "symbol", "phase"))
# measure index per (side, what): trade_count 0, volume 1, value_vnd 2, then the sides' volume and value
_SIDE_VOLUME = {s: _MEASURES.index(f"{s}_volume") for s in _SIDES}
_SIDE_VALUE = {s: _MEASURES.index(f"{s}_value_vnd") for s in _SIDES}
_Key = tuple  # (trading_date as days since 1970-01-01, symbol)
_ID = ("trading_date", "symbol", "phase")


def session_stats(trades: pl.DataFrame) -> pl.DataFrame:
    """Aggregate classified trades into phase and total rows (Int64 shares and VND; exact sums).

    Parameters
    ----------
    trades : ``TRADES`` (trading_date, symbol, phase, aggressor_side, volume, value_vnd are read).

    Returns
    -------
    ``SESSION_STATS``: for each (trading_date, symbol) with a trade, one row per phase of
    ``SESSION_STATS_PHASES`` (zeros where the phase had no trade), sorted by symbol, phase order, trading_date.
    Side columns count trades whose ``aggressor_side`` is buy / sell / neutral; trade_count, volume and value_vnd
    count every trade.
    """
    if trades.height == 0:
        return schemas.empty(schemas.SESSION_STATS)
    keys, values = _from_trades(trades)
    return _assemble(keys, values)


def merge_session_stats(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`session_stats` of two consecutive parts of a day -> that of their concatenation (every column is
    a sum, so the phase and total rows add up key by key)."""
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    keys, rows, values = _from_table(earlier)
    later_keys, _, later_values = _from_table(later)
    at = {k: i for i, k in enumerate(keys)}
    new = [k for k in later_keys if k not in at]
    if new:
        at.update({k: len(keys) + i for i, k in enumerate(new)})
        keys = keys + new
        values = np.concatenate([values, np.zeros((len(new), *values.shape[1:]), np.int64)])
    np.add.at(values, np.array([at[k] for k in later_keys], dtype=np.int64), later_values)
    if new:
        return _assemble(keys, values)
    # the usual micro-batch: no new symbol, so the earlier rows stay where they are with new sums
    return earlier.select(_ID).hstack(_measures(values[rows]))


def _from_trades(trades: pl.DataFrame) -> tuple[list[_Key], np.ndarray]:
    """One group_by (key, phase, side) -> keys and their (phase, measure) sums."""
    g = trades.group_by("trading_date", "symbol", "phase", "aggressor_side").agg(
        pl.len().cast(pl.Int64).alias("n"), pl.col("volume").sum().alias("v"), pl.col("value_vnd").sum().alias("x"))
    dates = g.get_column("trading_date").cast(pl.Int32).to_list()  # days since 1970-01-01
    row_keys = list(zip(dates, g.get_column("symbol").to_list()))
    keys = list(dict.fromkeys(row_keys))
    at = {k: i for i, k in enumerate(keys)}
    key_idx = np.array([at[k] for k in row_keys], dtype=np.int64)
    # a phase outside SESSION_STATS_PHASES (none is expected) counts in the total only, as a side outside _SIDES
    phase_idx = np.array([_PHASE_AT.get(p, -1) for p in g.get_column("phase").to_list()], dtype=np.int64)
    sides = np.array(g.get_column("aggressor_side").to_list(), dtype=object)
    n, v, x = (g.get_column(c).to_numpy().astype(np.int64) for c in ("n", "v", "x"))
    values = np.zeros((len(keys), len(_PHASES), len(_MEASURES)), np.int64)
    in_phase = phase_idx >= 0
    for rows, phase in ((in_phase, phase_idx), (np.ones_like(in_phase), np.full_like(phase_idx, _TOTAL))):
        for measure, amount, hit in ((0, n, rows), (1, v, rows), (2, x, rows),
                                     *((_SIDE_VOLUME[s], v, rows & (sides == s)) for s in _SIDES),
                                     *((_SIDE_VALUE[s], x, rows & (sides == s)) for s in _SIDES)):
            np.add.at(values, (key_idx[hit], phase[hit], measure), amount[hit])
    return keys, values


def _from_table(table: pl.DataFrame) -> tuple[list[_Key], tuple[np.ndarray, np.ndarray], np.ndarray]:
    """A ``SESSION_STATS`` frame -> its keys, each row's (key, phase) index and the (phase, measure) sums."""
    dates = table.get_column("trading_date").cast(pl.Int32).to_list()  # days since 1970-01-01
    row_keys = list(zip(dates, table.get_column("symbol").to_list()))
    keys = list(dict.fromkeys(row_keys))
    at = {k: i for i, k in enumerate(keys)}
    rows = (np.array([at[k] for k in row_keys], dtype=np.int64),
            np.array([_PHASES.index(p) for p in table.get_column("phase").to_list()], dtype=np.int64))
    values = np.zeros((len(keys), len(_PHASES), len(_MEASURES)), np.int64)
    values[rows] = np.column_stack([table.get_column(m).to_numpy() for m in _MEASURES])
    return keys, rows, values


def _assemble(keys: list[_Key], values: np.ndarray) -> pl.DataFrame:
    """Keys (trading_date as days since 1970-01-01, symbol) and their sums -> ``SESSION_STATS`` rows sorted by
    symbol, phase order, trading_date."""
    order = sorted(((k[1], p, k[0], i) for i, k in enumerate(keys) for p in range(len(_PHASES))))
    symbol, phase, day, key = zip(*order)
    return pl.DataFrame(
        {"trading_date": pl.Series(day, dtype=pl.Int32).cast(pl.Date), "symbol": pl.Series(symbol, dtype=pl.String),
         "phase": pl.Series([_PHASES[p] for p in phase], dtype=pl.String)}
    ).hstack(_measures(values[np.array(key), np.array(phase)]))


def _measures(rows: np.ndarray) -> list[pl.Series]:
    """(rows, measures) Int64 -> one Series per measure column."""
    cols = np.ascontiguousarray(rows.T)
    return [pl.Series(m, cols[j]) for j, m in enumerate(_MEASURES)]
