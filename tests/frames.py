"""Builders of raw frames for tests: wire-exact payloads and raw-frame tables (docs/architecture.md §3)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from storage.schemas import RAW_FRAME_PL
from ssi.envelope import broadcast_argument

FIXTURES = Path(__file__).with_name("fixtures")


wire = broadcast_argument  # a Broadcast argument as SSI sends it (docs/ssi-wire.md §1.3)


def raw_frames(payloads: Sequence[str], session: str = "s1", start_seq: int = 1) -> pl.DataFrame:
    """Raw frame records for ``payloads`` in arrival order."""
    n = len(payloads)
    data_types = []
    for p in payloads:
        try:
            data_types.append(json.loads(p).get("DataType"))
        except (ValueError, AttributeError):
            data_types.append(None)
    return pl.DataFrame(
        {
            "session": [session] * n, "seq": list(range(start_seq, start_seq + n)), "recv_ns": [0] * n,
            "data_type": data_types, "payload": list(payloads), "cursor": [None] * n, "source": ["test"] * n,
        },
        schema=RAW_FRAME_PL,
    )


def jsonl_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def single_frames() -> list[dict]:
    """The real single frames of every channel (tests/fixtures/ssi/single_frames.jsonl)."""
    return [json.loads(line) for line in jsonl_lines(FIXTURES / "ssi" / "single_frames.jsonl")]


def single_frame_payloads(frames: Iterable[dict]) -> list[str]:
    return [json.dumps({"DataType": f["DataType"], "Content": f["Content"]}) for f in frames]


def _room(sym: str, hms: str, buy: int, sell: int) -> str:
    return wire("R", {"Symbol": sym, "TradingDate": "22/07/2026", "Time": hms, "BuyVol": buy, "SellVol": sell,
                      "BuyVal": buy * 25_000.0, "SellVal": sell * 25_000.0, "TotalRoom": 10**9,
                      "CurrentRoom": 10**9 - buy, "Exchange": "HOSE"})


def sparse_r_capture_with_restart() -> pl.DataFrame:
    """Two capture sessions of one date: the first starts at 10:00 with the morning's levels already high, the
    second (a restart) at 13:30; R frames 1 s to 17 min apart, some stamped earlier than the previous one."""
    import random

    rnd = random.Random(11)
    levels = {"HPG": [9_000_000, 4_000_000], "FPT": [2_000_000, 3_500_000], "VCB": [0, 0]}
    parts = []
    for session, start, stop in (("cap-a", 10 * 3600, 11 * 3600 + 1800), ("cap-b", 13 * 3600 + 1800, 15 * 3600)):
        t, payloads = start, []
        while t < stop:
            sym = rnd.choice(list(levels))
            levels[sym][rnd.randrange(2)] += rnd.choice([0, 100, 5_000, 300_000])
            stamp = t - rnd.choice([0, 0, 0, 40, 400])  # now and then stamped earlier than the previous frame
            payloads.append(_room(sym, f"{stamp // 3600:02d}:{stamp // 60 % 60:02d}:{stamp % 60:02d}", *levels[sym]))
            t += rnd.choice([1, 5, 30, 61, 299, 300, 301, 420, 1020])
        parts.append(raw_frames(payloads, session=session))
    return pl.concat(parts)
