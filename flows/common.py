"""Shared by the flows: settings, the trading-day guard, Vietnam time."""

from __future__ import annotations

from datetime import date

from market.clock import VN_TZ, today_vn  # noqa: F401  (the flows' clock)
from market.calendar import is_trading_day, previous_trading_day
from storage.settings import Settings



def flow_settings() -> Settings:
    """A fresh :class:`Settings` from the environment, read when a flow run starts (deployments, workers and
    ``vntrack serve`` pass configuration through the environment)."""
    return Settings()


def non_trading_reason(day: date) -> str | None:
    """Why ``day`` has no session (weekend or a holiday of ``market/calendar.py``), or None on a trading day.

    The schedules in prefect.yaml fire on weekdays; this guard makes a run on a holiday a no-op (Completed, with
    the reason), so the holiday list lives in one place (market/data/holidays.csv) and never needs a re-deploy.
    """
    if is_trading_day(day):
        return None
    return f"{day} is not a trading day (weekend or holiday); the previous one was {previous_trading_day(day)}"
