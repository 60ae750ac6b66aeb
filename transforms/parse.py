"""Raw SSI frames -> one typed Polars table per channel, plus the quarantine of frames that cannot be parsed.

The SSI Broadcast argument has three JSON layers (docs/ssi-wire.md §1.3); the raw frame's ``payload`` is the second:
``{"DataType": "X-TRADE", "Content": "<json string>"}``. Frames of the plain shape are taken apart by compiled code
(``transforms.envelope`` for the envelope, ``transforms.content`` for the Content); every frame those decline is
decoded in bulk by Polars' NDJSON reader (several times faster than ``json.loads`` per frame); a batch that fails
is split until each bad frame is isolated, and only those frames are looked at one by one to say why they failed.
Parsing never raises on data: every frame ends up in exactly one parsed table or in the quarantine.

Rules: docs/analytics.md §1. Schemas: ``transforms.schemas.PARSED``.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date
from typing import NamedTuple

import numpy as np
import polars as pl

from transforms import schemas
from transforms.content import decode_contents
from transforms.envelope import gather_content, scan_envelopes, split_content

__all__ = ["PARSER_VERSION", "parse_frames", "wire_fields"]

PARSER_VERSION = "3"
"""Bump on any change of what ``parse_frames`` returns: the lake's parsed layer (replay/parsed.py) is rebuilt
when it changes (its key also covers these modules' source and the Polars version, so a forgotten bump is caught)."""

_CHUNK = 8192  # rows per retry chunk once a bulk decode has failed
_ENVELOPE = {"DataType": pl.String, "Content": pl.String}
_INT = (pl.Int64,)
_FAST_CONTENT = True  # the compiled Content decoder (transforms.content) first; tests switch it off to compare
_FAST_FINISH = True  # _finish_channel tries the one-query table first; tests switch it off to compare


def _to_snake(wire: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", wire)
    s = re.sub(r"(?<=[A-Za-z])(?=[0-9])", "_", s)
    return s.lower()


def _to_wire(column: str) -> str:
    return "".join(part.capitalize() for part in column.split("_"))


def wire_fields(schema: pl.Schema) -> dict[str, str]:
    """Wire field name -> column for a parsed table (``BidPrice1`` -> ``bid_price_1``; docs/ssi-wire.md §2).

    The frame-key columns (session, seq, recv_ns, trading_date, exch_time) are not wire fields.
    """
    out = {}
    for col in schema:
        if col in schemas.FRAME_KEY:
            continue
        wire = _to_wire(col)
        assert _to_snake(wire) == col, (wire, col)
        out[wire] = col
    return out


# ----------------------------------------------------------------------------------------------- bulk JSON


def _ndjson(texts: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Decode a column of one-line JSON objects with an explicit schema (raises on any bad line)."""
    if texts.len() == 0:
        return pl.DataFrame(schema=schema)
    buf = texts.str.join("\n").cast(pl.Binary).item()  # bytes straight from Arrow: no str round trip
    out = pl.read_ndjson(buf, schema=schema)
    if out.height != texts.len():  # an empty or multi-object line would shift rows
        raise ValueError(f"decoded {out.height} rows from {texts.len()} lines")
    return out


def _decode(texts: pl.Series, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, list[int]]:
    """Bulk-decode ``texts``; returns the decoded rows (all-null where a line failed) and the failed positions."""
    try:
        return _ndjson(texts, schema), []
    except Exception:  # noqa: BLE001 - any decode failure means: find the bad lines
        pass
    parts, bad = [], []

    def solve(offset: int, chunk: pl.Series) -> None:
        try:
            parts.append(_ndjson(chunk, schema))
            return
        except Exception:  # noqa: BLE001
            if chunk.len() == 1:
                bad.append(offset)
                parts.append(pl.DataFrame({k: [None] for k in schema}, schema=schema))
                return
        half = chunk.len() // 2
        solve(offset, chunk.slice(0, half))
        solve(offset + half, chunk.slice(half))

    for start in range(0, texts.len(), _CHUNK):
        solve(start, texts.slice(start, _CHUNK))
    return pl.concat(parts, how="vertical").rechunk(), bad


def _read_buffer(buf: bytes, n: int, schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """One NDJSON decode of ``n`` newline-terminated texts; None if any of them fails."""
    try:
        out = pl.read_ndjson(buf, schema=schema)
    except Exception:  # noqa: BLE001 - any decode failure: the caller takes the general path
        return None
    return out if out.height == n else None


def _one_line(col: pl.Expr) -> pl.Expr:
    # A raw newline is only legal between JSON tokens, where a space means the same.
    return pl.when(col.str.contains("[\r\n]")).then(col.str.replace_all("[\r\n]", " ")).otherwise(col)


def _nan_to_null(col: pl.Expr, numeric_fields: list[str]) -> pl.Expr:
    """``"Field": NaN`` and ``"Field": "NaN"`` -> ``"Field": null`` for numeric wire fields (docs/ssi-wire.md §2.3)."""
    if not numeric_fields:
        return col
    pattern = r'("(?:' + "|".join(map(re.escape, numeric_fields)) + r')"\s*:\s*)"?NaN"?'
    return pl.when(col.str.contains("NaN", literal=True)).then(col.str.replace_all(pattern, "${1}null")).otherwise(col)


# ----------------------------------------------------------------------------------------------- reasons


def _loads(text: str) -> object:
    return json.loads(text)  # accepts bare NaN, like the feed


def _envelope_reason(payload: str | None) -> str:
    if payload is None:
        return "envelope: empty payload"
    try:
        obj = _loads(payload)
    except ValueError as e:
        return f"envelope: invalid JSON: {e}"
    if not isinstance(obj, dict):
        return f"envelope: not a JSON object but {type(obj).__name__}"
    return "envelope: cannot decode DataType/Content"


def _content_reason(content: str, wire_types: dict[str, pl.DataType]) -> str:
    try:
        obj = _loads(content)
    except ValueError as e:
        return f"content: invalid JSON: {e}"
    if not isinstance(obj, dict):
        return f"content: not a JSON object but {type(obj).__name__}"
    for name, dtype in wire_types.items():
        value = obj.get(name)
        if dtype.is_numeric() and isinstance(value, str) and value != "NaN":
            return f"field {name}: not a number: {value[:40]!r}"
        if dtype.is_numeric() and isinstance(value, (list, dict)):
            return f"field {name}: not a number"
    return "content: cannot decode"


# ----------------------------------------------------------------------------------------------- parsing


def _rejecter(sink: list[pl.DataFrame]):
    """A function that records rejected frames as (``_i``, reason given as an expression or one string per row).

    Only the frame position travels; the raw columns are gathered once at the end (``_quarantine``).
    """

    def reject(rows: pl.DataFrame, reason: pl.Expr | list[str]) -> None:
        if rows.height:
            reason_col = pl.Series("reason", reason, dtype=pl.String) if isinstance(reason, list) else reason.alias("reason")
            sink.append(rows.select(pl.col("_i"), reason_col))

    return reject


def _quarantine(frames: pl.DataFrame, rejected: list[pl.DataFrame]) -> pl.DataFrame:
    if not rejected:
        return schemas.empty(schemas.QUARANTINE)
    q = pl.concat(rejected, how="vertical").sort("_i")
    raw = frames.select("session", "seq", "recv_ns", "data_type", "payload")[q.get_column("_i")]
    return raw.with_columns(q.get_column("reason")).select(list(schemas.QUARANTINE)).cast(dict(schemas.QUARANTINE))


def _general_envelope(frames: pl.DataFrame, reject) -> pl.DataFrame:
    """The general envelope path (frames the scanner did not handle): bulk NDJSON, bisect to find bad frames.

    Returns the frames with a supported, present DataType and Content, with ``_dt``, ``_channel``, ``_content``.
    """
    payloads = frames.select(_one_line(pl.col("payload").fill_null(""))).to_series()
    env, bad = _decode(payloads, _ENVELOPE)
    frames = frames.with_columns(env.get_column("DataType").alias("_dt"), env.get_column("Content").alias("_content"))
    if bad:
        bad_rows = frames[bad]
        reject(bad_rows, [_envelope_reason(p) for p in bad_rows.get_column("payload").to_list()])
        frames = frames.filter(~pl.col("_i").is_in(bad_rows.get_column("_i").implode()))
    frames = frames.with_columns(pl.col("_dt").str.strip_chars().str.to_uppercase().alias("_channel"))
    reject(frames.filter(pl.col("_dt").is_null()), pl.lit("envelope: no DataType"))
    reject(frames.filter(pl.col("_dt").is_not_null() & pl.col("_content").is_null()), pl.lit("envelope: no Content"))
    unsupported = frames.filter(pl.col("_content").is_not_null() & ~pl.col("_channel").is_in(list(schemas.PARSED)))
    reject(unsupported, pl.concat_str(pl.lit("unsupported DataType '"), pl.col("_dt"), pl.lit("'")))
    return frames.filter(pl.col("_content").is_not_null() & pl.col("_channel").is_in(list(schemas.PARSED)))


def parse_frames(raw: pl.DataFrame, trading_date: date | None = None) -> dict[str, pl.DataFrame]:
    """Parse raw frames into typed per-channel tables and a quarantine.

    Parameters
    ----------
    raw : the raw frame record (docs/architecture.md §3): session String, seq UInt64, recv_ns Int64 (UTC ns),
        data_type String (nullable), payload String (the Broadcast argument verbatim), cursor String,
        source String. Any order; output follows arrival order (session, seq).
    trading_date : the lake partition date; used for frames without ``TradingDate`` (older B frames).

    Returns
    -------
    dict with the parsed tables ``x_trade, x_quote, x, foreign_room, index, bar, status, odd_lot`` (schemas in
    ``transforms.schemas.PARSED``: frame key, then the wire fields in snake_case; prices Float64 VND or points,
    volumes Int64 shares/contracts, values Float64 VND, exch_time Datetime[us, Asia/Ho_Chi_Minh]) and
    ``quarantine`` (raw columns + ``reason``). Every input frame is in exactly one of them.

    Notes
    -----
    Never raises on data (docs/analytics.md §1 gives each quarantine reason). The envelope of frames of the plain
    shape is taken apart by the compiled scanner (``transforms.envelope``); every other frame goes through the
    general path, so a frame's table or quarantine reason does not depend on which path read it. Each channel's
    plain Contents are decoded by the compiled decoder (``transforms.content``), the rest by one NDJSON call with
    an explicit schema (docs/analytics.md §1). References: docs/ssi-wire.md §1.3, §2.
    """
    order = raw.select(pl.arg_sort_by("session", "seq", maintain_order=True)).to_series().to_numpy()
    in_order = bool((order == np.arange(order.size)).all())  # read_raw's order: no copy of the payloads
    frames = (raw if in_order else raw[order]).with_row_index("_i")
    quarantine: list[pl.DataFrame] = []
    reject = _rejecter(quarantine)

    # Layer 2: the Broadcast argument {"DataType", "Content"}: the scanner first, the general path for the rest.
    channels = list(schemas.PARSED)
    scan = scan_envelopes(frames.get_column("payload"), channels)
    handled = scan.code >= 0
    keys = pl.DataFrame([frames.get_column(c) for c in ("_i", "session", "seq", "recv_ns")])  # no query to run
    general = (
        _general_envelope(frames.filter(pl.Series(~handled)), reject)
        .select("_i", "session", "seq", "recv_ns", "_channel", "_content")
        if not handled.all()
        else None
    )

    out: dict[str, pl.DataFrame] = {}
    for k, (channel, (name, schema)) in enumerate(schemas.PARSED.items()):
        idx = np.flatnonzero(scan.code == k)
        slow = general.filter(pl.col("_channel") == channel).drop("_channel") if general is not None else None
        if slow is not None and slow.height == 0:
            slow = None
        if idx.size == 0 and slow is None:  # a micro-batch often lacks channels: skip the dozen no-op steps
            out[name] = schemas.empty(schema)
            continue
        wire_types, decode_schema = _decode_schema(channel)
        parts = []
        if _FAST_CONTENT and idx.size:  # layer 3 compiled for the plain Contents; the declined ones go on below
            table, declined = decode_contents(scan.data, scan.cs, scan.ce, idx, decode_schema)
            parts.append(pl.concat([keys[idx[~declined]], table], how="horizontal"))
            idx = idx[declined]
        if idx.size or slow is not None:
            buf, has_nan = gather_content(scan, idx)
            rows = keys[idx]
            if slow is not None or has_nan:  # mixed paths or NaN to rewrite: the general layer-3 path over texts
                rows = rows.with_columns(split_content(buf))
                if slow is not None:
                    rows = pl.concat([rows, slow], how="vertical").sort("_i")
                buf = None
            parts.append(_decode_channel(rows, wire_types, decode_schema, reject, buf).drop("_content", strict=False))
        rows = pl.concat(parts, how="vertical").sort("_i") if len(parts) > 1 else parts[0]
        out[name] = _finish_channel(rows, channel, schema, trading_date, reject)

    out["quarantine"] = _quarantine(frames, quarantine)
    return out


@functools.lru_cache(maxsize=None)
def _decode_schema(channel: str) -> tuple[dict[str, pl.DataType], dict[str, pl.DataType]]:
    """(wire field -> decoded type, the NDJSON decode schema: the wire fields and the three time texts) of a channel
    (cached: the callers only read them)."""
    schema = schemas.PARSED[channel][1]
    fields = wire_fields(schema)
    wire_types = {w: (pl.Float64 if schema[c] in _INT else schema[c]) for w, c in fields.items()}
    time_fields = {"TradingDate": pl.String, "Time": pl.String, "TradingTime": pl.String}
    return wire_types, {**wire_types, **time_fields}


def _decode_channel(
    rows: pl.DataFrame, wire_types: dict[str, pl.DataType], decode_schema: dict[str, pl.DataType], reject,
    buf: bytes | None,
) -> pl.DataFrame:
    """Layer 3 of one channel by the exact path (Polars' NDJSON reader): ``rows`` plus the decoded wire columns;
    frames whose Content is bad are quarantined with their reason. ``buf``: the rows' Content newline-joined by
    the scanner (no NaN), else None and the rows carry ``_content``."""
    numeric = [w for w, t in wire_types.items() if t.is_numeric()]
    decoded = _read_buffer(buf, rows.height, decode_schema) if buf is not None else None
    if decoded is not None:
        bad = []
    else:
        if buf is not None:  # some Content is bad: the general path finds which and why
            rows = rows.with_columns(split_content(buf))
        content = rows.select(_nan_to_null(_one_line(pl.col("_content")), numeric)).to_series()
        decoded, bad = _decode(content, decode_schema)
    rows = pl.concat([rows, decoded], how="horizontal")
    if bad:
        bad_rows = rows[bad]
        reject(bad_rows, [_content_reason(c, wire_types) for c in bad_rows.get_column("_content").to_list()])
        rows = rows.filter(~pl.col("_i").is_in(bad_rows.get_column("_i").implode()))
    return rows


@functools.lru_cache(maxsize=None)
def _finish_exprs(channel: str, trading_date: date | None) -> _FinishExprs:
    """The expressions of ``_finish_channel`` for one channel (built once: a batch only runs them)."""
    schema = schemas.PARSED[channel][1]
    fields = wire_fields(schema)
    fallback = pl.lit(trading_date, pl.Date) if trading_date is not None else pl.lit(None, pl.Date)
    parsed_date = pl.col("TradingDate").str.strip_chars().str.strptime(pl.Date, "%d/%m/%Y", strict=False)
    time_text = pl.coalesce(pl.col("Time"), pl.col("TradingTime")).str.strip_chars()
    parsed_time = time_text.str.strptime(pl.Time, "%H:%M:%S", strict=False)
    derived = [
        pl.when(pl.col("TradingDate").is_null()).then(fallback).otherwise(parsed_date).alias("trading_date"),
        parsed_time.alias("_time"),
        time_text.alias("_time_text"),
    ]
    # One reason per frame, the first check it fails in this order (the order the checks used to filter in):
    # an Int64 column cannot hold a number beyond the Int64 range (docs/analytics.md §1 rule 4), missing key,
    # bad TradingDate, missing TradingDate, missing Time, bad Time. Null: the frame is kept. ``when`` with a null
    # condition is false, as a filter drops a null.
    key = "IndexId" if channel == "MI" else "Symbol"
    reasons = [
        pl.when(~pl.col(w).round(0).is_between(-(2.0**63), 2.0**63, closed="left"))
        .then(pl.lit(f"field {w}: out of range"))
        for w, c in fields.items()
        if schema[c] in _INT
    ]
    reasons += [
        pl.when(pl.col(key).is_null() | (pl.col(key) == "")).then(pl.lit(f"missing {key}")),
        pl.when(pl.col("TradingDate").is_not_null() & pl.col("trading_date").is_null())
        .then(pl.concat_str(pl.lit("bad TradingDate '"), pl.col("TradingDate"), pl.lit("'"))),
        pl.when(pl.col("trading_date").is_null()).then(pl.lit("missing TradingDate")),
        pl.when(pl.col("_time_text").is_null()).then(pl.lit("missing Time")),
        pl.when(pl.col("_time_text").is_not_null() & pl.col("_time").is_null())
        .then(pl.concat_str(pl.lit("bad Time '"), pl.col("_time_text"), pl.lit("'"))),
    ]
    reason = pl.coalesce(reasons).alias("_reason")

    exch_time = pl.col("trading_date").dt.combine(pl.col("_time"), "us").dt.replace_time_zone(schemas.TZ)

    def table_columns(strict: bool) -> list[pl.Expr]:
        named: dict[str, pl.Expr] = {
            "session": pl.col("session"), "seq": pl.col("seq"), "recv_ns": pl.col("recv_ns"),
            "trading_date": pl.col("trading_date"), "exch_time": exch_time,
        }
        for wire, col in fields.items():
            expr = pl.col(wire)
            if schema[col] in _INT:
                expr = expr.round(0).cast(pl.Int64, strict=strict)
            named[col] = expr
        # the table's dtypes in the same select (was a separate DataFrame.cast)
        return [expr.cast(schema[col], strict=strict).alias(col) for col, expr in named.items()]

    ints = tuple((w, c) for w, c in fields.items() if schema[c] in _INT)
    return _FinishExprs(derived, table_columns(True), reason, table_columns(False), ints, fields[key])


class _FinishExprs(NamedTuple):
    derived: list[pl.Expr]  # trading_date, _time, _time_text
    columns: list[pl.Expr]  # the table's columns (strict casts)
    reason: pl.Expr  # _reason: why a frame is rejected, null if it is kept
    loose: list[pl.Expr]  # ``columns`` with non-strict casts: a value beyond Int64 becomes null instead of raising
    ints: tuple[tuple[str, str], ...]  # (wire field, column) of the Int64 columns
    key: str  # the key column (symbol, index_id)


def _finish_channel(rows: pl.DataFrame, channel: str, schema: pl.Schema, trading_date: date | None, reject):
    """The checks and types after decoding (key, TradingDate, Time; wire fields -> table columns).

    ``schema`` must be ``transforms.schemas.PARSED[channel]``'s (the expressions are cached per channel)."""
    ex = _finish_exprs(channel, trading_date)
    # The usual batch rejects nothing: one query builds the table with non-strict casts; it is the table when no
    # Int64 column gained a null (every value fits, so no "out of range"), the key is neither null nor empty and
    # no exch_time is null (a null exch_time is exactly a null trading_date or time: the other four reasons).
    table = _collect(rows.lazy().with_columns(ex.derived).select(ex.loose)) if _FAST_FINISH else None
    key = table.get_column(ex.key) if table is not None else None
    if (
        table is not None
        and table.get_column("exch_time").null_count() == 0
        and key.null_count() == 0
        and not (key == "").any()
        and all(table.get_column(c).null_count() == rows.get_column(w).null_count() for w, c in ex.ints)
    ):
        return table
    # one pass computes every frame's reason; then one filter for the rejected and one for the kept frames
    rows = _collect(rows.lazy().with_columns(ex.derived).with_columns(ex.reason))
    reasons = rows.get_column("_reason")
    if reasons.null_count() == reasons.len():
        return _collect(rows.lazy().select(ex.columns))
    reject(rows.filter(pl.col("_reason").is_not_null()), pl.col("_reason"))
    return _collect(rows.lazy().filter(pl.col("_reason").is_null()).select(ex.columns))


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    """Run ``query`` as eager calls run (the in-memory engine, no plan optimization): ``collect()``'s default
    engine choice costs ~0.1 ms more per query, more than a micro-batch's rows."""
    return query.collect(engine="in-memory", optimizations=pl.QueryOptFlags.none())
