"""Scalar foreign flow: R rows -> flow rows, the per-symbol summary and the by-sector table.

docs/analytics.md §6 (and §9 FOREIGN_ACCELERATION, whose level history lives here): running maxima of the four
cumulative levels, never-negative deltas, 5-minute speed windows over the stream's effective time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date

from market.rules import round_half_up
from market.reference_data import sector
from transforms.params import DEFAULT_PARAMS, AnalyticsParams



@dataclass
class _SymbolFlow:
    cm: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # buy_vol, sell_vol, buy_val, sell_val
    cum_net_vol: int = 0
    cum_net_val: int = 0
    t_eff: int | None = None
    window: deque = field(default_factory=deque)  # (t_eff, net_vol) of rows with t_eff > now - 360 s
    levels: deque = field(default_factory=deque)  # (t_eff, cum_net_val) not yet 5 min old
    level_5min_ago: int = 0  # cum_net_val of the latest row at least 5 min older than now
    corrections: int = 0
    last: dict | None = None  # the last flow row


class ForeignFlow:
    """Per-symbol state of the foreign flow; :meth:`on_row` turns one R row into one flow row."""

    def __init__(self, params: AnalyticsParams = DEFAULT_PARAMS) -> None:
        self._speed_s = params.foreign.speed_window_s
        self._lag_s = params.foreign.accel_lag_s
        self._level_lag_s = params.alerts.foreign_acceleration.window_s  # FOREIGN_ACCELERATION's level lag
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
        deltas = []
        for i, level in enumerate(levels):
            previous = st.cm[i]
            if level < previous:
                correction = True
            if level > previous:
                st.cm[i] = level
            deltas.append(st.cm[i] - previous)
        net_vol = deltas[0] - deltas[1]
        net_val = deltas[2] - deltas[3]
        st.cum_net_vol += net_vol
        st.cum_net_val += net_val
        st.corrections += correction

        t_eff = t_s if st.t_eff is None or t_s > st.t_eff else st.t_eff
        st.t_eff = t_eff
        window = st.window
        window.append((t_eff, net_vol))
        speed_s, lag_s = self._speed_s, self._lag_s
        while window[0][0] <= t_eff - speed_s - lag_s:
            window.popleft()
        recent = sum(v for t, v in window if t > t_eff - speed_s)
        lagged = sum(v for t, v in window if t <= t_eff - lag_s)
        speed = recent / (speed_s / 60)
        accel = speed - lagged / (speed_s / 60)

        while st.levels and st.levels[0][0] <= t_eff - self._level_lag_s:
            st.level_5min_ago = st.levels.popleft()[1]
        level_prev = st.level_5min_ago
        st.levels.append((t_eff, st.cum_net_val))

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
            "cum_net_vol": st.cum_net_vol,
            "cum_net_val_vnd": st.cum_net_val,
            "speed_vol_per_min": speed,
            "accel_vol_per_min": accel,
            "total_room": total_room,
            "current_room": current_room,
            "room_used": room_used,
            "correction": correction,
        }
        st.last = {"cm": tuple(st.cm), "room_used": room_used, "trading_date": row["trading_date"],
                   "symbol": row["symbol"], "corrections": st.corrections}
        return out, t_eff, level_prev, st.cum_net_val

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
