"""The compiled Content decoder (transforms.content) never changes a parse: the frames it accepts get exactly the
values Polars' NDJSON reader gives them, and every frame lands in the same table or in the quarantine with the same
reason as through the exact path alone (docs/analytics.md §1)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import transforms.parse as parse_mod
from tests.frames import raw_frames, single_frame_payloads, single_frames
from transforms import content, envelope, schemas
from transforms.parse import parse_frames

DAY = date(2026, 7, 20)
CHANNELS = list(schemas.PARSED)
SCHEMA = {"Symbol": pl.String, "Time": pl.String, "LastPrice": pl.Float64, "LastVol": pl.Float64}


def _payload(data_type: str, content_text: str, slash: bool = False) -> str:
    p = '{"DataType":"' + data_type + '","Content":' + json.dumps(content_text, ensure_ascii=False) + "}"
    return p.replace("/", "\\/") if slash else p  # a JSON writer may escape every slash


def _exact_only(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    parse_mod._FAST_CONTENT = False
    try:
        return parse_frames(raw, DAY)
    finally:
        parse_mod._FAST_CONTENT = True


def _assert_same_parse(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    fast, exact = parse_frames(raw, DAY), _exact_only(raw)
    assert set(fast) == set(exact)
    for name in fast:
        assert_frame_equal(fast[name], exact[name], check_exact=True)
    return fast


def _decode(contents: list[str], slash: bool = False) -> tuple[pl.DataFrame, np.ndarray]:
    payloads = [_payload("X-TRADE", c, slash) for c in contents]
    scan = envelope.scan_envelopes(pl.Series(payloads), CHANNELS)
    assert (scan.code >= 0).all()
    return content.decode_contents(scan.data, scan.cs, scan.ce, np.arange(len(contents)), SCHEMA)


def _reader(contents: list[str]) -> pl.DataFrame:
    return pl.read_ndjson("\n".join(contents).encode(), schema=SCHEMA)


def test_plain_contents_decode_like_the_reader():
    contents = [
        '{"Symbol":"VCB","Time":"09:15:00","LastPrice":58800.0,"LastVol":100}',
        '{ "LastVol" : 1e2 , "Symbol" : "a/b", "Other": [1] }',  # nested under another key: declined
        '{"LastPrice":11.099999999999909,"Symbol":"FPT","Extra":"x","Flag":true,"None":null}',  # long number
        '{"LastPrice":-0,"LastVol":-0.0,"Symbol":"Ngân"}',  # the reader reads the integer -0 as 0
        '{}',
        '{"LastPrice":null,"Symbol":null}',
        '{"LastPrice":1.5E-3,"LastVol":123456789012345678901234}',
    ]
    table, declined = _decode(contents, slash=True)
    assert declined.tolist() == [False, True, False, False, False, False, False]
    assert_frame_equal(table, _reader([c for c, d in zip(contents, declined) if not d]), check_exact=True)
    assert str(table.get_column("LastPrice")[2]) == "0.0" and str(table.get_column("LastVol")[2]) == "-0.0"


@pytest.mark.parametrize(
    "text",
    [
        '{"LastPrice":01}', '{"LastPrice":1.}', '{"LastPrice":.5}', '{"LastPrice":+1}', '{"LastPrice":1e}',
        '{"LastPrice":1e400}', '{"LastPrice":"1"}', '{"LastPrice":NaN}', '{"LastPrice":"NaN"}', '{"LastPrice":true}',
        '{"Symbol":"a\\"b"}', '{"Symbol":"\\u0041"}', '{"Symbol":1}', '{"Symbol":"NaN"}', '{"Sym\\u0062ol":"A"}',
        '{"Symbol":"A","Symbol":"B"}', '{"Symbol":"A",}', '{"Symbol":"A"} {}', '{"Symbol":"A"', '[1]', '',
        '{"Other":1e400}', '{"Other":{}}', '{"Other":tru}', '{"LastPrice":nul}', '{"Symbol":"A"}x',
    ],
)
def test_anything_unusual_is_declined(text):
    table, declined = _decode([text, '{"Symbol":"OK"}'])
    assert declined.tolist() == [True, False] and table.get_column("Symbol").to_list() == ["OK"]


def test_real_frames_parse_the_same_either_way():
    raw = raw_frames(single_frame_payloads(single_frames()))
    out = _assert_same_parse(raw)
    assert sum(t.height for t in out.values()) == raw.height


def test_a_channel_mixing_accepted_declined_and_general_frames_keeps_arrival_order():
    base = {"TradingDate": "20/07/2026", "Time": "09:30:00", "Symbol": "VCB", "LastPrice": 58800, "LastVol": 100}
    payloads = [
        _payload("X-TRADE", json.dumps(base)),
        _payload("X-TRADE", json.dumps({**base, "LastPrice": "NaN"})),  # declined: NaN rewriting
        _payload("X-TRADE", json.dumps({**base, "LastPrice": "abc"})),  # declined: quarantined with its reason
        '{"DataType":"x-trade","Content":' + json.dumps(json.dumps({**base, "Symbol": "FPT"})) + "}",  # general
        _payload("X-TRADE", json.dumps({**base, "Symbol": "HPG", "LastPrice": 27150.5}), slash=True),
    ]
    out = _assert_same_parse(raw_frames(payloads))
    assert out["x_trade"].get_column("symbol").to_list() == ["VCB", "VCB", "FPT", "HPG"]
    assert out["quarantine"].get_column("reason").to_list() == ["field LastPrice: not a number: 'abc'"]


_numbers = st.one_of(
    st.floats(allow_nan=False).map(lambda x: json.dumps(x) if abs(x) != float("inf") else "1e400"),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["-0", "0", "-0.0", "0e5", "1E+5", "1e-400", "01", "1.", ".5", "-", "2.5e-3", "9007199254740993"]),
    st.tuples(st.integers(0, 10**17), st.integers(0, 25)).map(lambda t: f"{t[0] // 10 ** t[1]}.{t[0] % 10 ** t[1]}"),
)
_texts = st.text(st.sampled_from(list('ab/\\" NaN\u00e2\n')), max_size=6).map(json.dumps)
_values = st.one_of(_numbers, _texts, st.sampled_from(["null", "true", "false", "NaN", "{}", "[1]", '"09:30:00"']))
_keys = st.sampled_from(["Symbol", "Time", "TradingDate", "LastPrice", "LastVol", "Change", "Other", "Sym\\u0062ol"])
_spaces = st.sampled_from(["", " ", "  "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["X-TRADE", "B", "R", "MI"]),
                          st.lists(st.tuples(_keys, _values, _spaces), max_size=7), st.booleans(),
                          st.sampled_from(["", " ", "x", ","])),
                min_size=1, max_size=10))
def test_mutated_contents_parse_the_same_either_way(frames):
    payloads = []
    for data_type, pairs, slash, tail in frames:
        pairs = [("Symbol", '"VCB"', ""), ("TradingDate", '"20/07/2026"', ""), ("Time", '"09:30:00"', ""), *pairs]
        body = ",".join(f'{sp}"{k}"{sp}:{sp}{v}{sp}' for k, v, sp in pairs)
        payloads.append(_payload(data_type, "{" + body + "}" + tail, slash))
    _assert_same_parse(raw_frames(payloads))


def test_a_number_beyond_int64_is_quarantined_on_both_paths_and_in_the_reference():
    from transforms.reference.parse import Rejected, parse_payload

    base = {"TradingDate": "20/07/2026", "Time": "09:30:00", "Symbol": "VCB", "LastPrice": 58800}
    big = [9.223372036854776e18, -1e19, 1e300]
    payloads = [_payload("X-TRADE", json.dumps({**base, "LastVol": v})) for v in big]
    payloads.append(_payload("X-TRADE", json.dumps({**base, "LastVol": -(2**63)})))  # the Int64 minimum fits
    out = _assert_same_parse(raw_frames(payloads))
    assert out["quarantine"].get_column("reason").to_list() == ["field LastVol: out of range"] * 3
    assert out["x_trade"].get_column("last_vol").to_list() == [-(2**63)]
    for p in payloads[:3]:
        with pytest.raises(Rejected, match="field LastVol: out of range"):
            parse_payload(p, DAY)


def test_serial_and_parallel_decoders_agree(monkeypatch):
    """A micro-batch is decoded without the parallel region (transforms.content._decode_serial): same results."""
    contents = [
        '{"Symbol":"VCB","Time":"09:15:00","LastPrice":58800.0,"LastVol":100}',
        '{ "LastVol" : 1e2 , "Symbol" : "a/b", "Other": [1] }',
        '{"LastPrice":11.099999999999909,"Symbol":"FPT","Extra":"x","Flag":true,"None":null}',
        '{"LastPrice":-0,"LastVol":-0.0,"Symbol":"Ngân"}', '{}', '{"LastPrice":null,"Symbol":null}',
        '{"LastPrice":1e400}', '{"Symbol":"a\\"b"}', '{"Symbol":"A","Symbol":"B"}',
    ] * 5
    serial = _decode(contents, slash=True)
    monkeypatch.setattr(content, "_SERIAL_MAX", 0)  # every call takes the parallel kernel
    parallel = _decode(contents, slash=True)
    assert np.array_equal(serial[1], parallel[1]) and serial[1].any() and not serial[1].all()
    assert_frame_equal(serial[0], parallel[0], check_exact=True)


def test_text_fields_split_in_python_and_by_polars_agree(monkeypatch):
    """A micro-batch's text fields are split in Python (``content._SMALL_TEXTS``), a larger one by Polars: same
    columns (nulls, empty texts, non-ASCII, the envelope's escaped slashes)."""
    contents = [
        '{"Symbol":"VCB","Time":"09:15:00","LastPrice":58800.0,"LastVol":100}',
        '{"Symbol":"","Time":null,"LastPrice":1}', '{"Symbol":"Ngân/hàng","Time":"09:15:01"}',
        '{"LastPrice":2}', '{"Symbol":"A B","Time":" 09:15:02 "}',
    ] * 3
    for slash in (False, True):
        small = _decode(contents, slash)
        monkeypatch.setattr(content, "_SMALL_TEXTS", 0)
        large = _decode(contents, slash)
        monkeypatch.setattr(content, "_SMALL_TEXTS", 2048)
        assert_frame_equal(small[0], large[0], check_exact=True)
        assert (small[1] == large[1]).all()
        assert small[0].get_column("Symbol").null_count() == 3 and small[0].height == len(contents)
