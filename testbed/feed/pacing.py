"""Exchange-time pacing: when each frame is due and where a connection joins the day.

A frame is due ``(t_eff - t_anchor) / speed`` seconds after the anchor, ``t_eff`` being the running maximum of
the exchange times (``testbed.feed.day``): frames of one second go out together, late-stamped frames at once,
and the lake's arrival order never changes. ``speed=None`` is ``--speed max``: no waiting, as fast as the socket
takes the frames (the send waits on the transport's write buffer).

Two clocks (``--clock``):

* ``shared`` (default, what a live feed is): one market clock for the whole server, started by the first
  ``SwitchChannels`` of any connection. A connection that subscribes later starts at the market's current
  position and never sees what was broadcast before it came: after a drop, a reconnecting client has a gap
  (paced speeds) or, at ``max``, resumes at the furthest frame any connection has been sent (the high-water mark).
* ``connection``: every connection replays the day from ``--from`` on its own clock, started by its first
  ``SwitchChannels`` (handy for tests and for comparing clients).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

Clock = Literal["shared", "connection"]
CLOCKS: tuple[str, ...] = ("shared", "connection")


def parse_speed(text: str | float | None) -> float | None:
    """``"max"`` -> None; ``"1"``, ``"10"``, ``"0.5"`` -> float > 0.

    Raises
    ------
    ValueError : anything else.
    """
    if text is None or (isinstance(text, str) and text.strip().lower() == "max"):
        return None
    try:
        speed = float(text)
    except (TypeError, ValueError):
        speed = -1.0
    if not speed > 0 or speed == float("inf"):
        raise ValueError(f"speed must be 'max' or a number > 0 (1 = real time, 10 = ten times faster), got {text!r}")
    return speed


@dataclass
class Pace:
    """One connection's schedule: frame ``i`` is due at ``anchor_wall + (teff[i] - anchor_t) / speed``.

    Attributes
    ----------
    start : index of the first frame this connection may be sent.
    anchor_wall : monotonic seconds of the anchor.
    anchor_t : exchange seconds at the anchor.
    speed : exchange seconds per wall second; None = max.
    """

    start: int
    anchor_wall: float
    anchor_t: int
    speed: float | None

    def due(self, teff_s: int) -> float:
        """Monotonic time at which a frame with ``t_eff = teff_s`` is due (``-inf`` at max speed)."""
        if self.speed is None:
            return float("-inf")
        return self.anchor_wall + (teff_s - self.anchor_t) / self.speed


class Timeline:
    """The server's clock over one :class:`testbed.feed.day.ServedDay`.

    Parameters
    ----------
    teff_s : non-decreasing exchange seconds per served frame.
    speed : exchange seconds per wall second, None = max.
    clock : ``shared`` or ``connection`` (module docstring).
    now : monotonic clock (injected for tests).
    """

    def __init__(self, teff_s: np.ndarray, speed: float | None, clock: Clock = "shared", now=time.monotonic) -> None:
        if clock not in CLOCKS:
            raise ValueError(f"clock must be one of {CLOCKS}, got {clock!r}")
        self.teff_s = teff_s
        self.speed = speed
        self.clock = clock
        self._now = now
        self._anchor: tuple[float, int] | None = None
        self.high_water = 0

    @property
    def started(self) -> bool:
        return self._anchor is not None

    def join(self) -> Pace:
        """The schedule of a connection that subscribes now (module docstring for the two clocks)."""
        now = self._now()
        first_t = int(self.teff_s[0]) if len(self.teff_s) else 0
        if self.clock == "connection":
            return Pace(start=0, anchor_wall=now, anchor_t=first_t, speed=self.speed)
        if self._anchor is None:
            self._anchor = (now, first_t)
        wall, t0 = self._anchor
        if self.speed is None:
            start = self.high_water
        else:
            market_t = t0 + (now - wall) * self.speed
            start = int(np.searchsorted(self.teff_s, market_t, side="left"))
        return Pace(start=start, anchor_wall=wall, anchor_t=t0, speed=self.speed)

    def advance(self, next_index: int) -> None:
        """Record that some connection has been sent everything before ``next_index`` (shared max clock)."""
        self.high_water = max(self.high_water, next_index)
