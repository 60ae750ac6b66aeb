"""The disk side of the pipeline: journal every chunk, seal segments, write events (a thread of its own).

Reads what :class:`capture.daemon.recorder.Recorder` queues, in order:

* :class:`Chunk` -> appended to the session's journal (``raw/_open/<session>.arrows``, contract C1) as one
  record batch per wake-up, so the journal gets a batch at least every ``flush_ms`` while frames arrive;
  ``fsync`` at most every ``flush_ms``.
* every ``seal_seconds`` or ``seal_frames``: the rows journaled since the last seal become the next segment
  ``raw/date=D/<session>-<n:06d>.parquet`` (:func:`storage.lake.write_raw_segment`, atomic), THEN the journal is
  restarted empty (C1; readers dedupe by ``(session, seq)``).
* :class:`EventItem` -> ``storage.events.write_events``: the events of one wake-up in one file, after the
  frames queued before them are in the journal.
* :class:`RollItem` -> seal, close and delete the journal, open the new session's journal.
* :class:`StopItem` -> seal, close and delete the journal, return.

A failing disk operation (OSError: disk full, I/O error) is logged and retried every second with the rows kept
in memory; meanwhile the recorder's queue bound decides what is kept (recorder module docstring).

References: contract C1 (journal, sealing, clean stop), C2 (events); docs/architecture.md §3.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from capture.daemon.recorder import Chunk, EventItem, RollItem, Stats, StopItem
from storage.events import write_events
from storage.journal import JournalWriter
from storage.lake import next_segment, write_raw_segment
from storage.schemas import RAW_FRAME

log = logging.getLogger("vntrack.capture")


def chunks_table(chunks: list[Chunk], source: str) -> pa.Table:
    """Raw records of consecutive chunks of one session as a ``RAW_FRAME`` table.

    Parameters
    ----------
    chunks : non-empty, one session, seq increasing (a chunk's seq = first_seq + position).
    source : the ``source`` column (``ssi`` / ``feed``).
    """
    n = sum(len(c) for c in chunks)
    seq = np.concatenate([np.arange(c.first_seq, c.first_seq + len(c), dtype=np.uint64) for c in chunks])
    recv_ns, data_type, payload, cursor = [], [], [], []
    for c in chunks:
        recv_ns += c.recv_ns
        data_type += c.data_type
        payload += c.payload
        cursor += c.cursor
    return pa.table([
        pa.repeat(pa.scalar(chunks[0].session, pa.string()), n),
        pa.array(seq, pa.uint64()),
        pa.array(recv_ns, pa.int64()),
        pa.array(data_type, pa.string()),
        pa.array(payload, pa.string()),
        pa.array(cursor, pa.string()),
        pa.repeat(pa.scalar(source, pa.string()), n),
    ], schema=RAW_FRAME)


class SegmentWriter(threading.Thread):
    """Journal + sealed segments + events of the capture sessions, one at a time.

    Parameters
    ----------
    lake : lake root.
    items : the recorder's queue.
    stats : shared counters (this thread owns ``written``, ``bytes_written``, ``segments_sealed``).
    session, trading_date : the first session.
    source : raw ``source`` column.
    flush_ms, seal_seconds, seal_frames : see ``CaptureSettings``.
    tick : called about once a second from this thread (status file, metrics); exceptions are logged.
    """

    def __init__(self, lake: Path, items: queue.SimpleQueue, stats: Stats, session: str, trading_date: date,
                 source: str, *, flush_ms: int = 200, seal_seconds: float = 5.0, seal_frames: int = 50_000,
                 tick: Callable[[], None] | None = None) -> None:
        super().__init__(name="capture-writer", daemon=True)
        self.lake = Path(lake)
        self.items = items
        self.stats = stats
        self.source = source
        self.flush_s = flush_ms / 1000
        self.seal_seconds = seal_seconds
        self.seal_frames = seal_frames
        self.tick = tick
        self.error: BaseException | None = None
        self._pending: list[Chunk] = []
        self._events: list[EventItem] = []
        self._unsealed: list[pa.Table] = []
        self._unsealed_rows = 0
        # pyarrow imports pandas on the first pa.array() built from Python lists (its pandas shim checks the
        # input's type): ~3 s that, paid in this thread mid-stream, would let the recorder's queue fill and lose
        # frames at the start of a fast stream. Paid here, at start-up, before the socket opens.
        chunks_table([Chunk(session, trading_date, 1, [0], ["B"], ["{}"], [None])], source)
        self._open(session, trading_date)

    # ------------------------------------------------------------------------------------------- session

    def _open(self, session: str, trading_date: date) -> None:
        self.session, self.trading_date = session, trading_date
        self.journal = self._retry("open the journal", lambda: JournalWriter(self.lake, session, trading_date))
        self.stats.bytes_written += self.journal.bytes
        self.segment = next_segment(self.lake, trading_date, session)
        now = time.monotonic()
        self._last_seal = self._last_fsync = now

    def _end_session(self) -> None:
        self._journal_pending()
        self._seal()
        self._retry("close the journal", lambda: self.journal.close(delete=True))

    # ------------------------------------------------------------------------------------------- loop

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - reported to the daemon, which exits non-zero
            self.error = exc
            log.exception("capture writer failed")

    def _loop(self) -> None:
        last_tick = 0.0
        wait = self.flush_s / 2
        while True:
            try:
                batch = [self.items.get(timeout=wait)]
            except queue.Empty:
                batch = []
            while True:
                try:
                    batch.append(self.items.get_nowait())
                except queue.Empty:
                    break
            for item in batch:
                if isinstance(item, Chunk):
                    self._pending.append(item)
                elif isinstance(item, EventItem):
                    self._events.append(item)
                elif isinstance(item, RollItem):
                    self._end_session()
                    self._write_events()
                    log.info("session ended at date roll", extra={"fields": {"session": self.session,
                                                                             "next_session": item.session}})
                    self._open(item.session, item.trading_date)
                elif isinstance(item, StopItem):
                    self._end_session()
                    self._write_events()
                    if self.tick:
                        self.tick()
                    return
            self._journal_pending()
            self._write_events()
            now = time.monotonic()
            if now - self._last_fsync >= self.flush_s:
                self._retry("fsync the journal", self.journal.flush)
                self._last_fsync = now
            if self._unsealed_rows >= self.seal_frames or (
                    self._unsealed_rows and now - self._last_seal >= self.seal_seconds):
                self._seal()
            if self.tick and now - last_tick >= 1.0:
                last_tick = now
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - health output must never stop the recording
                    log.exception("status tick failed")

    # ------------------------------------------------------------------------------------------- disk

    def _journal_pending(self) -> None:
        """Append the pending chunks to the journal as one record batch."""
        if not self._pending:
            return
        chunks, self._pending = self._pending, []
        table = chunks_table(chunks, self.source)
        written = self._retry("append to the journal", lambda: self.journal.write(table))
        self._unsealed.append(table)
        self._unsealed_rows += table.num_rows
        by = self.stats.frames_by_channel
        for item in pc.value_counts(table.column("data_type").fill_null("unknown")).to_pylist():
            by[item["values"]] = by.get(item["values"], 0) + item["counts"]
        self.stats.written += table.num_rows
        self.stats.bytes_written += written

    def _write_events(self) -> None:
        """Publish the queued events, one file per (date, session) per wake-up, after the frames before them
        are in the journal."""
        if not self._events:
            return
        events, self._events = self._events, []
        groups: dict[tuple, list[dict]] = {}
        for e in events:
            groups.setdefault((e.trading_date, e.session), []).append(e.row)
        for (day, session), rows in groups.items():
            self._retry("write events", lambda d=day, s=session, r=rows: write_events(self.lake, d, s, r))

    def _seal(self) -> None:
        """Seal the journaled rows as the next segment, then restart the journal (C1 order)."""
        self._last_seal = time.monotonic()
        if not self._unsealed_rows:
            return
        table = pa.concat_tables(self._unsealed)
        path = self._retry("seal a segment", lambda: write_raw_segment(self.lake, self.trading_date, self.session,
                                                                       self.segment, table))
        self._unsealed, self._unsealed_rows = [], 0
        self.segment += 1
        self.stats.segments_sealed += 1
        self.stats.bytes_written += path.stat().st_size
        self._retry("restart the journal", self.journal.restart)

    def _retry(self, what: str, action):
        """Run ``action``; on OSError log it and try again every second (the queue bound protects memory)."""
        while True:
            try:
                return action()
            except FileExistsError:
                if what != "seal a segment":
                    raise
                self.segment = next_segment(self.lake, self.trading_date, self.session)
            except OSError as exc:
                log.error("disk operation failed; retrying in 1 s",
                          extra={"fields": {"operation": what, "error": f"{type(exc).__name__}: {exc}"}})
                time.sleep(1.0)
