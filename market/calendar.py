"""Trading calendar of the Vietnamese exchanges: holidays, trading days, VN30F expiries and the front month.

Pure functions over the dated holiday list shipped in ``market/data/holidays.csv``.
References: docs/market.md §9 (holidays), §6 (front month = nearest expiry, the third Thursday of the month).
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data")


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
