"""Exchange time of SSI frames: ``TradingDate`` (dd/mm/yyyy) + ``Time`` (HH:MM:SS) in Vietnam time.

Vietnam (Asia/Ho_Chi_Minh, ICT) is UTC+7 all year, without daylight saving, so a fixed offset is exact and needs
no tz database. References: docs/architecture.md §4; docs/ssi-wire.md §1.5.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

TZ = "Asia/Ho_Chi_Minh"
"""The exchanges' time zone by name (Polars dtypes, DuckDB/PostgreSQL sessions): Vietnam time, UTC+7, no DST."""
ICT = timezone(timedelta(hours=7), "ICT")
"""The same zone as a fixed offset (exact: Vietnam has no daylight saving)."""
VN_TZ = ZoneInfo(TZ)
SET_TIMEZONE = f"SET TimeZone = '{TZ}'"
"""SQL that makes a DuckDB / PostgreSQL session show timestamptz values in exchange time."""


def today_vn() -> date:
    """Today's date in Vietnam (the trading date a scheduled run or a live tail works on)."""
    return datetime.now(ICT).date()
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TRADING_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})$")


def parse_trading_date(text: object) -> date | None:
    """``"20/07/2026"`` -> ``date(2026, 7, 20)``; None for anything else (not a string, wrong shape, no such day)."""
    m = _TRADING_DATE.match(text) if isinstance(text, str) else None
    if not m:
        return None
    try:
        return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None


def parse_time_of_day(text: object) -> time | None:
    """``"13:35:25"`` -> ``time(13, 35, 25)``; None for anything else."""
    m = _TIME.match(text) if isinstance(text, str) else None
    if not m:
        return None
    try:
        return time(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def exchange_time_ns(day: date, tod: time) -> int:
    """UTC nanoseconds since the epoch of ``day`` + ``tod`` in Vietnam time (UTC+7).

    Examples
    --------
    >>> exchange_time_ns(date(2026, 7, 20), time(9, 15))
    1784513700000000000
    """
    local = datetime.combine(day, tod, tzinfo=ICT)
    return (local - _EPOCH) // timedelta(microseconds=1) * 1_000
