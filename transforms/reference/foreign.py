"""Scalar foreign flow: R rows -> flow rows, the per-symbol summary and the by-sector table.

docs/analytics.md §6 (and §9 FOREIGN_ACCELERATION, whose level history lives here): running maxima of the four
cumulative levels, the first row of a symbol a baseline (its level counts, its delta does not), never-negative
deltas, speeds as rates over the elapsed effective time since the row 5 minutes back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date

from market.rules import round_half_up
from market.reference_data import sector
from transforms.params import DEFAULT_PARAMS, AnalyticsParams



@dataclass(frozen=True)
class _Point:
    """What the speed and alert rules read of an earlier row: t_eff, volume levels, speeds, net value level."""

    t_eff: int
    levels: tuple[int, int, int]  # cum_net_vol, running max buy_vol, running max sell_vol
    speeds: tuple[float | None, ...]  # net, buy, sell speeds of that row
    net_val: int  # cum_net_val_vnd


@dataclass
class _SymbolFlow:
    cm: list[int] | None = None  # buy_vol, sell_vol, buy_val, sell_val running maxima; None before the baseline
    t_eff: int | None = None
    first: _Point | None = None  # the baseline row
    recent: deque = field(default_factory=deque)  # points with t_eff > now - reach (360 s by default)
    anchor: _Point | None = None  # the latest point with t_eff <= now - reach
    corrections: int = 0
    last: dict | None = None  # the last flow row

    def latest_at_or_before(self, t: int) -> _Point | None:
        """The latest earlier point with ``t_eff <= t`` (for ``t >= now - reach``), or None."""
        for p in reversed(self.recent):
            if p.t_eff <= t:
                return p
        return self.anchor


def _rate(now: int, then: int, seconds: int) -> float | None:
    """Per-minute rate of a level change over ``seconds`` of effective time (None over no time)."""
    return (now - then) * 60 / seconds if seconds > 0 else None


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


class ForeignFlow:
    """Per-symbol state of the foreign flow; :meth:`on_row` turns one R row into one flow row."""

    def __init__(self, params: AnalyticsParams = DEFAULT_PARAMS) -> None:
        self._speed_s = params.foreign.speed_window_s
        self._lag_s = params.foreign.accel_lag_s
        self._level_lag_s = params.alerts.foreign_acceleration.window_s  # FOREIGN_ACCELERATION's level lag
        self._reach_s = max(self._speed_s + self._lag_s, self._level_lag_s)  # points older are not read
        self._symbols: dict[str, _SymbolFlow] = {}

    def on_row(self, row: dict, key: str, t_s: int) -> tuple[dict, int, int, int]:
        """One R row (``t_s`` = its exch_time in seconds) -> (flow row, t_eff_s, L_prev, L_i).

        L_prev / L_i are the FOREIGN_ACCELERATION levels (cum_net_val_vnd 5 minutes earlier / now).
        """
        st = self._symbols.get(key)
        if st is None:
            st = self._symbols[key] = _SymbolFlow()
        levels = (
            row["buy_vol"] if row["buy_vol"] is not None else 0,
            row["sell_vol"] if row["sell_vol"] is not None else 0,
            round_half_up(row["buy_val"]) if row["buy_val"] is not None else 0,
            round_half_up(row["sell_val"]) if row["sell_val"] is not None else 0,
        )
        correction = False
        baseline = st.cm is None
        previous_cm = [0, 0, 0, 0] if baseline else list(st.cm)
        cm = []
        for level, previous in zip(levels, previous_cm, strict=True):
            if level < previous:
                correction = True
            cm.append(max(level, previous))
        st.cm = cm
        deltas = [0, 0, 0, 0] if baseline else [c - p for c, p in zip(cm, previous_cm, strict=True)]
        net_vol = deltas[0] - deltas[1]
        net_val = deltas[2] - deltas[3]
        st.corrections += correction

        t_eff = t_s if st.t_eff is None or t_s > st.t_eff else st.t_eff
        st.t_eff = t_eff
        first = st.first
        while st.recent and st.recent[0].t_eff <= t_eff - self._reach_s:
            st.anchor = st.recent.popleft()
        levels_now = (cm[0] - cm[1], cm[0], cm[1])  # net, buy, sell volume levels
        # docs/analytics.md §6: speed from the row 5 minutes back (else the baseline), acceleration against the
        # speed of the row 1 minute back
        a = st.latest_at_or_before(t_eff - self._speed_s) or first
        b = st.latest_at_or_before(t_eff - self._lag_s)
        speeds = tuple(_rate(now, then, t_eff - a.t_eff) if a is not None else None
                       for now, then in zip(levels_now, a.levels if a is not None else levels_now, strict=True))
        accels = [_minus(sp, b.speeds[k]) if b is not None else None for k, sp in enumerate(speeds)]
        now = _Point(t_eff, levels_now, speeds, cm[2] - cm[3])
        if first is None:
            st.first = now
        level_prev = (st.latest_at_or_before(t_eff - self._level_lag_s) or st.first).net_val
        st.recent.append(now)

        total_room, current_room = row["total_room"], row["current_room"]
        room_used = (
            1 - current_room / total_room if total_room is not None and total_room > 0 and current_room is not None
            else None
        )
        out = {
            "trading_date": row["trading_date"],
            "exch_time": row["exch_time"],
            "symbol": row["symbol"],
            "buy_vol": levels[0],
            "sell_vol": levels[1],
            "buy_val_vnd": levels[2],
            "sell_val_vnd": levels[3],
            "d_buy_vol": deltas[0],
            "d_sell_vol": deltas[1],
            "d_buy_val_vnd": deltas[2],
            "d_sell_val_vnd": deltas[3],
            "net_vol": net_vol,
            "net_val_vnd": net_val,
            "cum_net_vol": levels_now[0],
            "cum_net_val_vnd": now.net_val,
            "speed_vol_per_min": speeds[0],
            "accel_vol_per_min": accels[0],
            "speed_buy_vol_per_min": speeds[1],
            "accel_buy_vol_per_min": accels[1],
            "speed_sell_vol_per_min": speeds[2],
            "accel_sell_vol_per_min": accels[2],
            "total_room": total_room,
            "current_room": current_room,
            "room_used": room_used,
            "correction": correction,
        }
        st.last = {"cm": tuple(st.cm), "room_used": room_used, "trading_date": row["trading_date"],
                   "symbol": row["symbol"], "corrections": st.corrections}
        return out, t_eff, level_prev, now.net_val

    def summary(self) -> list[dict]:
        """One row per stream (symbol): the last row's running-max levels, ranks; sorted by symbol."""
        rows = []
        for st in self._symbols.values():
            last = st.last
            assert last is not None
            bv, sv, bval, sval = last["cm"]
            rows.append(
                {
                    "trading_date": last["trading_date"],
                    "symbol": last["symbol"],
                    "sector": sector(last["symbol"]),
                    "buy_vol": bv,
                    "sell_vol": sv,
                    "buy_val_vnd": bval,
                    "sell_val_vnd": sval,
                    "net_vol": bv - sv,
                    "net_val_vnd": bval - sval,
                    "room_used": last["room_used"],
                    "corrections": last["corrections"],
                    "rank_net_buy": None,
                    "rank_net_sell": None,
                }
            )
        rows.sort(key=lambda r: (r["symbol"], r["trading_date"]))
        buyers = sorted((r for r in rows if r["net_val_vnd"] > 0), key=lambda r: (-r["net_val_vnd"], r["symbol"]))
        sellers = sorted((r for r in rows if r["net_val_vnd"] < 0), key=lambda r: (r["net_val_vnd"], r["symbol"]))
        for rank, r in enumerate(buyers[:10], start=1):
            r["rank_net_buy"] = rank
        for rank, r in enumerate(sellers[:10], start=1):
            r["rank_net_sell"] = rank
        return rows


def by_sector(summary: list[dict]) -> list[dict]:
    """Sums of the summary per (trading_date, sector); sorted by sector, then trading_date."""
    groups: dict[tuple[date, str], dict] = {}
    for r in summary:
        g = groups.get((r["trading_date"], r["sector"]))
        if g is None:
            g = groups[(r["trading_date"], r["sector"])] = {
                "trading_date": r["trading_date"], "sector": r["sector"], "symbols": 0, "buy_val_vnd": 0,
                "sell_val_vnd": 0, "net_val_vnd": 0, "net_vol": 0,
            }
        g["symbols"] += 1
        for column in ("buy_val_vnd", "sell_val_vnd", "net_val_vnd", "net_vol"):
            g[column] += r[column]
    return sorted(groups.values(), key=lambda g: (g["sector"], g["trading_date"]))
