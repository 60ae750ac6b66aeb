"""Fixtures of the flows / warehouse tests: real PostgreSQL databases, simulated and real lakes, Prefect offline.

* PostgreSQL: the shared server on 127.0.0.1:5432 (trust auth, user postgres); every database a test uses is
  created here with a unique name and dropped at the end of the session. ``VNTRACK_TEST_PG`` overrides the
  server URL (without a database name).
* TimescaleDB: a throwaway cluster of PostgreSQL 15 that preloads it (``tests/flows/pgcluster.py``; one per
  session, started on first use), since the shared server does not preload it. Skipped with how to get it where
  TimescaleDB is not installed (``scripts/timescaledb.sh``), failed instead when ``VNTRACK_REQUIRE_TIMESCALEDB``
  is set (``.ci/run``). ``VNTRACK_TEST_TIMESCALE_PG`` names another server that preloads it instead.
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
PG_FLAVOURS = ("postgres", "timescaledb")
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
    make, drop_all = _databases(PG_SERVER)
    yield make
    drop_all()


def _databases(server: str):
    import psycopg

    made: list[str] = []

    def make() -> str:
        name = f"vntrack_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{server}/{name}"

    def drop_all() -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return make, drop_all


def timescale_cluster(**settings: str):
    """A started throwaway PostgreSQL 15 cluster preloading TimescaleDB (caller stops it); skips (or fails under
    ``VNTRACK_REQUIRE_TIMESCALEDB``) with how to get TimescaleDB when it cannot be made."""
    from tests.flows.pgcluster import TIMESCALEDB_HOWTO, TIMESCALEDB_PG, Cluster, can_make_clusters, \
        timescaledb_installed

    why = can_make_clusters() or ("" if timescaledb_installed() else TIMESCALEDB_HOWTO)
    if why:
        if os.environ.get("VNTRACK_REQUIRE_TIMESCALEDB"):
            pytest.fail(f"VNTRACK_REQUIRE_TIMESCALEDB is set but no TimescaleDB server can be made: {why}")
        pytest.skip(why)
    return Cluster(f"/usr/lib/postgresql/{TIMESCALEDB_PG}/bin", preload=("timescaledb",), settings=settings)


@pytest.fixture(name="timescale_server", scope="session")
def fixture_timescale_server():
    """URL (no database) of a server that preloads TimescaleDB: ``VNTRACK_TEST_TIMESCALE_PG`` or a throwaway
    cluster. Its job scheduler is off (``timescaledb.max_background_workers=0``): the tests run the compression,
    retention and refresh policies' jobs themselves (``CALL run_job``), so nothing changes under a test."""
    override = os.environ.get("VNTRACK_TEST_TIMESCALE_PG")
    if override:
        yield override.rstrip("/")
        return
    cluster = timescale_cluster(**{"timescaledb.max_background_workers": "0"})
    try:
        yield cluster.server
    finally:
        cluster.stop()


@pytest.fixture(name="ts_factory", scope="session")
def fixture_ts_factory(timescale_server):
    """``make() -> url``: a fresh empty database on the TimescaleDB server per call; all dropped at session end."""
    make, drop_all = _databases(timescale_server)
    yield make
    drop_all()


@pytest.fixture(name="pg_target", params=PG_FLAVOURS)
def fixture_pg_target(request, pg_factory):
    """``make() -> Target``: a fresh empty PostgreSQL database of the parametrized flavour, asked for explicitly
    (``Target.flavor``): ``postgres`` on the shared server, ``timescaledb`` on the TimescaleDB server."""
    from warehouse.target import Target

    flavour = request.param
    factory = request.getfixturevalue("ts_factory") if flavour == "timescaledb" else pg_factory
    return lambda: Target("postgres", url=factory(), flavor=flavour)


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
