"""``vntrack app``: serve the Streamlit app (app/main.py) on 127.0.0.1, headless, and print its URL."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def streamlit_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run`` command line of the app: headless, bound to ``host``, dark theme, no usage stats,
    no file watcher (a served app does not reload on edits)."""
    return [sys.executable, "-m", "streamlit", "run", str(MAIN),
            "--server.headless", "true", "--server.address", host, "--server.port", str(port),
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--server.runOnSave", "false", "--theme.base", "dark"]


def app_command(
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535,
                                      help="TCP port (0 = any free port, printed)")] = 8501,
    host: Annotated[str, typer.Option("--host", help="address to listen on (keep 127.0.0.1 unless behind a proxy)")]
    = "127.0.0.1",
) -> None:
    """Serve the app: price board, foreign flow, volume, derivatives, indices, alerts, history, replay and
    pipeline health over the lake (VNTRACK_LAKE). Read only: it never writes to the lake or the warehouse."""
    if not MAIN.is_file():
        raise typer.BadParameter(f"the app's entry file {MAIN} is missing: reinstall the project (make setup)")
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        raise typer.BadParameter(f"{host!r} is not an address: e.g. 127.0.0.1", param_hint="--host") from None
    port = port or free_port(host)
    print(f"VN Stock Tracker app: http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    argv = streamlit_argv(port, host)
    os.execv(argv[0], argv)
