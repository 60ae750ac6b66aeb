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
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import pyarrow as pa

from capture import import_jsonl, import_kbs
from storage.lake import raw_segment_path, write_raw_segment
from storage.schemas import RAW_FRAME, ImportedFrame

Format = Literal["ssi-jsonl", "kbs-ticks-csv"]
SEGMENT = 0
_SNIFF_BYTES = 1 << 20  # enough for the header line or ~500 Broadcast arguments
_SNIFF_LINES = 100


class UnrecognisedRecording(ValueError):
    """A file that is neither of the importable formats."""


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_paths` did with one file.

    Attributes
    ----------
    path : the file.
    format : the recognised format.
    session : its session id (``import-<sha16>``).
    frames : ``{trading date: frames written}`` by this call; empty when skipped.
    skipped_reason : why nothing was written (``"already imported"``), else None.
    segments : the segment files written by this call.
    """

    path: Path
    format: Format
    session: str
    frames: dict[date, int] = field(default_factory=dict)
    skipped_reason: str | None = None
    segments: tuple[Path, ...] = ()


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


def import_file(lake: Path, path: Path, fmt: Format | None = None) -> ImportResult:
    """Import one recording into the lake (see the module rules).

    Parameters
    ----------
    lake : lake root.
    path : the recording.
    fmt : its format when already recognised; detected from the content otherwise.

    Returns
    -------
    ImportResult : frames written per date, or ``skipped_reason="already imported"``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError : ``path`` is not a file.
    UnrecognisedRecording : not an importable format.
    ValueError : the file is of a known format but unusable (no trading date, bad CSV cell...).
    """
    path = Path(path)
    _check_file(path)
    data = path.read_bytes()
    fmt = fmt or detect_format(data[:_SNIFF_BYTES], path)
    session = session_id(data)
    frames = convert(fmt, data, path.name)
    tables = raw_tables(frames, session, f"import:{path.name}")
    missing = {day: t for day, t in tables.items() if not raw_segment_path(lake, day, session, SEGMENT).exists()}
    if not missing:
        return ImportResult(path, fmt, session, skipped_reason="already imported")
    written = tuple(write_raw_segment(lake, day, session, SEGMENT, t) for day, t in missing.items())
    return ImportResult(path, fmt, session, frames={d: t.num_rows for d, t in missing.items()}, segments=written)


def import_paths(lake: Path, paths: list[Path]) -> list[ImportResult]:
    """Import recordings into the lake, in the order given.

    Every path is checked and recognised before anything is written, so a typo or a wrong file aborts the
    whole command without a partial import.

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
    FileNotFoundError, IsADirectoryError, UnrecognisedRecording, ValueError : see :func:`import_file`.
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        _check_file(p)
    formats = [detect_format(_read_head(p), p) for p in paths]
    return [import_file(lake, p, fmt) for p, fmt in zip(paths, formats, strict=True)]
