"""Capture events in the lake: connect, subscribe, disconnect, reconnect, gap, server error, heartbeat timeout.

Layout (docs/architecture.md §3): ``lake/events/date=YYYY-MM-DD/<session>-<n:06d>.parquet``, schema
``storage.schemas.EVENT``. Events are rare; each call of :func:`write_events` publishes one small file atomically
(the capture daemon writes them when it seals a segment, and at once for a disconnect or a gap). ``detail`` is a
JSON object string, e.g. a gap: ``{"start_ns": ..., "end_ns": ..., "reason": "..."}``.

References: docs/architecture.md §3 (events/); issue "capture daemon" (liveness).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from storage.lake import COMPRESSION, atomic_write, events_day_dir
from storage.schemas import EVENT, EVENT_KINDS, EVENT_PL

_EVENT_FILE = re.compile(r"^(?P<session>.+)-(?P<n>\d{6,})\.parquet$")


def events_path(lake: Path, day: date, session: str, n: int) -> Path:
    """``lake/events/date=YYYY-MM-DD/<session>-<n:06d>.parquet``."""
    if not session or "/" in session:
        raise ValueError(f"session id {session!r} must be a non-empty name without a path separator")
    return events_day_dir(lake, day) / f"{session}-{n:06d}.parquet"


def _next_number(lake: Path, day: date, session: str) -> int:
    directory = events_day_dir(lake, day)
    used = [int(m["n"]) for p in directory.glob("*.parquet") if (m := _EVENT_FILE.match(p.name))
            and m["session"] == session] if directory.is_dir() else []
    return max(used) + 1 if used else 0


def write_events(lake: Path, day: date, session: str, rows: Iterable[Mapping]) -> Path | None:
    """Publish capture events as one new file of the date.

    Parameters
    ----------
    lake : lake root.
    day : trading date of the session.
    session : capture session id; each row's ``session`` defaults to it.
    rows : mappings with ``wall_ns`` (int, UTC ns), ``kind`` (one of ``EVENT_KINDS``), optional ``seq`` (last raw
        seq written before the event) and ``detail`` (str, JSON).

    Returns
    -------
    Path of the file, or None when ``rows`` is empty.

    Raises
    ------
    ValueError : an unknown kind, or a missing ``wall_ns``.
    """
    records = []
    for r in rows:
        kind = r.get("kind")
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind {kind!r} is not one of {', '.join(EVENT_KINDS)}")
        if r.get("wall_ns") is None:
            raise ValueError("an event needs wall_ns (UTC ns of the wall clock)")
        records.append({"wall_ns": int(r["wall_ns"]), "session": r.get("session") or session,
                        "seq": r.get("seq"), "kind": kind, "detail": r.get("detail")})
    if not records:
        return None
    table = pa.Table.from_pylist(records, schema=EVENT)
    for _ in range(100):
        path = events_path(lake, day, session, _next_number(lake, day, session))
        try:
            return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression=COMPRESSION),
                                 overwrite=False)
        except FileExistsError:  # a racing writer of the same session took the number
            continue
    raise RuntimeError(f"could not find a free events file number for {session} on {day}")


def read_events(lake: Path, day: date) -> pl.DataFrame:
    """Every capture event of a date.

    Returns
    -------
    pl.DataFrame : exactly ``EVENT_PL`` (wall_ns Int64, session String, seq UInt64, kind String, detail String),
        sorted by (wall_ns, session, seq); empty with that schema when the date has none.
    """
    directory = events_day_dir(lake, day)
    paths = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    if not paths:
        return pl.DataFrame(schema=EVENT_PL)
    df = pl.concat([pl.read_parquet(p) for p in paths], how="vertical")
    return df.cast(dict(EVENT_PL)).select(EVENT_PL.names()).sort("wall_ns", "session", "seq", nulls_last=False,
                                                                   maintain_order=True)
