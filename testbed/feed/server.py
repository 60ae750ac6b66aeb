"""Run the feed: load the day, bind, serve in the foreground, stop cleanly on SIGINT / SIGTERM.

On a signal the server stops accepting, closes every socket with code 1012 (service restart, what uvicorn sends),
waits up to ``shutdown_grace_seconds`` for the connections to end, and :func:`serve` returns normally (exit code
0), instead of re-raising the signal as uvicorn does by default.

WebSocket details as an IIS-hosted classic SignalR server has them: no permessage-deflate (System.Web's
WebSockets do not offer it; it would also cost half the send time), no protocol-level pings (SignalR's keep-alive
is the ``{}`` frame).

Logging: ``vntrack.feed`` at INFO (connections, subscriptions, faults, refusals; never a secret or a token, only
a token's ``jti``), uvicorn at WARNING (its INFO lines print request query strings, which hold SignalR connection
tokens). One line goes to stdout once the socket is listening: ``feed ready: http://HOST:PORT/ ...``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import signal
import socket
import sys
import threading
import time as _time
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

import uvicorn

from testbed.feed.app import build_app
from testbed.feed.day import load_day
from testbed.feed.faults import FaultSpec, parse_faults
from testbed.feed.pacing import Clock, Timeline
from testbed.feed.settings import FeedSettings
from testbed.feed.state import FeedState, log
from testbed.feed.tokens import TokenAuthority

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
WS_MAX_MESSAGE_BYTES = 1 << 20
"""Largest WebSocket message a client may send (a SwitchChannels of every listed symbol is ~50 KB); bigger closes
the socket with 1009. HTTP bodies are bounded separately (``testbed.feed.app.MAX_BODY_BYTES``, 413)."""


@dataclass(frozen=True)
class FeedOptions:
    """What ``vntrack feed`` was asked to serve.

    Attributes
    ----------
    day : trading date to serve from the lake.
    speed : exchange seconds per wall second; None = max.
    start : ``--from`` (exchange time of day), None = the whole day.
    host, port : where to listen (port 0 = any free port; the ready line says which).
    clock : ``shared`` or ``connection`` (``testbed.feed.pacing``).
    faults : server-wide fault specs (each ``testbed.feed.faults`` syntax), applied after ``VNTRACK_FEED_FAULTS``.
    """

    day: date
    speed: float | None = 1.0
    start: time | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    clock: Clock = "shared"
    faults: tuple[str, ...] = ()


def build_state(lake: Path, options: FeedOptions, settings: FeedSettings) -> FeedState:
    """Load the day and everything the endpoints share.

    Raises
    ------
    testbed.feed.day.NoSuchDay : nothing in the lake for ``options.day``.
    ValueError : missing credentials; bad fault spec (``FaultSpecError``).
    """
    consumer = settings.require_credentials()
    spec = FaultSpec()
    for text in (settings.faults, *options.faults):
        spec = parse_faults(text, spec)
    day = load_day(lake, options.day, options.start)
    key = settings.token_secret.get_secret_value().encode() if settings.token_secret else secrets.token_bytes(32)
    return FeedState(
        lake=lake, day=day, timeline=Timeline(day.teff_s, options.speed, options.clock),
        tokens=TokenAuthority(key, settings.token_ttl_seconds), consumer=consumer, settings=settings,
        faults=spec, start=options.start,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, with signals that end :func:`serve` normally and a ready line once listening."""

    ready_line = ""
    stopped_by: str | None = None

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame) -> None:
        self.stopped_by = signal.Signals(sig).name
        log.info("%s received: shutting down", self.stopped_by)
        self.handle_exit(sig, frame)

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.ready_line:
            print(self.ready_line, flush=True)


class _DenialNoise(logging.Filter):
    """Drop uvicorn's "ASGI callable returned without completing handshake." after a WebSocket Denial Response.

    uvicorn's websockets-sansio protocol logs it at ERROR even when the app refused the upgrade with a proper
    HTTP answer (401/400/403), which is the only way this app ends without an accept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


def configure_logging(level: int = logging.INFO) -> None:
    """``vntrack.feed`` INFO lines on stderr (idempotent)."""
    logger = logging.getLogger("vntrack.feed")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def serve(lake: Path, options: FeedOptions, settings: FeedSettings) -> str | None:
    """Serve ``options.day`` until SIGINT / SIGTERM. Returns the name of the signal that stopped it (or None).

    Raises
    ------
    See :func:`build_state`; OSError when the address is taken.
    """
    configure_logging()
    if options.host not in LOOPBACK:
        log.warning("listening on %s: the feed is reachable from other machines", options.host)
    t0 = _time.perf_counter()
    state = build_state(lake, options, settings)
    log.info("loaded %s: %d of %d frames%s in %.2fs", options.day, len(state.day), state.day.total_frames,
             f" from {options.start}" if options.start else "", _time.perf_counter() - t0)
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((options.host, options.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(state), log_level="warning", access_log=False, lifespan="off", ws="websockets-sansio",
        ws_ping_interval=None, ws_per_message_deflate=False, ws_max_size=WS_MAX_MESSAGE_BYTES,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds + 0.999),
    )
    logging.getLogger("uvicorn.error").addFilter(_DenialNoise())  # after Config(): it configures uvicorn's logs
    server = _Server(config)
    host = f"[{options.host}]" if family == socket.AF_INET6 else options.host
    speed = "max" if options.speed is None else f"{options.speed:g}x"
    server.ready_line = (f"feed ready: http://{host}:{port}/ date {options.day} frames {len(state.day)} "
                         f"speed {speed} clock {options.clock} faults {state.faults.describe()}")
    log.info("serving on http://%s:%d/ (SignalR at /v2.0/signalr, REST at /api/v2/Market)", host, port)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    log.info("stopped%s", f" by {server.stopped_by}" if server.stopped_by else "")
    return server.stopped_by
