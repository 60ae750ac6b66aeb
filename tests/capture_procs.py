"""Real processes for the capture tests: a ``vntrack feed`` server and ``vntrack capture`` daemons.

Both run as ``python -m vntrack.commands.<name>`` children on free ports with their own environment; every
helper stops what it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSUMER_ID, CONSUMER_SECRET = "capture-test-id", "capture-test-secret-9f3a"
READY_TIMEOUT_S = 60


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("VNTRACK_", "SSI_"))}


@dataclass
class Proc:
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@dataclass
class Feed(Proc):
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def start_feed(lake: Path, log_dir: Path, day: date, *args: str, keepalive_s: float = 10.0,
               env: dict[str, str] | None = None) -> Feed:
    """``vntrack feed --date day --port 0 ARGS`` serving ``lake``; waits for its ready line."""
    full = _base_env()
    full.update({"VNTRACK_LAKE": str(lake), "VNTRACK_FEED_CONSUMER_ID": CONSUMER_ID,
                "VNTRACK_FEED_CONSUMER_SECRET": CONSUMER_SECRET, "VNTRACK_FEED_KEEPALIVE_SECONDS": str(keepalive_s),
                "VNTRACK_FEED_SHUTDOWN_GRACE_SECONDS": "2", **(env or {})})
    log_path = log_dir / f"feed-{time.monotonic_ns()}.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "vntrack.commands.feed", "--date", day.isoformat(),
                                 "--port", "0", *args], cwd=ROOT, env=full, stdout=subprocess.PIPE,
                                stderr=log_file, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_S)
    if not lines or not lines[0].startswith("feed ready:"):
        proc.kill()
        proc.wait()
        raise AssertionError(f"feed did not start: {lines!r}\n{log_path.read_text()}")
    port = int(lines[0].split("http://127.0.0.1:")[1].split("/")[0])
    return Feed(proc, log_path, port)


def start_capture(lake: Path, log_dir: Path, rest_url: str, stream_url: str, *args: str,
                  env: dict[str, str] | None = None, secret: str = CONSUMER_SECRET) -> Proc:
    """``vntrack capture ARGS`` writing into ``lake`` (metrics on a free port); returns at once."""
    full = _base_env()
    full.update({"VNTRACK_LAKE": str(lake), "SSI_CONSUMER_ID": CONSUMER_ID, "SSI_CONSUMER_SECRET": secret,
                 "VNTRACK_CAPTURE_REST_URL": rest_url, "VNTRACK_CAPTURE_STREAM_URL": stream_url,
                 "VNTRACK_CAPTURE_METRICS_PORT": "0", "VNTRACK_CAPTURE_BACKOFF_INITIAL_S": "0.05",
                 "VNTRACK_CAPTURE_BACKOFF_MAX_S": "1", **(env or {})})
    log_path = log_dir / f"capture-{time.monotonic_ns()}.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "vntrack.commands.capture", *args], cwd=ROOT, env=full,
                                stdout=log_file, stderr=subprocess.STDOUT, text=True)
    return Proc(proc, log_path)


def status(lake: Path) -> dict | None:
    """The daemon's status file, or None while it has none."""
    try:
        return json.loads((lake / "capture" / "status.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_for(predicate, timeout: float, what: str, proc: Proc | None = None, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy (returned); fail naming ``what`` (and the process log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and not proc.alive():
            raise AssertionError(f"process ended (rc {proc.proc.returncode}) waiting for {what}:\n{proc.log()}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}" + (f":\n{proc.log()}" if proc else ""))


def wait_quiet(lake: Path, proc: Proc, *, at_least: int, quiet_s: float = 1.5, timeout: float = 120) -> int:
    """Wait until the daemon has at least ``at_least`` frames and no new one for ``quiet_s``; returns the count."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"capture ended (rc {proc.proc.returncode}):\n{proc.log()}")
        s = status(lake) or {}
        n = int(s.get("frames_written", 0))
        if n != last:
            last, since = n, time.monotonic()
        elif n >= at_least and time.monotonic() - since >= quiet_s:
            return n
        time.sleep(0.2)
    raise AssertionError(f"capture did not settle (frames {last}, wanted >= {at_least}):\n{proc.log()}")
