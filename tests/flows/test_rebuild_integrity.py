"""``rebuild`` (every step of the daily flow, DuckDB warehouse) with a damaged raw segment: the file is moved to
the quarantine, the day is rebuilt from the rest and loaded as degraded (issue 11 point 7; docs/reliability.md)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from flows import steps
from storage import lake as lake_io
from storage.events import read_events
from storage.settings import Settings
from tests.flows.conftest import SIM_DAY


def test_rebuild_quarantines_a_corrupt_segment_and_loads_the_day_degraded(small_lake: Path):
    seg = lake_io.raw_segments(small_lake, SIM_DAY)[0]
    bad = seg.with_name("cap-damaged-000000.parquet")
    bad.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])  # truncated copy: footer gone
    settings = Settings(lake=small_lake)
    result = steps.rebuild_date(settings, SIM_DAY)
    assert result["status"] == "degraded" and result["validation"]["failed"] >= 1
    assert [p.name for p in lake_io.quarantined_segments(small_lake, SIM_DAY)] == [bad.name]
    assert not bad.exists() and lake_io.read_manifest(small_lake, SIM_DAY)["incomplete"] == [bad.name]
    dq = pl.read_parquet(lake_io.dq_results_path(small_lake, SIM_DAY)).filter(pl.col("table_name") == "raw")
    assert dq["expectation"].to_list() == ["raw_segments_readable"] and dq["success"].to_list() == [False]
    assert json.loads(dq["observed"][0]) == {"quarantined": [bad.name]}
    events = read_events(small_lake, SIM_DAY).filter(pl.col("kind") == "corrupt_segment")
    assert events["session"].to_list() == ["cap-damaged"]
    report = (small_lake / "reports" / f"report-{SIM_DAY}.md").read_text()
    assert "Incomplete day" in report and bad.name in report
