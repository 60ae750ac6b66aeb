"""How every ``vntrack`` command ends: one line instead of a traceback, no secret printed, no process left behind.

Used by :func:`vntrack.cli.main` (the ``vntrack`` entry point); rules in docs/reliability.md.

* **Errors.** An exception that reaches the top is printed as one line, ``error: <Type>: <message>``, exit code 1
  (``VNTRACK_DEBUG=1`` adds the traceback). Every line printed this way goes through :func:`redact`.
* **Secrets.** :func:`redact` replaces the password of any ``scheme://user:password@`` URL, any ``password=``
  conninfo pair, and the value of every secret-named setting (environment or ``.env``: names holding
  ``SECRET``, ``PASSWORD``, ``TOKEN`` or ``DATABASE_URL``'s password) by ``***``.
* **Processes.** :func:`start_reaper` starts a small watcher (``python -m vntrack.guard <pid>``, its own session,
  so Ctrl-C of the command does not reach it) that records the command's descendants every 0.2 s and, once the
  command is gone (any way: normal exit, exception, signal, ``kill -9``), terminates those still running
  (SIGTERM, then SIGKILL after 5 s) and exits. Prefect's temporary API server is such a descendant.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY", re.IGNORECASE)
_URL_NAME = re.compile(r"DATABASE_URL|_DSN$|_URL$", re.IGNORECASE)
_MIN_SECRET_LEN = 4
POLL_S = 0.2
GRACE_S = 5.0


def _env_files() -> list[dict[str, str | None]]:
    try:
        from dotenv import dotenv_values
    except ImportError:  # pragma: no cover - python-dotenv comes with pydantic-settings
        return []
    return [dict(dotenv_values(".env"))] if Path(".env").is_file() else []


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values never to print: secret-named settings and the passwords inside URL settings, longest first.

    Parameters
    ----------
    environ : the environment (default ``os.environ``); ``./.env`` is read as well.
    """
    from warehouse.target import _URL_PASSWORD

    found: set[str] = set()
    for source in (dict(environ if environ is not None else os.environ), *_env_files()):
        for name, value in source.items():
            if not value:
                continue
            if _SECRET_NAME.search(name):
                found.add(value)
            if _URL_NAME.search(name):
                found.update(m["pw"] for m in _URL_PASSWORD.finditer(value))
    return sorted((v for v in found if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with URL passwords, ``password=`` pairs and every :func:`secret_values` value replaced by ``***``."""
    from warehouse.target import redact_url

    for value in secret_values(environ):
        text = text.replace(value, "***")
    return redact_url(text)


def describe(exc: BaseException) -> str:
    """One line for an exception: ``Type: message``; a settings ValidationError as ``invalid setting NAME:
    reason`` per field (pydantic's own text would repeat the input value)."""
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ == "ValidationError" and callable(errors):
        parts = []
        for e in errors():
            name = ".".join(str(x) for x in e.get("loc", ())) or "?"
            parts.append(f"invalid setting {name}: {str(e.get('msg', '')).removeprefix('Value error, ')}")
        return " ".join("; ".join(parts).split())
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def report_error(exc: BaseException) -> int:
    """Print ``exc`` as one redacted line on stderr (with the traceback when ``VNTRACK_DEBUG`` is set).

    Returns the exit code: 130 for Ctrl-C, else 1.
    """
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    if os.environ.get("VNTRACK_DEBUG"):
        import traceback

        print(redact("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
    print(redact(f"error: {describe(exc)}"), file=sys.stderr)
    if not os.environ.get("VNTRACK_DEBUG"):
        print("(set VNTRACK_DEBUG=1 for the traceback)", file=sys.stderr)
    return 1


def start_reaper() -> subprocess.Popen | None:
    """Start the watcher that ends this process's descendants after it is gone (module docstring).

    Returns the watcher, or None when it could not be started (the command still runs).
    """
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "vntrack.guard", str(os.getpid())], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
        )
    except OSError:
        return None


def _alive(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def reap_after(pid: int) -> list[int]:
    """Watch ``pid`` until it is gone, then end the descendants it had; returns the pids that were ended."""
    import psutil

    try:
        watched = psutil.Process(pid)
    except psutil.Error:
        return []
    known: dict[int, psutil.Process] = {}
    while _alive(watched):
        try:
            for child in watched.children(recursive=True):
                known.setdefault(child.pid, child)
        except psutil.Error:
            pass
        time.sleep(POLL_S)
    # orphans of the watched process are still findable through the ones we know (e.g. a server's workers)
    for proc in list(known.values()):
        try:
            for child in proc.children(recursive=True):
                known.setdefault(child.pid, child)
        except psutil.Error:
            pass
    known.pop(os.getpid(), None)  # the watcher is a child of the command too
    left = [p for p in known.values() if _alive(p)]
    for p in left:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(left, timeout=GRACE_S)
    for p in still:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(still, timeout=GRACE_S)
    return [p.pid for p in left]


if __name__ == "__main__":
    reap_after(int(sys.argv[1]))
