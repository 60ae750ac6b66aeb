"""``vntrack capture``: the daemon's lifecycle (lock, crash recovery, threads, signals, date roll, exit codes).

Start: take the lake's capture lock (one daemon per lake), recover every journal a crashed daemon left in
``raw/_open`` (:func:`recover_leftovers`: complete batches sealed once, a ``gap`` event per journal), open a
new session (``cap-YYYYMMDD-HHMMSSffffff-xxxx``), start the writer thread and the metrics endpoint, then stream
(:class:`capture.daemon.stream.Streamer`). At ``date_roll`` the session is sealed and ended and a new one starts
for the next trading date. SIGINT / SIGTERM: close the socket, seal the open segment, delete the journal, exit 0.

Exit codes (:class:`ExitCode`): 0 stopped by a signal, 2 configuration error, 3 credentials refused, 4 another
daemon holds the lake, 5 subscription refused, 1 anything else (the writer failed).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import queue
import signal
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from pathlib import Path

import httpx
import pyarrow.parquet as pq
from pydantic import SecretStr

from ssi.rest import AuthRefused
from capture.daemon.health import Health, status_path
from capture.daemon.recorder import Recorder, Stats, session_id
from capture.daemon.settings import CaptureSettings
from capture.daemon.stream import Streamer, SubscriptionRefused, TokenKeeper
from capture.daemon.writer import SegmentWriter
from storage.events import write_events
from market.clock import ICT
from storage.journal import open_journals, recover_journal
from storage.lake import raw_segments
from market.calendar import is_trading_day, next_trading_day

log = logging.getLogger("vntrack.capture")


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    CONFIG = 2
    AUTH_REFUSED = 3
    LOCKED = 4
    SUBSCRIPTION_REFUSED = 5


class CaptureError(RuntimeError):
    """A fatal condition with its exit code and a message for the operator."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Credentials:
    """SSI consumer id / secret (SecretStr: never printed)."""

    consumer_id: SecretStr
    consumer_secret: SecretStr


# ----------------------------------------------------------------------------------------------- dates


def first_trading_date(settings: CaptureSettings, now: datetime | None = None) -> date:
    """The date of the first session: the override, else today in Asia/Ho_Chi_Minh — or, when started after the
    date roll time, the next trading date (the frames still to come belong to it)."""
    if settings.trading_date:
        return settings.trading_date
    now = (now or datetime.now(ICT)).astimezone(ICT)
    today = now.date()
    if settings.date_roll is not None and now.time() >= settings.date_roll:
        return next_trading_day(today)
    return today


def next_roll(roll, now: datetime) -> datetime:
    """The next wall moment (Asia/Ho_Chi_Minh) at ``roll`` strictly after ``now``."""
    now = now.astimezone(ICT)
    at = datetime.combine(now.date(), roll, ICT)
    return at if at > now else at + timedelta(days=1)


def following_trading_date(day: date) -> date:
    """The trading date after ``day`` (holidays and weekends skipped)."""
    nxt = next_trading_day(day)
    return nxt if nxt > day else next_trading_day(day + timedelta(days=1))


# ----------------------------------------------------------------------------------------------- start


def lock_lake(lake: Path, status_file: Path) -> int:
    """Take the capture lock beside the status file (one daemon per lake); returns the fd to keep open.

    Raises
    ------
    CaptureError (LOCKED) : another daemon holds it.
    """
    path = status_file.parent / "capture.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CaptureError(ExitCode.LOCKED, f"another capture daemon is running on {lake} (lock {path}); "
                                            "stop it first, or give this one another lake") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _last_recv_ns(lake: Path, day: date, session: str) -> int | None:
    segments = raw_segments(lake, day, session)
    if not segments:
        return None
    column = pq.read_table(segments[-1], columns=["recv_ns"]).column("recv_ns")
    return int(column[-1].as_py()) if len(column) else None


def recover_leftovers(lake: Path) -> list[dict]:
    """Seal every journal left in ``raw/_open`` by a daemon that did not stop cleanly, with one ``gap`` event each.

    The gap runs from the last recorded frame of that session (``start_ns``, its recv_ns) to now (``end_ns``);
    ``detail`` also says whether a torn batch was dropped and how many frames were sealed now.

    Returns
    -------
    list[dict] : one summary per journal (session, trading_date, sealed_rows, torn, last_seq).
    """
    out = []
    for path in open_journals(lake):
        recovery = recover_journal(lake, path)
        now = time.time_ns()
        summary = {"session": recovery.session, "trading_date": str(recovery.trading_date),
                   "sealed_rows": recovery.sealed_rows, "torn": recovery.torn, "last_seq": recovery.last_seq}
        if recovery.trading_date is not None:
            start_ns = _last_recv_ns(lake, recovery.trading_date, recovery.session)
            detail = {"start_ns": start_ns, "end_ns": now, "reason": "daemon stopped without sealing (crash or "
                      "kill); journal recovered on restart", "torn_tail": recovery.torn,
                      "recovered_frames": recovery.sealed_rows, "last_seq": recovery.last_seq}
            write_events(lake, recovery.trading_date, recovery.session,
                         [{"wall_ns": now, "kind": "gap", "seq": recovery.last_seq,
                           "detail": json.dumps(detail, separators=(",", ":"))}])
        log.warning("recovered a crashed session's journal", extra={"fields": summary})
        out.append(summary)
    return out


# ----------------------------------------------------------------------------------------------- run


class Daemon:
    """One run of the capture daemon (see module docstring)."""

    def __init__(self, lake: Path, settings: CaptureSettings, credentials: Credentials) -> None:
        self.lake, self.settings, self.credentials = Path(lake), settings, credentials
        self.status_file = status_path(self.lake, settings.status_file)
        self.stats = Stats()
        self.items: queue.SimpleQueue = queue.SimpleQueue()
        self.health = Health(self.stats, self.status_file)

    def run(self) -> ExitCode:
        """Run until a signal or a fatal error; returns the exit code.

        Raises
        ------
        CaptureError : lock held (before anything is touched).
        """
        lock_fd = lock_lake(self.lake, self.status_file)
        try:
            recover_leftovers(self.lake)
            return asyncio.run(self._main())
        finally:
            os.close(lock_fd)

    async def _main(self) -> ExitCode:
        s = self.settings
        day = first_trading_date(s)
        if not is_trading_day(day):
            log.warning("the trading date is not a trading day (weekend or holiday); recording anyway",
                        extra={"fields": {"trading_date": str(day)}})
        session = session_id(day)
        source = s.resolved_source
        if s.metrics_port is not None:  # before the journal exists: a port in use leaves nothing behind
            try:
                self.health.serve(s.metrics_host, s.metrics_port)
            except OSError as exc:
                raise CaptureError(ExitCode.CONFIG, (
                    f"cannot serve metrics on {s.metrics_host}:{s.metrics_port}: {exc.strerror or exc}; another "
                    "process holds the port (another daemon?): choose one with --metrics-port (0 = any free "
                    "port) or VNTRACK_CAPTURE_METRICS_PORT")) from None
        recorder = Recorder(session, day, source, self.items, self.stats, s.queue_frames)
        writer = SegmentWriter(self.lake, self.items, self.stats, session, day, source, flush_ms=s.flush_ms,
                               seal_seconds=s.seal_seconds, seal_frames=s.seal_frames, tick=self.health.tick)
        writer.start()
        log.info("capture started", extra={"fields": {
            "session": session, "trading_date": str(day), "source": source, "channels": s.channels,
            "stream_url": s.stream_url, "rest_url": s.rest_url, "metrics_url": self.health.metrics_url,
            "status_file": str(self.status_file), "date_roll": str(s.date_roll) if s.date_roll else None}})
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        stopped_by: list[str] = []

        def on_signal(sig: signal.Signals) -> None:
            stopped_by.append(sig.name)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        code = ExitCode.OK
        message = None
        async with httpx.AsyncClient(timeout=s.connect_timeout_s) as http:
            tokens = TokenKeeper(http, s, self.credentials.consumer_id, self.credentials.consumer_secret)
            streamer = Streamer(s, recorder, self.stats, tokens, http)
            stream_task = asyncio.create_task(streamer.run())
            roll_task = asyncio.create_task(self._roll_loop(recorder)) if s.date_roll else None
            writer_watch = asyncio.create_task(asyncio.to_thread(writer.join))
            stop_wait = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({stream_task, stop_wait, writer_watch}, return_when=asyncio.FIRST_COMPLETED)
            if stream_task in done and stream_task.exception() is not None:
                exc = stream_task.exception()
                if isinstance(exc, AuthRefused):
                    code, message = ExitCode.AUTH_REFUSED, str(exc)
                elif isinstance(exc, SubscriptionRefused):
                    code, message = ExitCode.SUBSCRIPTION_REFUSED, str(exc)
                else:
                    code, message = ExitCode.FAILED, f"{type(exc).__name__}: {exc}"
            elif writer_watch in done:
                code, message = ExitCode.FAILED, f"the disk writer stopped: {writer.error!r}"
            for task in (stream_task, roll_task, stop_wait):
                if task is not None:
                    task.cancel()
            await streamer.close()
            await asyncio.gather(stream_task, return_exceptions=True)
        reason = f"signal {stopped_by[0]}" if stopped_by else (message or "stopped")
        if writer.is_alive():
            recorder.event("disconnect", {"reason": reason})
            recorder.stop(reason)
            await asyncio.to_thread(writer.join)
        self.health.shutdown()
        self.health.final("stopped" if code == ExitCode.OK else "failed")
        if message:
            log.error(message, extra={"fields": {"exit_code": int(code)}})
            raise CaptureError(code, message)
        log.info("capture stopped", extra={"fields": {"reason": reason, "frames": self.stats.accepted,
                                                      "lost": self.stats.lost}})
        return code

    async def _roll_loop(self, recorder: Recorder) -> None:
        while True:
            at = next_roll(self.settings.date_roll, datetime.now(ICT))
            await asyncio.sleep(max((at - datetime.now(ICT)).total_seconds(), 0))
            new_day = following_trading_date(recorder.trading_date)
            new_session = session_id(new_day)
            log.info("date roll", extra={"fields": {"session": recorder.session, "next_session": new_session,
                                                    "trading_date": str(new_day)}})
            up = self.stats.state == "streaming"
            recorder.roll(new_session, new_day, {"channels": self.settings.channels} if up else None)
            await asyncio.sleep(1.0)  # never roll twice for the same moment


def run_capture(lake: Path, settings: CaptureSettings, credentials: Credentials) -> ExitCode:
    """Run the daemon in the foreground; see :class:`Daemon`.

    Raises
    ------
    CaptureError : a fatal condition (its ``code`` is the process exit code).
    """
    return Daemon(lake, settings, credentials).run()
