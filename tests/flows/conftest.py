"""Fixtures of the flows / warehouse tests: real PostgreSQL databases, simulated and real lakes, Prefect offline.

* PostgreSQL: the shared server on 127.0.0.1:5432 (trust auth, user postgres); every database a test uses is
  created here with a unique name and dropped at the end of the session. ``VNTRACK_TEST_PG`` overrides the
  server URL (without a database name).
* Prefect: its own PREFECT_HOME for the test session, no telemetry, a generous ephemeral-server timeout
  (docs/operations.md §5). Set before anything imports prefect.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="vntrack-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PG_SERVER = os.environ.get("VNTRACK_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
SIM_DAY = date(2026, 7, 22)
SIM_DAY_2 = date(2026, 7, 23)


@pytest.fixture(name="_prefect_home_cleanup", scope="session", autouse=True)
def fixture_prefect_home_cleanup():
    """Delete the test session's PREFECT_HOME at the end (the ephemeral server has stopped by then)."""
    yield
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


@pytest.fixture(name="pg_factory", scope="session")
def fixture_pg_factory():
    """``make() -> url``: a fresh empty database on the shared server per call; all dropped at session end."""
    import psycopg

    made: list[str] = []

    def make() -> str:
        name = f"vntrack_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{PG_SERVER}/{name}"

    yield make
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(name="sim_lake", scope="session")
def fixture_sim_lake(tmp_path_factory) -> Path:
    """A lake with two simulated VN30 days: 2026-07-22 a full calibrated day, 2026-07-23 a lighter one (20% of the
    activity, for the tests that need a second date). Read-only: copy it to modify it."""
    from testbed.simulate import simulate_day

    lake = tmp_path_factory.mktemp("sim_lake") / "lake"
    simulate_day(lake, SIM_DAY, universe="vn30", seed=0)
    simulate_day(lake, SIM_DAY_2, universe="vn30", seed=1, activity=0.2)
    return lake


@pytest.fixture(name="small_lake")
def fixture_small_lake(tmp_path_factory, tmp_path) -> Path:
    """A private lake with two light simulated VN30 days (5% of the calibrated activity): for backfill runs."""
    from testbed.simulate import simulate_day

    lake = tmp_path / "small"
    for day, seed in ((SIM_DAY, 2), (SIM_DAY_2, 3)):
        simulate_day(lake, day, universe="vn30", seed=seed, activity=0.05)
    return lake


def _prepare(lake: Path, day: date) -> dict:
    from flows import steps

    cur = steps.build_curated(lake, day)
    _, failed, total = steps.validate(lake, day)
    return {"frames": cur.frames, "dq_failed": failed, "dq_total": total}


@pytest.fixture(name="prepared", scope="session")
def fixture_prepared(tmp_path_factory, sim_lake, lake_real_day):
    """Lakes whose days are already built and validated (curated + dq), ready to load: read-only.

    ``{"sim": (lake, {day: load kwargs}), "real": (lake, {REAL_DAY: load kwargs})}``.
    """
    from tests.conftest import REAL_DAY

    sim = tmp_path_factory.mktemp("prepared_sim") / "lake"
    shutil.copytree(sim_lake / "raw", sim / "raw")
    real = tmp_path_factory.mktemp("prepared_real") / "lake"
    shutil.copytree(lake_real_day / "raw", real / "raw")
    return {"sim": (sim, {d: _prepare(sim, d) for d in (SIM_DAY, SIM_DAY_2)}),
            "real": (real, {REAL_DAY: _prepare(real, REAL_DAY)})}


@pytest.fixture(name="sim_lake_copy")
def fixture_sim_lake_copy(sim_lake, tmp_path) -> Path:
    """A private copy of :func:`sim_lake` (raw only) that a test may change."""
    dst = tmp_path / "lake"
    shutil.copytree(sim_lake / "raw", dst / "raw")
    return dst


@pytest.fixture(name="real_lake_copy")
def fixture_real_lake_copy(lake_real_day, tmp_path) -> Path:
    """A private copy of the real-recordings lake (tests/conftest.py ``lake_real_day``)."""
    dst = tmp_path / "real"
    shutil.copytree(lake_real_day / "raw", dst / "raw")
    return dst
