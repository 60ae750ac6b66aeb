"""The compiled envelope scanner (transforms.envelope) never changes a parse: every frame lands in the same table,
or in the quarantine with the same reason, as through the general path alone (docs/analytics.md §1)."""

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
from tests.frames import raw_frames, single_frame_payloads, single_frames, wire
from transforms import envelope, schemas
from transforms.parse import parse_frames

DAY = date(2026, 7, 20)
BASE = {"TradingDate": "20/07/2026", "Time": "09:30:00", "Symbol": "VCB", "LastPrice": 58800, "LastVol": 100}


def _general_only(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """parse_frames with the scanner declining every frame: the general path decodes all of them."""
    real = parse_mod.scan_envelopes

    def decline(payload, channels):
        scan = real(payload, channels)
        scan.code[:] = -1
        return scan

    parse_mod.scan_envelopes = decline
    try:
        return parse_frames(raw, DAY)
    finally:
        parse_mod.scan_envelopes = real


def _assert_same_parse(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    fast, general = parse_frames(raw, DAY), _general_only(raw)
    assert set(fast) == set(general)
    for name in fast:
        assert_frame_equal(fast[name], general[name], check_exact=True)
    return fast


def test_scanner_takes_the_plain_frames_and_declines_the_rest():
    plain = wire("X-TRADE", {**BASE, "Note": 'say "hi" \\ a/b'})
    declined = [
        None, "not json", '{"Content":"{}","DataType":"X-TRADE"}', '{"DataType":"x-trade","Content":"{}"}',
        '{"DataType":"X-TRADE","Content":"{}","DataType":"B"}', '{"DataType":"X-TRADE","Content":"{\\n}"}',
        '{"DataType":"X-TRADE","Content":"{\\u0022a\\u0022:1}"}', '{"DataType":"X-TRADE","Content":null}',
        '{"DataType":"X-TRADE","Content":"{}"} x', '{"DataType":"X-TRADE","Content":"{}"',
        '{"DataType":"Trade","Content":"{}"}',
    ]
    spaced = ' { "DataType" : "B" , "Content" : "{}" } '
    scan = envelope.scan_envelopes(pl.Series([plain, spaced, *declined]), list(schemas.PARSED))
    channels = list(schemas.PARSED)
    assert scan.code[0] == channels.index("X-TRADE") and scan.code[1] == channels.index("B")
    assert (scan.code[2:] == -1).all()
    buf, nan = envelope.gather_content(scan, np.array([0, 1]))
    assert buf == (json.loads(plain)["Content"] + "\n{}\n").encode() and not nan
    assert envelope.split_content(buf).to_list() == [json.loads(plain)["Content"], "{}"]
    assert envelope.gather_content(scan, np.array([0, 0]))[0] == buf[: buf.index(b"\n") + 1] * 2


def test_real_frames_parse_the_same_either_way():
    raw = raw_frames(single_frame_payloads(single_frames()))
    out = _assert_same_parse(raw)
    assert sum(t.height for t in out.values()) == raw.height


@pytest.mark.parametrize(
    "payload",
    [
        wire("X-TRADE", '{"Symbol": "VCB", '),  # invalid Content JSON on the scanner's path
        wire("X-TRADE", {**BASE, "LastPrice": "abc"}),
        wire("X-TRADE", {**BASE, "AvgPrice": "NaN"}),  # NaN rewriting
        wire("X-TRADE", {**BASE, "Symbol": ""}),
        wire("R", {**BASE, "TradingDate": "2026-07-20"}),
        wire("F", {"Symbol": "VCB", "TradingDate": "20/07/2026", "Time": "9h30"}),
        wire("x-trade", BASE),  # the general path, mixed with scanner frames of the same channel
        wire("X-TRADE", json.dumps(BASE, indent=1)),  # newline inside Content
        "not json",
    ],
)
def test_bad_and_odd_frames_get_the_same_reason(payload):
    good = wire("X-TRADE", BASE)
    _assert_same_parse(raw_frames([good, payload, good, payload]))


_piece = st.sampled_from(list('{}[]":,\\/ nNaXBR-0123456789.\n') + ["NaN", "null", "\\u0041"])
_text = st.lists(_piece, max_size=8).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["X-TRADE", "X-QUOTE", "B", "R", "MI", "F", "x", "Trade"]),
                          st.dictionaries(st.sampled_from(["Symbol", "IndexId", "LastPrice", "Time", "TradingDate",
                                                           "Close", "Volume", "BidPrice1"]),
                                          st.one_of(_text, st.floats(allow_nan=False), st.integers(-5, 10**9),
                                                    st.none())),
                          st.integers(0, 4), _text),
                min_size=1, max_size=12))
def test_mutated_frames_parse_the_same_either_way(frames):
    payloads = []
    for data_type, content, mutation, junk in frames:
        p = wire(data_type, content)
        if mutation == 1:  # cut
            p = p[: max(1, len(p) - len(junk) - 1)]
        elif mutation == 2:  # something appended inside Content
            p = p[:-2] + junk.replace("\\", "\\\\").replace('"', '\\"') + p[-2:]
        elif mutation == 3:  # raw junk spliced in
            p = p[:-2] + junk + p[-2:]
        payloads.append(p)
    _assert_same_parse(raw_frames(payloads))


def test_serial_and_parallel_scans_agree():
    """A micro-batch is scanned without the parallel region (transforms.envelope._scan_serial): same results."""
    plain = single_frame_payloads(single_frames())
    odd = [None, "not json", '{"DataType":"x-trade","Content":"{}"}', ' { "DataType" : "B" , "Content" : "{}" } ']
    payload = pl.Series((plain + odd) * 3)
    offsets, data = envelope._arrow_buffers(payload)
    valid = payload.is_not_null().to_numpy()
    scan = envelope.scan_envelopes(payload, list(schemas.PARSED))
    args = (offsets, data, valid, *_names(list(schemas.PARSED)), envelope._DATATYPE, envelope._CONTENT)
    for a, b, c in zip(envelope._scan(*args), envelope._scan_serial(*args), (scan.code, scan.cs, scan.ce, scan.ulen)):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    assert (scan.code >= 0).any() and (scan.code == -1).any()


def _names(channels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(c) for c in channels)
    names = np.zeros((len(channels), width), np.uint8)
    lens = np.zeros(len(channels), np.int64)
    for k, c in enumerate(channels):
        names[k, : len(c)] = np.frombuffer(c.encode(), np.uint8)
        lens[k] = len(c)
    return names, lens
