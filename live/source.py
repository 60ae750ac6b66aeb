"""What capture has made durable for a date since the watermarks (contract C1).

Journals are read *before* the sealed segments are listed: a row sealed between the two reads is then found in
the segment (capture writes the segment before it restarts the journal), so no row is missed by a race. Rows
of a session are taken when ``seq > watermark[session]``; a row in both a segment and a journal counts once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from storage.journal import open_journals, read_journal
from storage.lake import _SEGMENT_NAME, raw_segments
from storage.schemas import RAW_FRAME_PL


@dataclass
class Cursor:
    """The reader's position: per session the last seq consumed, and the sealed segments already read.

    Attributes
    ----------
    watermarks : session -> last seq consumed.
    segments : names of sealed segment files read completely (their rows are all <= the watermark).
    seq_gaps : session -> list of [first, last] seq ranges that were skipped (never seen before later rows).
    """

    watermarks: dict[str, int] = field(default_factory=dict)
    segments: set[str] = field(default_factory=set)
    seq_gaps: dict[str, list[list[int]]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"watermarks": dict(sorted(self.watermarks.items())), "segments": sorted(self.segments),
                "seq_gaps": self.seq_gaps}

    @classmethod
    def from_json(cls, d: dict) -> Cursor:
        return cls({k: int(v) for k, v in d["watermarks"].items()}, set(d["segments"]),
                   {k: [list(map(int, g)) for g in v] for k, v in d.get("seq_gaps", {}).items()})


@dataclass(frozen=True)
class Poll:
    """One read of the lake.

    Attributes
    ----------
    rows : the new frames (``RAW_FRAME_PL``), sorted by (session, seq), deduplicated.
    segments : sealed segment names read this time.
    journals : sessions with an open journal of this date; ``torn`` those whose last batch was incomplete
        (normal while capture is writing it; after a crash until capture recovers it).
    late : descriptions of rows that arrived out of arrival order (into a recorded seq gap, or of a session
        earlier than one already consumed): the caller must rebuild.
    """

    rows: pl.DataFrame
    segments: frozenset[str]
    journals: tuple[str, ...]
    torn: tuple[str, ...]
    late: tuple[str, ...]


def poll(lake: Path, day: date, cursor: Cursor) -> Poll:
    """Read every durable frame of ``day`` not yet consumed according to ``cursor`` (which is not changed)."""
    frames, journals, torn = [], [], []
    for path in open_journals(lake):
        try:
            read = read_journal(path)
        except FileNotFoundError:  # sealed and deleted since listed: its rows are in a segment now
            continue
        if read.trading_date != day:
            continue
        session = path.name[: -len(".arrows")]
        journals.append(session)
        if read.torn:
            torn.append(session)
        if read.table.num_rows:
            frames.append(_newer(pl.from_arrow(read.table), cursor, session))
    new_segments = []
    late_in_gaps = []
    for path in raw_segments(lake, day):
        if path.name in cursor.segments:
            continue
        session = _SEGMENT_NAME.match(path.name)["session"]
        seg = pl.read_parquet(path)
        new_segments.append(path.name)
        for lo, hi in cursor.seq_gaps.get(session, []):
            hit = seg.filter(pl.col("seq").is_between(lo, hi))
            if hit.height:
                late_in_gaps.append(f"{path.name}: seq {hit.item(0, 'seq')} fills a gap [{lo}, {hi}] of {session} "
                                    "after later frames were consumed")
        frames.append(_newer(seg, cursor, session))
    rows = (pl.concat([f.cast(dict(RAW_FRAME_PL)).select(RAW_FRAME_PL.names()) for f in frames], how="vertical")
            if frames else pl.DataFrame(schema=RAW_FRAME_PL))
    rows = rows.unique(["session", "seq"], keep="first", maintain_order=True).sort("session", "seq")
    late = list(late_in_gaps)
    if rows.height and cursor.watermarks:
        newest_consumed = max(cursor.watermarks)
        earlier = [s for s in rows.get_column("session").unique().to_list() if s < newest_consumed]
        late += [f"session {s} has new frames after the later session {newest_consumed} was consumed"
                 for s in sorted(earlier)]
    return Poll(rows, frozenset(new_segments), tuple(journals), tuple(torn), tuple(late))


def read_all(lake: Path, day: date) -> tuple[pl.DataFrame, frozenset[str]]:
    """Every durable frame of ``day`` (segments + journals), deduplicated, in arrival order; and the segments."""
    p = poll(lake, day, Cursor())
    return p.rows, p.segments


def advance(cursor: Cursor, p: Poll) -> Cursor:
    """The cursor after consuming ``p.rows`` (new watermarks, segments read, seq gaps skipped)."""
    wm = dict(cursor.watermarks)
    gaps = {k: [list(g) for g in v] for k, v in cursor.seq_gaps.items()}
    if p.rows.height:
        for session, seqs in p.rows.group_by("session", maintain_order=True).agg(pl.col("seq")).iter_rows():
            prev = wm.get(session, 0)
            for s in seqs:
                if s > prev + 1:
                    gaps.setdefault(session, []).append([prev + 1, s - 1])
                prev = s
            wm[session] = prev
    return Cursor(wm, cursor.segments | set(p.segments), gaps)


def _newer(frame: pl.DataFrame, cursor: Cursor, session: str) -> pl.DataFrame:
    return frame.filter(pl.col("seq") > cursor.watermarks.get(session, 0))


class Waker:
    """Sleeps until capture makes something durable (a journal write or a sealed segment) or a timeout passes.

    Watches ``lake/raw`` (journals in ``raw/_open``, segments in ``raw/date=D``) with file-system notifications
    (``watchfiles``, inotify on Linux); changes made while the caller was busy are kept by the watcher and wake
    the next wait at once, so no write is missed. Without ``lake/raw`` yet (capture never ran) it just sleeps.

    Parameters
    ----------
    lake : lake root.
    debounce_ms : once a change is seen, wait at most this long for the writes that follow it (one batch of a
        journal is several writes), in milliseconds.
    """

    def __init__(self, lake: Path, *, debounce_ms: int = 20):
        self.raw = Path(lake) / "raw"
        self.debounce_ms = debounce_ms
        self._notify = None
        self._arm()  # before the caller's first read: a write after that read must wake the first wait

    def _arm(self) -> bool:
        if self._notify is None and self.raw.is_dir():
            from watchfiles._rust_notify import RustNotify  # the engine of watchfiles.watch, with a per-call timeout

            self._notify = RustNotify([str(self.raw)], False, False, 50, True, True)
            return True
        return False

    def wait(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` seconds; True when woken by a change under ``lake/raw`` (or when the watch
        has just started, ``lake/raw`` having appeared: what was written before it is read at once)."""
        if self._arm():
            return True
        if timeout_s <= 0:
            return False
        if self._notify is None:  # lake/raw does not exist yet: look for it every 0.1 s until the timeout
            end = time.monotonic() + timeout_s
            while time.monotonic() < end:
                time.sleep(min(0.1, max(0.0, end - time.monotonic())))
                if self._arm():
                    return True
            return False
        got = self._notify.watch(self.debounce_ms, 2, max(1, int(timeout_s * 1000)), None)
        return isinstance(got, set) and bool(got)

    def close(self) -> None:
        """Stop the watcher thread."""
        if self._notify is not None:
            self._notify.close()
            self._notify = None
