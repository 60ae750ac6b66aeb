"""``vntrack simulate``: write one complete simulated trading day into the lake (testbed/simulate/README.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from testbed.simulate import CHANNELS, UNIVERSES, AlreadySimulated, NotATradingDay, parse_channels, simulate_day
from testbed.simulate.day import holiday_list_covers
from vntrack.commands.common import parse_day
from storage.settings import get_settings

console = Console()


_UNIVERSE_HELP = f"instruments: {' | '.join(UNIVERSES)} (vn30 = VN30 members + VN30F; all = ~1,600 stocks)"
_CHANNELS_HELP = f"channels, comma-separated or repeated, among {','.join(CHANNELS)} (default: all but X)"


def simulate_command(
    date: Annotated[str, typer.Option("--date", "-d", help="trading date YYYY-MM-DD (not a weekend or holiday)")],
    universe: Annotated[str, typer.Option(help=_UNIVERSE_HELP)] = "vn30",
    seed: Annotated[int, typer.Option(min=0, help="realisation: same date, universe and seed -> same bytes")] = 0,
    channels: Annotated[list[str] | None, typer.Option("--channels", help=_CHANNELS_HELP)] = None,
    activity: Annotated[float, typer.Option(min=0.001, help="scale of all trading activity (1 = calibrated)")] = 1.0,
) -> None:
    """Simulate a Vietnamese trading day (SSI wire format, arrival order) into the lake as a new capture session."""
    day = parse_day(date)
    if universe not in UNIVERSES:
        raise typer.BadParameter(f"{universe!r} is not a universe: choose {', '.join(UNIVERSES)}",
                                 param_hint="--universe")
    try:
        chans = parse_channels(channels)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--channels") from None
    if not holiday_list_covers(day):
        console.print(f"[yellow]note:[/yellow] the shipped holiday list does not cover {day.year}: "
                      "only weekends are refused")
    settings = get_settings()
    try:
        with console.status(f"simulating {day} ({universe}, seed {seed})...") as status:
            result = simulate_day(
                settings.lake, day, universe=universe, seed=seed, channels=chans, activity=activity,
                progress=lambda done, total: status.update(f"writing frames {done:,}/{total:,}"),
            )
    except NotATradingDay as e:
        raise typer.BadParameter(str(e), param_hint="--date") from None
    except AlreadySimulated as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    table = Table("channel", "frames", title=result.session)
    for channel, n in result.by_channel.items():
        table.add_row(channel, f"{n:,}")
    table.add_row("total", f"{result.frames:,}")
    console.print(table)
    print(f"session {result.session} -> {settings.lake}: {result.instruments:,} instruments, {result.trades:,} trades "
          f"({result.put_through:,} put-through), {result.frames:,} frames in {len(result.segments)} segment(s), "
          f"{result.seconds:.1f} s ({result.frames / max(result.seconds, 1e-9):,.0f} frames/s)")


if __name__ == "__main__":  # pragma: no cover
    typer.run(simulate_command)
