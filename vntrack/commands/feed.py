"""``vntrack feed``: serve a lake day as SSI FastConnect Data v2 (classic SignalR 1.5 + REST) on a local port."""

from __future__ import annotations

from datetime import time
from typing import Annotated

import typer
from rich.console import Console

from testbed.feed import FeedOptions, FeedSettings, serve
from testbed.feed.day import NoSuchDay
from testbed.feed.faults import FaultSpecError, parse_faults
from testbed.feed.pacing import CLOCKS, parse_speed
from vntrack.commands.common import parse_day
from storage.settings import get_settings

console = Console(stderr=True)


def _parse_from(value: str | None) -> time | None:
    if value is None:
        return None
    try:
        parts = [int(p) for p in value.split(":")]
        if len(parts) not in (2, 3):
            raise ValueError
        return time(*parts)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an exchange time: expected HH:MM or HH:MM:SS, e.g. 09:15",
                                 param_hint="--from") from None


def feed_command(
    date: Annotated[str, typer.Option("--date", "-d", help="trading date to serve, YYYY-MM-DD")],
    speed: Annotated[str, typer.Option("--speed", help="1 = real time, N = N times faster, max = as fast as the "
                                                       "socket takes it")] = "1",
    start: Annotated[str | None, typer.Option("--from", help="start at this exchange time (HH:MM[:SS]); earlier "
                                                             "frames are skipped")] = None,
    port: Annotated[int, typer.Option("--port", help="TCP port (0 = any free port, printed)")] = 8765,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    clock: Annotated[str, typer.Option("--clock", help="shared: one market clock, late joiners miss what went "
                                                       "before (like SSI); connection: each connection replays "
                                                       "the day from --from")] = "shared",
    fault: Annotated[list[str] | None, typer.Option("--fault", help="fault spec for every connection, e.g. "
                                                                    "'drop-after=500,stall-at=10:30,stall-for=20' "
                                                                    "(see testbed/feed/faults.py); repeatable")] = None,
) -> None:
    """Serve a day of the lake over SSI's protocol: SignalR hub FcMarketDataV2Hub at /v2.0/signalr, REST
    AccessToken / IndexComponents / DailyStockPrice at /api/v2/Market. Point an SSI client's url and stream_url
    at http://HOST:PORT/. Credentials it accepts: VNTRACK_FEED_CONSUMER_ID / VNTRACK_FEED_CONSUMER_SECRET."""
    day = parse_day(date)
    try:
        speed_value = parse_speed(speed)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--speed") from None
    if clock not in CLOCKS:
        raise typer.BadParameter(f"{clock!r}: expected one of {', '.join(CLOCKS)}", param_hint="--clock")
    for spec in fault or []:
        try:
            parse_faults(spec)
        except FaultSpecError as e:
            raise typer.BadParameter(str(e), param_hint="--fault") from None
    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"{port} is not a TCP port (0-65535)", param_hint="--port")
    options = FeedOptions(day=day, speed=speed_value, start=_parse_from(start), host=host, port=port,
                          clock=clock, faults=tuple(fault or ()))
    try:
        serve(get_settings().lake, options, FeedSettings())
    except (NoSuchDay, ValueError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    except OSError as e:
        console.print(f"[red]error:[/red] cannot listen on {host}:{port}: {e}")
        raise typer.Exit(1) from e


if __name__ == "__main__":
    typer.run(feed_command)
