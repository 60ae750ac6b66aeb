"""The lake on disk: one function per path, and atomic Parquet reads and writes.

Layout (docs/architecture.md §3; the root is ``Settings.lake``, default ``./lake``)::

    raw/date=YYYY-MM-DD/<session>-<segment:06d>.parquet   sealed raw segments (zstd), append-only
    events/date=YYYY-MM-DD/...                            capture events
    quarantine/date=YYYY-MM-DD/quarantine.parquet         frames that failed to parse, with the reason
    quarantine/date=YYYY-MM-DD/segments/<segment>          raw segments found unreadable, moved aside
    curated/date=YYYY-MM-DD/<table>.parquet               rebuilt by the daily flow from raw, with
    curated/date=YYYY-MM-DD/_manifest.json                 its completion manifest (written last)

Every write goes to a temporary file ``<name>.<random>.tmp`` in the target directory, is fsynced, then published
under its final name in one rename, so a reader never sees a half-written file and readers ignore ``*.tmp``.
Raw segments are append-only: publishing one that exists raises, even when two writers race (the publish is a
hard link, which fails atomically if the name is taken).

A day's curated set is published whole (:func:`write_curated_day`): staged in ``curated/.stage-<date>-<pid>-<hex>``
with its manifest, then swapped in by rename; a crash leaves the previous set, never a mix, and the next run
removes what a dead process left (:func:`clean_stale`). docs/reliability.md has the rules.

Only pyarrow / polars; no clocks, no settings: the lake root is always passed in.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from storage.schemas import RAW_FRAME, RAW_FRAME_PL

COMPRESSION = "zstd"
_SEGMENT_NAME = re.compile(r"^(?P<session>.+)-(?P<segment>\d{6,})\.parquet$")
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")

# ------------------------------------------------------------------------------------------------------- paths


def _date_dir(lake: Path, area: str, day: date) -> Path:
    return Path(lake) / area / f"date={day:%Y-%m-%d}"


def raw_day_dir(lake: Path, day: date) -> Path:
    """``lake/raw/date=YYYY-MM-DD``: the sealed raw segments of one trading date."""
    return _date_dir(lake, "raw", day)


def raw_segment_path(lake: Path, day: date, session: str, segment: int) -> Path:
    """``lake/raw/date=YYYY-MM-DD/<session>-<segment:06d>.parquet``.

    Parameters
    ----------
    lake : lake root.
    day : trading date (partition).
    session : capture session id; must not contain a path separator.
    segment : segment number, >= 0, zero-padded to 6 digits.

    Raises
    ------
    ValueError : on an empty session, a session with ``/``, or a negative segment.
    """
    if not session or "/" in session or os.sep in session:
        raise ValueError(f"session id {session!r} must be a non-empty name without a path separator")
    if segment < 0:
        raise ValueError(f"segment must be >= 0, got {segment}")
    return raw_day_dir(lake, day) / f"{session}-{segment:06d}.parquet"


def events_day_dir(lake: Path, day: date) -> Path:
    """``lake/events/date=YYYY-MM-DD``: capture events of one date (schema ``storage.schemas.EVENT``)."""
    return _date_dir(lake, "events", day)


def quarantine_path(lake: Path, day: date) -> Path:
    """``lake/quarantine/date=YYYY-MM-DD/quarantine.parquet``: that date's unparseable frames and their reason."""
    return _date_dir(lake, "quarantine", day) / "quarantine.parquet"


def dq_results_path(lake: Path, day: date) -> Path:
    """``lake/dq/date=YYYY-MM-DD/dq_results.parquet``: the date's last validation results (``DQ_RESULTS``)."""
    return _date_dir(lake, "dq", day) / "dq_results.parquet"


def curated_path(lake: Path, day: date, table: str) -> Path:
    """``lake/curated/date=YYYY-MM-DD/<table>.parquet``.

    Raises
    ------
    ValueError : when ``table`` is not a plain name (letters, digits, ``_``).
    """
    if not _TABLE_NAME.match(table):
        raise ValueError(f"curated table name {table!r} must be letters, digits and '_' only (e.g. 'trades')")
    return _date_dir(lake, "curated", day) / f"{table}.parquet"


# ------------------------------------------------------------------------------------------------ atomic write


def atomic_write(path: Path, write: Callable[[Path], None], *, overwrite: bool) -> Path:
    """Write through ``write(tmp)`` to a temp file beside ``path``, fsync it, then publish it as ``path``.

    ``overwrite=True`` publishes with ``os.replace``. ``overwrite=False`` publishes with a hard link, which fails
    if ``path`` exists (no reader or racing writer ever loses a file); where the filesystem has no hard links it
    falls back to a check followed by ``os.replace``. The temp file never survives, even on error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise FileExistsError(_exists_message(path))
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(_exists_message(path)) from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                if path.exists():
                    raise FileExistsError(_exists_message(path)) from None
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return path


def _exists_message(path: Path) -> str:
    return (
        f"{path} already exists: raw segments are append-only and never rewritten; "
        "write the frames to the next segment number instead"
    )


def fsync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: some platforms cannot open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, obj: dict) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (temp file, fsync, rename), replacing any previous file.

    Used for the pointers and checkpoints other processes read while it is written (CURRENT.json, CHECKPOINT.json).
    """
    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(obj, default=str), encoding="utf-8")
    return atomic_write(Path(path), write, overwrite=True)


def write_table(path: Path, df: pl.DataFrame) -> Path:
    """Write a frame to ``path`` as zstd Parquet, atomically, replacing any previous file.

    Used for curated and quarantine outputs, which the daily flow rebuilds from raw.

    Parameters
    ----------
    path : target ``.parquet`` file; parent directories are created.
    df : any Polars frame; its schema is written as is.

    Returns
    -------
    Path : ``path``.
    """
    return atomic_write(Path(path), lambda tmp: df.write_parquet(tmp, compression=COMPRESSION), overwrite=True)


# --------------------------------------------------------------------------------------------------------- raw


def validate_raw_table(table: pa.Table, session: str | None = None) -> None:
    """Check a table is a valid batch of raw frames.

    Parameters
    ----------
    table : Arrow table to check.
    session : when given, every row's ``session`` must equal it (a segment holds one session).

    Raises
    ------
    ValueError : columns or types differ from ``RAW_FRAME``; a required column holds nulls; rows of another
        session; ``seq`` not strictly increasing. Each message says how to fix it.
    """
    got = [(f.name, f.type) for f in table.schema]
    want = [(f.name, f.type) for f in RAW_FRAME]
    if got != want:
        raise ValueError(
            f"raw frames must have exactly the schema storage.schemas.RAW_FRAME {want}, got {got}; "
            "build the table with pa.table(columns, schema=RAW_FRAME), or from Polars with raw_table_from_polars(df)"
        )
    for field in RAW_FRAME:
        if not field.nullable and table.column(field.name).null_count:
            nulls = table.column(field.name).null_count
            raise ValueError(f"raw column {field.name!r} must not contain nulls ({nulls} found); fill it or drop the rows")
    if session is not None and table.num_rows:
        sessions = set(table.column("session").unique().to_pylist())
        if sessions != {session}:
            raise ValueError(
                f"segment of session {session!r} holds rows of sessions {sorted(sessions)}; split the rows by session"
            )
    seq = table.column("seq").to_numpy()
    if len(seq) > 1:
        bad = (seq[1:] <= seq[:-1]).nonzero()[0]
        if len(bad):
            i = int(bad[0]) + 1
            raise ValueError(
                f"seq must strictly increase within a segment (row {i}: seq={int(seq[i])} after {int(seq[i - 1])}); "
                "sort by (session, seq) and drop duplicate seq before writing"
            )


def raw_table_from_polars(df: pl.DataFrame) -> pa.Table:
    """A Polars frame of raw frames (e.g. from :func:`read_raw`) as an Arrow table of exactly ``RAW_FRAME``.

    Polars exports strings as ``large_string``; this casts them back to the declared ``string``.

    Raises
    ------
    ValueError : the frame lacks a ``RAW_FRAME`` column.
    """
    missing = [c for c in RAW_FRAME_PL.names() if c not in df.columns]
    if missing:
        raise ValueError(f"not raw frames: missing columns {missing} (expected {RAW_FRAME_PL.names()})")
    return df.select(RAW_FRAME_PL.names()).cast(dict(RAW_FRAME_PL)).to_arrow().cast(RAW_FRAME)


def write_raw_segment(lake: Path, day: date, session: str, segment: int, table: pa.Table) -> Path:
    """Seal a batch of raw frames as one segment: zstd Parquet, atomic, never overwritten.

    Parameters
    ----------
    lake : lake root.
    day : trading date the frames belong to (partition).
    session : capture session id; every row's ``session`` must equal it.
    segment : segment number (>= 0); the next free one is :func:`next_segment`.
    table : Arrow table with exactly the schema ``storage.schemas.RAW_FRAME`` (names, order, types; required
        columns without nulls), ``seq`` strictly increasing.

    Returns
    -------
    Path : the sealed segment, ``raw_segment_path(lake, day, session, segment)``.

    Raises
    ------
    ValueError : see :func:`validate_raw_table`.
    FileExistsError : the segment exists already (append-only, docs/architecture.md §3).
    """
    validate_raw_table(table, session)
    path = raw_segment_path(lake, day, session, segment)
    table = table.cast(RAW_FRAME)  # carry the declared nullability into the file
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression=COMPRESSION), overwrite=False)


def raw_segments(lake: Path, day: date, session: str | None = None) -> list[Path]:
    """Sealed segment files of a date (optionally of one session), sorted by name; ``*.tmp`` never listed."""
    directory = raw_day_dir(lake, day)
    if not directory.is_dir():
        return []
    out = []
    for p in sorted(directory.glob("*.parquet")):
        m = _SEGMENT_NAME.match(p.name)
        if m and (session is None or m["session"] == session):
            out.append(p)
    return out


def session_of_segment(path: Path) -> str:
    """The session id in a raw segment's file name (``<session>-<segment:06d>.parquet``).

    Raises
    ------
    ValueError : the name is not a raw segment's.
    """
    m = _SEGMENT_NAME.match(Path(path).name)
    if m is None:
        raise ValueError(f"{path} is not a raw segment (<session>-<segment:06d>.parquet)")
    return m["session"]


def next_segment(lake: Path, day: date, session: str) -> int:
    """The first unused segment number of ``session`` on ``day`` (0 when it has none)."""
    used = [int(_SEGMENT_NAME.match(p.name)["segment"]) for p in raw_segments(lake, day, session)]
    return max(used) + 1 if used else 0


def read_raw(lake: Path, day: date) -> pl.DataFrame:
    """All sealed raw frames of a date, in arrival order.

    Parameters
    ----------
    lake : lake root.
    day : trading date.

    Returns
    -------
    pl.DataFrame : exactly ``RAW_FRAME_PL`` (session String, seq UInt64, recv_ns Int64, data_type String,
        payload String, cursor String, source String), sorted by (session, seq); empty with that schema when
        the date has no segment. Open segments (``raw/_open``) and ``*.tmp`` files are not read.
    """
    paths = raw_segments(lake, day)
    if not paths:
        return pl.DataFrame(schema=RAW_FRAME_PL)
    frames = [_read_segment(p) for p in paths]
    return pl.concat(frames, how="vertical").sort("session", "seq", maintain_order=True)


class CorruptSegmentError(OSError):
    """A sealed raw segment that cannot be read as ``RAW_FRAME`` (truncated, damaged bytes, wrong columns)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"raw segment {path} is unreadable ({reason}); `vntrack replay` moves such files to "
                         "the quarantine and goes on with the rest")
        self.path, self.reason = Path(path), reason


def _read_segment(path: Path) -> pl.DataFrame:
    """One raw segment as ``RAW_FRAME_PL``; :class:`CorruptSegmentError` naming the file when it cannot be."""
    try:
        df = pl.read_parquet(path)
        return df.cast(dict(RAW_FRAME_PL)).select(RAW_FRAME_PL.names())
    except FileNotFoundError:
        raise
    except Exception as exc:  # Polars/Arrow errors of every kind for damaged bytes
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise CorruptSegmentError(path, reason) from None


@dataclass(frozen=True)
class CorruptSegment:
    """A raw segment moved to the quarantine: its original place, where it went, and why."""

    path: Path
    moved_to: Path
    reason: str


def quarantined_segments_dir(lake: Path, day: date) -> Path:
    """``lake/quarantine/date=YYYY-MM-DD/segments``: unreadable raw segments of a date, moved aside."""
    return _date_dir(lake, "quarantine", day) / "segments"


def quarantined_segments(lake: Path, day: date) -> list[Path]:
    """Raw segments of ``day`` found unreadable and moved aside; non-empty = the day is incomplete."""
    directory = quarantined_segments_dir(lake, day)
    return sorted(p for p in directory.glob("*.parquet")) if directory.is_dir() else []


def quarantine_corrupt_segments(lake: Path, day: date) -> list[CorruptSegment]:
    """Read every sealed raw segment of ``day``; move each unreadable one to the quarantine, with an event.

    The event (``storage.events``, kind ``corrupt_segment``, session from the file name) carries the file name,
    the reason and the new place as JSON in ``detail``. The rest of the day stays readable by :func:`read_raw`.

    Returns
    -------
    list[CorruptSegment] : the segments moved by this call (empty when all were readable).
    """
    from storage.events import write_events  # storage.events builds on this module

    moved = []
    for path in raw_segments(lake, day):
        try:
            _read_segment(path)
        except CorruptSegmentError as exc:
            target_dir = quarantined_segments_dir(lake, day)
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / path.name
            if target.exists():
                target = target_dir / f"{path.stem}.{secrets.token_hex(4)}.parquet"
            os.replace(path, target)
            fsync_dir(path.parent)
            session = _SEGMENT_NAME.match(path.name)["session"]
            write_events(lake, day, session, [{
                "wall_ns": time.time_ns(), "kind": "corrupt_segment",
                "detail": json.dumps({"file": path.name, "reason": exc.reason, "moved_to": str(target)}),
            }])
            moved.append(CorruptSegment(path, target, exc.reason))
    return moved


def lake_dates(lake: Path) -> list[date]:
    """Dates that have at least one sealed raw segment, ascending."""
    root = Path(lake) / "raw"
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        m = _DATE_DIR.match(d.name)
        if m and d.is_dir():
            day = date.fromisoformat(m[1])
            if raw_segments(lake, day):
                out.append(day)
    return sorted(out)


def sessions_in_lake(lake: Path) -> set[str]:
    """Session ids that have at least one sealed raw segment, over every date."""
    return {
        _SEGMENT_NAME.match(p.name)["session"]
        for day in lake_dates(lake)
        for p in raw_segments(lake, day)
    }


# ------------------------------------------------------------------------------------------ curated/quarantine


def write_curated(lake: Path, day: date, tables: Mapping[str, pl.DataFrame]) -> dict[str, Path]:
    """Replace the given curated tables of a date (each written atomically).

    Tables of that date not named in ``tables`` are left alone.

    Parameters
    ----------
    lake : lake root.
    day : trading date.
    tables : ``{table name: frame}``; names are letters, digits and ``_`` (e.g. ``trades``, ``candles_1m``).

    Returns
    -------
    dict[str, Path] : ``{table name: written file}``.

    Raises
    ------
    ValueError : a table name is not a plain name (checked for all before anything is written).
    """
    paths = {name: curated_path(lake, day, name) for name in tables}
    return {name: write_table(paths[name], df) for name, df in tables.items()}


def read_curated(lake: Path, day: date, table: str) -> pl.DataFrame:
    """One curated table of a date.

    Raises
    ------
    FileNotFoundError : the table was not built for that date; the message lists the tables that were.
    """
    path = curated_path(lake, day, table)
    if not path.is_file():
        have = sorted(p.stem for p in path.parent.glob("*.parquet")) if path.parent.is_dir() else []
        raise FileNotFoundError(
            f"no curated table {table!r} for {day:%Y-%m-%d} in {lake} (tables present: {have or 'none'}); "
            "rebuild the day from raw first"
        )
    return pl.read_parquet(path)


CURATED_MANIFEST = "_manifest.json"
DayState = Literal["complete", "incomplete", "partial", "missing"]
_STAGE = re.compile(r"^\.(?P<kind>stage|old)-(?P<day>\d{4}-\d{2}-\d{2})-(?P<pid>\d+)-[0-9a-f]+$")
_TMP = re.compile(r"^.+\.(?:(?P<pid>\d+)-)?[0-9a-f]+\.tmp$")
LEGACY_TMP_AGE_S = 600


def curated_day_dir(lake: Path, day: date) -> Path:
    """``lake/curated/date=YYYY-MM-DD``: one day's curated set."""
    return _date_dir(lake, "curated", day)


def write_curated_day(lake: Path, day: date, tables: Mapping[str, pl.DataFrame], meta: Mapping | None = None
                      ) -> dict[str, Path]:
    """Publish a day's whole curated set at once: stage every table and the manifest, then one swap.

    The set is written into ``curated/.stage-<date>-<pid>-<hex>/`` (every file fsynced), with
    ``_manifest.json`` (``trading_date``, ``tables`` {name: rows}, and ``meta``, e.g. ``frames`` and
    ``incomplete``) written last; then the previous ``date=D`` directory is renamed aside, the stage renamed to
    ``date=D``, and the old one deleted. A reader therefore sees the old set or the new one, never a mix; a crash
    between the two renames leaves the old set aside, which :func:`clean_stale` puts back.

    Parameters
    ----------
    lake : lake root.
    day : trading date.
    tables : ``{table name: frame}``; names are letters, digits and ``_``.
    meta : extra JSON-able keys for the manifest.

    Returns
    -------
    dict[str, Path] : ``{table name: final path}``.

    Raises
    ------
    ValueError : a table name is not a plain name (checked before anything is written).
    """
    final = curated_day_dir(lake, day)
    paths = {name: curated_path(lake, day, name) for name in tables}
    root = final.parent
    root.mkdir(parents=True, exist_ok=True)
    stage = root / f".stage-{day:%Y-%m-%d}-{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()
    try:
        for name, df in tables.items():
            df.write_parquet(stage / paths[name].name, compression=COMPRESSION)
        manifest = {"trading_date": day.isoformat(), "tables": {n: df.height for n, df in tables.items()},
                    **(dict(meta) if meta else {})}
        (stage / CURATED_MANIFEST).write_text(json.dumps(manifest, sort_keys=True, default=str), encoding="utf-8")
        for f in stage.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(stage)
        old = None
        if final.exists():
            old = root / f".old-{day:%Y-%m-%d}-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(final, old)
        os.replace(stage, final)
        fsync_dir(root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return {name: final / p.name for name, p in paths.items()}


def read_manifest(lake: Path, day: date) -> dict | None:
    """The day's curated manifest, or None (never written, or a set from before manifests existed)."""
    path = curated_day_dir(lake, day) / CURATED_MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def curated_day_state(lake: Path, day: date, expected: tuple[str, ...] = ()) -> DayState:
    """What the lake holds of a day's curated set.

    * ``complete``: a manifest (or, for sets written before manifests, every ``expected`` table), and no raw
      segment of the day in the quarantine;
    * ``incomplete``: built, but some raw segments of the day were unreadable (:func:`quarantined_segments`);
    * ``partial``: some tables but neither a manifest nor every expected table (an interrupted legacy write);
    * ``missing``: no curated table at all.
    """
    directory = curated_day_dir(lake, day)
    have = {p.stem for p in directory.glob("*.parquet")} if directory.is_dir() else set()
    manifest = read_manifest(lake, day)
    if manifest is None and not have:
        return "missing"
    if manifest is None and not (expected and set(expected) <= have):
        return "partial"
    return "incomplete" if quarantined_segments(lake, day) or (manifest or {}).get("incomplete") else "complete"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (signal 0; another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(lake: Path, day: date) -> list[Path]:
    """Remove what a dead writer left for ``day``: staged curated sets, ``*.tmp`` files of the curated,
    quarantine and dq folders; and put back a curated set left aside by a crash between the two renames.

    A leftover is stale when the process id in its name is not running (names without one: older than
    10 minutes). Raw segments' ``*.tmp`` are left alone (the capture daemon owns them).

    Returns the paths removed (or restored).
    """
    out: list[Path] = []
    root = Path(lake) / "curated"
    final = curated_day_dir(lake, day)
    if root.is_dir():
        for p in sorted(root.iterdir()):
            m = _STAGE.match(p.name)
            if not m or m["day"] != f"{day:%Y-%m-%d}" or pid_alive(int(m["pid"])):
                continue
            if m["kind"] == "old" and not final.exists():
                os.replace(p, final)
            else:
                shutil.rmtree(p, ignore_errors=True)
            out.append(p)
    for area in ("curated", "quarantine", "dq"):
        directory = _date_dir(lake, area, day)
        if not directory.is_dir():
            continue
        for p in directory.glob("*.tmp"):
            m = _TMP.match(p.name)
            pid = int(m["pid"]) if m and m["pid"] else None
            stale = (not pid_alive(pid)) if pid is not None else (time.time() - p.stat().st_mtime > LEGACY_TMP_AGE_S)
            if stale:
                p.unlink(missing_ok=True)
                out.append(p)
    return out


def write_quarantine(lake: Path, day: date, df: pl.DataFrame) -> Path:
    """Replace a date's quarantine table (raw columns + ``reason``, built by the parsers) atomically."""
    return write_table(quarantine_path(lake, day), df)
