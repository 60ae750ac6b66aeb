"""One lake day prepared for serving: verbatim payloads plus what routing and pacing need, read once.

For each raw frame (``storage.lake.read_raw``: arrival order = (session, seq)) only three things are extracted,
by vectorized regular expressions over the payload (no full JSON parse): the ``DataType`` of the envelope, the
symbol (``Symbol``, or ``IndexId`` for MI) and the exchange time (``TradingDate`` + ``Time``, or ``TradingTime``).
The few payloads the expressions miss (not the usual escaped-string ``Content``) are parsed with ``json``.

Time (docs/architecture.md §4): a frame without a readable time takes the previous frame's (the first ones take the
first readable); a frame without ``TradingDate`` takes the served date. ``--from`` keeps the frames whose own
exchange time is at or after it, in arrival order. Pacing uses ``t_eff``, the running maximum of the kept
frames' times, so a late-stamped frame (the real B recording has a 13:35:20 after a 13:35:26) is sent at once
and the order never changes. Several sessions in one day are served one after the other, as ``read_raw`` orders
them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import orjson
import polars as pl

from storage import lake

_DATA_TYPE = r'(?:^|[^\\])"DataType"\s*:\s*"([^"\\]*)"'
_SYMBOL = r'\\?"(?:Symbol|IndexId)\\?"\s*:\s*\\?"([^"\\]*)'
_TRADING_DATE = r'\\?"TradingDate\\?"\s*:\s*\\?"([^"\\]*)'
_TIME = r'\\?"(?:Time|TradingTime)\\?"\s*:\s*\\?"([^"\\]*)'


class NoSuchDay(LookupError):
    """The lake holds no frame for the requested date."""


class EmptyWindow(ValueError):
    """``--from`` is later than every frame of the day."""


@dataclass(frozen=True)
class ServedDay:
    """The frames one feed serves, in arrival order, after ``--from``.

    Attributes
    ----------
    day : the trading date.
    payloads : the Broadcast arguments, verbatim (``str``).
    literals : each payload as a JSON string literal (quoted, escaped), made once at load so the send loop at
        ``--speed max`` does not escape the same payloads again for every connection.
    data_types : upper-cased ``DataType`` per frame, None when unreadable.
    symbols : upper-cased symbol (``IndexId`` for MI) per frame, None when absent.
    times_s : own exchange time per frame, seconds since 1970 of the naive Vietnam wall time.
    teff_s : running maximum of ``times_s`` (non-decreasing): what pacing follows.
    teff_list : ``teff_s`` as a Python list (shared by every connection's send loop: indexing it is fast).
    total_frames : frames of the day before ``--from`` filtering.
    """

    day: date
    payloads: list[str]
    data_types: list[str | None]
    symbols: list[str | None]
    times_s: np.ndarray
    teff_s: np.ndarray
    teff_list: list[int]
    total_frames: int
    literals: list[str]

    def __len__(self) -> int:
        return len(self.payloads)


def json_literal(text: str) -> str:
    """``text`` as a JSON string literal (what a SignalR frame carries). Lone surrogates, which orjson refuses,
    are escaped by ``json``."""
    try:
        return orjson.dumps(text).decode("utf-8")
    except TypeError:
        return json.dumps(text)


def seconds(day: date, tod: time) -> int:
    """``day`` + ``tod`` as seconds since 1970 of the naive wall time (the unit of :attr:`ServedDay.times_s`)."""
    return int((datetime.combine(day, tod) - datetime(1970, 1, 1)).total_seconds())


def _fallback(payload: str) -> tuple[str | None, str | None, str | None, str | None]:
    """``json`` parse of one payload the expressions missed: (DataType, symbol, TradingDate, Time)."""
    try:
        env = json.loads(payload)
        content = env.get("Content")
        content = json.loads(content) if isinstance(content, str) else content
    except (ValueError, AttributeError, TypeError):
        return None, None, None, None
    dt = env.get("DataType") if isinstance(env.get("DataType"), str) else None
    if not isinstance(content, dict):
        return dt, None, None, None
    sym = content.get("Symbol") if content.get("Symbol") is not None else content.get("IndexId")
    tm = content.get("Time") if content.get("Time") is not None else content.get("TradingTime")
    d = content.get("TradingDate")
    return (dt, sym if isinstance(sym, str) else None, d if isinstance(d, str) else None,
            tm if isinstance(tm, str) else None)


def frame_keys(raw: pl.DataFrame, day: date) -> pl.DataFrame:
    """Per raw frame: ``payload``, ``data_type`` and ``symbol`` (upper case) and ``t`` (Int64 seconds, nullable).

    Parameters
    ----------
    raw : raw frames (``storage.schemas.RAW_FRAME_PL``), in the order to serve.
    day : served date, for frames without ``TradingDate``.
    """
    p = pl.col("payload")
    keys = raw.select(
        p,
        p.str.extract(_DATA_TYPE, 1).alias("dt"),
        p.str.extract(_SYMBOL, 1).alias("sym"),
        p.str.extract(_TRADING_DATE, 1).alias("d"),
        p.str.extract(_TIME, 1).alias("tm"),
    )
    missed = keys.select((pl.col("dt").is_null() | pl.col("tm").is_null()).arg_true()).to_series().to_list()
    if missed:
        fixed = [_fallback(keys["payload"][i]) for i in missed]
        idx = pl.Series("i", missed, dtype=pl.UInt32)
        names = ("dt", "sym", "d", "tm")
        patch = pl.DataFrame({"i": idx, **{c: [f[k] for f in fixed] for k, c in enumerate(names)}},
                             schema={"i": pl.UInt32, **dict.fromkeys(names, pl.String)})
        keys = (
            keys.with_row_index("i")
            .join(patch, on="i", how="left", suffix="_fb")
            .with_columns([pl.coalesce(c, f"{c}_fb").alias(c) for c in ("dt", "sym", "d", "tm")])
            .select("payload", "dt", "sym", "d", "tm")
        )
    stamp = pl.concat_str(
        pl.col("d").str.strip_chars().fill_null(day.strftime("%d/%m/%Y")), pl.lit(" "), pl.col("tm").str.strip_chars()
    ).str.strptime(pl.Datetime("us"), "%d/%m/%Y %H:%M:%S", strict=False)
    return keys.select(
        "payload",
        pl.col("dt").str.strip_chars().str.to_uppercase().alias("data_type"),
        pl.col("sym").str.strip_chars().str.to_uppercase().alias("symbol"),
        stamp.dt.epoch("s").alias("t"),
    )


def load_day(lake_root: Path, day: date, start: time | None = None) -> ServedDay:
    """Read a lake day and prepare it for serving.

    Parameters
    ----------
    lake_root : lake root.
    day : trading date.
    start : ``--from``: keep frames whose own exchange time is >= ``day`` + ``start``; None keeps all.

    Raises
    ------
    NoSuchDay : the lake has no sealed raw frame for ``day``; the message lists the dates it has.
    EmptyWindow : no frame is at or after ``start``; the message gives the day's span.
    """
    raw = lake.read_raw(lake_root, day)
    if raw.height == 0:
        have = ", ".join(d.isoformat() for d in lake.lake_dates(lake_root)) or "none"
        raise NoSuchDay(f"the lake {lake_root} has no frames for {day.isoformat()} (dates present: {have})")
    keys = frame_keys(raw, day).with_columns(pl.col("t").forward_fill().backward_fill().fill_null(0))
    if start is not None:
        span = keys.select(pl.col("t").min().alias("lo"), pl.col("t").max().alias("hi")).row(0)
        keys = keys.filter(pl.col("t") >= seconds(day, start))
        if keys.height == 0:
            lo, hi = (datetime(1970, 1, 1) + timedelta(seconds=int(v)) for v in span)
            raise EmptyWindow(f"no frame of {day.isoformat()} is at or after {start:%H:%M:%S} (the day's frames run "
                              f"from {lo:%H:%M:%S} to {hi:%H:%M:%S}); choose an earlier --from")
    times = keys.get_column("t").to_numpy().astype(np.int64)
    teff = np.maximum.accumulate(times) if len(times) else times
    payloads = keys.get_column("payload").to_list()
    return ServedDay(
        day=day,
        payloads=payloads,
        data_types=keys.get_column("data_type").to_list(),
        symbols=keys.get_column("symbol").to_list(),
        times_s=times,
        teff_s=teff,
        teff_list=teff.tolist(),
        total_frames=raw.height,
        literals=[json_literal(p) for p in payloads],
    )
