"""The open-segment journal (Arrow IPC stream) and capture events: append, restart, torn tails, recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from storage import lake as lk
from storage.events import read_events, write_events
from storage.journal import JournalWriter, journal_path, open_journals, read_journal, recover_journal
from storage.schemas import EVENT_PL, RAW_FRAME
from tests.test_lake import raw_table

DAY = date(2026, 7, 22)
SESSION = "cap-20260722-091500000000-ab12"


def test_written_batches_read_back_in_order_with_the_trading_date(tmp_path: Path):
    w = JournalWriter(tmp_path, SESSION, DAY)
    w.write(raw_table(SESSION, [1, 2, 3]))
    w.write(raw_table(SESSION, [4, 5]))
    w.flush()
    got = read_journal(journal_path(tmp_path, SESSION))
    assert got.trading_date == DAY and got.batches == 2 and not got.torn
    assert got.table.schema == RAW_FRAME
    assert got.table.column("seq").to_pylist() == [1, 2, 3, 4, 5]
    assert got.table.equals(pa.concat_tables([raw_table(SESSION, [1, 2, 3]), raw_table(SESSION, [4, 5])]))
    w.close(delete=True)
    assert open_journals(tmp_path) == []


def test_a_second_writer_of_the_same_session_is_refused(tmp_path: Path):
    JournalWriter(tmp_path, SESSION, DAY)
    with pytest.raises(FileExistsError, match="recover"):
        JournalWriter(tmp_path, SESSION, DAY)


def test_rows_of_another_session_or_out_of_order_are_refused(tmp_path: Path):
    w = JournalWriter(tmp_path, SESSION, DAY)
    with pytest.raises(ValueError, match="sessions"):
        w.write(raw_table("other", [1]))
    with pytest.raises(ValueError, match="strictly increase"):
        w.write(raw_table(SESSION, [2, 1]))
    assert read_journal(w.path).table.num_rows == 0


def test_restart_leaves_an_empty_journal_and_keeps_appending(tmp_path: Path):
    w = JournalWriter(tmp_path, SESSION, DAY)
    w.write(raw_table(SESSION, [1, 2]))
    lk.write_raw_segment(tmp_path, DAY, SESSION, 0, read_journal(w.path).table)
    w.restart()
    assert read_journal(w.path).table.num_rows == 0
    w.write(raw_table(SESSION, [3]))
    assert read_journal(w.path).table.column("seq").to_pylist() == [3]


def test_a_torn_tail_is_reported_and_the_complete_batches_kept(tmp_path: Path):
    w = JournalWriter(tmp_path, SESSION, DAY)
    w.write(raw_table(SESSION, [1, 2]))
    size_after_first = w.bytes
    w.write(raw_table(SESSION, [3, 4]))
    w.flush()
    with open(w.path, "r+b") as fh:  # cut the second batch in half, as a crash mid-write would
        fh.truncate(size_after_first + (w.bytes - size_after_first) // 2)
    got = read_journal(w.path)
    assert got.torn and got.batches == 1
    assert got.table.column("seq").to_pylist() == [1, 2]


def test_an_empty_or_headless_file_reads_as_torn_and_empty(tmp_path: Path):
    p = journal_path(tmp_path, SESSION)
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\xff\xff")
    got = read_journal(p)
    assert got.torn and got.table.num_rows == 0 and got.trading_date is None
    rec = recover_journal(tmp_path, p)
    assert rec.sealed_rows == 0 and rec.segment is None and not p.exists()


def test_a_headless_journal_after_a_seal_is_recovered_under_the_sessions_date(tmp_path: Path):
    """Killed right after a segment was sealed and the journal restarted, before its schema reached the disk: the
    session's date and last seq come from its sealed segments, so the crash still gets its gap event."""
    lk.write_raw_segment(tmp_path, DAY, SESSION, 0, raw_table(SESSION, [1, 2, 3]))
    lk.write_raw_segment(tmp_path, date(2026, 7, 21), "cap-20260721-091500000000-cd34", 0,
                         raw_table("cap-20260721-091500000000-cd34", [1]))  # another session's date is not taken
    p = journal_path(tmp_path, SESSION)
    p.parent.mkdir(parents=True)
    p.write_bytes(b"")
    rec = recover_journal(tmp_path, p)
    assert (rec.trading_date, rec.sealed_rows, rec.segment, rec.torn, rec.last_seq) == (DAY, 0, None, True, 3)
    assert not p.exists()


def test_recovery_after_kill_seals_every_flushed_batch_once(tmp_path: Path):
    """A real process writes batches and is killed with SIGKILL; recovery seals exactly the flushed rows."""
    script = textwrap.dedent(f"""
        import os, sys, time
        from datetime import date
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from storage.journal import JournalWriter
        from tests.test_lake import raw_table
        w = JournalWriter(Path({str(tmp_path)!r}), {SESSION!r}, date(2026, 7, 22))
        for i in range(50):
            w.write(raw_table({SESSION!r}, [3 * i + 1, 3 * i + 2, 3 * i + 3]))
            w.flush()
        print("flushed", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "flushed"
    finally:
        proc.kill()
        proc.wait()
    [path] = open_journals(tmp_path)
    rec = recover_journal(tmp_path, path)
    assert (rec.session, rec.trading_date, rec.sealed_rows, rec.torn, rec.last_seq) == (SESSION, DAY, 150, False, 150)
    assert lk.read_raw(tmp_path, DAY)["seq"].to_list() == list(range(1, 151))
    assert not path.exists()


def test_recovery_does_not_seal_rows_a_segment_already_holds(tmp_path: Path):
    w = JournalWriter(tmp_path, SESSION, DAY)
    w.write(raw_table(SESSION, [1, 2, 3]))
    lk.write_raw_segment(tmp_path, DAY, SESSION, 0, read_journal(w.path).table)  # sealed, then crash before restart
    w.write(raw_table(SESSION, [4]))
    w.flush()
    rec = recover_journal(tmp_path, w.path)
    assert rec.sealed_rows == 1 and rec.last_seq == 4 and rec.segment.name == f"{SESSION}-000001.parquet"
    assert lk.read_raw(tmp_path, DAY)["seq"].to_list() == [1, 2, 3, 4]


def test_events_round_trip_sorted_with_their_schema(tmp_path: Path):
    assert read_events(tmp_path, DAY).schema == EVENT_PL
    write_events(tmp_path, DAY, SESSION, [{"wall_ns": 20, "kind": "gap", "seq": 7, "detail": '{"reason":"kill"}'}])
    write_events(tmp_path, DAY, SESSION, [{"wall_ns": 10, "kind": "connect"}, {"wall_ns": 30, "kind": "subscribe",
                                                                               "detail": "X-TRADE:ALL"}])
    assert write_events(tmp_path, DAY, SESSION, []) is None
    got = read_events(tmp_path, DAY)
    assert got.schema == EVENT_PL
    assert got.select("wall_ns", "kind", "seq").rows() == [(10, "connect", None), (20, "gap", 7), (30, "subscribe", None)]
    assert len(os.listdir(lk.events_day_dir(tmp_path, DAY))) == 2


def test_an_unknown_event_kind_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="heartbeat_timeout"):
        write_events(tmp_path, DAY, SESSION, [{"wall_ns": 1, "kind": "oops"}])
    assert read_events(tmp_path, DAY).height == 0
    assert isinstance(read_events(tmp_path, DAY), pl.DataFrame)


def test_the_polars_schemas_are_the_arrow_schemas_converted():
    """storage.schemas maps Arrow types to Polars dtypes itself (converting Arrow data imports pandas): the result
    must be what Polars makes of the same schema's empty table."""
    import polars as pl
    import pyarrow as pa

    from storage import schemas

    for arrow, polars in ((schemas.RAW_FRAME, schemas.RAW_FRAME_PL), (schemas.EVENT, schemas.EVENT_PL)):
        assert polars == pl.DataFrame(arrow.empty_table()).schema
    with pytest.raises(TypeError, match="no Polars dtype mapped for Arrow timestamp"):
        schemas.polars_schema(pa.schema([pa.field("t", pa.timestamp("ns"))]))
