"""The scalar reference (transforms/reference) against hand-computed values of every docs/analytics.md rule.

Frames are built wire-exact: payload = json.dumps({"DataType": dt, "Content": json.dumps(content)}), so each case
goes through the same three JSON layers as the live feed (docs/ssi-wire.md §1.3).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms import schemas
from transforms.reference import run_reference

DAY = date(2026, 7, 20)
TD = "20/07/2026"
REAL = Path(__file__).with_name("fixtures") / "ssi"  # the real SSI recordings (tests/fixtures/README.md)


# --------------------------------------------------------------------------------------------------- helpers


def payload(data_type: str, content: dict) -> str:
    return json.dumps({"DataType": data_type, "Content": json.dumps(content)})


def raw_frames(*items: tuple[str, dict] | str | tuple[str, int, str]) -> pl.DataFrame:
    """Raw frame records, session "s1" and seq 1..n in the given order.

    An item is ``(data_type, content)`` (wire-exact payload), a payload string, or ``(session, seq, payload)``.
    """
    sessions, seqs, payloads, types = [], [], [], []
    for i, item in enumerate(items, start=1):
        if isinstance(item, str):
            session, seq, p = "s1", i, item
        elif len(item) == 3:
            session, seq, p = item  # type: ignore[misc]
        else:
            session, seq, p = "s1", i, payload(item[0], item[1])  # type: ignore[arg-type]
        sessions.append(session)
        seqs.append(seq)
        payloads.append(p)
        try:
            data_type = json.loads(p).get("DataType")
        except (ValueError, AttributeError):
            data_type = None
        types.append(data_type if isinstance(data_type, str) else None)
    n = len(payloads)
    return pl.DataFrame(
        {
            "session": sessions,
            "seq": pl.Series(seqs, dtype=pl.UInt64),
            "recv_ns": pl.Series([1_000 * i for i in range(n)], dtype=pl.Int64),
            "data_type": pl.Series(types, dtype=pl.String),
            "payload": payloads,
            "cursor": pl.Series([None] * n, dtype=pl.String),
            "source": ["ssi"] * n,
        }
    )


def run(*items, **kwargs) -> dict[str, pl.DataFrame]:
    return run_reference(raw_frames(*items), DAY, **kwargs)


def col(df: pl.DataFrame, name: str) -> list:
    return df[name].to_list()


def hms(df: pl.DataFrame, name: str = "exch_time") -> list[str]:
    return df[name].dt.strftime("%H:%M:%S").to_list()


def xt(symbol, time, price, vol, total=None, *, session="LO", exchange="HOSE", side=None, ref=None, ceiling=None,
       floor=None, td=TD):
    """An X-TRADE frame."""
    c = {"RType": "X-TRADE", "TradingDate": td, "Time": time, "Isin": symbol, "Symbol": symbol, "Ceiling": ceiling,
         "Floor": floor, "RefPrice": ref, "LastPrice": price, "LastVol": vol, "TotalVol": total,
         "MarketId": exchange, "Exchange": exchange, "TradingSession": session, "Side": side}
    return ("X-TRADE", c)


def xq(symbol, time, bid, ask, *, bid_vol=1000.0, ask_vol=1000.0, exchange="HOSE"):
    """An X-QUOTE frame with level 1 only (other levels 0.0)."""
    c = {"TradingDate": TD, "Time": time, "Exchange": exchange, "Symbol": symbol, "RType": "X-QUOTE"}
    for i in range(1, 11):
        c[f"AskPrice{i}"] = ask if i == 1 else 0.0
        c[f"AskVol{i}"] = ask_vol if i == 1 else 0.0
        c[f"BidPrice{i}"] = bid if i == 1 else 0.0
        c[f"BidVol{i}"] = bid_vol if i == 1 else 0.0
    c["TradingSession"] = "LO"
    return ("X-QUOTE", c)


def xs(symbol, time, last, last_vol, total, *, bid=0.0, ask=0.0, exchange="HNX", session="LO", ref=None,
       ceiling=None, floor=None):
    """An X (snapshot) frame."""
    c = {"RType": "X", "TradingDate": TD, "Time": time, "Isin": symbol, "Symbol": symbol, "RefPrice": ref,
         "Ceiling": ceiling, "Floor": floor, "LastPrice": last, "LastVol": last_vol, "TotalVol": total,
         "BidPrice1": bid, "AskPrice1": ask, "BidVol1": 10.0, "AskVol1": 20.0, "MarketId": exchange,
         "Exchange": exchange, "TradingSession": session, "Side": "BU"}
    return ("X", c)


def bar(symbol, time, close, volume, td=TD):
    c = {"RType": "B", "TradingDate": td, "Time": time, "Symbol": symbol, "Open": close, "High": close, "Low": close,
         "Close": close, "Volume": volume, "Value": 0.0}
    return ("B", c)


def room(symbol, time, buy_vol, sell_vol, buy_val, sell_val, *, total_room=None, current_room=None):
    c = {"RType": "R", "TradingDate": TD, "Time": time, "Isin": symbol, "Symbol": symbol, "TotalRoom": total_room,
         "CurrentRoom": current_room, "BuyVol": buy_vol, "SellVol": sell_vol, "BuyVal": buy_val, "SellVal": sell_val,
         "MarketId": "HOSE", "Exchange": "HOSE"}
    return ("R", c)


def mi(index_id, time, value, prior=None, *, advances=None, declines=None, total_value=None):
    c = {"IndexId": index_id, "IndexValue": value, "PriorIndexValue": prior, "TradingDate": TD, "Time": time,
         "TotalQtty": 1000.0, "TotalValue": total_value, "IndexName": index_id, "Advances": advances, "NoChanges": 3,
         "Declines": declines, "Ceilings": 1, "Floors": 2, "Exchange": "HOSE", "TradingSession": "LO", "RType": "MI"}
    return ("MI", c)


# ------------------------------------------------------------------------------------------------- shape / API


def test_every_table_has_its_exact_schema_even_when_empty():
    out = run()
    expected = {name: schema for name, schema in schemas.PARSED.values()}
    expected["quarantine"] = schemas.QUARANTINE
    expected.update(schemas.CURATED)
    assert set(out) == set(expected)
    for name, schema in expected.items():
        assert out[name].schema == schema, name
        assert out[name].height == 0


# ------------------------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("p", "prefix"),
    [
        ("{not json", "envelope: invalid JSON: "),
        ("[1, 2]", "envelope: "),
        (json.dumps({"Content": "{}"}), "envelope: "),
        (json.dumps({"DataType": 5, "Content": "{}"}), "envelope: "),
        (json.dumps({"DataType": "X-TRADE"}), "envelope: "),
        (json.dumps({"DataType": "X-TRADE", "Content": "{\"Symbol\": \"ACB\","}), "content: invalid JSON: "),
        (json.dumps({"DataType": "X-TRADE", "Content": "[1]"}), "content: "),
        (json.dumps({"DataType": "X-TRADE", "Content": 12}), "content: "),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "10:00:00", "LastPrice": "abc"}),
         "field LastPrice: not a number"),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "10:00:00", "LastVol": True}), "field LastVol: not a number"),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "10:00:00", "LastPrice": "1.5"}), "field LastPrice: "),
        (payload("X-TRADE", {"Symbol": "ACB"}), "missing Time"),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "10:00"}), "bad Time"),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "25:00:00"}), "bad Time"),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "10:00:00", "TradingDate": "2026-07-20"}),
         "bad TradingDate '2026-07-20'"),
        (payload("X-TRADE", {"Symbol": "ACB", "Time": "10:00:00", "TradingDate": "31/02/2026"}), "bad TradingDate"),
        (payload("X-TRADE", {"Time": "10:00:00"}), "missing Symbol"),
        (payload("X-QUOTE", {"Symbol": "", "Time": "10:00:00"}), "missing Symbol"),
        (payload("MI", {"Symbol": "VN30", "Time": "10:00:00"}), "missing IndexId"),
        (payload("Trade", {"Symbol": "ACB", "Time": "10:00:00"}), "unsupported DataType 'Trade'"),
        (payload("Quote", {"Symbol": "ACB", "Time": "10:00:00"}), "unsupported DataType 'Quote'"),
    ],
)
def test_quarantine_reasons(p, prefix):
    out = run(p)
    q = out["quarantine"]
    assert q.height == 1
    assert q["reason"][0].startswith(prefix), q["reason"][0]
    assert q["payload"][0] == p
    assert sum(out[name].height for name, _ in schemas.PARSED.values()) == 0


def test_quarantine_keeps_raw_columns_and_arrival_order():
    bad = "{oops"
    out = run_reference(raw_frames(("b", 1, bad), ("a", 7, bad), ("a", 3, "[]")), DAY)
    q = out["quarantine"]
    assert col(q, "session") == ["a", "a", "b"]
    assert col(q, "seq") == [3, 7, 1]
    assert col(q, "recv_ns") == [2000, 1000, 0]
    assert q["reason"].str.starts_with("envelope:").all()


def test_parse_nan_rounding_datatype_and_content_object():
    content = {"RType": "X-TRADE", "TradingDate": "14/08/2023", "Time": "14:07:53", "Symbol": "ACB",
               "LastPrice": "NaN", "LastVol": 2.5, "TotalVol": 3.5, "Ceiling": 24500, "Side": "SD", "Exchange": "HOSE"}
    p1 = json.dumps({"DataType": " x-trade ", "Content": json.dumps(content)})
    # bare NaN inside the Content string, and Content given directly as an object (tolerated)
    p2 = json.dumps({"DataType": "X-Trade", "Content": {**content, "Time": "14:07:54"}}).replace('"NaN"', "NaN")
    out = run(p1, p2)
    t = out["x_trade"]
    assert out["quarantine"].height == 0
    assert t.height == 2
    assert col(t, "last_price") == [None, None]
    assert col(t, "last_vol") == [2, 2]  # half-to-even
    assert col(t, "total_vol") == [4, 4]
    assert col(t, "ceiling") == [24500.0, 24500.0]
    assert col(t, "trading_date") == [date(2023, 8, 14)] * 2
    assert t.schema["exch_time"] == pl.Datetime("us", "Asia/Ho_Chi_Minh")
    assert t["exch_time"][0] == datetime(2023, 8, 14, 14, 7, 53).replace(tzinfo=t["exch_time"][0].tzinfo)
    assert str(t["exch_time"][0]) == "2023-08-14 14:07:53+07:00"
    assert col(t, "side") == ["SD", "SD"]
    assert col(t, "isin") == [None, None]
    assert col(t, "recv_ns") == [0, 1000]


def test_parse_partition_date_and_trading_time_fallback():
    b = {"RType": "B", "Symbol": "X26", "TradingTime": "14:28:33", "Open": 16000, "Close": 16000, "Volume": 5000}
    out = run(("B", b))
    bars = out["bar"]
    assert col(bars, "trading_date") == [DAY]
    assert hms(bars) == ["14:28:33"]
    assert col(bars, "close") == [16000.0]
    assert col(bars, "volume") == [5000]
    assert col(bars, "value") == [None]


def test_parsed_rows_follow_session_then_seq():
    out = run_reference(
        raw_frames(
            ("b", 1, payload(*bar("HPG", "10:00:03", 1.0, 1))),
            ("a", 10, payload(*bar("HPG", "10:00:02", 1.0, 1))),
            ("a", 9, payload(*bar("HPG", "10:00:01", 1.0, 1))),
        ),
        DAY,
    )
    assert hms(out["bar"]) == ["10:00:01", "10:00:02", "10:00:03"]
    assert col(out["trades"], "seq") == [9, 10, 1]


def test_wire_names_map_to_snake_case_columns():
    c = {"IndexId": "VNINDEX", "IndexValue": 1746.36, "PriorIndexValue": 1787.45, "TradingDate": TD, "Time": "13:35:25",
         "TotalTrade": 0.0, "TotalQtty": 465528407.0, "TotalValue": 10430967264120.0, "IndexName": "VNINDEX",
         "Advances": 37, "NoChanges": 33, "Declines": 275, "Ceilings": 0, "Floors": 9, "Change": -41.09,
         "RatioChange": -2.3, "TotalQttyPt": 33177710.0, "TotalValuePt": 663767705890.0, "Exchange": "HOSE",
         "AllQty": 498706117.0, "AllValue": 11094734970010.0, "IndexType": "Main", "TradingSession": "LO",
         "MarketId": "HOSE", "RType": "MI", "TotalQttyOd": 0.0, "TotalValueOd": 0.0, "IndexValEst": 1.5}
    f = {"RType": "F", "MarketId": "HOSE", "TradingDate": TD, "Time": "13:00:00", "Symbol": "SSI",
         "TradingSession": "LO", "TradingStatus": "N", "Exchange": "HOSE", "TradingOlSession": "X1"}
    out = run(("MI", c), ("F", f))
    row = out["index"].row(0, named=True)
    assert (row["index_id"], row["no_changes"], row["total_qtty_pt"], row["all_qty"], row["index_val_est"]) == (
        "VNINDEX", 33, 33177710, 498706117, 1.5)
    assert (row["prior_index_value"], row["total_value_od"], row["index_type"], row["market_id"]) == (
        1787.45, 0.0, "Main", "HOSE")
    assert out["status"].row(0, named=True)["trading_ol_session"] == "X1"


# ------------------------------------------------------------------------------------------------- trade sources


def test_source_priority_per_symbol_per_day():
    out = run(
        xt("ACB", "10:00:00", 100.0, 0.0, 1),  # an X-TRADE row that is no trade still makes the day X-TRADE
        bar("ACB", "10:00:01", 100.0, 10),
        xs("TAR", "10:00:02", 50.0, 1.0, 100.0),
        xs("TAR", "10:00:03", 50.0, 1.0, 130.0),
        bar("TAR", "10:00:04", 50.0, 10),
        bar("HPG", "10:00:05", 20.0, 10),
        bar("VNINDEX", "10:00:06", 1700.0, 1000),
        bar("ACB", "14:45:00", 99.0, 7, td="17/07/2026"),  # another day: only B for ACB
    )
    t = out["trades"]
    assert list(zip(col(t, "symbol"), col(t, "source"), col(t, "volume"))) == [
        ("TAR", "X", 30), ("HPG", "B", 10), ("ACB", "B", 7)]
    assert col(t, "trading_date") == [DAY, DAY, date(2026, 7, 17)]


def test_x_trade_repeats_are_dropped():
    out = run(
        xt("ACB", "10:00:00", 100.0, 10.0, 1000.0),
        xt("ACB", "10:00:00", 100.0, 10.0, 1000.0),  # repeat
        xt("ACB", "10:00:00", 100.0, 10.0, 1010.0),  # another TotalVol: a trade
        xt("ACB", "10:00:00", 100.0, 10.0, None),
        xt("ACB", "10:00:00", 100.0, 10.0, None),  # repeat (nulls equal)
        xt("VCB", "10:00:00", 100.0, 10.0, 1000.0),  # other symbol
        xt("ACB", "10:00:00", 100.0, 10.0, 1000.0),  # repeat of the first, later
        xt("ACB", "10:00:01", 0.0, 10.0, 1020.0),  # price 0: not a trade
        xt("ACB", "10:00:02", 100.0, None, 1030.0),  # no volume: not a trade
    )
    t = out["trades"]
    assert col(t, "seq") == [1, 3, 4, 6]
    assert col(t, "value_vnd") == [1000] * 4
    assert out["x_trade"].height == 9


def test_x_total_vol_delta_from_the_running_maximum_and_the_previous_book():
    out = run(
        xs("TAR", "10:00:00", 21800.0, 100.0, 1000.0, bid=21700.0, ask=21800.0),  # baseline, no trade
        xs("TAR", "10:00:05", 21800.0, 100.0, 1000.0, bid=21700.0, ask=21900.0),  # unchanged
        xs("TAR", "10:00:10", 21900.0, 300.0, 1300.0, bid=21900.0, ask=22000.0),  # +300 at 21900 vs book 21700/21900
        xs("TAR", "10:00:15", 21900.0, 300.0, 1200.0, bid=21800.0, ask=21900.0),  # lower: nothing
        xs("TAR", "10:00:20", 21800.0, 50.0, 1350.0),  # +50 over the max 1300, book of 10:00:15 -> sell
        xs("TAR", "10:00:21", 21800.0, 50.0, None),  # no TotalVol: ignored
        xs("TAR", "10:00:22", None, 50.0, 1400.0),  # +50 but no price: no trade, max -> 1400
        xs("TAR", "10:00:23", 21850.0, 50.0, 1450.0),  # +50; its book is 0/0 -> tick rule vs 21800 -> buy
    )
    t = out["trades"]
    assert col(t, "seq") == [3, 5, 8]
    assert col(t, "volume") == [300, 50, 50]
    assert col(t, "price") == [21900.0, 21800.0, 21850.0]
    assert col(t, "aggressor_side") == ["buy", "sell", "buy"]
    assert col(t, "rule") == ["quote", "quote", "tick"]
    assert col(t, "best_bid") == [21700.0, 21800.0, None]
    assert col(t, "best_ask") == [21900.0, 21900.0, None]
    assert col(t, "vendor_side") == ["BU"] * 3
    assert col(t, "exchange") == ["HNX"] * 3


# ------------------------------------------------------------------------------------------------ phases


@pytest.mark.parametrize(
    ("frame", "phase", "exchange"),
    [
        (bar("HPG", "09:14:59", 10.0, 1), "ato", "HOSE"),
        (bar("HPG", "09:15:00", 10.0, 1), "ato", "HOSE"),
        (bar("HPG", "09:15:01", 10.0, 1), "continuous", "HOSE"),
        (bar("HPG", "14:29:59", 10.0, 1), "continuous", "HOSE"),
        (bar("HPG", "14:30:00", 10.0, 1), "atc", "HOSE"),
        (bar("ZZZ", "09:15:00", 10.0, 1), "ato", None),  # unknown exchange: HOSE rules
        (xt("ACB", "14:45:00", 10.0, 1.0, session="C"), "atc", "HOSE"),
        (xt("ACB", "10:00:00", 10.0, 1.0, session="ato"), "ato", "HOSE"),
        (xt("ACB", "14:50:00", 10.0, 1.0, session="PT"), "pt", "HOSE"),
        (xt("ACB", "09:15:00", 10.0, 1.0, session="PT"), "pt", "HOSE"),
        (xt("SHS", "09:00:00", 10.0, 1.0, exchange="HNX"), "continuous", "HNX"),
        (xt("SHS", "14:30:00", 10.0, 1.0, exchange="HNX"), "atc", "HNX"),
        (xt("BSR", "14:45:00", 10.0, 1.0, exchange="UPCOM"), "continuous", "UPCOM"),
        (xt("BSR", "10:00:00", 10.0, 1.0, exchange="UPCOM", session="ATC"), "atc", "UPCOM"),
        (xt("VN30F2608", "08:45:00", 1280.0, 1.0, exchange="DER"), "continuous", "DERIVATIVES"),
        (xt("VN30F2608", "14:30:00", 1280.0, 1.0, exchange="DERIVATIVES"), "atc", "DERIVATIVES"),
        (xt("VN30F2608", "08:45:00", 1280.0, 1.0, exchange="DER", session="ATO"), "ato", "DERIVATIVES"),
        (xt("VN30F2608", "09:00:00", 1280.0, 1.0, exchange=None), "continuous", "DERIVATIVES"),
    ],
)
def test_session_phase(frame, phase, exchange):
    t = run(frame)["trades"]
    assert col(t, "phase") == [phase]
    assert col(t, "exchange") == [exchange]
    if phase in ("ato", "atc"):
        assert (col(t, "aggressor_side"), col(t, "rule")) == (["neutral"], ["auction"])
    if phase == "pt":
        assert (col(t, "aggressor_side"), col(t, "rule")) == (["neutral"], ["none"])


def test_futures_value_uses_the_multiplier():
    t = run(xt("VN30F2608", "10:00:00", 1283.9, 8.0, exchange="DERIVATIVES"))["trades"]
    assert col(t, "value_vnd") == [1_027_120_000]  # 1283.9 * 8 * 100,000


# --------------------------------------------------------------------------------------------- aggressor side


def test_quote_rule_with_zero_levels():
    out = run(
        xq("ACB", "10:00:00", 22900.0, 22950.0),
        xt("ACB", "10:00:01", 22950.0, 1.0, 1),  # at ask -> buy
        xt("ACB", "10:00:02", 23000.0, 1.0, 2),  # above ask -> buy
        xt("ACB", "10:00:03", 22900.0, 1.0, 3),  # at bid -> sell
        xt("ACB", "10:00:04", 22925.0, 1.0, 4),  # inside -> neutral
        xq("ACB", "10:00:05", 22900.0, 0.0),
        xt("ACB", "10:00:06", 23000.0, 1.0, 5),  # ask 0 cannot make a buy
        xq("ACB", "10:00:07", 0.0, 0.0),  # unusable book -> tick rule
        xt("ACB", "10:00:08", 22950.0, 1.0, 6),  # below the last different price 23000 -> sell
        xq("ACB", "10:00:09", None, 23100.0),
        xt("ACB", "10:00:10", 22000.0, 1.0, 7),  # bid null cannot make a sell
    )
    t = out["trades"]
    assert col(t, "aggressor_side") == ["buy", "buy", "sell", "neutral", "neutral", "sell", "neutral"]
    assert col(t, "rule") == ["quote", "quote", "quote", "quote", "quote", "tick", "quote"]
    assert col(t, "best_bid") == [22900.0] * 4 + [22900.0, None, None]
    assert col(t, "best_ask") == [22950.0] * 4 + [None, None, 23100.0]


def test_book_of_another_symbol_is_not_used():
    t = run(xq("VCB", "10:00:00", 100.0, 101.0), xt("ACB", "10:00:01", 101.0, 1.0))["trades"]
    assert (col(t, "rule"), col(t, "aggressor_side"), col(t, "best_ask")) == (["none"], ["neutral"], [None])


def test_tick_rule_with_zero_ticks_and_no_prior_price():
    out = run(
        bar("HPG", "10:00:00", 100.0, 1),
        bar("HPG", "10:00:01", 101.0, 1),
        bar("HPG", "10:00:02", 101.0, 1),
        bar("HPG", "10:00:03", 99.0, 1),
        bar("HPG", "10:00:04", 99.0, 1),
        bar("HPG", "10:00:05", 100.0, 1),
        bar("TCB", "10:00:06", 50.0, 1),
        bar("TCB", "10:00:07", 50.0, 1),
    )
    t = out["trades"]
    assert col(t, "aggressor_side") == ["neutral", "buy", "buy", "sell", "sell", "buy", "neutral", "neutral"]
    assert col(t, "rule") == ["none", "tick", "tick", "tick", "tick", "tick", "none", "none"]
    assert col(t, "best_bid") == [None] * 8


def test_per_symbol_state_does_not_reset_on_a_new_trading_date():
    # Decision (docs/analytics.md says "per symbol"): the tick rule's last different price carries across the
    # frames of another TradingDate in the same batch (the real B capture starts with 17/07 closing prints).
    t = run(bar("ACB", "14:00:00", 100.0, 1, td="17/07/2026"), bar("ACB", "10:00:00", 101.0, 1))["trades"]
    assert col(t, "rule") == ["none", "tick"]
    assert col(t, "aggressor_side") == ["neutral", "buy"]


def test_tick_rule_reference_skips_put_through_but_not_auction_prints():
    out = run(
        xt("ACB", "09:15:00", 50.0, 1.0, 1),  # ato print: a reference price
        xt("ACB", "09:30:00", 60.0, 1.0, 2),  # > 50 -> buy
        xt("ACB", "09:31:00", 80.0, 1.0, 3, session="PT"),  # put-through: no reference
        xt("ACB", "09:32:00", 70.0, 1.0, 4),  # > 60 -> buy (80 ignored)
    )
    t = out["trades"]
    assert col(t, "rule") == ["auction", "tick", "none", "tick"]
    assert col(t, "aggressor_side") == ["neutral", "buy", "neutral", "buy"]


def test_auction_prints_are_neutral_even_with_a_book():
    t = run(xq("ACB", "09:14:00", 100.0, 101.0), xt("ACB", "09:15:00", 101.0, 5.0))["trades"]
    assert (col(t, "aggressor_side"), col(t, "rule")) == (["neutral"], ["auction"])
    assert (col(t, "best_bid"), col(t, "best_ask")) == ([100.0], [101.0])  # the usable book is still reported


# ------------------------------------------------------------------------------------------------ session stats


def test_session_stats_phases_sum_to_total():
    out = run(
        xq("ACB", "09:00:00", 100.0, 101.0),
        xt("ACB", "09:15:00", 100.0, 10.0, 10),  # ato
        xt("ACB", "10:00:00", 101.0, 20.0, 30),  # buy
        xt("ACB", "10:00:01", 100.0, 30.0, 60),  # sell
        xt("ACB", "10:00:02", 100.5, 40.0, 100),  # neutral
        xt("ACB", "14:45:00", 102.0, 50.0, 150, session="C"),  # atc
        xt("ACB", "14:50:00", 103.0, 60.0, 150, session="PT"),  # pt
    )
    s = out["session_stats"]
    assert col(s, "phase") == ["ato", "continuous", "atc", "pt", "total"]
    assert col(s, "trade_count") == [1, 3, 1, 1, 6]
    assert col(s, "volume") == [10, 90, 50, 60, 210]
    assert col(s, "value_vnd") == [1000, 2020 + 3000 + 4020, 5100, 6180, 1000 + 9040 + 5100 + 6180]
    assert col(s, "buy_volume") == [0, 20, 0, 0, 20]
    assert col(s, "sell_volume") == [0, 30, 0, 0, 30]
    assert col(s, "neutral_volume") == [10, 40, 50, 60, 160]
    assert col(s, "buy_value_vnd") == [0, 2020, 0, 0, 2020]
    assert col(s, "neutral_value_vnd") == [1000, 4020, 5100, 6180, 16300]
    assert col(s, "symbol") == ["ACB"] * 5


def test_session_stats_sorted_by_symbol_and_zero_filled():
    s = run(bar("VCB", "10:00:00", 10.0, 1), bar("ACB", "10:00:00", 10.0, 2))["session_stats"]
    assert col(s, "symbol") == ["ACB"] * 5 + ["VCB"] * 5
    assert col(s, "volume") == [0, 2, 0, 0, 2, 0, 1, 0, 0, 1]


# ------------------------------------------------------------------------------------------------------ candles


def test_candles_ohlc_by_arrival_order():
    out = run(
        xt("FPT", "10:00:30", 100.0, 10.0, 1),
        xt("FPT", "10:00:10", 105.0, 20.0, 2),
        xt("FPT", "10:00:50", 95.0, 30.0, 3),
        xt("FPT", "10:00:20", 102.0, 40.0, 4),
        xt("FPT", "10:00:40", 500.0, 40.0, 5, session="PT"),  # excluded
        xt("ACB", "10:01:00", 20.0, 5.0, 6),
        xt("FPT", "09:59:59", 101.0, 1.0, 7),
    )
    c = out["candles_1m"]
    assert col(c, "symbol") == ["ACB", "FPT", "FPT"]
    assert hms(c, "minute") == ["10:01:00", "09:59:00", "10:00:00"]
    fpt = c.row(2, named=True)
    assert (fpt["open"], fpt["high"], fpt["low"], fpt["close"]) == (100.0, 105.0, 95.0, 102.0)
    assert (fpt["volume"], fpt["value_vnd"], fpt["trade_count"]) == (100, 10030, 4)
    assert fpt["vwap"] == pytest.approx(100.3)
    assert fpt["minute"].second == 0


def test_candle_vwap_of_futures_in_points():
    c = run(xt("VN30F2608", "10:00:01", 1280.0, 2.0, exchange="DER"),
            xt("VN30F2608", "10:00:02", 1290.0, 3.0, exchange="DER"))["candles_1m"]
    assert col(c, "value_vnd") == [1280 * 2 * 100_000 + 1290 * 3 * 100_000]
    assert col(c, "vwap") == [pytest.approx(1286.0)]


# ------------------------------------------------------------------------------------------------- foreign flow


def test_foreign_flow_running_max_correction_speed_and_acceleration():
    out = run(
        room("SSI", "09:00:00", 1000.0, 400.0, 1000.4, 400.5, total_room=1000.0, current_room=250.0),
        room("SSI", "09:02:00", 900.0, 700.0, 900.0, 700.0),  # buy levels corrected down
        room("SSI", "09:06:00", 1500.0, 700.0, 1500.0, 700.0),
        room("SSI", "09:05:00", 1500.0, 800.0, 1500.0, 800.0),  # stamped earlier: t_eff stays 09:06:00
    )
    f = out["foreign_flow"]
    assert col(f, "buy_val_vnd") == [1000, 900, 1500, 1500]
    assert col(f, "sell_val_vnd") == [401, 700, 700, 800]
    assert col(f, "d_buy_vol") == [1000, 0, 500, 0]
    assert col(f, "d_sell_vol") == [400, 300, 0, 100]
    assert col(f, "d_buy_val_vnd") == [1000, 0, 500, 0]
    assert col(f, "d_sell_val_vnd") == [401, 299, 0, 100]
    assert col(f, "net_vol") == [600, -300, 500, -100]
    assert col(f, "net_val_vnd") == [599, -299, 500, -100]
    assert col(f, "cum_net_vol") == [600, 300, 800, 700]
    assert col(f, "cum_net_val_vnd") == [599, 300, 800, 700]
    assert col(f, "correction") == [False, True, False, False]
    assert col(f, "speed_vol_per_min") == [120.0, 60.0, 40.0, 20.0]
    assert col(f, "accel_vol_per_min") == [120.0, -60.0, 100.0, 80.0]
    assert col(f, "room_used") == [0.75, None, None, None]
    assert hms(f) == ["09:00:00", "09:02:00", "09:06:00", "09:05:00"]
    s = out["foreign_summary"].row(0, named=True)
    assert (s["buy_vol"], s["sell_vol"], s["buy_val_vnd"], s["sell_val_vnd"]) == (1500, 800, 1500, 800)
    assert (s["net_vol"], s["net_val_vnd"], s["corrections"], s["sector"]) == (700, 700, 1, "Financial Services")
    assert (s["rank_net_buy"], s["rank_net_sell"], s["room_used"]) == (1, None, None)


def test_foreign_speed_window_edges():
    f = run(
        room("VIC", "09:00:00", 100.0, 0.0, 0.0, 0.0),
        room("VIC", "09:01:00", 150.0, 0.0, 0.0, 0.0),
        room("VIC", "09:05:00", 160.0, 0.0, 0.0, 0.0),  # 09:00:00 is exactly 300 s old: out of the speed window
        room("VIC", "09:06:00", 170.0, 0.0, 0.0, 0.0),  # 09:00:00 exactly 360 s old: out of the lagged window
    )["foreign_flow"]
    assert col(f, "net_vol") == [100, 50, 10, 10]
    assert col(f, "speed_vol_per_min") == [20.0, 30.0, 12.0, 4.0]
    assert col(f, "accel_vol_per_min") == [20.0, 10.0, -18.0, -8.0]


def test_foreign_summary_ranks_and_sectors():
    frames = [room(f"S{i:02d}", "10:00:00", 0.0, 0.0, float(v), 0.0) for i, v in
              enumerate([500, 500, 400, 390, 380, 370, 360, 350, 340, 330, 320, 310], start=1)]
    frames += [room("ZB", "10:00:00", 0.0, 0.0, 0.0, 50.0), room("ZA", "10:00:00", 0.0, 0.0, 0.0, 50.0),
               room("ZZ", "10:00:00", 0.0, 0.0, 0.0, 80.0), room("ZERO", "10:00:00", 5.0, 5.0, 0.0, 0.0),
               room("VCB", "10:00:00", 10.0, 0.0, 700.0, 0.0), room("ACB", "10:00:00", 0.0, 3.0, 0.0, 200.0)]
    out = run(*frames)
    s = out["foreign_summary"]
    ranks = dict(zip(col(s, "symbol"), zip(col(s, "rank_net_buy"), col(s, "rank_net_sell"))))
    assert col(s, "symbol") == sorted(col(s, "symbol"))
    assert ranks["VCB"] == (1, None)
    assert ranks["S01"] == (2, None) and ranks["S02"] == (3, None)  # tie broken by symbol
    assert ranks["S10"] == (None, None)  # 11th net buyer
    assert ranks["ACB"] == (None, 1) and ranks["ZZ"] == (None, 2)
    assert ranks["ZA"] == (None, 3) and ranks["ZB"] == (None, 4)
    assert ranks["ZERO"] == (None, None)
    sec = out["foreign_by_sector"]
    assert col(sec, "sector") == ["Banks", "Other"]
    banks = sec.row(0, named=True)
    assert (banks["symbols"], banks["buy_val_vnd"], banks["sell_val_vnd"], banks["net_val_vnd"], banks["net_vol"]) == (
        2, 700, 200, 500, 7)
    other = sec.row(1, named=True)
    assert other["symbols"] == 16
    assert other["net_val_vnd"] == sum([500, 500, 400, 390, 380, 370, 360, 350, 340, 330, 320, 310]) - 180


# ------------------------------------------------------------------------------------------------------ indices


def test_indices():
    out = run(
        mi("VNINDEX", "13:35:25", 1746.36, 1787.45, advances=37, declines=275, total_value=10430967264120.4),
        mi("VN30", "13:35:25", 1300.0, 0.0, advances=0, declines=0, total_value=0.5),
        mi("VN30", "13:35:30", None, 1290.0, advances=None, declines=3),
    )
    i = out["indices"]
    assert col(i, "index_id") == ["VNINDEX", "VN30", "VN30"]
    assert col(i, "change")[0] == 1746.36 - 1787.45
    assert col(i, "change_pct")[0] == (1746.36 - 1787.45) / 1787.45 * 100
    assert col(i, "change") == [1746.36 - 1787.45, 1300.0, None]
    assert col(i, "change_pct")[1:] == [None, None]
    assert col(i, "advance_ratio") == [37 / 312, None, None]
    assert col(i, "total_value_vnd") == [10430967264120, 1, None]
    assert col(i, "no_changes") == [3, 3, 3]
    assert col(i, "trading_session") == ["LO"] * 3


# -------------------------------------------------------------------------------------------------------- basis


def test_basis_spot_sign_and_front_month():
    out = run(
        xt("VN30F2608", "09:00:00", 1280.0, 1.0, exchange="DER"),  # no spot yet: no basis row
        mi("VN30", "09:00:00", 1280.0),
        xt("VN30F2608", "09:00:05", 1285.5, 2.0, exchange="DER"),
        mi("vn30", "09:00:10", 1290.0),
        mi("VN30", "09:00:10", None),  # null value: the spot stays 1290
        mi("VNINDEX", "09:00:10", 1700.0),
        xt("VN30F2608", "09:00:11", 1290.0, 1.0, exchange="DER"),  # basis 0
        xt("VN30F2608", "09:00:12", 1288.0, 1.0, exchange="DER"),  # flip through zero
        xt("VN30F2609", "09:00:13", 1295.0, 1.0, exchange="DER"),
        xt("VN30F2608", "14:50:00", 1200.0, 1.0, exchange="DER", session="PT"),  # put-through: no row
    )
    b = out["basis"]
    assert col(b, "seq") == [3, 7, 8, 9]
    assert col(b, "spot") == [1280.0, 1290.0, 1290.0, 1290.0]
    assert col(b, "basis_pts") == [5.5, 0.0, -2.0, 5.0]
    assert col(b, "basis_pct") == [5.5 / 1280.0 * 100, 0.0, -2.0 / 1290.0 * 100, 5.0 / 1290.0 * 100]
    assert col(b, "premium") == [True, False, False, True]
    assert col(b, "is_front_month") == [True, True, True, False]
    assert col(b, "volume") == [2, 1, 1, 1]
    a = out["alerts"].filter(pl.col("alert_type") == "BASIS_FLIP")
    assert a.rows() == [
        ("s1", 8, DAY, a["exch_time"][0], "BASIS_FLIP", "WARNING", "VN30F2608", -2.0, 5.5, "premium -> discount")]
    assert hms(a) == ["09:00:12"]


def test_basis_front_month_override():
    b = run(mi("VN30", "09:00:00", 1280.0), xt("VN30F2609", "09:00:05", 1281.0, 1.0, exchange="DER"),
            futures_override="VN30F2609")["basis"]
    assert col(b, "is_front_month") == [True]


def test_basis_flip_discount_to_premium_and_zero_does_not_flip():
    out = run(
        mi("VN30", "09:00:00", 1000.0),
        xt("VN30F2608", "09:00:01", 999.0, 1.0, exchange="DER"),
        xt("VN30F2608", "09:00:02", 1000.0, 1.0, exchange="DER"),
        xt("VN30F2608", "09:00:03", 999.5, 1.0, exchange="DER"),  # still a discount after the zero
        xt("VN30F2608", "09:02:00", 1001.0, 1.0, exchange="DER"),
        xt("VN30F2608", "09:02:30", 999.0, 1.0, exchange="DER"),  # flip, but within 60 s of the last one
    )
    a = out["alerts"]
    assert col(a, "seq") == [5]
    assert col(a, "details") == ["discount -> premium"]
    assert col(a, "threshold") == [-0.5]


# ------------------------------------------------------------------------------------------------------- alerts


def _history(symbol: str, n: int = 10, volume: float = 100.0, start_s: int = 0) -> list:
    return [xt(symbol, f"10:00:{start_s + i:02d}", 100.0, volume, i + 1) for i in range(n)]


def test_volume_spike_threshold_and_details():
    out = run(*_history("FPT"), xt("FPT", "10:00:10", 100.0, 301.0, 100),
              *_history("VNM"), xt("VNM", "10:00:10", 100.0, 300.0, 100))
    a = out["alerts"]
    assert col(a, "symbol") == ["FPT"]
    row = a.row(0, named=True)
    assert (row["alert_type"], row["severity"], row["metric"], row["threshold"]) == (
        "VOLUME_SPIKE", "WARNING", 301.0, 300.0)
    assert row["details"] == "volume 301 > 3 x mean 100.0 over 10 trades in 20 min"
    assert row["seq"] == 11


def test_volume_spike_needs_ten_continuous_trades_in_twenty_minutes():
    out = run(
        *[xt("FPT", "09:15:00", 100.0, 1.0, i) for i in range(1, 6)],  # ato prints: not history
        *_history("FPT", n=9, start_s=1),
        xt("FPT", "10:10:00", 100.0, 10000.0, 100),  # only 9 continuous trades of history
        *_history("VNM", start_s=0),
        xt("VNM", "10:20:00", 100.0, 10000.0, 100),  # 10:00:00 is exactly 20 min old: out, 9 left
        *_history("MSN", start_s=0),
        xt("MSN", "10:19:59", 100.0, 10000.0, 100),  # 10 in the window
    )
    assert col(out["alerts"], "symbol") == ["MSN"]
    assert col(out["alerts"], "details") == ["volume 10000 > 3 x mean 100.0 over 10 trades in 20 min"]


def test_cooldown_edges():
    out = run(
        *_history("FPT"),
        xt("FPT", "10:00:10", 100.0, 5000.0, 100),  # fires
        xt("FPT", "10:01:09", 100.0, 5000.0, 101),  # 59 s: suppressed
        xt("FPT", "10:01:10", 100.0, 5000.0, 102),  # 60 s after the last *emitted*: fires
        xt("FPT", "10:02:09", 100.0, 50000.0, 103),  # 59 s: suppressed
        xt("FPT", "10:02:10", 100.0, 50000.0, 104),  # fires
    )
    a = out["alerts"]
    assert hms(a) == ["10:00:10", "10:01:10", "10:02:10"]
    assert col(a, "seq") == [11, 13, 15]
    assert col(a, "threshold") == [300.0, 3 * (1000 + 2 * 5000) / 12, 3 * (1000 + 3 * 5000 + 50000) / 14]


def test_cooldown_uses_effective_time_and_rows_keep_exch_time():
    out = run(
        *_history("FPT"),
        xt("FPT", "10:00:30", 100.0, 5000.0, 100),  # fires
        xt("FPT", "10:01:40", 100.0, 1.0, 101),  # no candidate; t_eff -> 10:01:40
        xt("FPT", "10:01:20", 100.0, 90000.0, 102),  # stamped earlier: t_eff 10:01:40, 70 s -> fires
        xt("FPT", "10:02:39", 100.0, 900000.0, 103),  # 59 s after t_eff 10:01:40 -> suppressed
        xt("FPT", "10:02:40", 100.0, 9000000.0, 104),  # 60 s -> fires
    )
    assert col(out["alerts"], "seq") == [11, 13, 15]
    assert hms(out["alerts"]) == ["10:00:30", "10:01:20", "10:02:40"]


def test_volume_history_window_uses_effective_time():
    out = run(
        *_history("FPT", start_s=1),  # 10:00:01 .. 10:00:10
        xt("FPT", "10:20:05", 100.0, 1.0, 100),
        xt("FPT", "10:00:00", 100.0, 90000.0, 101),  # t_eff 10:20:05: only 10:00:06.. and 10:20:05 are history
        xt("VNM", "10:20:05", 100.0, 1.0, 100),
        *_history("VNM", start_s=1),  # stamped 10:00:01.. after 10:20:05: t_eff 10:20:05 for all
        xt("VNM", "10:00:00", 100.0, 90000.0, 101),  # 11 trades of history at t_eff 10:20:05 -> fires
    )
    assert col(out["alerts"], "symbol") == ["VNM"]
    assert hms(out["alerts"]) == ["10:00:00"]
    assert col(out["alerts"], "details") == ["volume 90000 > 3 x mean 91.0 over 11 trades in 20 min"]


def test_price_breakout():
    out = run(
        xt("ACB", "10:00:00", 24500.0, 1.0, 1, ceiling=24500.0, floor=21300.0),
        xt("VCB", "10:00:00", 21300.0, 1.0, 1, ceiling=24500.0, floor=21300.0),
        xt("TCB", "10:00:00", 21400.0, 1.0, 1, ceiling=0.0, floor=21300.0),
        xt("HPG", "10:00:00", 30000.0, 1.0, 1, ceiling=0.0, floor=0.0),
        xt("MBB", "14:50:00", 30000.0, 1.0, 1, ceiling=24500.0, session="PT"),
        xt("ACB", "10:00:59", 24500.0, 1.0, 2, ceiling=24500.0),  # cooldown
        xt("ACB", "10:01:00", 24500.0, 1.0, 3, ceiling=24500.0),
    )
    a = out["alerts"]
    assert list(zip(col(a, "symbol"), col(a, "details"), col(a, "metric"), col(a, "threshold"))) == [
        ("ACB", "at ceiling", 24500.0, 24500.0), ("VCB", "at floor", 21300.0, 21300.0),
        ("ACB", "at ceiling", 24500.0, 24500.0)]
    assert col(a, "severity") == ["CRITICAL"] * 3
    assert col(a, "seq") == [1, 2, 7]


def test_foreign_acceleration():
    out = run(
        room("VCB", "10:00:00", 0.0, 0.0, 2e9, 0.0),  # D = 2e9 vs L_prev 0: fires
        room("VCB", "10:04:00", 0.0, 0.0, 2.5e9, 0.0),  # nothing 5 min older: L_prev 0, D = 2.5e9: fires
        room("VCB", "10:05:00", 0.0, 0.0, 2.6e9, 0.0),  # L_prev = 2e9 (10:00:00): D = 0.6e9
        room("VCB", "10:09:00", 0.0, 0.0, 2.6e9, 2e9),  # L_prev = 2.5e9 (10:04:00): D = -1.9e9: fires
        room("SSI", "11:00:00", 0.0, 0.0, 10e9, 0.0),  # fires
        room("SSI", "11:06:00", 0.0, 0.0, 12e9, 0.0),  # D 2e9, 10 D = 2e10 <= 3 x 1e10
        room("SSI", "11:12:00", 0.0, 0.0, 16e9, 0.0),  # D 4e9 > 0.3 x 12e9: fires
        room("SSI", "11:18:00", 0.0, 0.0, 20.8e9, 0.0),  # 10 D = 4.8e10 == 3 x 16e9: not >
    )
    a = out["alerts"]
    assert list(zip(col(a, "symbol"), col(a, "metric"), col(a, "threshold"))) == [
        ("VCB", 2e9, 0.0), ("VCB", 2.5e9, 0.0), ("VCB", -1.9e9, 2.5e9), ("SSI", 10e9, 0.0), ("SSI", 4e9, 12e9)]
    assert col(a, "details")[2] == "net foreign value -1900000000 VND in 5 min vs level 2500000000 VND"
    assert col(a, "details")[0] == "net foreign value +2000000000 VND in 5 min vs level 0 VND"
    assert col(a, "alert_type") == ["FOREIGN_ACCELERATION"] * 5


def test_alerts_sorted_by_frame_then_type():
    out = run(
        mi("VN30", "09:00:00", 1000.0),
        xt("VN30F2608", "10:00:00", 1001.0, 1.0, 1, exchange="DER"),
        *[xt("VN30F2608", f"10:00:{i:02d}", 1001.0, 1.0, 1 + i, exchange="DER") for i in range(1, 10)],
        xt("VN30F2608", "10:00:10", 900.0, 50.0, 100, exchange="DER", floor=900.0),
    )
    a = out["alerts"]
    assert col(a, "seq") == [12, 12, 12]
    assert col(a, "alert_type") == ["BASIS_FLIP", "PRICE_BREAKOUT", "VOLUME_SPIKE"]


# -------------------------------------------------------------------------------------------------------- board


def test_board():
    out = run(
        xq("ACB", "10:00:00", 22900.0, 22950.0, bid_vol=1000.0, ask_vol=500.0),
        xt("ACB", "10:00:01", 22950.0, 100.0, 1, ref=22900.0, ceiling=24500.0, floor=21300.0),
        xt("ACB", "10:00:02", 22900.0, 200.0, 2),  # no ref in this frame: the earlier one stays
        xt("ACB", "14:50:00", 23500.0, 1000.0, 3, session="PT"),
        room("ACB", "15:00:00", 100.0, 0.0, 2295000.0, 0.0),
        xq("VCB", "10:00:00", 0.0, 58000.0, ask_vol=0.0),
        xt("MBB", "10:00:00", 24500.0, 10.0, 1, ref=22900.0, ceiling=24500.0, floor=21300.0),
        xs("TAR", "10:00:00", 21000.0, 1.0, 10.0, ref=21300.0, ceiling=23400.0, floor=19200.0, exchange="DER"),
        room("SSI", "10:00:00", 1.0, 0.0, 1.0, 0.0),  # R only: no board row
        bar("VNINDEX", "10:00:00", 1700.0, 100),
    )
    b = out["board"]
    assert col(b, "symbol") == ["ACB", "MBB", "TAR", "VCB"]
    acb = b.row(0, named=True)
    assert (acb["last_price"], acb["ref_price"], acb["ceiling"], acb["floor"]) == (22900.0, 22900.0, 24500.0, 21300.0)
    assert (acb["change"], acb["change_pct"], acb["price_state"], acb["exchange"]) == (0.0, 0.0, "unchanged", "HOSE")
    assert (acb["best_bid"], acb["best_bid_vol"], acb["best_ask"], acb["best_ask_vol"]) == (22900.0, 1000, 22950.0, 500)
    assert (acb["volume"], acb["value_vnd"]) == (300, 2295000 + 4580000)
    assert acb["active_buy_share"] == 100 / 300
    assert (acb["foreign_net_vol"], acb["foreign_net_val_vnd"]) == (100, 2295000)
    assert str(acb["last_exch_time"]) == "2026-07-20 15:00:00+07:00"
    mbb = b.row(1, named=True)
    assert (mbb["price_state"], mbb["change"]) == ("ceiling", 1600.0)
    assert mbb["change_pct"] == 1600.0 / 22900.0 * 100
    assert mbb["active_buy_share"] is None  # no book, no earlier price: neutral
    tar = b.row(2, named=True)
    assert (tar["last_price"], tar["ref_price"], tar["price_state"], tar["exchange"]) == (
        None, 21300.0, None, "DERIVATIVES")
    assert (tar["best_bid"], tar["best_ask"], tar["best_bid_vol"], tar["best_ask_vol"]) == (None, None, None, None)  # no volume at an empty level
    vcb = b.row(3, named=True)
    assert (vcb["best_bid"], vcb["best_ask"], vcb["best_ask_vol"], vcb["volume"], vcb["value_vnd"]) == (
        None, 58000.0, 0, 0, 0)  # ask volume as received at a shown price
    assert (vcb["price_state"], vcb["foreign_net_vol"], vcb["exchange"]) == (None, None, "HOSE")


def test_board_price_states():
    out = run(
        xt("ACB", "10:00:00", 21300.0, 1.0, 1, ref=22900.0, ceiling=24500.0, floor=21300.0),
        xt("VCB", "10:00:00", 23000.0, 1.0, 1, ref=22900.0, ceiling=24500.0, floor=21300.0),
        xt("TCB", "10:00:00", 22000.0, 1.0, 1, ref=22900.0, ceiling=24500.0, floor=21300.0),
        xt("HPG", "10:00:00", 22000.0, 1.0, 1, ref=0.0),
    )
    b = out["board"]
    assert col(b, "symbol") == ["ACB", "HPG", "TCB", "VCB"]
    assert col(b, "price_state") == ["floor", "up", "down", "up"]
    assert col(b, "change_pct") == [(21300.0 - 22900.0) / 22900.0 * 100, None,
                                    (22000.0 - 22900.0) / 22900.0 * 100, 100.0 / 22900.0 * 100]


# ------------------------------------------------------------------------------------------ real recorded frames


def _single_frames() -> list[dict]:
    return [json.loads(line) for line in (REAL / "single_frames.jsonl").read_text(encoding="utf-8").splitlines()]


def test_real_single_frames_land_in_their_tables():
    frames = _single_frames()
    out = run(*[json.dumps({"DataType": d["DataType"], "Content": d["Content"]}) for d in frames])
    q = out["quarantine"]
    invalid = [i + 1 for i, d in enumerate(frames) if d.get("valid_json") is False]
    assert len(invalid) == 3
    assert col(q, "seq") == invalid
    assert q["reason"].str.starts_with("content: invalid JSON").all()
    for data_type, (table, _) in schemas.PARSED.items():
        expected = [
            i + 1 for i, d in enumerate(frames) if d["DataType"] == data_type and d.get("valid_json") is not False
        ]
        assert col(out[table], "seq") == expected, table
    x = out["x"].row(0, named=True)
    assert (x["symbol"], x["last_price"], x["total_vol"], x["avg_price"], x["ask_vol_10"], x["close_qtty"]) == (
        "VN30F2407", 1283.9, 35094, 128454615.60380691, 68, 0)
    assert (x["side"], x["change"], x["exchange"], str(x["exch_time"])) == (
        None, -6.099999999999909, "DERIVATIVES", "2024-06-27 09:43:41+07:00")
    ol = out["odd_lot"].row(0, named=True)
    assert (ol["stock_no"], ol["stock_type"], ol["last_vol"], ol["total_val"]) == (
        2027, "Stock", 9193, 185028289999.99728)
    r = out["foreign_room"].filter(pl.col("symbol") == "SSI").row(0, named=True)
    assert (r["total_room"], r["buy_vol"], r["sell_val"]) == (1501130137, 863352, 24016462800.0)
    b = out["bar"]
    assert col(b, "trading_date") == [DAY] * 3  # the B samples carry no TradingDate
    assert hms(b) == ["14:28:33"] * 3
    f = out["status"]
    assert col(f, "trading_session") == ["LO", "LO", None]  # the PDF sample's key is "TradingSes sion"


def _real_b() -> pl.DataFrame:
    lines = (REAL / "quelam96lact_fixtures" / "ssi_b_messages.jsonl").read_text(encoding="ascii").splitlines()
    frames = [json.loads(line) for line in lines]
    return raw_frames(*[json.dumps({"DataType": d["DataType"], "Content": d["Content"]}) for d in frames])


def test_real_b_recording():
    out = run_reference(_real_b(), DAY)
    assert out["bar"].height == 1813 and out["quarantine"].height == 0
    t = out["trades"]
    assert t.height == 1813 - 11  # every print but the 11 VNINDEX bars
    assert set(col(t, "source")) == {"B"}
    first = t.row(0, named=True)
    assert (first["symbol"], first["trading_date"], first["phase"], first["value_vnd"]) == (
        "VCB", date(2026, 7, 17), "atc", 29_250_000)
    phases = t.group_by("phase").len().sort("phase")
    assert dict(phases.rows()) == {"atc": 3, "ato": 630, "continuous": 1169}
    s = out["session_stats"]
    parts = s.filter(pl.col("phase") != "total").group_by("trading_date", "symbol").agg(pl.exclude("phase").sum())
    total = s.filter(pl.col("phase") == "total").drop("phase")
    assert_equal_frames(parts.sort("trading_date", "symbol"), total.sort("trading_date", "symbol"))
    for kind in ("volume", "value_vnd"):
        split = sum(s[f"{side}_{kind}"] for side in ("buy", "sell", "neutral"))
        assert (split == s[kind]).all()
    assert s.filter(pl.col("phase") == "total")["volume"].sum() == t["volume"].sum()
    assert out["candles_1m"]["volume"].sum() == t["volume"].sum()
    # the TCB print stamped 13:35:20 after a 13:35:26 one keeps its own time in the trades
    assert "13:35:20" in hms(t.filter(pl.col("symbol") == "TCB"))
    assert col(out["board"], "symbol") == ["HPG", "HPG", "TCB", "TCB", "VCB", "VCB"]


def assert_equal_frames(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert_frame_equal(a, b, check_dtypes=False)
