"""JSONL of SSI Broadcast arguments -> raw frames, every line kept verbatim.

The format: one Broadcast argument per line, ``{"DataType": "B", "Content": "<json string>"}``, as the
``ssi-fc-data`` SDK hands it to a callback and as recorders dump it (real example:
``tests/fixtures/ssi/quelam96lact_fixtures/ssi_b_messages.jsonl``). References: docs/ssi-wire.md §1 (envelope),
§1.5 (time); docs/architecture.md §3 (raw frame), §4 (time and order).

Rules (each is tested in ``tests/test_importers.py``):

* A line is what lies between two ``\\n``; a trailing ``\\r`` is part of the terminator. Only the terminator is
  stripped: ``payload`` is the line's text exactly (a UTF-8 BOM at the very start of the file is an encoding
  mark, not text, and is dropped; bytes that are not UTF-8 become U+FFFD, such a line cannot parse anyway).
* Blank (whitespace-only) lines are not frames and are skipped. Every other line becomes a frame, parseable or
  not: the parsers quarantine bad ones later, with the reason. Nothing is dropped here.
* ``seq`` = the 1-based line number in the file (strictly increasing; gaps only where blank lines were).
* ``data_type`` = the line's ``DataType`` string as written (not normalised); null when the line is not a JSON
  object or has no string ``DataType``.
* Partition date = ``Content.TradingDate`` (dd/mm/yyyy) when parseable (``Content`` is a JSON string, or an
  object, which is tolerated). A line without one goes with the previous line's date; lines before the first
  dated line go with that first date. A file with no date at all is refused (:class:`NoTradingDateError`).
* ``recv_ns`` = exchange time (partition date + ``Content.Time``, else ``TradingTime``; Vietnam time, as UTC ns)
  when the line has a parseable time; else the previous line's ``recv_ns`` (lines before the first timed line
  take the first one found later; a file without any time takes 00:00:00 of each line's date). Imports are
  therefore deterministic: no wall clock is read.
"""

from __future__ import annotations

import json
from datetime import date, time

from market.clock import exchange_time_ns, parse_time_of_day, parse_trading_date
from storage.schemas import ImportedFrame

FORMAT = "ssi-jsonl"


class NoTradingDateError(ValueError):
    """A JSONL recording in which no line carries a parseable ``TradingDate``: it has no lake partition."""


def decode_text(data: bytes) -> str:
    """File bytes -> text: UTF-8, a leading BOM dropped, undecodable bytes replaced by U+FFFD."""
    return data.decode("utf-8-sig", errors="replace")


def split_lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers; the terminator (``\\n`` or ``\\r\\n``) removed.

    ``str.splitlines`` is not used on purpose: it also splits on U+2028, U+0085... which JSON strings may hold.
    """
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip():
            out.append((number, line))
    return out


def broadcast_argument(line: str) -> dict | None:
    """The line as a JSON object, or None when it is not one (invalid JSON, array, string...)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def is_broadcast_argument(line: str) -> bool:
    """True when the line is a JSON object with ``DataType`` and ``Content`` (used to recognise the format)."""
    obj = broadcast_argument(line)
    return obj is not None and "DataType" in obj and "Content" in obj


def _inspect(line: str) -> tuple[str | None, date | None, time | None]:
    """(DataType, TradingDate, Time) of one line, each None when absent or unparseable."""
    obj = broadcast_argument(line)
    if obj is None:
        return None, None, None
    data_type = obj.get("DataType") if isinstance(obj.get("DataType"), str) else None
    content = obj.get("Content")
    if isinstance(content, str):
        content = broadcast_argument(content)
    if not isinstance(content, dict):
        return data_type, None, None
    tod = parse_time_of_day(content.get("Time")) or parse_time_of_day(content.get("TradingTime"))
    return data_type, parse_trading_date(content.get("TradingDate")), tod


def _fill(values: list, first: object) -> list:
    """Forward-fill Nones, starting from ``first`` (the first non-None found later, for leading Nones)."""
    out, carry = [], first
    for v in values:
        carry = v if v is not None else carry
        out.append(carry)
    return out


def jsonl_frames(data: bytes, name: str = "<jsonl>") -> list[ImportedFrame]:
    """Convert a JSONL recording of SSI Broadcast arguments to frames, one per non-blank line.

    Parameters
    ----------
    data : the file's bytes.
    name : file name, for error messages.

    Returns
    -------
    list[ImportedFrame] : in line order; ``seq`` = line number, ``payload`` = the line verbatim, ``day`` /
        ``recv_ns`` / ``data_type`` per the module rules.

    Raises
    ------
    NoTradingDateError : no line has a parseable ``Content.TradingDate``.
    """
    lines = split_lines(decode_text(data))
    inspected = [_inspect(line) for _, line in lines]
    own_days = [d for _, d, _ in inspected]
    first_day = next((d for d in own_days if d is not None), None)
    if first_day is None:
        raise NoTradingDateError(
            f"{name}: no line carries a parseable Content.TradingDate (dd/mm/yyyy), so the recording cannot be "
            "placed in the lake's date partitions; add the trading date to the frames or import another file"
        )
    days = _fill(own_days, first_day)
    own_ns = [
        exchange_time_ns(day, tod) if tod is not None else None
        for day, (_, _, tod) in zip(days, inspected, strict=True)
    ]
    first_ns = next((ns for ns in own_ns if ns is not None), None)
    if first_ns is None:  # no line has a time: midnight of each line's date
        recv = [exchange_time_ns(day, time(0, 0)) for day in days]
    else:
        recv = _fill(own_ns, first_ns)
    return [
        ImportedFrame(day=day, seq=number, recv_ns=ns, data_type=data_type, payload=line)
        for (number, line), (data_type, _, _), day, ns in zip(lines, inspected, days, recv, strict=True)
    ]
