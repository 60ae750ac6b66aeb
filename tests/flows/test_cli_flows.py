"""The warehouse and flow commands as a user runs them (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _vntrack(*args: str, env: dict) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")} | env
    return subprocess.run([sys.executable, "-m", "vntrack.cli", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=300)


def test_db_migrate_and_status_on_postgres_and_duckdb(pg_factory, tmp_path):
    import psycopg

    from warehouse.flavor import offer

    url = pg_factory()
    with psycopg.connect(url) as conn:
        found = offer(conn)  # what the shared server really offers: TimescaleDB only when installed and preloaded
    served = "timescaledb" if found.timescaledb else "postgres"
    for env, flavour in (({"VNTRACK_DATABASE_URL": url}, served),
                         ({"VNTRACK_LAKE": str(tmp_path / "lake")}, "duckdb")):
        before = _vntrack("db", "status", env=env)
        assert before.returncode == 0 and "not migrated" in before.stdout and "pending: 0001_initial, 0002_foreign_flow_side_speeds" in before.stdout
        first = _vntrack("db", "migrate", env=env)
        assert first.returncode == 0 and f"flavour {flavour}; applied 0001_initial, 0002_foreign_flow_side_speeds" in first.stdout, first.stderr
        after = _vntrack("db", "status", env=env).stdout
        assert f"flavour:   {flavour}" in after and "trading dates loaded: 0" in after
        assert "pending: none" in after
        if flavour != "duckdb":
            assert (f"timescaledb extension installed: {'yes' if found.installed else 'no'}; preloaded by the "
                    f"server: {'yes' if found.preloaded else 'no'}") in after
            assert ("add shared_preload_libraries" in after) == (found.installed and not found.preloaded)
    assert (tmp_path / "lake" / "warehouse.duckdb").is_file()


def test_wrong_arguments_say_what_would_be_right(tmp_path):
    env = {"VNTRACK_LAKE": str(tmp_path / "lake")}
    swapped = _vntrack("backfill", "--start", "2026-07-24", "--end", "2026-07-20", env=env)
    assert swapped.returncode == 2 and "swap them" in swapped.stderr
    runner = _vntrack("backfill", "--start", "2026-07-20", "--end", "2026-07-24", "--runner", "spark", env=env)
    assert runner.returncode == 2 and "thread or dask" in runner.stderr
    bad_db = _vntrack("db", "status", env={"VNTRACK_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nope"})
    assert bad_db.returncode == 1 and "cannot read" in bad_db.stdout
