"""``vntrack tail``: the near-real-time loop over a trading date (live/README.md)."""

from __future__ import annotations

import logging
import re
import signal
from typing import Annotated

import typer
from rich.console import Console

from market.clock import today_vn
from vntrack.commands.common import parse_day
from storage.settings import get_settings

console = Console(stderr=True)
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m)?\s*$")


def parse_interval(value: str) -> float:
    """``1s``, ``500ms``, ``0.25`` (seconds), ``2m`` -> seconds (> 0)."""
    m = _DURATION.match(value)
    if not m or float(m["n"]) <= 0:
        raise typer.BadParameter(f"{value!r} is not a positive duration: use e.g. 1s, 500ms, 0.25 or 2m")
    return float(m["n"]) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m["unit"]]


def tail_command(
    date: Annotated[str | None, typer.Option("--date", "-d", help="trading date YYYY-MM-DD (default: today in "
                                                                  "Asia/Ho_Chi_Minh)")] = None,
    interval: Annotated[str, typer.Option(help="micro-batch interval: 1s, 500ms, 0.25 ...")] = "1s",
    stop_when_idle: Annotated[str | None, typer.Option(
        help="exit after this long without new frames and without an open journal of the date (e.g. 5s)")] = None,
    max_batches: Annotated[int | None, typer.Option(min=1, help="exit after this many batches with frames")] = None,
) -> None:
    """Run the analytics over the live tail every interval; publish the snapshot under lake/live/date=D/."""
    from live.loop import TailLoop

    day = parse_day(date) if date else today_vn()
    every = parse_interval(interval)
    idle = parse_interval(stop_when_idle) if stop_when_idle else None
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    loop = TailLoop(settings.lake, day, futures_override=settings.futures_override,
                    checkpoint_s=settings.tail_checkpoint_interval)
    console.print(f"tail {day} every {every:g} s over {settings.lake} (snapshot: live/date={day}/snapshot/CURRENT.json)")
    loop.run(every, stop_when_idle_s=idle, max_batches=max_batches, should_stop=lambda: stop["now"])
    h = loop.health(stopped=True)
    console.print(f"stopped after batch {h['batch']}: {h['frames_total']:,} frames, {h['quarantined_total']:,} "
                  f"quarantined, {h['rebuilds']} rebuild(s), sessions {', '.join(h['sessions']) or 'none'}")
