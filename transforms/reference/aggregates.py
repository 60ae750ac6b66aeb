"""Scalar day aggregates over the derived trades: session stats, 1-minute candles and the price board.

docs/analytics.md §4, §5, §10. Inputs are lists of dicts in arrival order; outputs are lists of dicts with the
columns of the matching ``transforms.schemas`` table, already in the documented order.
"""

from __future__ import annotations

from datetime import date, datetime

from market.rules import is_index_symbol, multiplier, normalize_exchange, resolve_exchange
from transforms.schemas import SESSION_STATS_PHASES

_SPLIT = ("buy", "sell", "neutral")


def _zero_stats() -> dict[str, int]:
    stats = {"trade_count": 0, "volume": 0, "value_vnd": 0}
    for side in _SPLIT:
        stats[f"{side}_volume"] = 0
        stats[f"{side}_value_vnd"] = 0
    return stats


def session_stats(trades: list[dict]) -> list[dict]:
    """Five rows (ato, continuous, atc, pt, total) per (trading_date, symbol) with a trade, zero-filled;
    sorted by symbol, trading_date, then phase in that order."""
    groups: dict[tuple[str, date], dict[str, dict[str, int]]] = {}
    for t in trades:
        key = (t["symbol"], t["trading_date"])
        phases = groups.get(key)
        if phases is None:
            phases = groups[key] = {p: _zero_stats() for p in SESSION_STATS_PHASES}
        side = t["aggressor_side"]
        for stats in (phases[t["phase"]], phases["total"]):
            stats["trade_count"] += 1
            stats["volume"] += t["volume"]
            stats["value_vnd"] += t["value_vnd"]
            stats[f"{side}_volume"] += t["volume"]
            stats[f"{side}_value_vnd"] += t["value_vnd"]
    rows = []
    for (symbol, day) in sorted(groups):
        for phase in SESSION_STATS_PHASES:
            rows.append({"trading_date": day, "symbol": symbol, "phase": phase, **groups[(symbol, day)][phase]})
    return rows


def candles_1m(trades: list[dict]) -> list[dict]:
    """OHLCV per (trading_date, symbol, minute) over trades with phase != pt; sorted by symbol, minute.
    vwap uses the multiplier of the minute's first trade."""
    groups: dict[tuple[str, datetime, date], dict] = {}
    for t in trades:
        if t["phase"] == "pt":
            continue
        minute = t["exch_time"].replace(second=0, microsecond=0)
        key = (t["symbol"], minute, t["trading_date"])
        c = groups.get(key)
        price = t["price"]
        if c is None:
            c = groups[key] = {
                "trading_date": t["trading_date"], "symbol": t["symbol"], "minute": minute,
                "open": price, "high": price, "low": price, "close": price, "volume": 0, "value_vnd": 0,
                "vwap": None, "trade_count": 0, "buy_volume": 0, "sell_volume": 0,
                "_mult": multiplier(t["symbol"], t["exchange"]),
            }
        if price > c["high"]:
            c["high"] = price
        if price < c["low"]:
            c["low"] = price
        c["close"] = price
        c["volume"] += t["volume"]
        c["value_vnd"] += t["value_vnd"]
        c["trade_count"] += 1
        if t["aggressor_side"] == "buy":
            c["buy_volume"] += t["volume"]
        elif t["aggressor_side"] == "sell":
            c["sell_volume"] += t["volume"]
    rows = []
    for key in sorted(groups):
        c = groups[key]
        c["vwap"] = c["value_vnd"] / (c["volume"] * c.pop("_mult"))
        rows.append(c)
    return rows


class BoardState:
    """Per (trading_date, symbol) board inputs, fed in arrival order by the frame loop."""

    def __init__(self) -> None:
        self._rows: dict[tuple[date, str], dict] = {}  # symbols with a trade, X-QUOTE or X row
        self._r_time: dict[tuple[date, str], datetime] = {}  # latest R exch_time

    def _entry(self, day: date, symbol: str) -> dict:
        e = self._rows.get((day, symbol))
        if e is None:
            e = self._rows[(day, symbol)] = {
                "last_price": None, "ref_price": None, "ceiling": None, "floor": None, "exchange": None,
                "book": None, "volume": 0, "value_vnd": 0, "buy": 0, "sell": 0, "last_exch_time": None,
            }
        return e

    @staticmethod
    def _touch(e: dict, t: datetime) -> None:
        if e["last_exch_time"] is None or t > e["last_exch_time"]:
            e["last_exch_time"] = t

    def _refs(self, e: dict, row: dict) -> None:
        for column in ("ref_price", "ceiling", "floor"):
            if row[column] is not None:
                e[column] = row[column]

    def on_trade(self, t: dict) -> None:
        e = self._entry(t["trading_date"], t["symbol"])
        self._refs(e, t)
        if t["exchange"] is not None:
            e["exchange"] = t["exchange"]
        if t["phase"] != "pt":
            e["last_price"] = t["price"]
            e["volume"] += t["volume"]
            e["value_vnd"] += t["value_vnd"]
            if t["aggressor_side"] == "buy":
                e["buy"] += t["volume"]
            elif t["aggressor_side"] == "sell":
                e["sell"] += t["volume"]
        self._touch(e, t["exch_time"])

    def on_book(self, row: dict, is_x: bool) -> None:
        """An X-QUOTE (``is_x`` False) or X row of a non-index symbol."""
        if is_index_symbol(row["symbol"]):
            return
        e = self._entry(row["trading_date"], row["symbol"])
        if is_x:
            self._refs(e, row)
        exchange = normalize_exchange(row["exchange"])
        if exchange is not None:
            e["exchange"] = exchange
        e["book"] = row
        self._touch(e, row["exch_time"])

    def on_foreign(self, row: dict) -> None:
        key = (row["trading_date"], row["symbol"])
        previous = self._r_time.get(key)
        if previous is None or row["exch_time"] > previous:
            self._r_time[key] = row["exch_time"]

    def rows(self, foreign_summary: list[dict]) -> list[dict]:
        """The board, sorted by symbol, then trading_date."""
        foreign = {(r["trading_date"], r["symbol"]): r for r in foreign_summary}
        out = []
        for (day, symbol) in sorted(self._rows, key=lambda k: (k[1], k[0])):
            e = self._rows[(day, symbol)]
            last, ref, ceiling, floor = e["last_price"], e["ref_price"], e["ceiling"], e["floor"]
            change = last - ref if last is not None and ref is not None else None
            change_pct = change / ref * 100 if change is not None and ref != 0 else None
            if last is None or ref is None:
                state = None
            elif ceiling is not None and ceiling > 0 and last >= ceiling:
                state = "ceiling"
            elif floor is not None and floor > 0 and last <= floor:
                state = "floor"
            elif last > ref:
                state = "up"
            elif last < ref:
                state = "down"
            else:
                state = "unchanged"
            book = e["book"] or {}
            r_time = self._r_time.get((day, symbol))
            last_time = e["last_exch_time"]
            if r_time is not None and r_time > last_time:
                last_time = r_time
            f = foreign.get((day, symbol))
            active = e["buy"] + e["sell"]
            out.append(
                {
                    "trading_date": day,
                    "symbol": symbol,
                    "exchange": e["exchange"] if e["exchange"] is not None else resolve_exchange(symbol, None, None),
                    "last_price": last,
                    "ref_price": ref,
                    "ceiling": ceiling,
                    "floor": floor,
                    "change": change,
                    "change_pct": change_pct,
                    "price_state": state,
                    "best_bid": _pos(book.get("bid_price_1")),
                    "best_bid_vol": book.get("bid_vol_1") if _pos(book.get("bid_price_1")) is not None else None,
                    "best_ask": _pos(book.get("ask_price_1")),
                    "best_ask_vol": book.get("ask_vol_1") if _pos(book.get("ask_price_1")) is not None else None,
                    "volume": e["volume"],
                    "value_vnd": e["value_vnd"],
                    "active_buy_share": e["buy"] / active if active else None,
                    "foreign_net_vol": f["net_vol"] if f is not None else None,
                    "foreign_net_val_vnd": f["net_val_vnd"] if f is not None else None,
                    "last_exch_time": last_time,
                }
            )
        return out


def _pos(x):
    return x if x is not None and x > 0 else None
