"""``vntrack import``: JSONL of SSI Broadcast arguments and KBS tick CSV into the lake, on the real recordings.

The KBS decisions tested here are written down in the docstring of ``capture/import_kbs.py``.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import shutil
from datetime import date, datetime, time, timezone
from pathlib import Path

import polars as pl
import pytest
from tests.conftest import KBS_HPG, KBS_TCB, SSI_B, SSI_MI, SSI_SINGLE_FRAMES

from capture import import_kbs
from market.clock import exchange_time_ns, parse_time_of_day, parse_trading_date
from capture.importers import UnrecognisedRecording, import_paths, session_id
from storage.lake import lake_dates, raw_segment_path, raw_segments, read_raw, sessions_in_lake
from storage.schemas import RAW_FRAME_PL
from market.rules import hose_tick, price_limits

JUL17, JUL20 = date(2026, 7, 17), date(2026, 7, 20)
HPG_DAY, TCB_DAY = date(2026, 2, 13), date(2026, 2, 23)


def lake_files(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def file_lines(path: Path) -> list[str]:
    """The file's lines as text, terminators stripped (the expected payloads)."""
    return path.read_bytes().decode("utf-8").split("\n")[:-1]


def frames_of(lake: Path, day: date, session: str) -> pl.DataFrame:
    return read_raw(lake, day).filter(pl.col("session") == session)


# ------------------------------------------------------------------------------------------ exchange time


def test_exchange_time():
    assert parse_trading_date("20/07/2026") == JUL20
    assert parse_trading_date("2026-07-20") is None and parse_trading_date("31/02/2026") is None
    assert parse_trading_date(None) is None
    assert parse_time_of_day("13:35:25") == time(13, 35, 25) and parse_time_of_day("25:00:00") is None
    utc = datetime(2026, 7, 20, 2, 15, tzinfo=timezone.utc)  # 09:15 in Vietnam (UTC+7)
    assert exchange_time_ns(JUL20, time(9, 15)) == int(utc.timestamp()) * 1_000_000_000


# -------------------------------------------------------------------------------------------------- JSONL


def test_b_jsonl_counts_per_date_and_verbatim_payloads(lake: Path):
    [res] = import_paths(lake, [SSI_B])
    session = "import-2f637e7e0fe54eae"
    assert (res.format, res.session, res.skipped_reason) == ("ssi-jsonl", session, None)
    assert res.frames == {JUL17: 3, JUL20: 1810}
    assert lake_dates(lake) == [JUL17, JUL20]
    assert [p.name for p in raw_segments(lake, JUL20)] == [f"{session}-000000.parquet"]

    frames = pl.concat([read_raw(lake, JUL17), read_raw(lake, JUL20)])
    assert frames.schema == RAW_FRAME_PL
    assert frames["payload"].to_list() == file_lines(SSI_B)  # byte-identical, in file order
    assert frames["seq"].to_list() == list(range(1, 1814))  # seq = 1-based line number
    assert set(frames["data_type"]) == {"B"}
    assert set(frames["source"]) == {"import:ssi_b_messages.jsonl"}
    assert frames["cursor"].null_count() == frames.height
    assert read_raw(lake, JUL17)["seq"].to_list() == [1, 2, 3]
    # recv_ns = exchange time: line 1 is 17/07/2026 14:45:00, line 4 is 20/07/2026 09:15:00 (Vietnam time)
    assert frames["recv_ns"][0] == exchange_time_ns(JUL17, time(14, 45))
    assert frames["recv_ns"][3] == exchange_time_ns(JUL20, time(9, 15))


def test_mi_jsonl(lake: Path):
    [res] = import_paths(lake, [SSI_MI])
    assert res.frames == {JUL20: 26}
    frames = read_raw(lake, JUL20)
    assert frames["payload"].to_list() == file_lines(SSI_MI)
    assert set(frames["data_type"]) == {"MI"}
    # one frame every 5 s, except that the recording has no 13:36:30 frame (13:36:25 -> 13:36:35)
    five, ten = 5_000_000_000, 10_000_000_000
    assert frames["recv_ns"].diff().drop_nulls().to_list() == [five] * 12 + [ten] + [five] * 12


def test_real_day_fixture_holds_both_files(lake_real_day: Path):
    assert read_raw(lake_real_day, JUL20).height == 1810 + 26
    assert sessions_in_lake(lake_real_day) == {"import-2f637e7e0fe54eae", "import-6b339668197760ec"}


def test_import_twice_adds_nothing(lake: Path, tmp_path: Path):
    import_paths(lake, [SSI_B, SSI_MI])
    before = lake_files(lake)
    renamed = tmp_path / "same_bytes_other_name.jsonl"
    shutil.copyfile(SSI_B, renamed)
    again = import_paths(lake, [SSI_B, SSI_MI, renamed])
    assert [r.skipped_reason for r in again] == ["already imported"] * 3
    assert all(r.frames == {} and r.segments == () for r in again)
    assert lake_files(lake) == before


def test_same_file_twice_in_one_call(lake: Path):
    first, second = import_paths(lake, [SSI_MI, SSI_MI])
    assert first.frames == {JUL20: 26} and second.skipped_reason == "already imported"


def test_interrupted_import_is_completed(lake: Path):
    """An import that died between its two dates gets the missing segment, identical to an uninterrupted one."""
    import_paths(lake, [SSI_B])
    whole = lake_files(lake)
    session = session_id(SSI_B.read_bytes())
    raw_segment_path(lake, JUL17, session, 0).unlink()
    [res] = import_paths(lake, [SSI_B])
    assert res.frames == {JUL17: 3} and res.skipped_reason is None
    assert lake_files(lake) == whole


def test_garbage_lines_are_stored_never_dropped(lake: Path, tmp_path: Path):
    b_lines, mi_lines = file_lines(SSI_B), file_lines(SSI_MI)
    lines = [
        "garbage before any date {",  # 1: before the first dated line -> first date found later (17/07)
        b_lines[0],  # 2: 17/07/2026 14:45:00
        "",  # 3: blank: not a frame
        '{"DataType": "X-TRADE", "Content": "not json"}',  # 4: DataType readable, content not -> previous date
        "[1, 2, 3]",  # 5: JSON but not an object
        '{"DataType": 42, "Content": "{}"}',  # 6: DataType not a string
        mi_lines[0],  # 7: 20/07/2026 13:35:25
        "\x00\x01 binary junk",  # 8
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")  # CRLF: the \r is part of the terminator
    [res] = import_paths(lake, [path])
    assert res.frames == {JUL17: 5, JUL20: 2}
    frames = pl.concat([read_raw(lake, JUL17), read_raw(lake, JUL20)])
    assert frames["seq"].to_list() == [1, 2, 4, 5, 6, 7, 8]
    assert frames["payload"].to_list() == [line for line in lines if line]
    assert frames["data_type"].to_list() == [None, "B", "X-TRADE", None, None, "MI", None]
    t17, t20 = exchange_time_ns(JUL17, time(14, 45)), exchange_time_ns(JUL20, time(13, 35, 25))
    assert frames["recv_ns"].to_list() == [t17, t17, t17, t17, t17, t20, t20]


def test_jsonl_without_any_date_is_refused(lake: Path, tmp_path: Path):
    path = tmp_path / "nodate.jsonl"
    path.write_text('{"DataType": "B", "Content": "{\\"Symbol\\":\\"X26\\"}"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="nodate.jsonl: no line carries a parseable Content.TradingDate"):
        import_paths(lake, [path])
    assert not lake.exists()


def test_single_frames_file_spreads_over_its_dates(lake: Path):
    """The docs/code samples: 23 lines over 7 dates; dateless samples go with the previous line's date."""
    [res] = import_paths(lake, [SSI_SINGLE_FRAMES])
    assert sum(res.frames.values()) == 23
    payloads = pl.concat([read_raw(lake, d) for d in lake_dates(lake)]).sort("seq")["payload"].to_list()
    assert payloads == file_lines(SSI_SINGLE_FRAMES)


# ---------------------------------------------------------------------------------------------- recognition


def test_format_comes_from_content_not_extension(lake: Path, tmp_path: Path):
    b_as_csv, hpg_as_txt = tmp_path / "b.csv", tmp_path / "ticks.txt"
    shutil.copyfile(SSI_MI, b_as_csv)
    shutil.copyfile(KBS_HPG, hpg_as_txt)
    a, b = import_paths(lake, [b_as_csv, hpg_as_txt])
    assert (a.format, b.format) == ("ssi-jsonl", "kbs-ticks-csv")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.txt", "hello world\n"),
        ("empty.jsonl", ""),
        ("other.csv", "date,open,high,low,close\n2026-07-20,1,2,0,1\n"),
        ("list.jsonl", '[{"DataType": "B"}]\n'),
    ],
)
def test_non_recording_is_refused_naming_both_formats(lake: Path, tmp_path: Path, name: str, content: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnrecognisedRecording) as err:
        import_paths(lake, [SSI_MI, path])  # the good file before it is not imported either
    msg = str(err.value)
    assert msg.startswith(f"{name} is not a recognised recording")
    assert "JSONL of SSI Broadcast arguments" in msg and '{"DataType":...,"Content":"..."}' in msg
    assert "vnstock/KBS intraday tick CSV" in msg and "time,price,volume,match_type" in msg
    assert not lake.exists()


def test_real_rest_reply_is_not_a_recording(lake: Path, fixtures_dir: Path):
    with pytest.raises(UnrecognisedRecording, match="ssi_daily_ohlc.json is not a recognised recording"):
        import_paths(lake, [fixtures_dir / "ssi" / "quelam96lact_fixtures" / "ssi_daily_ohlc.json"])


def test_missing_path(lake: Path, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        import_paths(lake, [tmp_path / "nope.jsonl"])
    with pytest.raises(IsADirectoryError, match="not a file"):
        import_paths(lake, [tmp_path])


# ------------------------------------------------------------------------------------------------------ KBS


def csv_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def contents(lake: Path, day: date) -> pl.DataFrame:
    """The converted frames of a day: raw columns + every Content field (wire names)."""
    raw = read_raw(lake, day)
    rows = []
    for payload in raw["payload"]:
        envelope = json.loads(payload)
        assert list(envelope) == ["DataType", "Content"] and envelope["DataType"] == "X-TRADE"
        rows.append(json.loads(envelope["Content"]))
    return pl.concat([raw, pl.DataFrame(rows, infer_schema_length=None)], how="horizontal")


@pytest.fixture(name="hpg", scope="module")
def fixture_hpg(lake_kbs: Path) -> pl.DataFrame:
    return contents(lake_kbs, HPG_DAY)


@pytest.fixture(name="tcb", scope="module")
def fixture_tcb(lake_kbs: Path) -> pl.DataFrame:
    return contents(lake_kbs, TCB_DAY)


def test_kbs_import_counts(lake_kbs: Path):
    assert lake_dates(lake_kbs) == [HPG_DAY, TCB_DAY]
    for day, path in ((HPG_DAY, KBS_HPG), (TCB_DAY, KBS_TCB)):
        raw = read_raw(lake_kbs, day)
        assert raw.height == len(csv_rows(path)) == 1988  # no duplicates in the real files
        assert raw["seq"].to_list() == list(range(1, 1989))
        assert set(raw["data_type"]) == {"X-TRADE"} and set(raw["source"]) == {f"import:{path.name}"}
        assert set(raw["session"]) == {session_id(path.read_bytes())}


def test_kbs_payload_is_exact_wire_format(hpg: pl.DataFrame):
    for payload in hpg["payload"].head(50):
        content = json.loads(json.loads(payload)["Content"])
        assert list(content) == list(import_kbs.X_TRADE_FIELDS)
        assert payload == import_kbs.x_trade_payload(content)  # compact separators, both layers
        assert ", " not in payload and ": " not in payload
    numeric = [c for c in import_kbs.X_TRADE_FIELDS if hpg.schema[c] in (pl.Float64, pl.Int64)]
    assert all(hpg.schema[c] == pl.Float64 for c in numeric)  # every number a float, like the wire's 100.0
    first = json.loads(json.loads(hpg["payload"][0])["Content"])
    assert isinstance(first["LastVol"], float) and isinstance(first["TotalVal"], float)


@pytest.mark.parametrize("symbol", ["hpg", "tcb"])
def test_kbs_prices_are_vnd_on_the_tick_grid(symbol: str, request: pytest.FixtureRequest):
    df = request.getfixturevalue(symbol)
    for col in ("LastPrice", "RefPrice", "Ceiling", "Floor", "Highest", "Lowest", "EstMatchedPrice"):
        values = df[col].to_list()
        assert all(v == int(v) and int(v) % hose_tick(v) == 0 and 10_000 < v < 100_000 for v in values), col
    assert not re.search(r"\d\.\d{3}", "".join(df["payload"]))  # no float garbage like 26950.000000000004
    assert df.select("RefPrice", "Ceiling", "Floor").unique().height == 1
    ref = df["RefPrice"][0]
    assert (df["Ceiling"][0], df["Floor"][0]) == price_limits(ref, "HOSE")
    assert (df["LastPrice"] <= df["Ceiling"]).all() and (df["LastPrice"] >= df["Floor"]).all()
    assert (df["Change"] == df["LastPrice"] - df["RefPrice"]).all()
    assert df["Highest"].to_list() == df["LastPrice"].cum_max().to_list()
    assert df["Lowest"].to_list() == df["LastPrice"].cum_min().to_list()


@pytest.mark.parametrize("symbol", ["hpg", "tcb"])
def test_kbs_totals_are_consistent(symbol: str, request: pytest.FixtureRequest):
    df = request.getfixturevalue(symbol)
    total_vol, last_vol = df["TotalVol"], df["LastVol"]
    assert (total_vol.diff().drop_nulls() > 0).all()  # strictly increasing
    assert (total_vol.diff().drop_nulls() == last_vol.slice(1)).all()  # each delta is that trade's volume
    assert last_vol.sum() == total_vol[-1] - total_vol[0] + last_vol[0]
    assert (df["TotalVal"].diff().drop_nulls() == (df["LastPrice"] * last_vol).slice(1)).all()
    assert (df["AvgPrice"] - df["TotalVal"] / df["TotalVol"]).abs().max() <= 0.005


def test_kbs_totals_anchor_on_vendor_and_stay_below_it_by_lost_trades():
    """TotalVol starts at KBS's accumulated_volume; the 12 trades per file KBS lost keep ours below at the end."""
    for path, lost in ((KBS_HPG, 26_900), (KBS_TCB, 13_900)):
        ticks = import_kbs.order_ticks(import_kbs.read_kbs_ticks(path.read_bytes()))
        out = import_kbs.x_trade_contents(ticks)
        assert out[0]["TotalVol"] == ticks[0].accumulated_volume
        assert ticks[-1].accumulated_volume - out[-1]["TotalVol"] == lost
        gaps = [t for prev, t in zip(ticks, ticks[1:]) if t.accumulated_volume - prev.accumulated_volume != t.volume]
        assert len(gaps) == 12


def test_kbs_order_is_time_then_cumulative_volume(hpg: pl.DataFrame):
    rows = csv_rows(KBS_HPG)
    file_order = [int(r["accumulated_volume"]) for r in rows]
    assert sum(b < a for a, b in zip(file_order, file_order[1:])) == 127  # the file is out of order within a second
    ordered = sorted(rows, key=lambda r: (r["time"], int(r["accumulated_volume"])))
    assert hpg["LastVol"].to_list() == [float(r["volume"]) for r in ordered]
    assert hpg.select("Time").to_series().is_sorted()


def test_kbs_conversion_ignores_row_order(tmp_path: Path):
    """Shuffling the CSV's rows changes the session (other bytes) but not one frame."""
    header, *body = KBS_TCB.read_text(encoding="utf-8-sig").splitlines()
    random.Random(7).shuffle(body)
    shuffled = ("\n".join([header, *body]) + "\n").encode()
    assert [f.payload for f in import_kbs.kbs_frames(shuffled)] == [
        f.payload for f in import_kbs.kbs_frames(KBS_TCB.read_bytes())
    ]


@pytest.mark.parametrize(("symbol", "path", "buy", "sell"), [("hpg", KBS_HPG, 1100, 884), ("tcb", KBS_TCB, 1097, 889)])
def test_kbs_side_mapping(symbol: str, path: Path, buy: int, sell: int, request: pytest.FixtureRequest):
    df = request.getfixturevalue(symbol)
    assert dict(df["Side"].value_counts().rows()) == {"BU": buy, "SD": sell, None: len(df) - buy - sell}
    ordered = sorted(csv_rows(path), key=lambda r: (r["time"], int(r["accumulated_volume"])))
    expected = [{"buy": "BU", "sell": "SD"}.get(r["match_type"]) for r in ordered]
    assert df["Side"].to_list() == expected  # buy -> BU, sell -> SD, atc / empty -> null


@pytest.mark.parametrize(
    ("symbol", "n_atc", "atc_volume", "price"), [("hpg", 4, 2_991_600, 26850.0), ("tcb", 2, 400_400, 35850.0)]
)
def test_kbs_atc_rows_flagged(symbol: str, n_atc: int, atc_volume: int, price: float, request: pytest.FixtureRequest):
    df = request.getfixturevalue(symbol)
    atc = df.filter(pl.col("TradingSession") == "ATC")
    assert atc.height == n_atc
    assert set(atc["Time"]) == {"14:45:15"} and set(atc["LastPrice"]) == {price}
    assert atc["Side"].null_count() == n_atc and atc["LastVol"].sum() == atc_volume
    assert set(df["TradingSession"]) == {"LO", "ATC"}
    assert df.filter(pl.col("Time") < "14:30:00")["TradingSession"].unique().to_list() == ["LO"]
    assert atc["seq"].to_list() == list(range(len(df) - n_atc + 1, len(df) + 1))  # the last prints of the day


def test_kbs_spot_check_one_frame(hpg: pl.DataFrame):
    # CSV line 3:
    # 2026-02-13 13:18:48,26.95,4000,sell,2026-02-13_131848_269500_4000,13/02/2026,HPG,50.0,8320500,223609585000.0
    row = hpg.filter(pl.col("Time") == "13:18:48").row(0, named=True)
    assert row["seq"] == 2
    assert row["recv_ns"] == exchange_time_ns(HPG_DAY, time(13, 18, 48))
    expected = {
        "RType": "X-TRADE", "TradingDate": "13/02/2026", "Time": "13:18:48", "Isin": "HPG", "Symbol": "HPG",
        "Ceiling": 28750.0, "Floor": 25050.0, "RefPrice": 26900.0, "PriorVal": 26900.0,
        "LastPrice": 26950.0, "LastVol": 4000.0, "TotalVol": 8320500.0, "TotalVal": 223609585000.0,
        "AvgPrice": round(223609585000 / 8320500, 2), "MarketId": "HOSE", "Exchange": "HOSE",
        "TradingSession": "LO", "TradingStatus": "N", "Change": 50.0, "RatioChange": 0.19,
        "EstMatchedPrice": 26950.0, "Highest": 26950.0, "Lowest": 26950.0, "Side": "SD",
    }
    assert {k: row[k] for k in expected} == expected


def test_kbs_dedupe_only_same_id_and_cumulative(tmp_path: Path):
    header, first, second, *_ = KBS_HPG.read_text(encoding="utf-8-sig").splitlines()
    fields = second.split(",")
    same_id_later_trade = ",".join([*fields[:8], str(int(fields[8]) + 4000), fields[9]])  # same id, next cumulative
    path = tmp_path / "dups.csv"
    path.write_text("\n".join([header, first, second, second, same_id_later_trade]) + "\n", encoding="utf-8")
    frames = import_kbs.kbs_frames(path.read_bytes())
    volumes = [json.loads(json.loads(f.payload)["Content"])["TotalVol"] for f in frames]
    assert volumes == [8316500.0, 8320500.0, 8324500.0]  # the exact copy dropped, the same-id trade kept


@pytest.mark.parametrize(
    ("exchange", "tod", "match_type", "session"),
    [
        ("HOSE", time(9, 15), "", "ATO"),
        ("HOSE", time(9, 15, 1), "buy", "LO"),
        ("HOSE", time(14, 29, 59), "sell", "LO"),
        ("HOSE", time(14, 30), "buy", "ATC"),
        ("HOSE", time(14, 45, 15), "", "ATC"),
        ("HOSE", time(10, 0), "atc", "ATC"),
        ("HNX", time(9, 5), "buy", "LO"),
        ("HNX", time(14, 40), "", "ATC"),
        ("UPCOM", time(14, 40), "buy", "LO"),
    ],
)
def test_trading_session_rule(exchange: str, tod: time, match_type: str, session: str):
    assert import_kbs.trading_session(exchange, tod, match_type) == session


def test_kbs_bad_rows_are_refused_with_the_line(tmp_path: Path):
    header, first, second, *_ = KBS_HPG.read_text(encoding="utf-8-sig").splitlines()
    bad_price = first.replace(",26.95,", ",abc,", 1)
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\n{first}\n{bad_price}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.csv line 3: column 'price' is not a number: 'abc'"):
        import_kbs.kbs_frames(path.read_bytes(), path.name)
    other_ref = second.replace(",50.0,", ",100.0,", 1)
    path.write_text(f"{header}\n{first}\n{other_ref}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="several reference prices"):
        import_kbs.kbs_frames(path.read_bytes(), path.name)
    wrong_date = first.replace("13/02/2026", "14/02/2026")
    path.write_text(f"{header}\n{wrong_date}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not the date of time"):
        import_kbs.kbs_frames(path.read_bytes(), path.name)


# ------------------------------------------------------------------- re-import of a grown recording (issue 11)


def _slice_file(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _payloads(lake: Path, day: date) -> list[str]:
    return read_raw(lake, day)["payload"].to_list()


def test_grown_recording_adds_only_its_new_frames(lake: Path, tmp_path: Path):
    """head -n1000 then head -n1500 then the whole file: every frame once, in the file's order."""
    lines = file_lines(SSI_B)
    a, b = _slice_file(tmp_path, "a.jsonl", lines[:1000]), _slice_file(tmp_path, "b.jsonl", lines[:1500])
    [ra] = import_paths(lake, [a])
    [rb] = import_paths(lake, [b])
    assert rb.continued == {JUL20: ra.session} and rb.frames == {JUL20: 500}
    assert rb.skipped_reason is None and len(rb.segments) == 1 and rb.segments[0].name.endswith("-000001.parquet")
    [rall] = import_paths(lake, [SSI_B])
    assert rall.frames == {JUL20: 313} and rall.continued == {JUL20: ra.session}
    fresh = tmp_path / "fresh"
    import_paths(fresh, [SSI_B])
    for day in (JUL17, JUL20):
        assert _payloads(lake, day) == _payloads(fresh, day)  # same frames, same arrival order, none twice
    assert read_raw(lake, JUL20)["seq"].is_unique().all()
    again = import_paths(lake, [a, b, SSI_B])
    assert all(r.frames == {} for r in again)
    assert again[0].skipped_reason == "already imported"
    assert again[2].skipped_reason == f"already in the lake (session {ra.session})"


def test_recording_overlapping_the_end_of_an_import_adds_the_rest(lake: Path, tmp_path: Path):
    lines = file_lines(SSI_B)
    import_paths(lake, [_slice_file(tmp_path, "a.jsonl", lines[:1000])])
    [rc] = import_paths(lake, [_slice_file(tmp_path, "c.jsonl", lines[500:1500])])
    assert rc.frames == {JUL20: 500}
    assert _payloads(lake, JUL20) == lines[3:1500]


def test_subset_of_an_imported_recording_adds_nothing(lake: Path, tmp_path: Path):
    lines = file_lines(SSI_B)
    [whole] = import_paths(lake, [SSI_B])
    before = lake_files(lake)
    for name, part in (("head.jsonl", lines[:1000]), ("middle.jsonl", lines[200:700]), ("tail.jsonl", lines[-50:])):
        [r] = import_paths(lake, [_slice_file(tmp_path, name, part)])
        assert r.frames == {} and r.skipped_reason == f"already in the lake (session {whole.session})", name
    assert lake_files(lake) == before


def test_recording_that_repeats_frames_otherwise_is_refused_and_nothing_is_written(lake: Path, tmp_path: Path):
    from capture.importers import OverlappingRecording

    lines = file_lines(SSI_B)
    [ra] = import_paths(lake, [_slice_file(tmp_path, "a.jsonl", lines[:1000])])
    before = lake_files(lake)
    edited = json.loads(lines[600])
    edited["Content"] = edited["Content"].replace('"Volume":', '"Volume": 1, "X":')
    mixed = _slice_file(tmp_path, "mixed.jsonl", [*lines[:600], json.dumps(edited), *lines[601:1200]])
    with pytest.raises(OverlappingRecording, match=f"mixed.jsonl: frames for {JUL20} from line .* {ra.session}"):
        import_paths(lake, [SSI_MI, mixed])  # MI comes first and is new: still nothing of the command is written
    assert lake_files(lake) == before
