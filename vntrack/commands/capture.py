"""``vntrack capture``: record the SSI stream into the lake (capture daemon), or ``--status`` to check on it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from capture.daemon import CaptureError, CaptureSettings, Credentials, ExitCode, run_capture
from capture.daemon.health import health_problems, read_status, status_path
from capture.daemon.logs import configure_logging
from ssi.channels import DEFAULT_SUBSCRIPTION, ChannelError, parse_channels
from vntrack.commands.common import parse_day
from storage.settings import get_settings

console = Console(stderr=True)


def _settings(**overrides) -> CaptureSettings:
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = CaptureSettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        hint = f"--{name.replace('_', '-')}" if name in given else f"VNTRACK_CAPTURE_{name.upper()}"
        raise typer.BadParameter(first["msg"], param_hint=hint) from None
    try:
        parse_channels(settings.channels)
    except ChannelError as exc:
        raise typer.BadParameter(f"{settings.channels!r}: {exc}; e.g. X-TRADE:ALL,X-QUOTE:ALL,MI:VN30",
                                 param_hint="--channels") from None
    return settings


def _show_status(settings: CaptureSettings, as_json: bool, max_frame_age_s: float | None) -> None:
    lake = get_settings().lake
    path = status_path(lake, settings.status_file)
    try:
        status = read_status(path)
    except FileNotFoundError:
        console.print(f"[red]no capture status at {path}[/red]: no daemon has run on this lake "
                      "(start one with `vntrack capture`)")
        raise typer.Exit(2) from None
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    problems = health_problems(status, max_frame_age_s=max_frame_age_s)
    if as_json:
        print(json.dumps({**status, "healthy": not problems, "problems": problems}))
    else:
        table = Table("field", "value", title=f"capture status ({path})")
        for key in ("state", "pid", "session", "trading_date", "frames_total", "frames_per_s", "frames_lost",
                    "malformed_frames", "queue_depth", "reconnects", "gaps", "server_errors", "bytes_written",
                    "segments_sealed", "metrics_url"):
            table.add_row(key, str(status.get(key)))
        Console().print(table)
        Console().print("[green]healthy[/green]" if not problems else "[red]unhealthy:[/red] " + "; ".join(problems))
    raise typer.Exit(0 if not problems else 1)


def capture_command(
    channels: Annotated[str | None, typer.Option(
        "--channels", help=f"SwitchChannels string (default {DEFAULT_SUBSCRIPTION})")] = None,
    date_roll: Annotated[str | None, typer.Option("--date-roll", help="HH:MM[:SS] Asia/Ho_Chi_Minh: seal, end the "
                                                  "session, start one for the next trading date")] = None,
    date: Annotated[str | None, typer.Option("--date", "-d", help="trading date of the session (default: today "
                                             "in Asia/Ho_Chi_Minh); for replaying a day through the feed")] = None,
    metrics_port: Annotated[int | None, typer.Option("--metrics-port", help="Prometheus port (0 = any free; "
                                                     "default VNTRACK_CAPTURE_METRICS_PORT or 9108)")] = None,
    status: Annotated[bool, typer.Option("--status", help="print the running daemon's health and exit "
                                         "(0 healthy, 1 unhealthy, 2 no status)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="with --status: one JSON object")] = False,
    max_frame_age: Annotated[float | None, typer.Option("--max-frame-age", help="with --status: unhealthy when "
                                                        "the last frame is older (s)")] = None,
) -> None:
    """Record the SSI FastConnect stream verbatim into the lake (journal + Parquet segments + events); reconnects
    on its own; SIGINT/SIGTERM seal the open segment. URLs, channels and timings: VNTRACK_CAPTURE_* (see
    docs/capture.md); credentials: SSI_CONSUMER_ID / SSI_CONSUMER_SECRET."""
    trading_date = parse_day(date) if date else None
    settings = _settings(channels=channels, date_roll=date_roll, trading_date=trading_date,
                         metrics_port=metrics_port)
    if status:
        _show_status(settings, as_json, max_frame_age)
    project = get_settings()
    cid, secret = project.ssi_consumer_id, project.ssi_consumer_secret
    if not cid or not secret or not cid.get_secret_value() or not secret.get_secret_value():
        console.print("[red]error:[/red] no SSI credentials: set SSI_CONSUMER_ID and SSI_CONSUMER_SECRET "
                      "(environment or .env); for the local feed, the values it was started with")
        raise typer.Exit(int(ExitCode.CONFIG))
    configure_logging()
    try:
        code = run_capture(project.lake, settings, Credentials(cid, secret))
    except CaptureError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(int(exc.code)) from None
    raise typer.Exit(int(code))


if __name__ == "__main__":  # pragma: no cover
    typer.run(capture_command)
