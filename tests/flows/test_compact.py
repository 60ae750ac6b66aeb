"""Raw compaction: identical read_raw before, after, and after a crash at any point; idempotent; safe near capture."""

from __future__ import annotations

import pyarrow as pa
import pytest

from storage import lake as lake_io
from storage.schemas import RAW_FRAME
from storage import compact
from tests.conftest import REAL_DAY
from tests.flows.conftest import SIM_DAY


def _split(lake, day, rows):
    raw = lake_io.read_raw(lake, day)
    for p in lake_io.raw_segments(lake, day):
        p.unlink()
    for (session,), frame in raw.group_by("session", maintain_order=True):
        for i, chunk in enumerate(frame.iter_slices(rows)):
            lake_io.write_raw_segment(lake, day, session, i, lake_io.raw_table_from_polars(chunk))
    return raw


def test_many_small_segments_become_few_with_identical_read_raw(real_lake_copy):
    raw = _split(real_lake_copy, REAL_DAY, 50)
    before = len(lake_io.raw_segments(real_lake_copy, REAL_DAY))
    result = compact.compact_day(real_lake_copy, REAL_DAY, max_rows=1000)
    assert result.compacted and result.before == before > 30 and result.after == 3 and result.rows == raw.height
    assert len(lake_io.raw_segments(real_lake_copy, REAL_DAY)) == 3
    assert lake_io.read_raw(real_lake_copy, REAL_DAY).equals(raw)
    again = compact.compact_day(real_lake_copy, REAL_DAY, max_rows=1000)
    assert not again.compacted and again.reason == "already compact"
    assert not any((real_lake_copy / "raw" / "_compact").iterdir())
    assert REAL_DAY in lake_io.lake_dates(real_lake_copy)  # raw/_compact is not a date


@pytest.mark.parametrize("crash", ["before_swap", "after_swap"])
def test_a_crash_at_any_point_leaves_read_raw_identical(crash, sim_lake_copy, monkeypatch):
    raw = _split(sim_lake_copy, SIM_DAY, 20_000)
    real_exchange = compact.exchange_dirs

    class Crash(BaseException):
        pass

    def exchange(a, b):
        if crash == "after_swap":
            real_exchange(a, b)
        raise Crash  # the process dies here: nothing after this line runs

    monkeypatch.setattr(compact, "exchange_dirs", exchange)
    monkeypatch.setattr(compact.shutil, "rmtree", lambda *a, **k: None)  # no cleanup either
    with pytest.raises(Crash):
        compact.compact_day(sim_lake_copy, SIM_DAY, max_rows=200_000)
    monkeypatch.undo()
    leftovers = list((sim_lake_copy / "raw" / "_compact").iterdir())
    assert leftovers  # a staging (or superseded) set is left behind ...
    assert lake_io.read_raw(sim_lake_copy, SIM_DAY).equals(raw)  # ... and nobody reads it
    assert lake_io.lake_dates(sim_lake_copy)[0] == SIM_DAY
    result = compact.compact_day(sim_lake_copy, SIM_DAY, max_rows=200_000)
    assert result.compacted == (crash == "before_swap")
    assert not any((sim_lake_copy / "raw" / "_compact").iterdir())
    assert lake_io.read_raw(sim_lake_copy, SIM_DAY).equals(raw)


def test_a_segment_sealed_during_compaction_is_carried_over(real_lake_copy, monkeypatch):
    raw = _split(real_lake_copy, REAL_DAY, 100)
    session = raw["session"][0]
    late = pa.table({"session": [session], "seq": [10**9], "recv_ns": [1], "data_type": ["MI"],
                     "payload": ['{"DataType":"MI","Content":"{}"}'], "cursor": [None], "source": ["test"]},
                    schema=RAW_FRAME)
    real_exchange = compact.exchange_dirs

    def exchange(a, b):
        lake_io.write_raw_segment(real_lake_copy, REAL_DAY, session, 999, late)  # capture seals meanwhile
        real_exchange(a, b)

    monkeypatch.setattr(compact, "exchange_dirs", exchange)
    assert compact.compact_day(real_lake_copy, REAL_DAY, max_rows=1000).compacted
    after = lake_io.read_raw(real_lake_copy, REAL_DAY)
    assert after.height == raw.height + 1 and after.filter(after["seq"] == 10**9).height == 1


def test_a_date_with_an_open_capture_journal_is_not_compacted(real_lake_copy):
    _split(real_lake_copy, REAL_DAY, 100)
    journal = real_lake_copy / "raw" / "_open" / "cap-20260720-090000000000-abcd.arrows"
    journal.parent.mkdir(parents=True)
    schema = RAW_FRAME.with_metadata({"trading_date": REAL_DAY.isoformat()})
    with pa.ipc.new_stream(journal, schema) as writer:
        writer.write_table(schema.empty_table())
    before = lake_io.raw_segments(real_lake_copy, REAL_DAY)
    result = compact.compact_day(real_lake_copy, REAL_DAY)
    assert not result.compacted and result.reason == "capture journal still open"
    assert lake_io.raw_segments(real_lake_copy, REAL_DAY) == before
