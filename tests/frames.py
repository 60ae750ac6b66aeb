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
