"""The database restarting in the middle of a load leaves no partial date, and the retry succeeds.

On each PostgreSQL flavour: a real throwaway cluster (``tests/flows/pgcluster.py``: initdb as user postgres on a
free port, stopped and deleted afterwards; the TimescaleDB one preloads it), so the shared server is never disturbed; restarted for real with ``pg_ctl restart -m fast`` while the load's
transaction is open.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from flows import steps
from warehouse.migrate import migrate, status
from warehouse.read import WarehouseReader
from warehouse.target import Target
from tests.flows.conftest import PG_FLAVOURS, SIM_DAY, timescale_cluster
from tests.flows.pgcluster import BINDIRS, Cluster, can_make_clusters


@pytest.fixture(name="cluster", scope="module", params=PG_FLAVOURS)
def fixture_cluster(request):
    """A throwaway cluster per flavour: plain PostgreSQL, and PostgreSQL 15 preloading TimescaleDB."""
    if request.param == "timescaledb":
        cluster = timescale_cluster()
    else:
        why = can_make_clusters()
        if why:
            pytest.skip(f"a throwaway cluster {why}")
        cluster = Cluster(BINDIRS[-1])
    cluster.flavour = request.param
    yield cluster
    cluster.stop()


def _counts(target: Target) -> tuple[int, str]:
    wh = WarehouseReader(target)
    days = wh.days()
    return wh.trades(SIM_DAY).height, (days["loaded_at"][0].isoformat() if days.height else "")


def test_restart_mid_load_keeps_the_previous_copy_and_the_retry_succeeds(cluster, prepared):
    lake, infos = prepared["sim"]
    target = Target("postgres", url=cluster.url, flavor=cluster.flavour)
    migrate(target)
    assert status(target).flavor == cluster.flavour
    first = steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
    before = _counts(target)
    seen: list[str] = []

    def restart_after_trades(table: str, rows: int) -> None:
        seen.append(table)
        if table == "trades":
            cluster.restart()  # the server goes away with our transaction open

    with pytest.raises(psycopg.OperationalError):
        steps.load(lake, SIM_DAY, target, progress=restart_after_trades, **infos[SIM_DAY])
    assert "trades" in seen
    assert _counts(target) == before  # no partial date: the old copy, exactly, and its days row
    with psycopg.connect(cluster.url) as c:  # and no other table lost or doubled its rows of the date
        for table, n in first.rows.items():
            assert c.execute(f'SELECT count(*) FROM "{table}" WHERE trading_date = %s', (SIM_DAY,)).fetchone()[0] == n

    retry = steps.load(lake, SIM_DAY, target, **infos[SIM_DAY])
    after = _counts(target)
    assert after[0] == retry.rows["trades"] == first.rows["trades"] and after[1] > before[1]


def test_rebuild_day_flow_retries_its_load_through_a_restart(cluster, sim_lake_copy, monkeypatch, tmp_path):
    from flows.rebuild import rebuild_day

    with psycopg.connect(cluster.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS vntrack_flow")
        c.execute("CREATE DATABASE vntrack_flow")
    url = cluster.url.rsplit("/", 1)[0] + "/vntrack_flow"
    monkeypatch.setenv("VNTRACK_LAKE", str(sim_lake_copy))
    monkeypatch.setenv("VNTRACK_DATABASE_URL", url)
    monkeypatch.setenv("VNTRACK_WAREHOUSE_FLAVOR", cluster.flavour)
    monkeypatch.setenv("VNTRACK_REPORTS_DIR", str(tmp_path / "reports"))
    real_load, attempts = steps.load, []

    def load_with_a_restart(*args, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            kwargs["progress"] = lambda table, rows: cluster.restart() if table == "book_top" else None
        return real_load(*args, **kwargs)

    monkeypatch.setattr("flows.rebuild.steps.load", load_with_a_restart)
    state = rebuild_day(SIM_DAY, return_state=True)
    assert state.is_completed(), state
    assert len(attempts) == 2  # the first attempt died with the server; Prefect retried the task
    target = Target("postgres", url=url)
    assert status(target).flavor == cluster.flavour
    rows = json.loads(WarehouseReader(target).days()["row_counts"][0])
    assert WarehouseReader(target).trades(SIM_DAY).height == rows["trades"] == state.result()["load"]["rows"]["trades"]
