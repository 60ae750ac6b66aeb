"""Parsers on the real single frames of every channel, and on the feed's known quirks (docs/ssi-wire.md §2)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from tests.frames import raw_frames, single_frame_payloads, single_frames, wire
from transforms import schemas
from transforms.parse import parse_frames

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PARTITION = date(2026, 7, 20)


@pytest.fixture(name="parsed", scope="module")
def fixture_parsed() -> dict[str, pl.DataFrame]:
    return parse_frames(raw_frames(single_frame_payloads(single_frames())), PARTITION)


def _row(parsed: dict[str, pl.DataFrame], table: str, seq: int) -> dict:
    rows = parsed[table].filter(pl.col("seq") == seq).to_dicts()
    assert len(rows) == 1, f"seq {seq} not in {table}"
    return rows[0]


def test_every_valid_frame_lands_in_its_table_and_invalid_ones_in_quarantine(parsed):
    frames = single_frames()
    valid = {i + 1 for i, f in enumerate(frames) if f.get("valid_json", True)}
    invalid = {i + 1 for i, f in enumerate(frames) if not f.get("valid_json", True)}
    assert set(parsed["quarantine"].get_column("seq").to_list()) == invalid
    assert all(r.startswith("content: invalid JSON") for r in parsed["quarantine"].get_column("reason").to_list())
    landed = {s for name, _ in schemas.PARSED.values() for s in parsed[name].get_column("seq").to_list()}
    assert landed == valid
    for name, schema in schemas.PARSED.values():
        assert parsed[name].schema == schema
    by_channel = {dt: 0 for dt in schemas.PARSED}
    for i in valid:
        by_channel[frames[i - 1]["DataType"]] += 1
    assert {dt: parsed[name].height for dt, (name, _) in schemas.PARSED.items()} == by_channel


def test_x_trade_fields_and_units(parsed):
    r = _row(parsed, "x_trade", 9)  # vnbrokers-go ACB, 14/08/2023 14:07:53
    assert r["exch_time"] == datetime(2023, 8, 14, 14, 7, 53, tzinfo=VN)
    assert r["trading_date"] == date(2023, 8, 14)
    assert (r["symbol"], r["isin"], r["exchange"], r["market_id"]) == ("ACB", "ACB", "HOSE", "HOSE")
    assert (r["ceiling"], r["floor"], r["ref_price"]) == (24500.0, 21300.0, 22900.0)  # VND
    assert (r["last_price"], r["last_vol"]) == (22950.0, 100)
    assert (r["total_vol"], r["total_val"]) == (8797700, 201713015000.0)
    assert (r["highest"], r["lowest"]) == (23050.0, 22800.0)  # ints on the wire, Highest/Lowest not High/Low
    assert (r["side"], r["trading_session"], r["trading_status"]) == ("SD", "LO", "N")
    assert (r["change"], r["ratio_change"], r["avg_price"]) == (50.0, 0.22, 22927.93)


def test_x_quote_levels(parsed):
    r = _row(parsed, "x_quote", 5)  # the GreenDragon app-log capture, SSI 03/12/2025
    assert r["exch_time"] == datetime(2025, 12, 3, 9, 15, 1, tzinfo=VN)
    assert [r[f"ask_price_{i}"] for i in (1, 2, 3, 4)] == [32400.0, 32450.0, 32500.0, 0.0]
    assert [r[f"bid_vol_{i}"] for i in (1, 2, 3)] == [62600, 138900, 91000]
    elided = _row(parsed, "x_quote", 6)  # levels 2-9 absent in the source
    assert elided["ask_price_1"] == 22950.0 and elided["ask_price_2"] is None and elided["ask_price_10"] == 0.0


def test_x_snapshot_futures_units(parsed):
    r = _row(parsed, "x", 1)  # VN30F2407, 27/06/2024: prices in points, AvgPrice in VND per contract
    assert (r["symbol"], r["exchange"], r["trading_status"]) == ("VN30F2407", "DERIVATIVES", "Active")
    assert (r["last_price"], r["last_vol"], r["total_vol"]) == (1283.9, 8, 35094)
    assert r["avg_price"] == pytest.approx(r["total_val"] / r["total_vol"])
    assert r["bid_price_10"] == 1282.9 and r["ask_vol_10"] == 68
    assert r["side"] is None and r["close_qtty"] == 0 and (r["high"], r["low"]) == (1287.0, 1282.0)


def test_foreign_room_uses_buyvol_not_fbuyvol(parsed):
    r = _row(parsed, "foreign_room", 7)
    assert (r["symbol"], r["total_room"], r["current_room"]) == ("SSI", 1501130137, 806887173)
    assert (r["buy_vol"], r["sell_vol"], r["buy_val"], r["sell_val"]) == (863352, 825308, 25123543200.0, 24016462800.0)


def test_index_fields(parsed):
    r = _row(parsed, "index", 2)  # VN30, 27/06/2024
    assert (r["index_id"], r["index_value"], r["prior_index_value"]) == ("VN30", 1284.46, 1291.3)
    assert (r["advances"], r["no_changes"], r["declines"], r["ceilings"], r["floors"]) == (11, 0, 19, 0, 0)
    assert (r["total_qtty_pt"], r["all_qty"], r["index_type"], r["market_id"]) == (702391, 34541991, "", None)
    assert r["index_val_est"] is None
    assert _row(parsed, "index", 11)["index_val_est"] == 1200.03  # the 2021 form still has it


def test_bar_without_trading_date_takes_the_partition_date(parsed):
    for seq in (4, 12, 20):  # TradingTime (doc) and Time (Go test) forms, no TradingDate
        r = _row(parsed, "bar", seq)
        assert r["exch_time"] == datetime(2026, 7, 20, 14, 28, 33, tzinfo=VN)
        assert (r["symbol"], r["close"], r["volume"], r["value"]) == ("X26", 16000.0, 5000, 0.0)


def test_status_and_odd_lot(parsed):
    f = _row(parsed, "status", 8)
    assert (f["symbol"], f["trading_session"], f["trading_status"], f["exchange"]) == ("SSI", "LO", "N", "HOSE")
    garbled = _row(parsed, "status", 22)  # PDF-extracted: "TradingSes sion" is not TradingSession
    assert garbled["trading_session"] is None and garbled["trading_status"] == "NT"
    ol = _row(parsed, "odd_lot", 13)  # ints without .0
    assert (ol["stock_no"], ol["last_vol"], ol["total_vol"], ol["stock_type"]) == (2027, 9193, 8135000, "Stock")
    assert ol["total_val"] == 185028289999.99728 and ol["bid_price_3"] == 22600.0


def test_feed_quirks_are_tolerated():
    base = {"TradingDate": "20/07/2026", "Time": "09:30:00", "Symbol": "VCB", "LastPrice": 58800, "LastVol": 100}
    payloads = [
        wire("x-trade", {**base, "AvgPrice": "NaN", "Isin": None}),  # lower-case DataType, "NaN", null Isin
        wire("X-Trade", {**base, "EstMatchedPrice": float("nan")}).replace("NaN", "NaN"),  # bare NaN
        wire("X-TRADE", {"TradingDate": "20/07/2026", "Time": "09:30:01", "Symbol": "VCB"}),  # fields absent
    ]
    out = parse_frames(raw_frames(payloads), PARTITION)
    t = out["x_trade"]
    assert out["quarantine"].height == 0 and t.height == 3
    assert t.get_column("avg_price").to_list() == [None, None, None]
    assert t.get_column("est_matched_price").to_list() == [None, None, None]
    assert t.get_column("last_price").to_list() == [58800.0, 58800.0, None]
    assert t.get_column("last_vol").to_list() == [100, 100, None]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("not json", "envelope: invalid JSON"),
        ('["X-TRADE"]', "envelope: not a JSON object"),
        ('{"Content": "{}"}', "envelope: no DataType"),
        ('{"DataType": "Trade", "Content": "{}"}', "unsupported DataType 'Trade'"),
        (wire("X-TRADE", '{"Symbol": "VCB", '), "content: invalid JSON"),
        (wire("X-TRADE", {"Symbol": "VCB", "TradingDate": "20/07/2026", "Time": "09:30:00", "LastPrice": "abc"}),
         "field LastPrice: not a number"),
        (wire("X-TRADE", {"TradingDate": "20/07/2026", "Time": "09:30:00"}), "missing Symbol"),
        (wire("MI", {"TradingDate": "20/07/2026", "Time": "09:30:00"}), "missing IndexId"),
        (wire("R", {"Symbol": "VCB", "TradingDate": "2026-07-20", "Time": "09:30:00"}), "bad TradingDate"),
        (wire("F", {"Symbol": "VCB", "TradingDate": "20/07/2026"}), "missing Time"),
        (wire("F", {"Symbol": "VCB", "TradingDate": "20/07/2026", "Time": "9h30"}), "bad Time"),
    ],
)
def test_bad_frames_are_quarantined_with_a_reason(payload, reason):
    good = wire("B", {"TradingDate": "20/07/2026", "Time": "09:30:00", "Symbol": "HPG", "Close": 21750, "Volume": 100})
    out = parse_frames(raw_frames([good, payload, good]), PARTITION)
    q = out["quarantine"]
    assert q.get_column("seq").to_list() == [2]
    assert q.get_column("reason").item().startswith(reason)
    assert q.get_column("payload").item() == payload  # kept verbatim
    assert out["bar"].get_column("seq").to_list() == [1, 3]


def test_arrival_order_not_input_order():
    frames = [wire("B", {"TradingDate": "20/07/2026", "Time": t, "Symbol": "HPG", "Close": 21750, "Volume": 100})
              for t in ("09:30:05", "09:30:01")]  # the second arrived later but is stamped earlier
    raw = raw_frames(frames)
    out = parse_frames(raw.reverse(), PARTITION)
    assert out["bar"].get_column("seq").to_list() == [1, 2]


def test_the_one_query_table_is_taken_only_when_no_check_rejects(monkeypatch):
    """``_finish_channel`` builds the table with non-strict casts and keeps it only when nothing is to be rejected;
    every batch parses as through the checks alone (transforms.parse._FAST_FINISH off), frame by frame and whole."""
    import json

    import transforms.parse as parse_mod
    from polars.testing import assert_frame_equal

    base = {"TradingDate": "20/07/2026", "Time": "09:30:00", "Symbol": "VCB", "LastPrice": 58800, "LastVol": 100}
    contents = [
        base,
        {**base, "LastVol": None}, {k: v for k, v in base.items() if k != "LastVol"},  # a null Int64 is kept
        {**base, "LastVol": 9.223372036854776e18}, {**base, "LastVol": -1e19}, {**base, "LastVol": -(2**63)},
        {**base, "LastVol": 1e300}, {**base, "LastVol": "NaN"}, {**base, "TotalVol": 1e30},
        {**base, "Symbol": ""}, {**base, "Symbol": None}, {k: v for k, v in base.items() if k != "Symbol"},
        {**base, "TradingDate": "2026-07-20"}, {**base, "TradingDate": None},
        {k: v for k, v in base.items() if k != "TradingDate"},
        {**base, "Time": "9h30"}, {**base, "Time": None}, {k: v for k, v in base.items() if k != "Time"},
        {k: v for k, v in base.items() if k != "Time"} | {"TradingTime": " 09:31:00 "},
    ]
    payloads = [json.dumps({"DataType": "X-TRADE", "Content": json.dumps(c)}) for c in contents]
    payloads += [json.dumps({"DataType": "MI", "Content": json.dumps(c)}) for c in (
        {"IndexId": "VN30", "TradingDate": "20/07/2026", "Time": "09:30:00", "IndexValue": 1300.5},
        {"IndexId": "", "TradingDate": "20/07/2026", "Time": "09:30:00", "IndexValue": 1300.5})]
    batches = [raw_frames([p], start_seq=i + 1) for i, p in enumerate(payloads)] + [raw_frames(payloads)]
    for day in (PARTITION, None):
        for raw in batches:
            fast = parse_frames(raw, day)
            monkeypatch.setattr(parse_mod, "_FAST_FINISH", False)
            checked = parse_frames(raw, day)
            monkeypatch.setattr(parse_mod, "_FAST_FINISH", True)
            for name in fast:
                assert_frame_equal(fast[name], checked[name], check_exact=True)
    whole = parse_frames(batches[-1], PARTITION)
    assert (whole["quarantine"].height, whole["x_trade"].height, whole["index"].height) == (12, 8, 1)
