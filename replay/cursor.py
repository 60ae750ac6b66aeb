"""A recorded day replayed up to a moving exchange-time cursor, through the live loop's own step.

The app's replay page shows the market as it stood when the exchange clock read ``cursor``. That is exactly what
the live loop had published at that moment, so the cut is made the way the loop consumes frames: in arrival order
(session, seq), every frame that arrived while the exchange clock was at or before the cursor. The exchange clock
of a frame is the latest exchange time stamped on any frame up to it (a running maximum, so a late frame stamped
earlier than one already received does not move the clock back). The frames up to the cursor go through
``transforms.incremental.step`` (the one composition of the analytics); at the end of the day the tables equal
the day build's (``replay.day.build_day``) row for row. Moving forward steps only the new frames; moving back starts
over from the state before the first frame.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import polars as pl

from storage.lake import read_raw
from transforms.incremental import ROW_TABLES, initial_state, snapshot_tables, step
from transforms.parse import parse_frames
from transforms.schemas import CURATED


class NotReplayable(LookupError):
    """The day has no raw frame with an exchange time in the lake."""


class DayCursor:
    """One recorded day, loaded once, cut at any exchange-time cursor (thread-safe; moving forward is incremental).

    Attributes
    ----------
    trading_date : the day.
    start, end : the exchange clock at the first and the last frame (timezone-aware, Asia/Ho_Chi_Minh): the
        cursor's range.
    frames : raw frames of the day in arrival order.
    clock : the exchange clock at each of ``frames`` (datetime[us, Asia/Ho_Chi_Minh], non-decreasing).
    """

    def __init__(self, trading_date: date, raw: pl.DataFrame, futures_override: str | None = None) -> None:
        raw = raw.sort("session", "seq", maintain_order=True)
        stamped = pl.concat([t.select("session", "seq", "exch_time") for name, t in
                             parse_frames(raw, trading_date).items() if name != "quarantine" and t.height],
                            how="vertical") if raw.height else None
        if stamped is None or stamped.height == 0:
            raise NotReplayable(f"{trading_date} has no frame with an exchange time")
        clock = (raw.select("session", "seq").join(stamped, on=["session", "seq"], how="left")
                 .get_column("exch_time").cum_max().forward_fill().backward_fill())
        self.trading_date = trading_date
        self.frames = raw
        self.clock = clock
        self.start, self.end = clock.min(), clock.max()
        self._futures_override = futures_override
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._state = initial_state(self.trading_date, self._futures_override)
        self._position = 0
        self._rows: dict[str, list[pl.DataFrame]] = {name: [] for name in ROW_TABLES}

    def tables_at(self, cursor: datetime) -> dict[str, pl.DataFrame]:
        """Every curated table (exact ``transforms.schemas.CURATED`` schemas) after the frames that arrived while
        the exchange clock read at most ``cursor`` (timezone-aware). Before the first frame every table is empty."""
        upto = int(self.clock.search_sorted(cursor, side="right"))
        with self._lock:
            if upto < self._position:
                self._reset()
            if upto > self._position:
                self._state, out = step(self._state, self.frames.slice(self._position, upto - self._position))
                for name in ROW_TABLES:
                    self._rows[name].append(out[name])
                self._position = upto
            rows = {name: pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=CURATED[name])
                    for name, parts in self._rows.items() if name in CURATED}
            return {**rows, **snapshot_tables(self._state)}


def load_day_cursor(lake: Path, day: date, *, futures_override: str | None = None) -> DayCursor:
    """The day's raw frames (``storage.lake.read_raw``) ready to be cut at any cursor.

    Raises
    ------
    NotReplayable : the lake has no raw frame with an exchange time for ``day`` (the message says how to get one).
    """
    raw = read_raw(lake, day)
    try:
        return DayCursor(day, raw, futures_override)
    except NotReplayable:
        raise NotReplayable(f"{day} has no recorded frames in {lake}: import or capture the day, then "
                            f"`vntrack replay --date {day}`") from None
