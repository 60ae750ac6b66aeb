"""The market-session state per exchange (docs/analytics.md §12): a pure function of exchange time, published in
the live snapshot's health object and shown in the app's page header."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from market.calendar import MARKET_SESSION_STATES, market_session, market_sessions


def at(hms: str, day: str = "2026-07-20") -> datetime:  # a Monday
    return datetime.fromisoformat(f"{day}T{hms}")


@pytest.mark.parametrize(("exchange", "hms", "state"), [
    ("HOSE", "08:59:59", "pre-open"), ("HOSE", "09:00:00", "ato"), ("HOSE", "09:14:59", "ato"),
    ("HOSE", "09:15:00", "continuous"), ("HOSE", "11:30:00", "lunch"), ("HOSE", "13:00:00", "continuous"),
    ("HOSE", "14:30:00", "atc"), ("HOSE", "14:45:00", "closed"),
    ("HNX", "09:00:00", "continuous"), ("HNX", "12:00:00", "lunch"), ("HNX", "14:44:59", "atc"),
    ("HNX", "14:45:00", "plo"), ("HNX", "14:59:59", "plo"), ("HNX", "15:00:00", "closed"),
    ("UPCOM", "14:50:00", "continuous"), ("UPCOM", "15:00:00", "closed"),
    ("DERIVATIVES", "08:45:00", "ato"), ("der", "09:00:00", "continuous"), ("DERIVATIVES", "14:45:00", "closed"),
])
def test_state_of_each_exchange_at_its_boundaries(exchange, hms, state):
    assert market_session(exchange, at(hms)) == state


def test_weekends_and_holidays_are_closed_and_aware_times_are_converted():
    assert set(market_sessions(at("10:00:00", "2026-07-19")).values()) == {"closed"}  # a Sunday
    assert set(market_sessions(at("10:00:00", "2026-09-02")).values()) == {"closed"}  # National Day
    assert market_session("HOSE", datetime(2026, 7, 20, 2, 20, tzinfo=UTC)) == "continuous"  # 09:20 in Hanoi
    assert set(market_sessions(at("10:00:00")).values()) <= set(MARKET_SESSION_STATES)
    with pytest.raises(ValueError, match="no session schedule"):
        market_session("NYSE", at("10:00:00"))


def test_the_app_header_line_names_every_exchange_state():
    from app.ui.common import market_session_line

    line = market_session_line(market_sessions(at("14:50:00")))
    assert line.endswith("HOSE Closed (đóng cửa) · HNX PLO (sau đóng cửa) · UPCOM Continuous (liên tục) · "
                         "DERIVATIVES Closed (đóng cửa)")
