"""Compaction of a date's raw segments: many small files -> a few large ones, with ``read_raw`` unchanged.

Raw is append-only (docs/architecture.md §3): compaction never rewrites a file in place. It builds the complete new set
of segments for the date in a staging directory ``raw/_compact/<date>-<random>/raw/date=D/`` (ignored by every reader:
``read_raw`` reads only ``raw/date=D/``), then swaps the staging directory and ``raw/date=D`` in ONE atomic
``renameat2(RENAME_EXCHANGE)`` (Linux >= 3.15). At every instant ``raw/date=D`` is either the complete old set
or the complete new set, never both and never neither:

* a crash before the swap leaves a staging directory that nobody reads (deleted by the next compaction);
* a crash after the swap leaves the old set in the staging directory (deleted by the next compaction);
* where the exchange is unsupported, the date is not compacted (a warning; raw stays as it was).

The new segments keep the sessions and the (session, seq) order, numbered from 0 per session, each holding at
most ``max_rows`` rows, so ``read_raw`` returns the identical frame before and after. A date whose capture
journal is still open (``raw/_open/*.arrows`` with that ``trading_date``, contract C1) is not compacted, and a
segment sealed during the compaction is carried over into the new set.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from storage import lake as lake_io

log = logging.getLogger("vntrack.storage.compact")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass(frozen=True)
class CompactionResult:
    """Segments before and after; ``compacted`` False when the date was left as it was, with the reason."""

    trading_date: date
    before: int
    after: int
    rows: int
    compacted: bool
    reason: str = ""


def staging_root(lake: Path) -> Path:
    """``raw/_compact``: staging and superseded segment sets (never read as raw)."""
    return Path(lake) / "raw" / "_compact"


def exchange_dirs(a: Path, b: Path) -> None:
    """Atomically swap two directories (``renameat2(RENAME_EXCHANGE)``).

    Raises
    ------
    OSError : with ``errno`` ENOSYS / EINVAL / ENOTSUP when the kernel or filesystem cannot exchange.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available in this C library")
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot exchange {a} and {b}: {os.strerror(err)}")


def open_journal_dates(lake: Path) -> set[date]:
    """Trading dates of the capture journals still open under ``raw/_open`` (schema metadata ``trading_date``)."""
    out = set()
    for path in sorted((Path(lake) / "raw" / "_open").glob("*.arrows")):
        try:
            with ipc.open_stream(path) as reader:
                meta = reader.schema.metadata or {}
        except Exception:  # a journal torn before its schema: its date is unknown, treat it as open today
            log.warning("unreadable capture journal %s: compaction of every date waits for capture to recover it",
                        path)
            return {date.max}
        value = meta.get(b"trading_date")
        if value:
            out.add(date.fromisoformat(value.decode()))
    return out


def _cleanup(lake: Path) -> None:
    root = staging_root(lake)
    if root.is_dir():
        for d in root.iterdir():
            shutil.rmtree(d, ignore_errors=True)


def _planned_segments(rows_by_session: dict[str, int], max_rows: int) -> int:
    return sum(max(1, -(-n // max_rows)) for n in rows_by_session.values())


def compact_day(lake: Path, day: date, *, max_rows: int = 1_000_000) -> CompactionResult:
    """Rewrite a date's sealed raw segments as at most ``ceil(rows / max_rows)`` segments per session.

    Parameters
    ----------
    lake : lake root.
    day : trading date.
    max_rows : rows per new segment (``VNTRACK_COMPACT_SEGMENT_ROWS``).

    Returns
    -------
    CompactionResult : ``compacted`` False (with ``reason``) when there was nothing to gain, the date's journal
        is still open, or the filesystem cannot exchange directories. Idempotent: a compacted date is left alone.

    Raises
    ------
    ValueError : a segment holds frames that ``storage.lake.validate_raw_table`` refuses (nothing is changed).
    """
    lake = Path(lake)
    _cleanup(lake)
    segments = lake_io.raw_segments(lake, day)
    if not segments:
        return CompactionResult(day, 0, 0, 0, False, "no raw segments")
    if day in open_journal_dates(lake) or date.max in open_journal_dates(lake):
        return CompactionResult(day, len(segments), len(segments), 0, False, "capture journal still open")
    by_session: dict[str, list[Path]] = {}
    counts: dict[str, int] = {}
    for p in segments:
        session = p.name[: p.name.rindex("-")]
        by_session.setdefault(session, []).append(p)
        counts[session] = counts.get(session, 0) + pq.read_metadata(p).num_rows
    rows = sum(counts.values())
    if _planned_segments(counts, max_rows) >= len(segments):
        return CompactionResult(day, len(segments), len(segments), rows, False, "already compact")
    live = lake_io.raw_day_dir(lake, day)
    stage = staging_root(lake) / f"{day:%Y-%m-%d}-{secrets.token_hex(4)}"
    staged_day = lake_io.raw_day_dir(stage, day)  # stage/raw/date=D: the staging set, written as a lake
    staged_day.mkdir(parents=True)
    try:
        written = 0
        for session, paths in sorted(by_session.items()):
            written += _write_session(stage, day, session, paths, max_rows)
        _check_same(live, staged_day, counts)
        try:
            exchange_dirs(staged_day, live)
        except OSError as e:
            if e.errno in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                log.warning("raw of %s not compacted: %s", day, e)
                return CompactionResult(day, len(segments), len(segments), rows, False, str(e))
            raise
        # now ``live`` is the new set and ``staged_day`` the old one; carry over a segment sealed meanwhile
        old_names = {p.name for p in segments}
        for p in sorted(staged_day.glob("*.parquet")):
            if p.name not in old_names:
                log.warning("segment %s was sealed during compaction: carried over", p.name)
                os.link(p, live / p.name)  # numbers above the old maximum: never a name of the new set
        lake_io.fsync_dir(live.parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return CompactionResult(day, len(segments), written, rows, True)


def _write_session(stage: Path, day: date, session: str, paths: list[Path], max_rows: int) -> int:
    import pyarrow as pa

    table = pa.concat_tables([pq.read_table(p) for p in paths]).combine_chunks()
    n = 0
    for start in range(0, max(table.num_rows, 1), max_rows):
        chunk = table.slice(start, max_rows)
        lake_io.write_raw_segment(stage, day, session, n, chunk)  # validates: one session, seq increasing
        n += 1
    return n


def _check_same(live: Path, staged: Path, counts: dict[str, int]) -> None:
    got: dict[str, int] = {}
    for p in staged.glob("*.parquet"):
        session = p.name[: p.name.rindex("-")]
        got[session] = got.get(session, 0) + pq.read_metadata(p).num_rows
    if got != counts:
        raise RuntimeError(f"compaction of {live} would change row counts ({counts} -> {got}); nothing changed")
