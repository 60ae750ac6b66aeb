"""prefect.yaml against a real local Prefect server: `prefect deploy --all` + a process worker, and `vntrack serve`.

Everything runs as real processes with their own PREFECT_HOME and free ports, offline (no telemetry), and is
stopped at the end.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from warehouse.read import WarehouseReader
from warehouse.target import Target
from tests.flows.conftest import SIM_DAY, SIM_DAY_2

ROOT = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]
HEALTH_TIMEOUT_S = 240
RUN_TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_run(api: str, run_id: str, log: Path) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = None
    while time.monotonic() < deadline:
        state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(2)
    raise AssertionError(f"flow run {run_id} still {state} after {RUN_TIMEOUT_S} s\n{log.read_text()[-3000:]}")


def _run_deployment(env: dict, name: str, day: date) -> str:
    out = subprocess.run([*PREFECT, "deployment", "run", name, "--param", f"trading_date={day.isoformat()}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return re.search(r"UUID:\s*([0-9a-f-]{36})", out.stdout).group(1)


@pytest.fixture(name="prefect_server", scope="module")
def fixture_prefect_server(tmp_path_factory):
    """A real `prefect server start` on a free port with its own PREFECT_HOME; yields (api url, env)."""
    home = tmp_path_factory.mktemp("prefect_server_home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VNTRACK_"))}
    env.update({"PREFECT_HOME": str(home), "PREFECT_API_URL": api, "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
                "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_RUNNER_POLL_FREQUENCY": "2",
                "PREFECT_LOGGING_LEVEL": "INFO"})
    log = home / "server.log"
    with log.open("w") as fh:
        server = subprocess.Popen([*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=home)
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"prefect server did not become healthy:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield api, env
    finally:
        _stop(server)


def test_prefect_yaml_deploys_and_a_process_worker_runs_rebuild(prefect_server, tmp_path):
    from testbed.simulate import simulate_day

    api, base_env = prefect_server
    lake = tmp_path / "lake"
    for day, seed in ((SIM_DAY, 4), (SIM_DAY_2, 5)):
        simulate_day(lake, day, universe="vn30", seed=seed, activity=0.05)
    env = {**base_env, "VNTRACK_LAKE": str(lake), "VNTRACK_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
           "VNTRACK_REPORTS_DIR": str(tmp_path / "reports")}
    pool = subprocess.run([*PREFECT, "work-pool", "create", "vntrack-process", "--type", "process"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = subprocess.run([*PREFECT, "--no-prompt", "deploy", "--all"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    found = httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json()
    by_name = {d["name"]: d for d in found}
    assert set(by_name) == {"rebuild-daily", "reconcile-daily", "tail-trading-hours", "backfill"}
    crons = {n: [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in d["schedules"]]
             for n, d in by_name.items()}
    # the rebuild runs after the capture's 15:30 date roll sealed the day, reconcile after the rebuild
    assert crons["rebuild-daily"] == [("40 15 * * 1-5", "Asia/Ho_Chi_Minh")]
    assert crons["reconcile-daily"] == [("50 15 * * 1-5", "Asia/Ho_Chi_Minh")]
    assert crons["tail-trading-hours"] == [("40 8 * * 1-5", "Asia/Ho_Chi_Minh")]
    assert crons["backfill"] == []

    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as fh:
        worker = subprocess.Popen([*PREFECT, "worker", "start", "--pool", "vntrack-process", "--type", "process"],
                                  cwd=tmp_path, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        run_id = _run_deployment(env, "rebuild-day/rebuild-daily", SIM_DAY)
        assert _wait_run(api, run_id, worker_log) == "COMPLETED", worker_log.read_text()[-3000:]
    finally:
        _stop(worker)
    wh = WarehouseReader(Target("duckdb", path=tmp_path / "warehouse.duckdb"))
    assert wh.days()["trading_date"].to_list() == [SIM_DAY]

    # a one-box install serves instead of deploying: start from a server without the work-pool deployments
    for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json():
        assert httpx.delete(f"{api}/deployments/{d['id']}", timeout=30).status_code == 204
    serve_log = tmp_path / "serve.log"
    with serve_log.open("w") as fh:
        served = subprocess.Popen([sys.executable, "-m", "vntrack.cli", "serve"], cwd=ROOT, env=env, stdout=fh,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "being served" not in serve_log.read_text():  # the runner re-registered the deployments
            assert served.poll() is None and time.monotonic() < deadline, serve_log.read_text()[-3000:]
            time.sleep(1)
        run_id = _run_deployment(env, "rebuild-day/rebuild-daily", SIM_DAY_2)
        assert _wait_run(api, run_id, serve_log) == "COMPLETED", serve_log.read_text()[-3000:]
    finally:
        _stop(served)
    assert wh.days()["trading_date"].to_list() == [SIM_DAY, SIM_DAY_2]
