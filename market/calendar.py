"""Trading calendar of the Vietnamese exchanges: holidays, trading days, VN30F expiries, the front month and the
market-session state per exchange at a given exchange time.

Pure functions over the dated holiday list shipped in ``market/data/holidays.csv``.
References: docs/market.md §9 (holidays), §6 (front month = nearest expiry, the third Thursday of the month).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

_DATA = Path(__file__).with_name("data")
_TZ = "Asia/Ho_Chi_Minh"


@cache
def holidays() -> dict[date, str]:
    """Known exchange holidays: ``{date: name}`` (``market/data/holidays.csv``)."""
    with (_DATA / "holidays.csv").open(encoding="utf-8") as fh:
        return {date.fromisoformat(row["date"]): row["name"] for row in csv.DictReader(fh)}


def covered_years() -> range:
    """The years the holiday list covers; outside them only weekends are known to be closed."""
    years = sorted({d.year for d in holidays()})
    return range(years[0], years[-1] + 1)


def is_trading_day(day: date) -> bool:
    """True on a weekday that is not a known holiday."""
    return day.weekday() < 5 and day not in holidays()


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before ``day``."""
    d = day - timedelta(days=1)
    while not is_trading_day(d):
        d -= timedelta(days=1)
    return d


def next_trading_day(day: date) -> date:
    """The first trading day strictly after ``day``."""
    d = day + timedelta(days=1)
    while not is_trading_day(d):
        d += timedelta(days=1)
    return d


def trading_days(start: date, end: date) -> list[date]:
    """Every trading day in ``[start, end]``."""
    out, d = [], start
    while d <= end:
        if is_trading_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def third_thursday(year: int, month: int) -> date:
    """The third Thursday of ``year``-``month``."""
    first = date(year, month, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 14)


def futures_expiry(year: int, month: int) -> date:
    """Last trading day of the VN30F contract of ``year``-``month``: the third Thursday, moved back to the
    previous trading day when it is a holiday (HNX derivatives rules)."""
    d = third_thursday(year, month)
    return d if is_trading_day(d) else previous_trading_day(d)


def futures_symbol(year: int, month: int) -> str:
    """SSI symbol of the VN30 index future expiring in ``year``-``month``: ``VN30FYYMM`` (e.g. VN30F2407)."""
    return f"VN30F{year % 100:02d}{month:02d}"


def front_month(day: date, override: str | None = None) -> str:
    """The front-month VN30F contract on ``day``: the nearest expiry on or after it.

    Parameters
    ----------
    day : the trading date.
    override : a contract symbol that replaces the resolver (setting ``VNTRACK_FUTURES_OVERRIDE``).

    Returns
    -------
    str, e.g. ``"VN30F2608"`` for 2026-07-20 (the July contract expired on Thursday 2026-07-16).

    Examples
    --------
    >>> front_month(date(2024, 6, 27))
    'VN30F2407'
    >>> front_month(date(2024, 6, 20))
    'VN30F2406'
    """
    if override:
        return override
    year, month = day.year, day.month
    while futures_expiry(year, month) < day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return futures_symbol(year, month)


# ------------------------------------------------------------------------------------------- market session state

MARKET_SESSION_STATES: tuple[str, ...] = ("pre-open", "ato", "continuous", "lunch", "atc", "plo", "closed")
"""The states :func:`market_session` returns, in the order of a day."""

MARKET_SESSION_LABELS: dict[str, str] = {
    "pre-open": "Pre-open (trước giờ)", "ato": "ATO (mở cửa)", "continuous": "Continuous (liên tục)",
    "lunch": "Lunch break (nghỉ trưa)", "atc": "ATC (đóng cửa)", "plo": "PLO (sau đóng cửa)",
    "closed": "Closed (đóng cửa)",
}

MARKET_SESSION_EXCHANGES: tuple[str, ...] = ("HOSE", "HNX", "UPCOM", "DERIVATIVES")

_SCHEDULES: dict[str, tuple[tuple[time, str], ...]] = {
    # (start, state) in order; before the first start: pre-open (docs/analytics.md §12).
    "HOSE": ((time(9, 0), "ato"), (time(9, 15), "continuous"), (time(11, 30), "lunch"), (time(13, 0), "continuous"),
             (time(14, 30), "atc"), (time(14, 45), "closed")),  # 14:45-15:00 put-through only: closed to matching
    "HNX": ((time(9, 0), "continuous"), (time(11, 30), "lunch"), (time(13, 0), "continuous"), (time(14, 30), "atc"),
            (time(14, 45), "plo"), (time(15, 0), "closed")),
    "UPCOM": ((time(9, 0), "continuous"), (time(11, 30), "lunch"), (time(13, 0), "continuous"),
              (time(15, 0), "closed")),
    "DERIVATIVES": ((time(8, 45), "ato"), (time(9, 0), "continuous"), (time(11, 30), "lunch"),
                    (time(13, 0), "continuous"), (time(14, 30), "atc"), (time(14, 45), "closed")),
}


def market_session(exchange: str, at: datetime) -> str:
    """The market-session state of ``exchange`` at exchange time ``at`` (one of :data:`MARKET_SESSION_STATES`).

    Parameters
    ----------
    exchange : ``HOSE``, ``HNX``, ``UPCOM`` or ``DERIVATIVES`` (case-insensitive; ``DER`` too).
    at : exchange time; naive = Asia/Ho_Chi_Minh wall time, aware = converted to it.

    A pure function of the schedule (docs/analytics.md §12): weekends and holidays are ``closed`` all day; each
    boundary belongs to the state it starts (HOSE 09:15:00 is ``continuous``).

    Raises
    ------
    ValueError : an exchange without a schedule.
    """
    key = exchange.strip().upper()
    key = "DERIVATIVES" if key == "DER" else key
    schedule = _SCHEDULES.get(key)
    if schedule is None:
        raise ValueError(f"no session schedule for exchange {exchange!r}; known: {', '.join(_SCHEDULES)}")
    if at.tzinfo is not None:
        at = at.astimezone(ZoneInfo(_TZ)).replace(tzinfo=None)
    if not is_trading_day(at.date()):
        return "closed"
    state = "pre-open"
    for start, name in schedule:
        if at.time() >= start:
            state = name
    return state


def market_sessions(at: datetime) -> dict[str, str]:
    """:func:`market_session` of every exchange of :data:`MARKET_SESSION_EXCHANGES` at ``at``."""
    return {e: market_session(e, at) for e in MARKET_SESSION_EXCHANGES}
