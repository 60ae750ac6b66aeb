"""``tail``: the live loop (``vntrack tail --date D``, issue 5) as a supervised process for the trading hours.

The flow starts the live loop as a child process — keeping the long-running loop out of the flow's memory
(docs/operations.md §5) — waits until the session end (``VNTRACK_TAIL_UNTIL``, exchange time,
default 15:05), then stops it with SIGTERM (the loop seals and publishes on SIGTERM), SIGKILL after a grace
period. A child that exits early with an error fails the run, and the flow's retries start it again (the loop
resumes from its watermarks, contract C1/C3). A child that exits 0 early (e.g. the market closed) completes it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date, datetime

from prefect import flow, get_run_logger

from flows.common import VN_TZ, flow_settings, non_trading_reason, today_vn

GRACE_S = 20.0


class TailFailed(RuntimeError):
    """The live loop exited with an error before the session end."""


def tail_command(day: date) -> list[str]:
    """``python -m vntrack.cli tail --date D`` with this interpreter (the live loop's CLI, issue 5)."""
    return [sys.executable, "-m", "vntrack.cli", "tail", "--date", day.isoformat()]


def session_end(day: date, until: str) -> datetime:
    """``until`` (HH:MM, Asia/Ho_Chi_Minh) on ``day`` as an aware datetime.

    Raises ValueError : ``until`` is not HH:MM.
    """
    try:
        hh, mm = (int(p) for p in until.split(":"))
        return datetime(day.year, day.month, day.day, hh, mm, tzinfo=VN_TZ)
    except ValueError:
        raise ValueError(f"tail end {until!r} is not an exchange time HH:MM, e.g. 15:05") from None


def supervise(command: list[str], until: datetime, *, poll_s: float = 0.5, grace_s: float = GRACE_S) -> dict:
    """Run ``command`` until it exits or ``until`` passes; then SIGTERM, SIGKILL after ``grace_s``.

    Returns ``{"returncode", "stopped_at_end": bool, "seconds"}``.

    Raises
    ------
    TailFailed : the process exited non-zero before ``until`` (its last output lines in the message).
    """
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail_lines: list[str] = []

    def drain() -> None:
        for line in proc.stdout:
            tail_lines.append(line.rstrip())
            del tail_lines[:-20]

    import threading

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stopped = False
    try:
        while proc.poll() is None and datetime.now(VN_TZ) < until:
            time.sleep(poll_s)
        if proc.poll() is None:
            stopped = True
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        if proc.poll() is None:  # the flow itself was cancelled
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
    if not stopped and proc.returncode != 0:
        raise TailFailed(f"{' '.join(command[-4:])} exited {proc.returncode} before {until:%H:%M}:\n"
                         + "\n".join(tail_lines[-10:]))
    return {"returncode": proc.returncode, "stopped_at_end": stopped, "seconds": round(time.monotonic() - started, 1)}


@flow(name="tail", flow_run_name="tail-{trading_date}", retries=3, retry_delay_seconds=30, log_prints=True)
def tail(trading_date: date | None = None, until: datetime | None = None,
         command: list[str] | None = None) -> dict:
    """Run the live loop for the trading hours of a date.

    Parameters
    ----------
    trading_date : the date; None = today in Vietnam (the 08:40 schedule).
    until : when to stop (aware datetime); None = ``VNTRACK_TAIL_UNTIL`` (default 15:05) on the date.
    command : the process to supervise; None = ``vntrack tail --date D`` (:func:`tail_command`).

    Returns
    -------
    dict : returncode, stopped_at_end, seconds; ``skipped`` on a non-trading day.
    """
    day = trading_date or today_vn()
    log = get_run_logger()
    if reason := non_trading_reason(day):
        log.info("skipped: %s", reason)
        return {"trading_date": day.isoformat(), "skipped": reason}
    end = until or session_end(day, flow_settings().tail_until)
    log.info("live loop for %s until %s", day, end.isoformat())
    return {"trading_date": day.isoformat(), **supervise(command or tail_command(day), end)}
