"""Replay a recorded day in the live pages: the day's tables as they stood when the exchange clock read ``cursor``.

The replay page keeps a *cursor* (exchange time advancing at a chosen speed, in ``st.session_state``); every live
page then shows :func:`snapshot_at` of it instead of the live snapshot. The tables come from the live loop's own
step over the frames that had arrived by then (``replay.cursor``): the app computes no analytics of its own, and at
the end of the day the replay equals the curated tables. Nothing is written anywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from app.data.snapshot import Snapshot
from replay.cursor import DayCursor, NotReplayable, load_day_cursor

ReplayDay = DayCursor
__all__ = ["NotReplayable", "ReplayDay", "load_replay_day", "snapshot_at"]


def load_replay_day(lake: Path, day: date, *, futures_override: str | None = None) -> DayCursor:
    """Load a recorded day for replay (its raw frames, in arrival order, with their exchange clock).

    Raises
    ------
    NotReplayable : the lake has no recorded frame for ``day`` (the message says how to get one).
    """
    return load_day_cursor(lake, day, futures_override=futures_override)


def snapshot_at(day: DayCursor, cursor: datetime) -> Snapshot:
    """The day's tables as they stood at exchange time ``cursor`` (timezone-aware): a :class:`Snapshot` of kind
    ``replay`` with every curated table (exact schemas) and ``cursor`` set."""
    return Snapshot(kind="replay", trading_date=day.trading_date, tables=day.tables_at(cursor), cursor=cursor)
