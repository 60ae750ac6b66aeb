"""The network side of the pipeline: one raw record per Broadcast argument, handed to the disk writer in chunks.

The reader (asyncio, :mod:`capture.daemon.stream`) calls :meth:`Recorder.broadcast` for every Broadcast
argument as it comes off the socket. The recorder gives it the next ``seq`` of the session, takes the outer
``DataType`` without parsing ``Content`` (:func:`outer_data_type`), appends it to the current :class:`Chunk`
and hands full chunks (and, every tick, the partial one) to the writer thread through a queue. It never touches
the disk and never blocks.

The queue is bounded in frames (``queue_frames``): frames accepted minus frames the writer has written. When a
frame arrives and the bound is reached (the disk writer is stuck), the frame still gets its ``seq`` but is not
kept; the reader keeps reading so the connection stays healthy. When frames are accepted again, one ``gap``
event names exactly what was lost: ``{"reason": "queue_full", "first_seq", "last_seq", "frames", "start_ns",
"end_ns", "first_cursor", "last_cursor"}``. So the raw ``seq`` has a hole exactly where a gap event says frames
were received and not written; nothing is lost silently (docs/capture.md "When the queue fills").

Events (connect, subscribe, disconnect, reconnect, gap, server_error, heartbeat_timeout) go through the same
queue, in order with the frames; their ``seq`` is the last seq given before them.

References: docs/architecture.md §3 (raw frame record), contracts C1 (seq from 1 by 1, session ids), C2 (events).
"""

from __future__ import annotations

import json
import queue
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import orjson

from market.clock import ICT

_PREFIX = '{"DataType":"'
_PREFIX_LEN = len(_PREFIX)


def session_id(trading_date: date, started: datetime | None = None) -> str:
    """``cap-YYYYMMDD-HHMMSSffffff-<4 hex>`` (contract C1): the trading date, then the start wall time in
    Asia/Ho_Chi_Minh with microseconds, so one date's sessions sort chronologically as strings."""
    started = (started or datetime.now(ICT)).astimezone(ICT)
    return f"cap-{trading_date:%Y%m%d}-{started:%H%M%S%f}-{secrets.token_hex(2)}"


def outer_data_type(argument: str) -> str | None:
    """The ``DataType`` of a Broadcast argument, read from its prefix without parsing ``Content``.

    SSI writes the argument as ``{"DataType":"X-TRADE","Content":"..."}`` (docs/ssi-wire.md §1.3). An argument of that
    shape that ends in ``"}`` gives its DataType; anything else (e.g. an argument cut short) gives None, as does
    a DataType with characters that would need JSON escaping. Only when the prefix differs (other key order,
    whitespace) is the outer object parsed, once.

    Examples
    --------
    >>> outer_data_type('{"DataType":"MI","Content":"{}"}')
    'MI'
    >>> outer_data_type('{"DataType":"MI","Conte') is None
    True
    """
    if argument.startswith(_PREFIX):
        end = argument.find('"', _PREFIX_LEN)
        if end > _PREFIX_LEN and argument.endswith('"}'):
            value = argument[_PREFIX_LEN:end]
            return None if "\\" in value else value
        return None
    try:
        outer = orjson.loads(argument)
    except orjson.JSONDecodeError:
        return None
    value = outer.get("DataType") if isinstance(outer, dict) else None
    return value if isinstance(value, str) else None


@dataclass
class Chunk:
    """Consecutive raw records of one session: ``seq`` = ``first_seq`` + position."""

    session: str
    trading_date: date
    first_seq: int
    recv_ns: list[int] = field(default_factory=list)
    data_type: list[str | None] = field(default_factory=list)
    payload: list[str] = field(default_factory=list)
    cursor: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.payload)


@dataclass(frozen=True)
class EventItem:
    """One capture event for the writer (``storage.events.write_events`` row + its partition)."""

    trading_date: date
    session: str
    row: dict


@dataclass(frozen=True)
class RollItem:
    """End the current session (seal, delete its journal) and start ``session`` for ``trading_date``."""

    session: str
    trading_date: date


@dataclass(frozen=True)
class StopItem:
    """Seal, delete the journal, end the writer thread."""

    reason: str


@dataclass
class Stats:
    """Counters shared by the reader, the writer and the health outputs (plain ints: one writer thread each).

    ``accepted`` (reader) - ``written`` (writer) = frames in the queue. ``frames_by_channel`` (writer) counts
    the frames journaled per outer DataType (``unknown`` when null), counted per batch, not per frame.
    """

    accepted: int = 0
    written: int = 0
    lost: int = 0
    malformed_frames: int = 0
    frames_by_channel: dict[str, int] = field(default_factory=dict)
    last_frame_ns: int = 0
    last_message_ns: int = 0
    reconnects: int = 0
    gaps: int = 0
    server_errors: int = 0
    bytes_written: int = 0
    segments_sealed: int = 0
    state: str = "starting"
    session: str = ""
    trading_date: str = ""
    started_ns: int = field(default_factory=time.time_ns)

    @property
    def queue_depth(self) -> int:
        """Frames received and not yet in the journal."""
        return self.accepted - self.written


@dataclass
class _Loss:
    first_seq: int
    start_ns: int
    first_cursor: str | None
    last_seq: int = 0
    end_ns: int = 0
    last_cursor: str | None = None
    frames: int = 0


@dataclass
class _Gap:
    start_ns: int
    reason: str
    before_cursor: str | None


class Recorder:
    """Turns Broadcast arguments into raw records and hands them to the writer; never blocks.

    Parameters
    ----------
    session, trading_date : the first session (``session_id``) and its date partition.
    source : the raw ``source`` column (``ssi`` or ``feed``).
    items : the queue the writer thread reads (chunks, events, roll, stop).
    stats : shared counters (``accepted`` is this side's; ``written`` the writer's).
    queue_frames : bound of ``accepted - written``; past it frames are lost and recorded as a gap.
    chunk_frames : a chunk is handed over when it holds this many frames (and every tick).
    """

    def __init__(self, session: str, trading_date: date, source: str, items: queue.SimpleQueue, stats: Stats,
                 queue_frames: int, chunk_frames: int = 4096) -> None:
        self.session = session
        self.trading_date = trading_date
        self.source = source
        self.items = items
        self.stats = stats
        self.queue_frames = queue_frames
        self.chunk_frames = chunk_frames
        self.next_seq = 1
        self.last_cursor: str | None = None
        self._chunk: Chunk | None = None
        self._loss: _Loss | None = None
        self._gap: _Gap | None = None
        stats.session, stats.trading_date = session, trading_date.isoformat()

    # ------------------------------------------------------------------------------------------- frames

    def broadcast(self, argument, cursor: str | None, recv_ns: int) -> None:
        """Record one Broadcast argument (hot path). A non-string argument is kept as its compact JSON."""
        if type(argument) is str:
            self._record(argument, outer_data_type(argument), cursor, recv_ns)
        else:
            data_type = argument.get("DataType") if isinstance(argument, dict) else None
            self._record(orjson.dumps(argument).decode(), data_type if isinstance(data_type, str) else None,
                         cursor, recv_ns)

    def malformed(self, text: str, recv_ns: int) -> None:
        """A SignalR frame that is not a JSON object: kept whole as the payload (data_type and cursor null), for
        the parsers to quarantine (docs/architecture.md §3: nothing dropped silently)."""
        self.stats.malformed_frames += 1
        self._record(text, None, None, recv_ns)

    def _record(self, payload: str, data_type: str | None, cursor: str | None, recv_ns: int) -> None:
        stats = self.stats
        seq = self.next_seq
        self.next_seq = seq + 1
        stats.last_frame_ns = recv_ns
        if stats.accepted - stats.written >= self.queue_frames:
            self._lose(seq, cursor, recv_ns)
            return
        if self._loss is not None:
            self._end_loss()
        if self._gap is not None:
            self._close_gap(recv_ns, cursor, seq - 1)
        chunk = self._chunk
        if chunk is None:
            chunk = self._chunk = Chunk(self.session, self.trading_date, seq)
        chunk.recv_ns.append(recv_ns)
        chunk.data_type.append(data_type)
        chunk.payload.append(payload)
        chunk.cursor.append(cursor)
        self.last_cursor = cursor
        stats.accepted += 1
        if len(chunk.payload) >= self.chunk_frames:
            self.handoff()

    def handoff(self) -> None:
        """Give the current chunk to the writer (called when full and on every tick)."""
        if self._chunk is not None:
            self.items.put(self._chunk)
            self._chunk = None

    # ------------------------------------------------------------------------------------------- losses

    def _lose(self, seq: int, cursor: str | None, recv_ns: int) -> None:
        if self._loss is None:
            self.handoff()
            self._loss = _Loss(first_seq=seq, start_ns=recv_ns, first_cursor=cursor)
        loss = self._loss
        loss.last_seq, loss.end_ns, loss.last_cursor = seq, recv_ns, cursor
        loss.frames += 1
        self.stats.lost += 1

    def _end_loss(self) -> None:
        loss, self._loss = self._loss, None
        self.stats.gaps += 1
        self._event("gap", {"start_ns": loss.start_ns, "end_ns": loss.end_ns, "reason": "queue_full",
                            "first_seq": loss.first_seq, "last_seq": loss.last_seq, "frames": loss.frames,
                            "first_cursor": loss.first_cursor, "last_cursor": loss.last_cursor,
                            "queue_frames": self.queue_frames}, seq=loss.first_seq - 1)

    # ------------------------------------------------------------------------------------------- events

    def event(self, kind: str, detail: dict | None = None, wall_ns: int | None = None) -> None:
        """Queue a capture event of the current session (``seq`` = the last seq given so far)."""
        self._event(kind, detail, seq=self.next_seq - 1, wall_ns=wall_ns)

    def _event(self, kind: str, detail: dict | None, seq: int, wall_ns: int | None = None) -> None:
        self.handoff()  # frames before the event reach the journal first
        row = {"wall_ns": wall_ns or time.time_ns(), "session": self.session, "seq": seq if seq > 0 else None,
               "kind": kind, "detail": json.dumps(detail or {}, separators=(",", ":"), default=str)}
        self.items.put(EventItem(self.trading_date, self.session, row))

    def open_gap(self, reason: str, start_ns: int | None = None) -> None:
        """The stream is interrupted (disconnect): the next frame closes the gap (its ``end_ns``)."""
        if self._gap is None:
            self._gap = _Gap(start_ns or self.stats.last_frame_ns or time.time_ns(), reason, self.last_cursor)

    def _close_gap(self, end_ns: int, after_cursor: str | None, seq_before: int) -> None:
        gap, self._gap = self._gap, None
        self.stats.gaps += 1
        self._event("gap", {"start_ns": gap.start_ns, "end_ns": end_ns, "reason": gap.reason,
                            "before_cursor": gap.before_cursor, "after_cursor": after_cursor}, seq=seq_before)

    def _settle(self, end_ns: int) -> bool:
        """Close a pending loss and gap (before a roll or a stop); True when a gap was open."""
        if self._loss is not None:
            self._end_loss()
        had_gap = self._gap is not None
        if had_gap:
            self._close_gap(end_ns, None, self.next_seq - 1)
        return had_gap

    # ------------------------------------------------------------------------------------------- lifecycle

    def roll(self, session: str, trading_date: date, subscribed: dict | None = None) -> None:
        """End the session and continue in ``session`` (next trading date), seq from 1 again.

        ``subscribed`` (when the connection is up): the detail of a ``subscribe`` event opening the new session,
        whose subscription carries on over the same connection.
        """
        now = time.time_ns()
        reopen = self._settle(now)
        self.event("disconnect", {"reason": "date_roll", "next_session": session}, wall_ns=now)
        self.handoff()
        self.items.put(RollItem(session, trading_date))
        old_session = self.session
        self.session, self.trading_date = session, trading_date
        self.next_seq, self.last_cursor = 1, None
        self.stats.session, self.stats.trading_date = session, trading_date.isoformat()
        if subscribed is not None:
            self.event("subscribe", {**subscribed, "continued_from": old_session}, wall_ns=now)
        if reopen:
            self.open_gap("disconnected at date roll", now)

    def stop(self, reason: str) -> None:
        """Close pending gaps, hand over everything, tell the writer to seal and finish."""
        now = time.time_ns()
        self._settle(now)
        self.handoff()
        self.items.put(StopItem(reason))
