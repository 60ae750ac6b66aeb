"""Scalar parsing of one raw SSI frame: payload string -> typed row of a parsed table, or a quarantine reason.

Follows docs/analytics.md §1 step by step, in its order (envelope, DataType, Content, fields, dates and times,
required id). Field names are the exact wire names of docs/ssi-wire.md §2; columns are those of
``transforms.schemas.PARSED``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime

import polars as pl

from transforms import schemas

_NUMERIC_FLOAT = "f"
_NUMERIC_INT = "i"
_STRING = "s"

_DATE_RE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")
_TIME_RE = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")


class Rejected(Exception):
    """A frame that cannot be parsed; ``args[0]`` is the quarantine reason."""

    @property
    def reason(self) -> str:
        return str(self.args[0])


def wire_name(column: str) -> str:
    """Wire field of a parsed column: snake_case -> CamelCase (``bid_price_1`` -> ``BidPrice1``)."""
    return "".join(part[:1].upper() + part[1:] for part in column.split("_"))


def _kind(dtype: pl.DataType) -> str:
    if dtype == pl.Float64:
        return _NUMERIC_FLOAT
    if dtype == pl.Int64:
        return _NUMERIC_INT
    if dtype == pl.String:
        return _STRING
    raise TypeError(f"no wire conversion for {dtype}")


def _field_specs(schema: pl.Schema) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (column, wire_name(column), _kind(dtype)) for column, dtype in schema.items() if column not in schemas.FRAME_KEY
    )


# Upper-cased DataType -> (table name, ((column, wire field, kind), ...)), columns in schema order.
FIELDS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    data_type: (table, _field_specs(schema)) for data_type, (table, schema) in schemas.PARSED.items()
}


def _is_nan(value: object) -> bool:
    return type(value) is float and value != value


def _number(value: object, wire: str) -> float | int | None:
    """A numeric field: JSON number, null, NaN or "NaN" (the last three -> None); anything else is rejected.
    Booleans and +-Infinity are not numbers here."""
    kind = type(value)
    if kind is float:
        if value != value:  # NaN
            return None
        if math.isinf(value):  # type: ignore[arg-type]
            raise Rejected(f"field {wire}: not a number")
        return value  # type: ignore[return-value]
    if kind is int or value is None:
        return value  # type: ignore[return-value]
    if kind is str and value == "NaN":
        return None
    raise Rejected(f"field {wire}: not a number")


def _fields(content: dict, specs: tuple[tuple[str, str, str], ...]) -> dict[str, object]:
    row: dict[str, object] = {}
    get = content.get
    for column, wire, kind in specs:
        value = get(wire)
        if kind == _STRING:
            if value is None or type(value) is str:
                row[column] = value
            elif _is_nan(value):
                row[column] = None
            else:
                raise Rejected(f"field {wire}: not a string")
            continue
        number = _number(value, wire)
        if number is None:
            row[column] = None
        elif kind == _NUMERIC_FLOAT:
            row[column] = float(number)
        else:
            row[column] = round(number)  # half-to-even for floats; ints unchanged
            if not -(2**63) <= row[column] < 2**63:
                raise Rejected(f"field {wire}: out of range")
    return row


def parse_trading_date(value: object, partition_date: date) -> date:
    """``TradingDate`` (exactly ``dd/mm/yyyy``); absent (null / NaN) -> the partition date."""
    if value is None or _is_nan(value):
        return partition_date
    if type(value) is str and _DATE_RE.fullmatch(value):
        try:
            return date(int(value[6:10]), int(value[3:5]), int(value[0:2]))
        except ValueError:
            pass
    raise Rejected(f"bad TradingDate '{value}'")


def parse_time(content: dict) -> tuple[int, int, int]:
    """(hour, minute, second) of ``Time``, else ``TradingTime`` (exactly ``HH:MM:SS``)."""
    wire = "Time"
    value = content.get("Time")
    if value is None or _is_nan(value):
        wire = "TradingTime"
        value = content.get("TradingTime")
        if value is None or _is_nan(value):
            raise Rejected("missing Time")
    if type(value) is str and _TIME_RE.fullmatch(value):
        h, m, s = int(value[0:2]), int(value[3:5]), int(value[6:8])
        if h < 24 and m < 60 and s < 60:
            return h, m, s
    raise Rejected(f"bad {wire} '{value}'")


def parse_payload(payload: object, partition_date: date) -> tuple[str, dict[str, object]]:
    """Parse one Broadcast payload.

    Parameters
    ----------
    payload : the raw frame's ``payload`` (the ``{"DataType", "Content"}`` JSON string).
    partition_date : the lake partition date, used when the frame has no ``TradingDate``.

    Returns
    -------
    (DataType upper-cased, row) where row maps the table's non-key columns plus ``trading_date`` (date) and
    ``exch_time`` (naive local datetime) to Python values.

    Raises
    ------
    Rejected : with the quarantine reason (prefix ``envelope:``, ``unsupported ``, ``content:``, ``field ``,
        ``bad `` or ``missing ``).

    References: docs/analytics.md §1; docs/ssi-wire.md §1.3, §2.
    """
    # 1. envelope
    if type(payload) is not str:
        raise Rejected("envelope: invalid JSON: payload is not a string")
    try:
        envelope = json.loads(payload)
    except ValueError as exc:
        raise Rejected(f"envelope: invalid JSON: {exc}") from None
    if type(envelope) is not dict:
        raise Rejected("envelope: not an object")
    raw_type = envelope.get("DataType")
    if type(raw_type) is not str:
        raise Rejected("envelope: DataType missing or not a string")
    if "Content" not in envelope:
        raise Rejected("envelope: missing Content")
    # 2. DataType
    data_type = raw_type.strip().upper()
    spec = FIELDS.get(data_type)
    if spec is None:
        raise Rejected(f"unsupported DataType '{raw_type}'")
    # 3. Content
    content = envelope["Content"]
    if type(content) is str:
        try:
            content = json.loads(content)
        except ValueError as exc:
            raise Rejected(f"content: invalid JSON: {exc}") from None
        if type(content) is not dict:
            raise Rejected("content: not an object")
    elif type(content) is not dict:
        raise Rejected("content: not a JSON string or object")
    # 4. fields
    row = _fields(content, spec[1])
    # 5. dates and times
    day = parse_trading_date(content.get("TradingDate"), partition_date)
    h, m, s = parse_time(content)
    row["trading_date"] = day
    row["exch_time"] = datetime(day.year, day.month, day.day, h, m, s)
    # 6. required id
    if data_type == "MI":
        if not row["index_id"]:
            raise Rejected("missing IndexId")
    elif not row["symbol"]:
        raise Rejected("missing Symbol")
    return data_type, row
