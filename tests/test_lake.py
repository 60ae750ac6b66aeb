"""The lake: paths, raw segments (schema, atomicity, append-only, arrival order), curated and quarantine I/O."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from storage import lake as lk
from storage.schemas import EVENT, EVENT_KINDS, EVENT_PL, RAW_FRAME, RAW_FRAME_PL

DAY = date(2026, 7, 20)


def raw_table(session: str, seqs: list[int], *, data_type: str | None = "X-TRADE") -> pa.Table:
    n = len(seqs)
    return pa.table(
        {
            "session": [session] * n,
            "seq": seqs,
            "recv_ns": [1_784_513_700_000_000_000 + s for s in seqs],
            "data_type": [data_type] * n,
            "payload": [f'{{"DataType":"X-TRADE","Content":"{{\\"n\\":{s}}}"}}' for s in seqs],
            "cursor": [None] * n,
            "source": ["ssi"] * n,
        },
        schema=RAW_FRAME,
    )


# ------------------------------------------------------------------------------------------------- schemas


def test_raw_frame_schema_is_design_3_exactly():
    assert RAW_FRAME.names == ["session", "seq", "recv_ns", "data_type", "payload", "cursor", "source"]
    assert RAW_FRAME.types == [pa.string(), pa.uint64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string()]
    assert [f.name for f in RAW_FRAME if f.nullable] == ["data_type", "cursor"]
    assert RAW_FRAME_PL == pl.Schema(
        {"session": pl.String, "seq": pl.UInt64, "recv_ns": pl.Int64, "data_type": pl.String,
         "payload": pl.String, "cursor": pl.String, "source": pl.String}
    )


def test_event_schema():
    assert EVENT.names == ["wall_ns", "session", "seq", "kind", "detail"]
    assert EVENT_PL == pl.Schema(
        {"wall_ns": pl.Int64, "session": pl.String, "seq": pl.UInt64, "kind": pl.String, "detail": pl.String}
    )
    assert {"connect", "subscribe", "disconnect", "reconnect", "gap", "server_error", "heartbeat_timeout",
            "corrupt_segment"} == set(
        EVENT_KINDS
    )


# --------------------------------------------------------------------------------------------------- paths


def test_paths(tmp_path: Path):
    assert lk.raw_day_dir(tmp_path, DAY) == tmp_path / "raw" / "date=2026-07-20"
    assert lk.raw_segment_path(tmp_path, DAY, "s1", 7) == tmp_path / "raw" / "date=2026-07-20" / "s1-000007.parquet"
    assert lk.quarantine_path(tmp_path, DAY) == tmp_path / "quarantine" / "date=2026-07-20" / "quarantine.parquet"
    assert lk.curated_path(tmp_path, DAY, "trades") == tmp_path / "curated" / "date=2026-07-20" / "trades.parquet"
    assert lk.events_day_dir(tmp_path, DAY) == tmp_path / "events" / "date=2026-07-20"


@pytest.mark.parametrize(("session", "segment"), [("", 0), ("a/b", 0), ("s", -1)])
def test_bad_segment_path_arguments(tmp_path: Path, session: str, segment: int):
    with pytest.raises(ValueError):
        lk.raw_segment_path(tmp_path, DAY, session, segment)


def test_bad_curated_table_name(tmp_path: Path):
    with pytest.raises(ValueError, match="letters, digits"):
        lk.curated_path(tmp_path, DAY, "../trades")


# ------------------------------------------------------------------------------------------------- raw write


def test_write_raw_segment_round_trip_and_no_tmp_left(lake: Path):
    table = raw_table("s1", [1, 2, 5])
    path = lk.write_raw_segment(lake, DAY, "s1", 0, table)
    assert path == lk.raw_segment_path(lake, DAY, "s1", 0)
    assert [p.name for p in path.parent.iterdir()] == ["s1-000000.parquet"]  # atomic: no *.tmp left behind
    assert pq.read_metadata(path).row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(path).equals(RAW_FRAME)
    back = lk.read_raw(lake, DAY)
    assert_frame_equal(back, pl.DataFrame(table))


def test_append_only_refuses_overwrite(lake: Path):
    path = lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [1, 2]))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="append-only.*next segment"):
        lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [3, 4]))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert lk.next_segment(lake, DAY, "s1") == 1


def test_failed_write_leaves_nothing(lake: Path):
    """A writer that dies half-way (here: writes half a file, then raises) publishes nothing and leaves no tmp."""
    target = lk.raw_segment_path(lake, DAY, "s1", 0)

    def dies_half_way(tmp: Path) -> None:
        tmp.write_bytes(b"half a parquet file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lk.atomic_write(target, dies_half_way, overwrite=False)
    assert list(target.parent.iterdir()) == []
    assert lk.read_raw(lake, DAY).height == 0


def test_seq_must_strictly_increase(lake: Path):
    with pytest.raises(ValueError, match=r"seq must strictly increase.*seq=2 after 2.*sort by \(session, seq\)"):
        lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [1, 2, 2]))
    with pytest.raises(ValueError, match="seq=1 after 3"):
        lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [3, 1]))
    assert not lk.raw_day_dir(lake, DAY).exists() or not any(lk.raw_day_dir(lake, DAY).iterdir())


def test_schema_must_equal_raw_frame(lake: Path):
    good = raw_table("s1", [1, 2])
    wrong_type = good.set_column(1, pa.field("seq", pa.int64()), pa.array([1, 2], pa.int64()))
    with pytest.raises(ValueError, match="RAW_FRAME"):
        lk.write_raw_segment(lake, DAY, "s1", 0, wrong_type)
    missing = good.drop_columns(["cursor"])
    with pytest.raises(ValueError, match="RAW_FRAME"):
        lk.write_raw_segment(lake, DAY, "s1", 0, missing)
    from_polars = pl.DataFrame(good).to_arrow()  # polars exports large_string: not the declared type
    assert from_polars.schema.field("session").type == pa.large_string()
    with pytest.raises(ValueError, match="raw_table_from_polars"):
        lk.write_raw_segment(lake, DAY, "s1", 0, from_polars)
    lk.write_raw_segment(lake, DAY, "s1", 0, lk.raw_table_from_polars(pl.DataFrame(good)))
    assert_frame_equal(lk.read_raw(lake, DAY), pl.DataFrame(good))


def test_required_columns_reject_nulls(lake: Path):
    table = raw_table("s1", [1, 2])
    table = table.set_column(4, RAW_FRAME.field("payload"), pa.array(["{}", None], pa.string()))
    with pytest.raises(ValueError, match="'payload' must not contain nulls"):
        lk.write_raw_segment(lake, DAY, "s1", 0, table)


def test_segment_rows_must_be_of_its_session(lake: Path):
    with pytest.raises(ValueError, match="split the rows by session"):
        lk.write_raw_segment(lake, DAY, "s2", 0, raw_table("s1", [1]))


def test_nullable_data_type_and_cursor(lake: Path):
    lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [1], data_type=None))
    df = lk.read_raw(lake, DAY)
    assert df["data_type"].to_list() == [None] and df["cursor"].to_list() == [None]


# -------------------------------------------------------------------------------------------------- raw read


def test_read_raw_empty_has_schema(lake: Path):
    df = lk.read_raw(lake, DAY)
    assert df.height == 0 and df.schema == RAW_FRAME_PL


def test_read_raw_is_arrival_order_over_segments_and_sessions(lake: Path):
    # written out of order on purpose: later segment first, and a session that sorts before the first
    lk.write_raw_segment(lake, DAY, "s1", 1, raw_table("s1", [10, 11]))
    lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [1, 2, 3]))
    lk.write_raw_segment(lake, DAY, "s0", 0, raw_table("s0", [7, 9]))
    lk.write_raw_segment(lake, date(2026, 7, 21), "s1", 2, raw_table("s1", [20]))  # another date: not read
    (lk.raw_day_dir(lake, DAY) / "s9-000000.parquet.abc123.tmp").write_bytes(b"partial")  # a writer mid-way
    (lake / "raw" / "_open").mkdir()
    (lake / "raw" / "_open" / "s1.arrows").write_bytes(b"open segment")
    df = lk.read_raw(lake, DAY)
    assert df.schema == RAW_FRAME_PL
    assert df.select("session", "seq").rows() == [
        ("s0", 7), ("s0", 9), ("s1", 1), ("s1", 2), ("s1", 3), ("s1", 10), ("s1", 11)
    ]


def test_lake_dates_and_sessions(lake: Path):
    assert lk.lake_dates(lake) == [] and lk.sessions_in_lake(lake) == set()
    lk.write_raw_segment(lake, date(2026, 7, 21), "import-abc-def", 0, raw_table("import-abc-def", [1]))
    lk.write_raw_segment(lake, DAY, "s1", 0, raw_table("s1", [1]))
    lk.write_raw_segment(lake, DAY, "s1", 1, raw_table("s1", [2]))
    (lake / "raw" / "date=2026-07-22").mkdir()  # empty partition: not a date with data
    (lake / "raw" / "_open").mkdir()
    assert lk.lake_dates(lake) == [DAY, date(2026, 7, 21)]
    assert lk.sessions_in_lake(lake) == {"s1", "import-abc-def"}
    assert [p.name for p in lk.raw_segments(lake, DAY, "s1")] == ["s1-000000.parquet", "s1-000001.parquet"]


# ---------------------------------------------------------------------------------------- curated, quarantine


def test_write_table_atomic_replace(tmp_path: Path):
    path = tmp_path / "x" / "t.parquet"
    lk.write_table(path, pl.DataFrame({"a": [1, 2]}))
    lk.write_table(path, pl.DataFrame({"a": [3]}))
    assert pl.read_parquet(path)["a"].to_list() == [3]
    assert [p.name for p in path.parent.iterdir()] == ["t.parquet"]


def test_curated_round_trip_and_replace(lake: Path):
    trades = pl.DataFrame({"symbol": ["HPG"], "price": [26950.0]})
    candles = pl.DataFrame({"symbol": ["HPG"], "volume": [100]})
    paths = lk.write_curated(lake, DAY, {"trades": trades, "candles_1m": candles})
    assert paths == {name: lk.curated_path(lake, DAY, name) for name in ("trades", "candles_1m")}
    assert_frame_equal(lk.read_curated(lake, DAY, "trades"), trades)
    newer = pl.DataFrame({"symbol": ["TCB"], "price": [35850.0]})
    lk.write_curated(lake, DAY, {"trades": newer})
    assert_frame_equal(lk.read_curated(lake, DAY, "trades"), newer)
    assert_frame_equal(lk.read_curated(lake, DAY, "candles_1m"), candles)  # other tables untouched


def test_read_curated_missing_names_what_exists(lake: Path):
    lk.write_curated(lake, DAY, {"trades": pl.DataFrame({"a": [1]})})
    with pytest.raises(FileNotFoundError, match=r"no curated table 'alerts' for 2026-07-20.*\['trades'\]"):
        lk.read_curated(lake, DAY, "alerts")


def test_quarantine(lake: Path):
    q = pl.DataFrame(raw_table("s1", [1])).with_columns(reason=pl.lit("invalid JSON"))
    path = lk.write_quarantine(lake, DAY, q)
    assert path == lk.quarantine_path(lake, DAY)
    assert_frame_equal(pl.read_parquet(path), q)
