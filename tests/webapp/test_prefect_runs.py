"""The health page's flow-runs panel against a real Prefect server (``prefect server start`` on a free port)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from tests.webapp.test_pages import MAIN, PAGES, frame
from vntrack.commands.app import free_port

FLOW = """
from prefect import flow

@flow(name="vntrack-app-probe", flow_run_name="probe-{day}")
def probe(day: str) -> int:
    return len(day)

probe("2026-07-22")
"""


@pytest.fixture(name="prefect_api", scope="module")
def fixture_prefect_api(tmp_path_factory):
    """A Prefect server with its own home on a free port, and one completed flow run; stopped at the end."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("prefect server did not become healthy")
            time.sleep(0.5)
        run = subprocess.run([sys.executable, "-c", FLOW], env={**env, "PREFECT_API_URL": url}, capture_output=True,
                             text=True, timeout=180, cwd=Path(__file__).resolve().parents[2])
        assert run.returncode == 0, run.stderr[-2000:]
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def test_flow_runs_come_from_prefects_api(prefect_api, monkeypatch):
    from app.data.health import flow_runs

    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    runs = flow_runs()
    assert runs.height == 1
    row = runs.row(0, named=True)
    assert row["flow"] == "vntrack-app-probe" and row["flow_run"] == "probe-2026-07-22"
    assert row["state"] == "COMPLETED" and row["duration_s"] >= 0 and "2026-07-22" in row["parameters"]


def test_health_page_lists_the_last_flow_runs(prefect_api, sim_lake, monkeypatch):
    monkeypatch.setenv("VNTRACK_LAKE", str(sim_lake))
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    at.switch_page(PAGES["health"]).run()
    assert not at.exception and not at.warning
    runs = frame(at, 0)
    assert list(runs["flow"]) == ["vntrack-app-probe"] and list(runs["state"]) == ["COMPLETED"]
