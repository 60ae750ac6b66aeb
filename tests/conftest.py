"""Shared pytest fixtures: paths of the real recordings and lakes built from them.

Keep fixtures here generic (usable by any test module); module-specific ones belong in their test module.
Fixture files and their provenance: tests/fixtures/README.md.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles, picked with HYPOTHESIS_PROFILE (as polars' parametric tests do): "ci" is the default,
# "thorough" runs ten times more examples for a local deep check.
settings.register_profile("ci", max_examples=150, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1500, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_TIMESCALEDB_OUTCOMES: dict[str, str] = {}


def pytest_collection_modifyitems(items) -> None:
    """Mark ``timescaledb`` every test that runs against the TimescaleDB server (its fixtures, or the
    ``timescaledb`` parameter of a flavour-parametrized test)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "timescale_server" in getattr(item, "fixturenames", ()) and (
                "pg_target" not in params or params["pg_target"] == "timescaledb"):
            item.add_marker(pytest.mark.timescaledb)
        elif "timescaledb" in params.values():
            item.add_marker(pytest.mark.timescaledb)


def pytest_runtest_logreport(report) -> None:
    """Remember the outcome of every ``timescaledb`` test (for the summary section)."""
    if "timescaledb" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _TIMESCALEDB_OUTCOMES[report.nodeid] = "skipped" if report.skipped else report.outcome
    if report.when == "teardown" and report.failed:
        _TIMESCALEDB_OUTCOMES[report.nodeid] = "failed"


def pytest_terminal_summary(terminalreporter) -> None:
    """A "TimescaleDB" section: each test run against the real TimescaleDB server and its outcome."""
    if not _TIMESCALEDB_OUTCOMES:
        return
    terminalreporter.section("TimescaleDB (real server, tests/flows/conftest.py timescale_server)")
    counts: dict[str, int] = {}
    for nodeid, outcome in sorted(_TIMESCALEDB_OUTCOMES.items()):
        counts[outcome] = counts.get(outcome, 0) + 1
        terminalreporter.write_line(f"{outcome.upper():8s} {nodeid}")
    terminalreporter.write_line(", ".join(f"{n} {o}" for o, n in sorted(counts.items())))


FIXTURES = Path(__file__).parent / "fixtures"
SSI_B = FIXTURES / "ssi" / "quelam96lact_fixtures" / "ssi_b_messages.jsonl"
SSI_MI = FIXTURES / "ssi" / "quelam96lact_fixtures" / "ssi_mi_messages.jsonl"
SSI_SINGLE_FRAMES = FIXTURES / "ssi" / "single_frames.jsonl"
KBS_HPG = FIXTURES / "kbs-ticks" / "HPG.csv"
KBS_TCB = FIXTURES / "kbs-ticks" / "TCB.csv"

REAL_DAY = date(2026, 7, 20)
"""The trading date of the real B + MI recordings (B also holds 3 frames of 2026-07-17)."""


@pytest.fixture(name="fixtures_dir", scope="session")
def fixture_fixtures_dir() -> Path:
    """``tests/fixtures``: the real recordings (read-only; never modify them)."""
    return FIXTURES


@pytest.fixture(name="lake")
def fixture_lake(tmp_path: Path) -> Path:
    """An empty lake root for one test (the directory itself is not created yet, as in a fresh install)."""
    return tmp_path / "lake"


@pytest.fixture(name="lake_real_day", scope="session")
def fixture_lake_real_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding the real SSI B and MI recordings of :data:`REAL_DAY`, imported once per test session.

    Shared by every test that asks for it: read from it, never write to it (use ``lake`` for that).
    """
    from capture.importers import import_paths

    lake = tmp_path_factory.mktemp("lake_real_day") / "lake"
    import_paths(lake, [SSI_B, SSI_MI])
    return lake


@pytest.fixture(name="lake_kbs", scope="session")
def fixture_lake_kbs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding the real KBS ticks of HPG (2026-02-13) and TCB (2026-02-23) as X-TRADE frames.

    Shared: read from it, never write to it.
    """
    from capture.importers import import_paths

    lake = tmp_path_factory.mktemp("lake_kbs") / "lake"
    import_paths(lake, [KBS_HPG, KBS_TCB])
    return lake
