"""Scalar trade derivation: X-TRADE / X / B rows -> trades with session phase and aggressor side.

docs/analytics.md §3, frame by frame: the per-symbol state (latest book, last different price, X TotalVol
maximum, X-TRADE keys seen) lives in dicts and is read *before* the current frame updates it, so a trade only
sees books and prices that arrived strictly before its own frame.
"""

from __future__ import annotations

from datetime import date

from market.rules import DERIVATIVES, is_index_symbol, multiplier, resolve_exchange, value_vnd
from transforms.params import DEFAULT_PARAMS, AnalyticsParams, PhaseParams


def _secs(t) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def stream_key(row: dict) -> str:
    """Key of the per-symbol streams (book, tick rule, X TotalVol baseline, X-TRADE repeats, t_eff, foreign
    flow, alert cooldowns). docs/analytics.md says "per symbol" and does not reset state on a new
    trading_date, so the key is the symbol alone."""
    return row["symbol"]  # type: ignore[return-value]


def phase_of(trading_session: str | None, exchange: str | None, hms_s: int,
             phases: PhaseParams = DEFAULT_PARAMS.phases) -> str:
    """Session phase of a trade (docs/analytics.md §3 "Session phase"), first match wins.

    hms_s : time of day of ``exch_time`` in seconds since midnight.
    phases : the ATO end (default 09:15:00, the HOSE ATO match print) and ATC start (14:30:00).
    """
    ATO_END_S, ATC_START_S = _secs(phases.ato_end), _secs(phases.atc_start)  # noqa: N806
    s = trading_session.upper() if trading_session is not None else None
    if s == "PT":
        return "pt"
    if s == "ATO":
        return "ato"
    if s == "ATC":
        return "atc"
    if exchange == DERIVATIVES or exchange == "HNX":
        return "atc" if hms_s >= ATC_START_S else "continuous"
    if exchange == "UPCOM":
        return "continuous"
    if hms_s <= ATO_END_S:
        return "ato"
    if hms_s >= ATC_START_S:
        return "atc"
    return "continuous"


def _positive_or_none(x: float | None) -> float | None:
    return x if x is not None and x > 0 else None


class TradeDeriver:
    """Turns parsed rows into trade rows (dicts with the columns of ``schemas.TRADES``), in arrival order.

    Parameters
    ----------
    xtrade_days, x_days : the ``(trading_date, symbol)`` pairs that have at least one parsed X-TRADE / X row
        (the source rule X-TRADE > X > B needs the whole day's channels).
    """

    def __init__(self, xtrade_days: set[tuple[date, str]], x_days: set[tuple[date, str]],
                 params: AnalyticsParams = DEFAULT_PARAMS) -> None:
        self._params = params
        self._xtrade_days = xtrade_days
        self._x_days = x_days
        self._books: dict[str, dict] = {}  # latest X-QUOTE or X row
        self._last_price: dict[str, float] = {}  # last trade price (phase != pt)
        self._prev_diff: dict[str, float] = {}  # most recent price before the run of last_price, != it
        self._x_max_total_vol: dict[str, int] = {}
        self._xtrade_seen: dict[str, set[tuple]] = {}

    def source(self, day: date, symbol: str) -> str:
        """X-TRADE if the day has an X-TRADE row of the symbol, else X if it has an X row, else B."""
        key = (day, symbol)
        if key in self._xtrade_days:
            return "X-TRADE"
        if key in self._x_days:
            return "X"
        return "B"

    # ------------------------------------------------------------------------------------------- channels

    def on_x_trade(self, row: dict) -> dict | None:
        """An X-TRADE row: one trade unless it repeats an earlier row or has no positive price and volume."""
        symbol = row["symbol"]
        if is_index_symbol(symbol):
            return None
        seen = self._xtrade_seen.setdefault(stream_key(row), set())
        key = (row["exch_time"], row["last_price"], row["last_vol"], row["total_vol"])
        if key in seen:
            return None
        seen.add(key)
        price, volume = row["last_price"], row["last_vol"]
        if price is None or volume is None or price <= 0 or volume <= 0:
            return None
        return self._trade(row, "X-TRADE", price, volume, row, row["side"])

    def on_x(self, row: dict) -> dict | None:
        """An X row: a trade of the TotalVol increase over the earlier maximum (the first row is the baseline);
        then the row becomes the symbol's book."""
        trade = None
        symbol = row["symbol"]
        total = row["total_vol"]
        if total is not None and not is_index_symbol(symbol):
            key = stream_key(row)
            high = self._x_max_total_vol.get(key)
            if high is None:
                self._x_max_total_vol[key] = total
            else:
                delta = total - high
                if total > high:
                    self._x_max_total_vol[key] = total
                price = row["last_price"]
                if (
                    delta > 0
                    and price is not None
                    and price > 0
                    and self.source(row["trading_date"], symbol) == "X"
                ):
                    trade = self._trade(row, "X", price, delta, row, row["side"])
        self._books[stream_key(row)] = row
        return trade

    def on_x_quote(self, row: dict) -> None:
        """An X-QUOTE row becomes the symbol's book."""
        self._books[stream_key(row)] = row

    def on_bar(self, row: dict) -> dict | None:
        """A B row: a trade at Close for Volume when the symbol's source that day is B."""
        symbol = row["symbol"]
        if is_index_symbol(symbol) or self.source(row["trading_date"], symbol) != "B":
            return None
        price, volume = row["close"], row["volume"]
        if price is None or volume is None or price <= 0 or volume <= 0:
            return None
        return self._trade(row, "B", price, volume, None, None)

    # ---------------------------------------------------------------------------------------------- trade

    def _trade(
        self, row: dict, source: str, price: float, volume: int, ref_row: dict | None, vendor_side: str | None
    ) -> dict:
        symbol = row["symbol"]
        exchange = resolve_exchange(symbol, row.get("exchange"), row.get("market_id"))
        t = row["exch_time"]
        session = ref_row["trading_session"] if ref_row is not None else None
        phase = phase_of(session, exchange, t.hour * 3600 + t.minute * 60 + t.second, self._params.phases)
        best_bid, best_ask, side, rule = self._classify(stream_key(row), price, phase)
        if phase != "pt":
            self._remember_price(stream_key(row), price)
        return {
            "trading_date": row["trading_date"],
            "exch_time": t,
            "symbol": symbol,
            "exchange": exchange,
            "source": source,
            "price": price,
            "volume": volume,
            "value_vnd": value_vnd(price, volume, multiplier(symbol, exchange)),
            "ref_price": ref_row["ref_price"] if ref_row is not None else None,
            "ceiling": ref_row["ceiling"] if ref_row is not None else None,
            "floor": ref_row["floor"] if ref_row is not None else None,
            "trading_session": session,
            "phase": phase,
            "best_bid": best_bid,
            "best_ask": best_ask,
            "aggressor_side": side,
            "rule": rule,
            "vendor_side": vendor_side,
        }

    def _classify(self, key: str, price: float, phase: str) -> tuple[float | None, float | None, str, str]:
        """(best_bid, best_ask, aggressor_side, rule) from the book and prices seen so far."""
        book = self._books.get(key)
        best_bid = best_ask = None
        usable = False
        if book is not None:
            bid = book["bid_price_1"] or 0.0
            ask = book["ask_price_1"] or 0.0
            if bid > 0 or ask > 0:
                usable = True
                best_bid, best_ask = _positive_or_none(bid), _positive_or_none(ask)
        cp = self._params.classification
        if (phase == "ato" or phase == "atc") and cp.auctions_neutral:
            return best_bid, best_ask, "neutral", "auction"
        if phase == "pt":
            return best_bid, best_ask, "neutral", "none"
        last = self._last_price.get(key)
        ref = last if last is not None and last != price else self._prev_diff.get(key)
        side, rule = classify_one(cp.rule, price, best_bid if usable else None, best_ask if usable else None, ref,
                                  cp.clnv_band)
        return best_bid, best_ask, side, rule

    def _remember_price(self, key: str, price: float) -> None:
        last = self._last_price.get(key)
        if last is None:
            self._last_price[key] = price
        elif price != last:
            self._prev_diff[key] = last
            self._last_price[key] = price


def classify_one(rule: str, price: float, bid: float | None, ask: float | None, ref: float | None,
                 clnv_band: float = 0.3) -> tuple[str, str]:
    """(side, rule used) of one trade by one rule (transforms/classify.py gives each rule's published source).

    bid / ask : positive level-1 prices of the book, or None; ref : the tick test's reference (the last earlier
    different price), or None.
    """
    def tick() -> tuple[str, str]:
        if ref is None:
            return "neutral", "none"
        return ("buy" if price > ref else "sell"), "tick"

    two = bid is not None and ask is not None and ask > bid
    mid = (bid + ask) / 2 if two else None
    if rule == "quote_tick":
        if bid is None and ask is None:
            return tick()
        if ask is not None and price >= ask:
            return "buy", "quote"
        if bid is not None and price <= bid:
            return "sell", "quote"
        return "neutral", "quote"
    if rule == "tick":
        return tick()
    if rule == "quote":
        if not two:
            return "neutral", "none"
        return ("buy" if price > mid else "sell" if price < mid else "neutral"), "quote"
    if rule == "lee_ready":
        if two and price != mid:
            return ("buy" if price > mid else "sell"), "quote"
        return tick()
    if rule == "emo":
        if ask is not None and price == ask:
            return "buy", "quote"
        if bid is not None and price == bid:
            return "sell", "quote"
        return tick()
    if rule == "clnv":
        if two:
            band = (ask - bid) * clnv_band
            if ask - band <= price <= ask:
                return "buy", "quote"
            if bid <= price <= bid + band:
                return "sell", "quote"
        return tick()
    raise ValueError(f"unknown classification rule {rule!r}")
