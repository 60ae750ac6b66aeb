"""VN30 and VNINDEX from the simulated prints: the MI frames and the index B bars (docs/ssi-wire.md §2.5, §2.6).

At a time ``T`` each constituent's price is its last matched (not put-through) print at or before the end of
second ``T`` in arrival order, else its reference price. Then

* VN30 = ``PriorIndexValue * sum_i w_i * P_i / ref_i`` with the basket weights ``w_i`` (sum 1),
* VNINDEX = ``PriorIndexValue * sum_i cap_i * P_i / ref_i / sum_i cap_i`` with ``cap_i = shares_i * ref_i`` over
  the HOSE stocks of the universe,

rounded to 2 decimals. Breadth counts the constituents above / below / at their reference, at the ceiling /
floor. ``TotalQtty``/``TotalValue`` are the constituents' cumulative matched volume (shares) / value (VND);
``TotalQttyPt``/``TotalValuePt`` their put-through; ``AllQty``/``AllValue`` the sums.

Cadence: one MI per index every 5 s from 09:00:00 to 11:30:00 and from 13:00:00 to 14:45:00 (the real 2026
capture shows 5 s), placed after every print of its second; then one at 15:00:00 with ``TradingSession`` "C"
(VN30's breadth zeroed, as in the capture-backed post-close VN30 frame). Each MI is followed by a B bar of the
index (O=H=L=C = the value, ``Volume`` = the ``TotalQtty`` increment since the previous bar).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from testbed.simulate.schedule import hms
from testbed.simulate.trades import PT
from testbed.simulate.universe import Universe

INDEX_IDS: tuple[str, ...] = ("VN30", "VNINDEX")
INDEX_TYPE = {"VN30": "", "VNINDEX": "Main"}  # as in the 2024 VN30 and 2026 VNINDEX samples
_END_OF_SECOND_NS = 999_999_999


def index_seconds() -> np.ndarray:
    """Seconds of the day carrying an MI frame (int64, ascending; module docstring)."""
    return np.concatenate([
        np.arange(hms(9), hms(11, 30) + 1, 5), np.arange(hms(13), hms(14, 45) + 1, 5), [hms(15)],
    ]).astype(np.int64)


def index_session(seconds: np.ndarray) -> np.ndarray:
    """``TradingSession`` of the MI frame at each second: ATO before 09:15, ATC from 14:30 to 14:45, C at
    15:00, LO otherwise (object array)."""
    out = np.full(len(seconds), "LO", dtype=object)
    out[seconds < hms(9, 15)] = "ATO"
    out[(seconds >= hms(14, 30)) & (seconds <= hms(14, 45))] = "ATC"
    out[seconds >= hms(15)] = "C"
    return out


class PriceBoard:
    """Last matched price and cumulative volumes of instruments at given instants, from the day's prints.

    Parameters
    ----------
    prints : every print with running totals (``trades.with_running_totals``), sorted by
        ``(sym, sec, sub_ns, event, child)``; columns ``sym, sec, sub_ns, session, price, vol, value_vnd,
        total_vol, total_val``.
    universe : the instruments (reference prices, limits).
    """

    def __init__(self, prints: pl.DataFrame, universe: Universe) -> None:
        self.universe = universe
        normal = prints.filter(pl.col("session") != PT)
        pt = prints.filter(pl.col("session") == PT).with_columns(
            pl.col("vol").cum_sum().over("sym").alias("pt_vol"),
            pl.col("value_vnd").cum_sum().over("sym").alias("pt_val"),
        )
        self._n = self._table(normal, ["price", "total_vol", "total_val"])
        self._p = self._table(pt, ["pt_vol", "pt_val"])

    @staticmethod
    def _table(frame: pl.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
        key = (frame.get_column("sym").to_numpy() * 86_400 + frame.get_column("sec").to_numpy()) * 1_000_000_000 \
            + frame.get_column("sub_ns").to_numpy()
        return {"key": key, **{c: frame.get_column(c).to_numpy() for c in columns}}

    def _at(self, table: dict[str, np.ndarray], syms: np.ndarray, seconds: np.ndarray):
        q = ((syms[:, None] * 86_400 + seconds[None, :]) * 1_000_000_000 + _END_OF_SECOND_NS).ravel()
        pos = np.searchsorted(table["key"], q, side="right") - 1
        owner = np.repeat(syms, len(seconds))
        ok = pos >= 0
        ok[ok] = table["key"][pos[ok]] // (86_400 * 1_000_000_000) == owner[ok]
        return pos.clip(0), ok, (len(syms), len(seconds))

    def prices(self, syms: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Last matched price of each instrument at the end of each second, else its reference:
        float64 matrix ``[len(syms), len(seconds)]``."""
        pos, ok, shape = self._at(self._n, syms, seconds)
        if len(self._n["key"]) == 0:
            return np.repeat(self.universe.ref[syms][:, None], len(seconds), axis=1)
        ref = np.repeat(self.universe.ref[syms], len(seconds))
        return np.where(ok, self._n["price"][pos], ref).reshape(shape)

    def totals(self, syms: np.ndarray, seconds: np.ndarray) -> dict[str, np.ndarray]:
        """Summed cumulative ``qtty``/``value`` (matched) and ``qtty_pt``/``value_pt`` (put-through) of ``syms``
        at the end of each second (float64 arrays of ``len(seconds)``)."""
        out = {}
        for table, names in ((self._n, ("total_vol", "total_val")), (self._p, ("pt_vol", "pt_val"))):
            if len(table["key"]) == 0:
                out.update({n: np.zeros(len(seconds)) for n in names})
                continue
            pos, ok, shape = self._at(table, syms, seconds)
            for n in names:
                out[n] = np.where(ok, table[n][pos], 0).reshape(shape).sum(axis=0).astype(np.float64)
        return {"qtty": out["total_vol"], "value": out["total_val"], "qtty_pt": out["pt_vol"],
                "value_pt": out["pt_val"]}


def vn30_values(board: PriceBoard, seconds: np.ndarray) -> np.ndarray:
    """VN30 (points, unrounded) at the end of each second from the members' last prints (float64)."""
    u = board.universe
    members = np.flatnonzero(u.is_vn30)
    rel = board.prices(members, seconds) / u.ref[members][:, None]
    return u.vn30_prior * (u.vn30_weight[members][:, None] * rel).sum(axis=0)


def index_frames(board: PriceBoard) -> pl.DataFrame:
    """The MI rows of the day (module docstring), one per (index, second), sorted by second then index.

    Returns
    -------
    pl.DataFrame ``index`` str, ``sec`` i64, ``value``, ``prior``, ``change``, ``ratio`` f64 (points, %),
    ``qtty``, ``value_vnd``, ``qtty_pt``, ``value_pt``, ``all_qty``, ``all_value`` f64, ``advances``,
    ``no_changes``, ``declines``, ``ceilings``, ``floors`` i64, ``session`` str, ``bar_volume`` f64 (the B bar's
    ``Volume``).
    """
    u = board.universe
    seconds = index_seconds()
    baskets = {"VN30": np.flatnonzero(u.is_vn30), "VNINDEX": np.flatnonzero(u.mask("HOSE"))}
    priors = {"VN30": u.vn30_prior, "VNINDEX": u.vnindex_prior}
    session = index_session(seconds)
    parts = []
    for index_id in INDEX_IDS:
        syms = baskets[index_id]
        px = board.prices(syms, seconds)
        ref = u.ref[syms][:, None]
        if index_id == "VN30":
            weight = u.vn30_weight[syms]
        else:
            weight = u.shares[syms] * u.ref[syms]
            weight = weight / weight.sum()
        value = np.round(priors[index_id] * (weight[:, None] * px / ref).sum(axis=0), 2)
        change = np.round(value - priors[index_id], 2) + 0.0
        tot = board.totals(syms, seconds)
        breadth = {
            "advances": (px > ref).sum(axis=0), "no_changes": (px == ref).sum(axis=0),
            "declines": (px < ref).sum(axis=0), "ceilings": (px >= u.ceiling[syms][:, None]).sum(axis=0),
            "floors": (px <= u.floor[syms][:, None]).sum(axis=0),
        }
        if index_id == "VN30":
            closed = session == "C"
            breadth = {k: np.where(closed, 0, v) for k, v in breadth.items()}
        parts.append(pl.DataFrame({
            "index": [index_id] * len(seconds), "sec": seconds, "value": value,
            "prior": np.full(len(seconds), priors[index_id]), "change": change,
            "ratio": np.round(change / priors[index_id] * 100, 2) + 0.0,
            "qtty": tot["qtty"], "value_vnd": tot["value"], "qtty_pt": tot["qtty_pt"], "value_pt": tot["value_pt"],
            "all_qty": tot["qtty"] + tot["qtty_pt"], "all_value": tot["value"] + tot["value_pt"],
            **{k: v.astype(np.int64) for k, v in breadth.items()},
            "session": session.astype(str), "bar_volume": np.diff(tot["qtty"], prepend=0.0),
        }))
    return pl.concat(parts).sort("sec", "index")
