"""The open segment of a capture session: an append-only Arrow IPC stream journal, and its recovery.

Layout (docs/architecture.md §3): ``lake/raw/_open/<session>.arrows``, an Arrow IPC *stream* whose schema is
``storage.schemas.RAW_FRAME`` with the metadata ``trading_date=YYYY-MM-DD``; every flush appends one record batch.
The capture daemon seals the journal's rows into the next Parquet segment
(``raw/date=D/<session>-<segment>.parquet``, :func:`storage.lake.write_raw_segment`) and then restarts the journal
empty: the new, empty stream is written beside it and renamed over it. A row can therefore be in a sealed segment
and in the journal for a moment; readers dedupe by ``(session, seq)`` (a per-session watermark). A clean stop
seals the last rows and deletes the journal.

A crash leaves the journal behind, possibly with a torn last batch. :func:`read_journal` returns every complete
batch and says whether a torn tail was found; :func:`recover_journal` seals the complete rows that no segment
holds yet and deletes the journal.

Only pyarrow and the lake module; no clocks, no settings.

References: docs/architecture.md §3 (raw/_open), §4 (arrival order); issue "capture daemon" (durability).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from storage.lake import fsync_dir, lake_dates, next_segment, raw_segments, validate_raw_table, write_raw_segment
from storage.schemas import RAW_FRAME

SUFFIX = ".arrows"
_DATE_KEY = b"trading_date"


def open_dir(lake: Path) -> Path:
    """``lake/raw/_open``: the journals of the capture sessions that are running (or crashed)."""
    return Path(lake) / "raw" / "_open"


def journal_path(lake: Path, session: str) -> Path:
    """``lake/raw/_open/<session>.arrows``.

    Raises
    ------
    ValueError : on an empty session id or one with a path separator.
    """
    if not session or "/" in session or os.sep in session:
        raise ValueError(f"session id {session!r} must be a non-empty name without a path separator")
    return open_dir(lake) / f"{session}{SUFFIX}"


def open_journals(lake: Path) -> list[Path]:
    """Every journal under ``raw/_open``, sorted by name (= by session); temp files never listed."""
    directory = open_dir(lake)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if p.is_file())


def journal_schema(trading_date: date) -> pa.Schema:
    """``RAW_FRAME`` with the metadata ``trading_date=YYYY-MM-DD`` (the partition the rows will be sealed into)."""
    return RAW_FRAME.with_metadata({_DATE_KEY: trading_date.isoformat().encode()})


class JournalWriter:
    """Append-only journal of one capture session's open segment.

    Lifecycle: ``write`` (append one record batch; the bytes are in the OS after it returns), ``flush`` (fsync:
    durable against a machine crash), ``restart`` (after sealing: an empty journal replaces this one atomically),
    ``close`` (close the stream; ``delete=True`` removes the file, for a clean stop after the final seal).

    Parameters
    ----------
    lake : lake root.
    session : capture session id (``cap-YYYYMMDD-...``).
    trading_date : the date partition of the rows.

    Raises
    ------
    FileExistsError : a journal of that session exists already; recover it first (:func:`recover_journal`).
    """

    def __init__(self, lake: Path, session: str, trading_date: date) -> None:
        self.path = journal_path(lake, session)
        self.session = session
        self.trading_date = trading_date
        self.schema = journal_schema(trading_date)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists: recover the crashed session's journal before writing one")
        self._sink, self._writer = self._create(self.path)
        fsync_dir(self.path.parent)
        self.rows = 0
        self.bytes = self._sink.tell()

    def _create(self, path: Path):
        sink = open(path, "xb")
        writer = pa.ipc.new_stream(sink, self.schema)
        sink.flush()
        return sink, writer

    def write(self, batch: pa.RecordBatch | pa.Table) -> int:
        """Append rows (exactly ``RAW_FRAME``, this session, seq increasing) as one batch; returns bytes written.

        Raises
        ------
        ValueError : see :func:`storage.lake.validate_raw_table`.
        """
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        validate_raw_table(table, self.session)
        before = self._sink.tell()
        for b in table.cast(self.schema).to_batches(max_chunksize=max(table.num_rows, 1)):
            self._writer.write_batch(b)
        self._sink.flush()
        self.rows += table.num_rows
        written = self._sink.tell() - before
        self.bytes += written
        return written

    def flush(self) -> None:
        """Make everything written so far durable (fsync)."""
        self._sink.flush()
        os.fsync(self._sink.fileno())

    def restart(self) -> None:
        """Replace the journal by an empty one (call after its rows were sealed into a segment)."""
        tmp = self.path.with_name(f"{self.path.name}.{secrets.token_hex(6)}.tmp")
        sink, writer = self._create(tmp)
        os.fsync(sink.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self._writer.close()
        self._sink.close()
        self._sink, self._writer = sink, writer
        self.rows = 0

    def close(self, *, delete: bool = False) -> None:
        """Close the stream (end-of-stream marker written); ``delete`` removes the journal file."""
        try:
            self._writer.close()
        finally:
            self._sink.close()
        if delete:
            self.path.unlink(missing_ok=True)
            fsync_dir(self.path.parent)


@dataclass(frozen=True)
class JournalRead:
    """What :func:`read_journal` found.

    Attributes
    ----------
    table : the rows of every complete batch (exactly ``RAW_FRAME``, no metadata).
    trading_date : from the schema metadata; None when not even the schema could be read.
    batches : number of complete batches.
    torn : True when the file ends inside a batch (a crash, or a batch being written right now).
    """

    table: pa.Table
    trading_date: date | None
    batches: int
    torn: bool


def read_journal(path: Path) -> JournalRead:
    """Read the complete batches of a journal; a torn tail is reported, never raised.

    Parameters
    ----------
    path : a ``raw/_open/<session>.arrows`` file (may be growing while it is read).

    Returns
    -------
    JournalRead : rows of ``RAW_FRAME`` in journal order (= seq order).

    Raises
    ------
    FileNotFoundError : the journal is gone (sealed and deleted since it was listed).
    """
    batches: list[pa.RecordBatch] = []
    torn = False
    trading_date = None
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        reader = pa.ipc.open_stream(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError):
        return JournalRead(RAW_FRAME.empty_table(), None, 0, True)
    meta = reader.schema.metadata or {}
    if _DATE_KEY in meta:
        trading_date = date.fromisoformat(meta[_DATE_KEY].decode())
    while True:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError):
            torn = True
            break
    table = pa.Table.from_batches(batches, schema=reader.schema).replace_schema_metadata(None)
    return JournalRead(table.cast(RAW_FRAME), trading_date, len(batches), torn)


@dataclass(frozen=True)
class Recovery:
    """Outcome of :func:`recover_journal`.

    Attributes
    ----------
    session : the crashed session.
    trading_date : its partition; when the journal held not even its schema (killed right after a segment was
        sealed and the journal restarted), the date of the session's sealed segments; None when there are none.
    sealed_rows : rows written to a new segment (those no sealed segment held yet).
    segment : path of that segment, or None when nothing was left to seal.
    torn : a torn tail was dropped.
    last_seq : the last seq of the session now in the lake (None when it has none).
    """

    session: str
    trading_date: date | None
    sealed_rows: int
    segment: Path | None
    torn: bool
    last_seq: int | None


def recover_journal(lake: Path, path: Path) -> Recovery:
    """Seal what a crashed session's journal holds and delete the journal.

    Rows whose seq is already in a sealed segment of the session (the crash came between sealing and restarting
    the journal) are not sealed twice. A torn last batch is dropped; the caller records it as a gap event.

    Parameters
    ----------
    lake : lake root.
    path : the journal, ``raw/_open/<session>.arrows``.

    Returns
    -------
    Recovery
    """
    session = path.name[: -len(SUFFIX)]
    read = read_journal(path)
    segment = None
    sealed = 0
    last_seq = None
    trading_date = read.trading_date
    if trading_date is None:  # no schema yet: the session's date is that of its sealed segments, if any
        trading_date = next((d for d in reversed(lake_dates(lake)) if raw_segments(lake, d, session)), None)
    if trading_date is not None:
        existing = raw_segments(lake, trading_date, session)
        if existing:
            last_seq = max(int(pq.read_table(p, columns=["seq"]).column("seq").to_numpy().max(initial=0))
                           for p in existing)
        table = read.table
        if last_seq is not None and table.num_rows:
            table = table.filter(pc.greater(table.column("seq"), pa.scalar(last_seq, pa.uint64())))
        if table.num_rows:
            segment = write_raw_segment(lake, trading_date, session, next_segment(lake, trading_date, session),
                                        table)
            sealed = table.num_rows
            last_seq = int(table.column("seq")[-1].as_py())
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return Recovery(session, trading_date, sealed, segment, read.torn, last_seq)
