"""Widgets and formatters every page shares: the page header, the source banner, empty-lake messages, numbers.

Number formats follow the Vietnamese boards: prices in VND with thousands separators (or points with 2 decimals
for indices and futures), values in billion VND ("tỷ"), volumes in shares.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from app.data.snapshot import Snapshot
from market.calendar import MARKET_SESSION_EXCHANGES, MARKET_SESSION_LABELS, market_sessions

EMPTY_LAKE = (
    "No market data in the lake yet (chưa có dữ liệu). Start the live loop, or build a finished day: "
    "`vntrack simulate --date 2026-07-22` then `vntrack replay --date 2026-07-22`."
)

# Board colours, Vietnamese convention (docs/market.md §10): up green, down red, reference yellow, ceiling purple,
# floor cyan. Tuned for the dark theme the app runs with.
STATE_COLOURS: dict[str, str] = {
    "up": "#1fd15a",
    "down": "#ff4d4f",
    "unchanged": "#f5c518",
    "ceiling": "#c77dff",
    "floor": "#33d6ff",
}
REFERENCE_COLOUR = STATE_COLOURS["unchanged"]
CEILING_COLOUR = STATE_COLOURS["ceiling"]
FLOOR_COLOUR = STATE_COLOURS["floor"]


def header(title: str, caption: str) -> None:
    """Page title and a one-line explanation (English with the Vietnamese term)."""
    st.title(title)
    st.caption(caption)


def source_banner(snap: Snapshot) -> None:
    """One line saying what the page shows: live snapshot, finished day, or replay at its cursor."""
    as_of = snap.as_of
    at = f" · data to {as_of:%H:%M:%S}" if as_of else ""
    if snap.kind == "live":
        published = datetime.fromtimestamp(snap.published_ns / 1e9).astimezone() if snap.published_ns else None
        state = snap.health.get("state", "?")
        st.caption(f"🟢 Live snapshot (trực tiếp) {snap.trading_date} · version {snap.version} · capture {state}"
                   + (f" · published {published:%H:%M:%S}" if published else "") + at)
    elif snap.kind == "replay":
        st.caption(f"⏯ Replay (phát lại) of {snap.trading_date} at {snap.cursor:%H:%M:%S} exchange time · "
                   "open the Replay page to pause or stop")
    else:
        st.caption(f"📁 Finished day (phiên đã đóng) {snap.trading_date}, curated tables{at}")
        from app.data import day_notice

        notice = day_notice(snap.trading_date)
        if notice:
            st.warning(notice)
    sessions = market_session(snap)
    if sessions:
        st.caption(market_session_line(sessions))


def market_session(snap: Snapshot) -> dict[str, str] | None:
    """Market-session state per exchange (``{exchange: state}``, states of ``MARKET_SESSION_STATES``) at the
    snapshot's exchange time: as the live loop published it in the health object (``market_session``), else
    computed by :func:`market.calendar.market_sessions` at ``snap.as_of``; None without data."""
    published = snap.health.get("market_session")
    if snap.kind == "live" and isinstance(published, dict):
        return {e: s for e, s in published.items() if e in MARKET_SESSION_EXCHANGES}
    as_of = snap.as_of
    return market_sessions(as_of) if as_of is not None else None


def market_session_line(sessions: dict[str, str]) -> str:
    """``Market session (phiên): HOSE Continuous (liên tục) · HNX …`` for the page header."""
    parts = [f"{exchange} {MARKET_SESSION_LABELS.get(state, state)}" for exchange, state in sessions.items()]
    return "🕘 Market session (phiên): " + " · ".join(parts)


def no_data(what: str = "") -> None:
    """The empty-lake message (never a traceback); a day with raw frames but no whole curated set is named
    instead (missing: not built yet; partial: interrupted), so a day that has data never reads "no market data"."""
    from app.data import day_notice

    notice = day_notice()
    st.info(f"{what + ' ' if what else ''}{notice or EMPTY_LAKE}")


def price(x: float | None, points: bool = False) -> str:
    """A price: VND with thousands separators, or index/futures points with 2 decimals; '—' for null."""
    if x is None:
        return "—"
    return f"{x:,.2f}" if points else f"{x:,.0f}"


def bn_vnd(x: float | int | None, signed: bool = False) -> str:
    """VND as billions ("tỷ"), one decimal; '—' for null."""
    if x is None:
        return "—"
    return f"{x / 1e9:{'+' if signed else ''},.1f} bn"


def shares(x: float | int | None, signed: bool = False) -> str:
    """A volume in shares or contracts with separators; '—' for null."""
    if x is None:
        return "—"
    return f"{x:{'+' if signed else ''},.0f}"


def pct(x: float | None, signed: bool = True, digits: int = 2) -> str:
    """A percentage (input already in percent); '—' for null."""
    if x is None:
        return "—"
    return f"{x:{'+' if signed else ''}.{digits}f}%"
