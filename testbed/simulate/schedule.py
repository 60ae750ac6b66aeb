"""The session timetable of each exchange and the intraday activity profile.

Times are seconds since local midnight (Asia/Ho_Chi_Minh). The timetable (docs/market.md §2, docs/ssi-wire.md §3):

=============  ============  =======================================  ===========  =============  ===========
exchange       opening call  continuous (LO)                          closing call put-through     closed (C)
=============  ============  =======================================  ===========  =============  ===========
HOSE           09:00-09:15   09:15-11:30, 13:00-14:30                 14:30-14:45  14:45-15:00    15:00
HNX            -             09:00-11:30, 13:00-14:30                 14:30-14:45  14:45-15:00    15:00
UPCOM          -             09:00-11:30, 13:00-15:00                 -            09:00-15:00    15:00
DERIVATIVES    08:45-09:00   09:00-11:30, 13:00-14:30                 14:30-14:45  -              14:45
=============  ============  =======================================  ===========  =============  ===========

A call auction matches once, at its end: every print of it carries that second (HOSE ATO prints at 09:15:00,
VN30F ATO at 09:00:00, every ATC at 14:45:00). Lunch (11:30-13:00) is silent.

The activity profile is U-shaped (busy open, quiet late morning, a smaller bump after lunch, busy run into the
close), the shape of the hourly trade counts of the real KBS TCB ticks (tests/fixtures/kbs-ticks/TCB.csv).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from market.rules import DERIVATIVES


def hms(h: int, m: int = 0, s: int = 0) -> int:
    """Seconds since midnight of ``h:m:s``."""
    return h * 3600 + m * 60 + s


DAY_START = hms(8, 45)  # first second of any activity (VN30F opening call)
DAY_END = hms(15, 0)  # last second of any activity (close)
LUNCH = (hms(11, 30), hms(13, 0))


@dataclass(frozen=True)
class Schedule:
    """One exchange's day.

    Attributes
    ----------
    ato_print : second the opening call matches (prints' ``Time``), or None without an opening call.
    continuous : half-open ``[start, end)`` windows of continuous matching; trades fall strictly after a
        window's opening second (that second carries the session change and the opening book).
    atc_print : second the closing call matches, or None.
    put_through : ``[start, end)`` window of negotiated deals (``TradingSession`` "PT"), or None.
    transitions : ``(second, TradingSession)`` of each session change, the F frames (docs/ssi-wire.md §2.7, §3).
    """

    exchange: str
    ato_print: int | None
    continuous: tuple[tuple[int, int], ...]
    atc_print: int | None
    put_through: tuple[int, int] | None
    transitions: tuple[tuple[int, str], ...]

    @property
    def open(self) -> int:
        """First second of continuous trading."""
        return self.continuous[0][0]

    @property
    def close(self) -> int:
        """End of the last continuous window."""
        return self.continuous[-1][1]

    def session_at(self, second: int) -> str:
        """The ``TradingSession`` code in force at ``second`` (the last transition at or before it; "C" before
        the first)."""
        code = "C"
        for t, c in self.transitions:
            if t <= second:
                code = c
        return code

    def continuous_seconds(self) -> np.ndarray:
        """Every second at which a continuous trade may be stamped (int64, ascending)."""
        return np.concatenate([np.arange(a + 1, b, dtype=np.int64) for a, b in self.continuous])


SCHEDULES: dict[str, Schedule] = {
    "HOSE": Schedule(
        "HOSE", ato_print=hms(9, 15), continuous=((hms(9, 15), hms(11, 30)), (hms(13), hms(14, 30))),
        atc_print=hms(14, 45), put_through=(hms(14, 45), hms(15)),
        transitions=((hms(9), "ATO"), (hms(9, 15), "LO"), (hms(11, 30), "BREAK"), (hms(13), "LO"),
                     (hms(14, 30), "ATC"), (hms(14, 45), "PT"), (hms(15), "C")),
    ),
    "HNX": Schedule(
        "HNX", ato_print=None, continuous=((hms(9), hms(11, 30)), (hms(13), hms(14, 30))),
        atc_print=hms(14, 45), put_through=(hms(14, 45), hms(15)),
        transitions=((hms(9), "LO"), (hms(11, 30), "BREAK"), (hms(13), "LO"), (hms(14, 30), "ATC"),
                     (hms(14, 45), "PT"), (hms(15), "C")),
    ),
    "UPCOM": Schedule(
        "UPCOM", ato_print=None, continuous=((hms(9), hms(11, 30)), (hms(13), hms(15))),
        atc_print=None, put_through=(hms(9), hms(15)),
        transitions=((hms(9), "LO"), (hms(11, 30), "BREAK"), (hms(13), "LO"), (hms(15), "C")),
    ),
    DERIVATIVES: Schedule(
        DERIVATIVES, ato_print=hms(9), continuous=((hms(9), hms(11, 30)), (hms(13), hms(14, 30))),
        atc_print=hms(14, 45), put_through=None,
        transitions=((hms(8, 45), "ATO"), (hms(9), "LO"), (hms(11, 30), "BREAK"), (hms(13), "LO"),
                     (hms(14, 30), "ATC"), (hms(14, 45), "C")),
    ),
}
"""Timetable per exchange (module docstring)."""

EXCHANGES: tuple[str, ...] = tuple(SCHEDULES)


def activity_profile(schedule: Schedule, seconds: np.ndarray) -> np.ndarray:
    """Relative trading intensity at ``seconds`` (float64, mean about 1 over a day's continuous seconds).

    U shape: ``1 + 2.5 e^{-(t - open)/20 min} + 0.6 e^{-(t - 13:00)/10 min} + 1.5 e^{-(close - t)/25 min}``,
    zero outside continuous trading.
    """
    t = seconds.astype(np.float64)
    open_, close = schedule.open, schedule.close
    w = (1.0 + 2.5 * np.exp(-(t - open_) / 1200.0) + 1.5 * np.exp(-(close - t) / 1500.0)
         + 0.6 * np.exp(-np.abs(t - LUNCH[1]) / 600.0) * (t >= LUNCH[1]))
    inside = np.zeros(len(t), dtype=bool)
    for a, b in schedule.continuous:
        inside |= (seconds > a) & (seconds < b)
    return np.where(inside, w, 0.0)


def continuous_mask(schedule: Schedule) -> np.ndarray:
    """Boolean array over seconds of the day (length 86,400): True where a continuous trade may be stamped."""
    mask = np.zeros(86_400, dtype=bool)
    mask[schedule.continuous_seconds()] = True
    return mask


def time_texts() -> list[str]:
    """``"HH:MM:SS"`` for every second of the day, indexable by seconds since midnight."""
    return [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in range(86_400)]
