"""``vntrack import PATH...``: put recorded files into the lake as raw frames, idempotently.

Two formats, recognised from the content (never from the file extension):

* ``ssi-jsonl``: JSONL of SSI Broadcast arguments, ``{"DataType":...,"Content":"..."}`` per line; each line kept
  verbatim (``capture/import_jsonl.py``).
* ``kbs-ticks-csv``: a vnstock/KBS intraday tick CSV, converted to SSI X-TRADE frames in exact wire format
  (``capture/import_kbs.py``).

Anything else is refused with :class:`UnrecognisedRecording`, which names both formats.

Lake rules (docs/architecture.md §3):

* session id = ``import-<first 16 hex digits of sha256(file bytes)>``: the same bytes are the same session, under
  any name or path; ``source`` = ``import:<file name>``; ``cursor`` null.
* One segment per (session, trading date), segment number 0, ``seq`` as the format module defines it.
* Idempotent: a file whose session already has every one of its segments in the lake is skipped
  ("already imported") and adds nothing. A session with only some of its segments (an import interrupted
  between two dates) gets the missing ones; segments are a pure function of the bytes, so the result is the
  same as an uninterrupted import.
* Nothing counted twice (docs/capture.md "Importing a recording again"): per trading date, the file's payload
  sequence P is compared with the payload sequence Q of every other session of that date (lake and the
  earlier files of the same command):

  - P lies whole inside Q (a subset, or the same frames under other bytes): nothing is written for that date;
  - P starts with the end of Q (a grown recording: Q's frames, then more): only the new frames are written, as
    the next segment of Q's session (so they follow Q in arrival order), ``seq`` continuing Q's, ``source``
    ``import:<this file>``; Q must be an imported session (capture sessions are never extended);
  - any other frame of P found in Q: the file is refused (:class:`OverlappingRecording`) naming the session and
    the first repeated line; nothing of the command is written.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from capture import import_jsonl, import_kbs
from storage.lake import next_segment, raw_segments, session_of_segment, write_raw_segment
from storage.schemas import RAW_FRAME, ImportedFrame

Format = Literal["ssi-jsonl", "kbs-ticks-csv"]
SEGMENT = 0
_SNIFF_BYTES = 1 << 20  # enough for the header line or ~500 Broadcast arguments
_SNIFF_LINES = 100


class UnrecognisedRecording(ValueError):
    """A file that is neither of the importable formats."""


class OverlappingRecording(ValueError):
    """A file whose frames repeat frames of a session already in the lake in a way that is neither a subset nor a
    continuation of it (module rules); the message names the session and the first repeated line."""


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_paths` did with one file.

    Attributes
    ----------
    path : the file.
    format : the recognised format.
    session : its session id (``import-<sha16>``).
    frames : ``{trading date: frames written}`` by this call; empty when skipped.
    skipped_reason : why nothing was written (``"already imported"``, ``"already in the lake (session S)"``),
        else None.
    segments : the segment files written by this call.
    continued : ``{trading date: session}`` where only the new frames were written, as the next segment of that
        earlier session (a grown recording).
    """

    path: Path
    format: Format
    session: str
    frames: dict[date, int] = field(default_factory=dict)
    skipped_reason: str | None = None
    segments: tuple[Path, ...] = ()
    continued: dict[date, str] = field(default_factory=dict)


def session_id(data: bytes) -> str:
    """``import-`` + the first 16 hex digits of the SHA-256 of the file's bytes."""
    return f"import-{hashlib.sha256(data).hexdigest()[:16]}"


def _unrecognised(path: Path) -> UnrecognisedRecording:
    return UnrecognisedRecording(
        f"{path.name} is not a recognised recording: expected JSONL of SSI Broadcast arguments "
        '({"DataType":...,"Content":"..."} per line) or a vnstock/KBS intraday tick CSV '
        f"(header {','.join(import_kbs.KBS_COLUMNS)})"
    )


def detect_format(head: bytes, path: Path) -> Format:
    """Recognise a recording from its first bytes.

    Parameters
    ----------
    head : the file's first bytes (up to 1 MiB is plenty).
    path : the file, for the error message.

    Returns
    -------
    ``"kbs-ticks-csv"`` when the first non-blank line is a header naming every KBS column;
    ``"ssi-jsonl"`` when one of the first 100 non-blank lines is a JSON object with ``DataType`` and ``Content``
    (a garbage line does not disqualify a recording: it is stored and quarantined later).

    Raises
    ------
    UnrecognisedRecording : neither; the message names both formats.
    """
    text = import_jsonl.decode_text(head)
    if len(head) >= _SNIFF_BYTES and "\n" not in text:
        raise UnrecognisedRecording(
            f"{path.name} is not a recognised recording: its first line is longer than {_SNIFF_BYTES:,} bytes "
            "(no line break in the first 1 MiB), while a recording holds one Broadcast argument or one CSV row "
            "per line; is it a JSON array or a single-line dump? Write one object per line")
    lines = import_jsonl.split_lines(text)
    if lines and len(head) >= _SNIFF_BYTES and not text.endswith("\n"):
        lines = lines[:-1] or lines  # the last line may be cut by the sniff window
    if not lines:
        raise _unrecognised(path)
    if import_kbs.is_kbs_header(lines[0][1]):
        return import_kbs.FORMAT
    if any(import_jsonl.is_broadcast_argument(line) for _, line in lines[:_SNIFF_LINES]):
        return import_jsonl.FORMAT
    raise _unrecognised(path)


def convert(fmt: Format, data: bytes, name: str) -> list[ImportedFrame]:
    """Frames of a file in a known format (dispatch to the format module)."""
    converters = {import_jsonl.FORMAT: import_jsonl.jsonl_frames, import_kbs.FORMAT: import_kbs.kbs_frames}
    return converters[fmt](data, name)


def raw_tables(frames: list[ImportedFrame], session: str, source: str) -> dict[date, pa.Table]:
    """Group frames by trading date into ``RAW_FRAME`` tables (``cursor`` null), keeping their order."""
    by_day: dict[date, list[ImportedFrame]] = defaultdict(list)
    for f in frames:
        by_day[f.day].append(f)
    return {
        day: pa.table(
            {
                "session": [session] * len(rows),
                "seq": [f.seq for f in rows],
                "recv_ns": [f.recv_ns for f in rows],
                "data_type": [f.data_type for f in rows],
                "payload": [f.payload for f in rows],
                "cursor": [None] * len(rows),
                "source": [source] * len(rows),
            },
            schema=RAW_FRAME,
        )
        for day, rows in sorted(by_day.items())
    }


def _read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_SNIFF_BYTES)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is not a file; pass recording files (e.g. {path}/*.jsonl)")


@dataclass
class _Known:
    """One session's frames on one date: payload hashes in arrival order, the payloads, the last seq."""

    hashes: np.ndarray
    payloads: pl.Series
    last_seq: int
    imported: bool


def _hashes(payloads: pl.Series) -> np.ndarray:
    return payloads.hash(seed=0).to_numpy()


class _LakeView:
    """The sessions of each date: the lake's, read once per date, plus what this command plans to write."""

    def __init__(self, lake: Path) -> None:
        self.lake = lake
        self.days: dict[date, dict[str, _Known]] = {}

    def sessions(self, day: date) -> dict[str, _Known]:
        if day not in self.days:
            by_session: dict[str, list[pl.DataFrame]] = defaultdict(list)
            for path in raw_segments(self.lake, day):
                df = pl.from_arrow(pq.read_table(path, columns=["seq", "payload"]))
                by_session[session_of_segment(path)].append(df)
            self.days[day] = {}
            for session, parts in by_session.items():
                df = pl.concat(parts).sort("seq")
                self.add(day, session, df["payload"], int(df["seq"][-1]) if df.height else 0)
        return self.days[day]

    def add(self, day: date, session: str, payloads: pl.Series, last_seq: int) -> None:
        known = self.days.setdefault(day, {}).get(session)
        if known is None:
            self.days[day][session] = _Known(_hashes(payloads), payloads, last_seq, session.startswith("import-"))
        else:
            self.days[day][session] = _Known(np.concatenate([known.hashes, _hashes(payloads)]),
                                             pl.concat([known.payloads, payloads]), last_seq, known.imported)


def _overlap(p_hash: np.ndarray, p: pl.Series, q: _Known) -> tuple[str, int] | None:
    """How the frames ``p`` stand to session ``q`` (module rules): ("subset", 0), ("continues", k frames shared),
    ("repeats", index of the first repeated frame of p), or None when no frame is shared."""
    shared = np.isin(p_hash, q.hashes)
    if not shared.any():
        return None
    for i in np.flatnonzero(q.hashes == p_hash[0]):
        n = min(len(q.hashes) - int(i), len(p_hash))
        if np.array_equal(q.hashes[i:i + n], p_hash[:n]) and q.payloads[int(i):int(i) + n].equals(p[:n]):
            if n == len(p_hash):
                return "subset", 0
            if int(i) + n == len(q.hashes):
                return "continues", n
    return "repeats", int(np.flatnonzero(shared)[0])


@dataclass
class _Plan:
    path: Path
    fmt: Format
    session: str
    writes: list[tuple[date, str, int, pa.Table]] = field(default_factory=list)  # (day, session, segment, rows)
    continued: dict[date, str] = field(default_factory=dict)
    already: list[str] = field(default_factory=list)


def _plan_file(view: _LakeView, path: Path, fmt: Format | None) -> _Plan:
    data = path.read_bytes()
    fmt = fmt or detect_format(data[:_SNIFF_BYTES], path)
    session = session_id(data)
    frames = convert(fmt, data, path.name)
    plan = _Plan(path, fmt, session)
    for day, table in raw_tables(frames, session, f"import:{path.name}").items():
        known = view.sessions(day)
        if session in known:
            plan.already.append("already imported")
            continue
        p = pl.Series("payload", table.column("payload").to_pylist(), dtype=pl.String)
        p_hash = _hashes(p)
        decided = False
        for other, q in sorted(known.items()):
            found = _overlap(p_hash, p, q)
            if found is None:
                continue
            kind, n = found
            if kind == "subset":
                plan.already.append(f"already in the lake (session {other})")
            elif kind == "continues" and q.imported:
                seqs = table.column("seq").to_numpy().astype(np.int64)
                new_seq = q.last_seq + (seqs[n:] - seqs[n - 1])
                tail = table.slice(n).set_column(0, "session", pa.array([other] * (len(seqs) - n), pa.string()))
                tail = tail.set_column(1, "seq", pa.array(new_seq, pa.uint64()))
                segment = next_segment(view.lake, day, other) + sum(
                    1 for w in plan.writes if w[0] == day and w[1] == other)
                plan.writes.append((day, other, segment, tail.cast(RAW_FRAME)))
                plan.continued[day] = other
                view.add(day, other, p[n:], int(new_seq[-1]))
            else:
                line = int(seqs_line(table, n if kind == "repeats" else 0))
                what = ("continues capture session" if kind == "continues" else "repeats frames of session")
                raise OverlappingRecording(
                    f"{path.name}: frames for {day} from line {line} on {what} {other} already in the lake; "
                    "importing it would count those frames twice. Import only recordings that repeat a session "
                    "whole or continue an imported one (docs/capture.md, 'Importing a recording again')")
            decided = True
            break
        if not decided:
            plan.writes.append((day, session, SEGMENT, table))
            view.add(day, session, p, int(table.column("seq")[-1].as_py()))
    return plan


def seqs_line(table: pa.Table, index: int) -> int:
    """The ``seq`` (for JSONL: the line number) of row ``index`` of a raw table."""
    return table.column("seq")[index].as_py()


def _write(lake: Path, plan: _Plan) -> ImportResult:
    written, frames = [], defaultdict(int)
    for day, session, segment, table in plan.writes:
        written.append(write_raw_segment(lake, day, session, segment, table))
        frames[day] += table.num_rows
    reason = None
    if not plan.writes:
        reason = plan.already[0] if len(set(plan.already)) == 1 else "; ".join(sorted(set(plan.already)))
    return ImportResult(plan.path, plan.fmt, plan.session, frames=dict(frames), skipped_reason=reason,
                        segments=tuple(written), continued=dict(plan.continued))


def import_file(lake: Path, path: Path, fmt: Format | None = None) -> ImportResult:
    """Import one recording into the lake (see the module rules).

    Parameters
    ----------
    lake : lake root.
    path : the recording.
    fmt : its format when already recognised; detected from the content otherwise.

    Returns
    -------
    ImportResult : frames written per date, or ``skipped_reason`` ("already imported", "already in the lake
        (session S)").

    Raises
    ------
    FileNotFoundError, IsADirectoryError : ``path`` is not a file.
    UnrecognisedRecording : not an importable format.
    OverlappingRecording : it repeats frames of another session (module rules).
    ValueError : the file is of a known format but unusable (no trading date, bad CSV cell...).
    """
    path = Path(path)
    _check_file(path)
    return _write(lake, _plan_file(_LakeView(lake), path, fmt))


def import_paths(lake: Path, paths: list[Path]) -> list[ImportResult]:
    """Import recordings into the lake, in the order given, all or nothing.

    Every path is checked, recognised, converted and compared with the lake (module rules) before anything is
    written, so a typo, a wrong file, a bad cell or an overlapping recording aborts the whole command without a
    partial import.

    Parameters
    ----------
    lake : lake root (``Settings.lake``).
    paths : recording files (JSONL of SSI Broadcast arguments or KBS tick CSV).

    Returns
    -------
    list[ImportResult] : one per path, same order. A file given twice (or two copies of the same bytes) is
        imported once; the later ones report ``"already imported"``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, UnrecognisedRecording, OverlappingRecording, ValueError : see
        :func:`import_file`.
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        _check_file(p)
    formats = [detect_format(_read_head(p), p) for p in paths]
    view = _LakeView(lake)
    plans = [_plan_file(view, p, fmt) for p, fmt in zip(paths, formats, strict=True)]
    return [_write(lake, plan) for plan in plans]
