"""The lake's parsed layer (replay/parsed.py): written on first use, read back afterwards, never stale."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

import transforms.parse
from storage import lake as lake_io
from replay import parsed as layer
from storage.compact import compact_day
from tests.conftest import REAL_DAY
from tests.frames import raw_frames, wire
from transforms.parse import parse_frames
from transforms.pipeline import run_day, run_parsed


@pytest.fixture(name="day_lake")
def fixture_day_lake(lake_real_day, tmp_path):
    """A private copy of the real day's lake (this test writes parsed/ and raw/)."""
    lake = tmp_path / "lake"
    shutil.copytree(lake_real_day, lake)
    return lake


def _assert_fresh(lake, tables):
    expected = parse_frames(lake_io.read_raw(lake, REAL_DAY), REAL_DAY)
    assert set(tables) == set(layer.TABLES) == set(expected)
    for name in layer.TABLES:
        assert_frame_equal(tables[name], expected[name], check_exact=True)


def _key_dirs(lake):
    return sorted(p.name for p in layer.parsed_day_dir(lake, REAL_DAY).iterdir())


def _plant(lake, table="bar"):
    """Empty one table of the published layer: a later load that returns it empty read the layer."""
    (key,) = _key_dirs(lake)
    path = layer.parsed_day_dir(lake, REAL_DAY) / key / f"{table}.parquet"
    pl.read_parquet(path).clear().write_parquet(path)


def test_first_load_parses_and_publishes_then_reads_the_layer(day_lake):
    tables, frames = layer.load_parsed(day_lake, REAL_DAY)
    _assert_fresh(day_lake, tables)
    assert frames == lake_io.read_raw(day_lake, REAL_DAY).height > 0
    (key,) = _key_dirs(day_lake)
    d = layer.parsed_day_dir(day_lake, REAL_DAY) / key
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["parser_version"] == layer.parser_digest()
    assert manifest["raw_fingerprint"] == layer.raw_fingerprint(day_lake, REAL_DAY)
    assert manifest["rows"]["bar"] == tables["bar"].height > 0
    meta = pq.read_metadata(d / "bar.parquet").metadata
    assert meta[b"parser_version"].decode() == layer.parser_digest()

    _plant(day_lake)
    again, _ = layer.load_parsed(day_lake, REAL_DAY)
    assert again["bar"].height == 0  # read from the layer, not parsed again
    assert layer.read_parsed(day_lake, REAL_DAY)["bar"].height == 0


def test_a_new_raw_segment_makes_the_layer_stale(day_lake):
    layer.load_parsed(day_lake, REAL_DAY)
    _plant(day_lake)
    late = wire("B", {"TradingDate": "20/07/2026", "Time": "14:45:00", "Symbol": "HPG", "Close": 21750, "Volume": 9})
    extra = raw_frames([late], session="late", start_seq=1)
    lake_io.write_raw_segment(day_lake, REAL_DAY, "late", 0, lake_io.raw_table_from_polars(extra))
    assert layer.read_parsed(day_lake, REAL_DAY) is None
    tables, _ = layer.load_parsed(day_lake, REAL_DAY)
    _assert_fresh(day_lake, tables)
    assert tables["bar"].filter(pl.col("session") == "late").height == 1
    assert len(_key_dirs(day_lake)) == 1  # the stale key was removed


def test_compaction_makes_the_layer_stale(day_lake):
    raw = lake_io.read_raw(day_lake, REAL_DAY)
    for p in lake_io.raw_segments(day_lake, REAL_DAY):
        p.unlink()
    for (session,), frame in raw.group_by("session", maintain_order=True):
        for i, chunk in enumerate(frame.iter_slices(100)):
            lake_io.write_raw_segment(day_lake, REAL_DAY, session, i, lake_io.raw_table_from_polars(chunk))
    layer.load_parsed(day_lake, REAL_DAY)
    _plant(day_lake)
    assert compact_day(day_lake, REAL_DAY, max_rows=1000).compacted
    tables, _ = layer.load_parsed(day_lake, REAL_DAY)
    _assert_fresh(day_lake, tables)


def test_a_new_parser_version_makes_the_layer_stale(day_lake, monkeypatch):
    layer.load_parsed(day_lake, REAL_DAY)
    _plant(day_lake)
    monkeypatch.setattr(transforms.parse, "PARSER_VERSION", transforms.parse.PARSER_VERSION + "-next")
    assert layer.read_parsed(day_lake, REAL_DAY) is None
    tables, _ = layer.load_parsed(day_lake, REAL_DAY)
    _assert_fresh(day_lake, tables)


def test_a_date_without_raw_writes_nothing(lake):
    tables, frames = layer.load_parsed(lake, REAL_DAY)
    assert frames == 0 and set(tables) == set(layer.TABLES)
    assert not layer.parsed_day_dir(lake, REAL_DAY).exists()


def test_the_day_built_from_the_layer_equals_run_day(day_lake):
    layer.load_parsed(day_lake, REAL_DAY)  # publish
    tables, _ = layer.load_parsed(day_lake, REAL_DAY)  # read back
    built = run_parsed(tables, REAL_DAY)
    expected = run_day(lake_io.read_raw(day_lake, REAL_DAY), REAL_DAY)
    assert set(built) == set(expected)
    for name in expected:
        assert_frame_equal(built[name], expected[name], check_exact=True)
    assert built["trades"].height > 0
