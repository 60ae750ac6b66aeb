"""The whole pipeline on one box, as separate real processes: feed -> capture -> live loop, then verify and rebuild.

``run_pipeline`` is what ``vntrack demo`` (README command 1) and the end-to-end test run:

1. the day to serve is simulated into a *source* lake (``vntrack simulate``), unless that lake has it already;
2. ``vntrack feed`` serves it over SSI's protocol at the chosen speed, with credentials made up for this run
   (passed to the children in their environment only, never printed);
3. ``vntrack capture`` records the stream verbatim into the *target* lake, and ``vntrack tail`` runs the
   analytics over the live tail every second, publishing the live snapshot;
4. when capture has every frame the feed serves, capture is stopped (SIGTERM: it seals its last segment), the
   live loop drains and stops by itself (``--stop-when-idle``), the feed is stopped;
5. the live outputs are verified against a fresh batch run (``replay.verify.verify_day``, what ``vntrack replay
   --verify`` prints).

The daily rebuild (Prefect flow) and the app are started by the command afterwards.

The target lake must not hold the source's simulated session for that date: the capture would then sit beside
the simulated frames in one date partition, and the day would count every trade twice.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time as dtime
from pathlib import Path

from storage import lake as lake_io
from testbed.simulate import simulate_day
from replay.verify import Verification, verify_day

_READY_TIMEOUT_S = 120


class PipelineError(RuntimeError):
    """A child process failed or never got ready; the message names it and ends with its log."""


@dataclass
class _Child:
    name: str
    proc: subprocess.Popen
    log_path: Path
    cpu_s: float = 0.0  # user + system CPU seconds, known once the child is reaped

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def reap(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` s for the child to end; its exit code (None if still running) and CPU time."""
        deadline = time.monotonic() + timeout
        while self.proc.returncode is None:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.cpu_s = usage.ru_utime + usage.ru_stime
                break
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        return self.proc.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            if self.reap(timeout) is None:
                self.proc.kill()
                self.reap(30)
        return self.proc.returncode


@dataclass(frozen=True)
class PipelineResult:
    """What one run did.

    Attributes
    ----------
    day : the trading date.
    served : frames the feed serves for the run (after ``--from``).
    captured : frames capture wrote.
    seconds : wall time from the feed's start to the live loop's end.
    verification : live outputs vs a fresh batch run (``equal`` says whether every table matches).
    logs : folder with each child's log.
    cpu_s : user + system CPU seconds of each child (feed, capture, tail).
    """

    day: date
    served: int
    captured: int
    seconds: float
    verification: Verification
    logs: Path
    cpu_s: dict[str, float]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VNTRACK_", "SSI_"))}
    env.update(extra)
    return env


def _spawn(name: str, args: list[str], env: dict[str, str], logs: Path, stdout_pipe: bool = False) -> _Child:
    log_path = logs / f"{name}.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "vntrack.cli", *args], env=env, text=True,
                                stdout=subprocess.PIPE if stdout_pipe else log_file, stderr=log_file)
    return _Child(name, proc, log_path)


def _ready_line(child: _Child) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(child.proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(_READY_TIMEOUT_S)
    if not lines or not lines[0].startswith("feed ready:"):
        child.stop(signal.SIGKILL)
        raise PipelineError(f"the feed did not start: {lines!r}\n{child.log_tail()}")
    return lines[0]


def _capture_status(lake: Path) -> dict:
    try:
        return json.loads((lake / "capture" / "status.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _wait(predicate: Callable[[], object], timeout: float, what: str, *children: _Child) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for c in children:
            if c.reap(0) is not None:
                raise PipelineError(f"{c.name} ended (exit {c.proc.returncode}) while waiting for {what}:\n"
                                    f"{c.log_tail()}")
        time.sleep(0.2)
    raise PipelineError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                        + "\n".join(f"--- {c.name}\n{c.log_tail(15)}" for c in children))


def run_pipeline(lake: Path, source_lake: Path, day: date, *, speed: str = "max", start: dtime | None = None,
                 seed: int = 0, activity: float = 1.0, logs: Path | None = None,
                 progress: Callable[[str], None] = print, timeout_s: float = 1800,
                 stop_at_s: float | None = None, interval: str = "1s") -> PipelineResult:
    """Run feed -> capture -> live loop over one simulated day and verify the live outputs.

    Parameters
    ----------
    lake : the target lake (capture, live loop, curated tables, warehouse).
    source_lake : the lake the feed serves from; the day is simulated into it when missing.
    day : a trading date (the simulator refuses weekends and holidays).
    speed : the feed's ``--speed`` (``max``, or N exchange seconds per wall second).
    start : the feed's ``--from`` (exchange time), None = the whole day.
    seed, activity : the simulator's realisation and activity scale.
    logs : folder of the children's logs (default ``<lake>/logs/pipeline-<day>``).
    progress : called with one line per step.
    timeout_s : bound on waiting for capture to have every frame.
    stop_at_s : stop capture this many wall seconds after the feed started, even if the feed is not through
        (benchmarks of a window at real-time speed); None = when capture has every served frame.
    interval : the live loop's ``--interval``.

    Returns
    -------
    PipelineResult

    Raises
    ------
    ValueError : ``lake`` and ``source_lake`` are the same folder, or ``lake`` already has raw frames for ``day``.
    PipelineError : a child failed; the message carries its log.
    """
    lake, source_lake = Path(lake).resolve(), Path(source_lake).resolve()
    if lake == source_lake:
        raise ValueError("the target lake must differ from the feed's source lake (the day would be counted twice)")
    if lake_io.raw_segments(lake, day):
        raise ValueError(f"{lake} already has raw frames for {day}: use an empty lake (or another date)")
    logs = Path(logs or lake / "logs" / f"pipeline-{day}")
    logs.mkdir(parents=True, exist_ok=True)
    if not lake_io.raw_segments(source_lake, day):
        result = simulate_day(source_lake, day, seed=seed, activity=activity)
        progress(f"simulated {day}: {result.frames:,} frames, {result.trades:,} trades -> {source_lake}")
    consumer_id, consumer_secret = f"demo-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    started = time.monotonic()
    feed_args = ["feed", "--date", day.isoformat(), "--speed", speed, "--port", "0"]
    if start is not None:
        feed_args += ["--from", start.strftime("%H:%M:%S")]
    feed = _spawn("feed", feed_args, _env(VNTRACK_LAKE=str(source_lake), VNTRACK_FEED_CONSUMER_ID=consumer_id,
                                          VNTRACK_FEED_CONSUMER_SECRET=consumer_secret), logs, stdout_pipe=True)
    children = [feed]
    try:
        ready = _ready_line(feed)
        base = ready.split()[2]
        served = int(ready.split(" frames ")[1].split()[0])
        progress(f"feed: {served:,} frames of {day} at speed {speed} on {base}")
        capture = _spawn("capture", ["capture", "--date", day.isoformat(), "--metrics-port", "0"],
                         _env(VNTRACK_LAKE=str(lake), SSI_CONSUMER_ID=consumer_id,
                              SSI_CONSUMER_SECRET=consumer_secret, VNTRACK_CAPTURE_REST_URL=base,
                              VNTRACK_CAPTURE_STREAM_URL=base), logs)
        children.append(capture)
        _wait(lambda: _capture_status(lake).get("frames_written", 0) > 0, 120, "capture's first frame", feed,
              capture)
        tail = _spawn("tail", ["tail", "--date", day.isoformat(), "--interval", interval, "--stop-when-idle", "5s"],
                      _env(VNTRACK_LAKE=str(lake)), logs)
        children.append(tail)
        progress("capture and live loop running")
        if stop_at_s is None:
            _wait(lambda: _capture_status(lake).get("frames_written", 0) >= served, timeout_s,
                  f"capture to record all {served:,} frames", feed, capture, tail)
        else:
            _wait(lambda: time.monotonic() - started >= stop_at_s, stop_at_s + 60, "the end of the window", feed,
                  capture, tail)
        if (rc := capture.stop()) != 0:
            raise PipelineError(f"capture exited {rc} on SIGTERM:\n{capture.log_tail()}")
        captured = int(_capture_status(lake).get("frames_written", 0))
        progress(f"capture: {captured:,} frames recorded and sealed")
        if tail.reap(timeout_s) != 0:
            raise PipelineError(f"the live loop exited {tail.proc.returncode}:\n{tail.log_tail()}")
        seconds = time.monotonic() - started
        progress(f"live loop: drained and stopped ({seconds:.1f} s from the feed's start)")
    finally:
        for c in reversed(children):
            c.stop()
    verification = verify_day(lake, day)
    return PipelineResult(day, served, captured, seconds, verification, logs, {c.name: c.cpu_s for c in children})
