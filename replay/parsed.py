"""The lake's parsed layer: per date, the parsed per-channel tables of ``transforms.parse.parse_frames`` as Parquet.

Raw stays the source of truth (docs/analytics.md §1); this layer only saves re-decoding JSON. Layout::

    parsed/date=YYYY-MM-DD/<key>/<table>.parquet     x_trade, x_quote, x, foreign_room, index, bar, status,
                                                     odd_lot, quarantine (schemas: transforms.schemas)
    parsed/date=YYYY-MM-DD/<key>/manifest.json       parser version, raw fingerprint, segments, row counts

``key`` is a digest of the parser version (``transforms.parse.PARSER_VERSION``, the source of the parsing
modules and the Polars version) and of the raw fingerprint (name, size and modification time of every sealed
segment of the date). A reader computes the key from the lake as it is now and reads only that directory, so the
layer is never stale: a new or rewritten segment (sealing, compaction) or a new parser means a new key, and the
first reader parses raw again and writes the new directory. A directory is published whole (written under a
temporary name, then renamed), older keys of the date are removed after a publish; ``*.tmp`` is never read.
Every Parquet file also carries the version and fingerprint in its key-value metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl

import transforms.content
import transforms.envelope
import transforms.parse
import transforms.schemas
from storage import lake as lake_io
from transforms.parse import parse_frames
from transforms.schemas import PARSED

__all__ = ["TABLES", "parsed_day_dir", "parser_digest", "raw_fingerprint", "read_parsed", "load_parsed"]

TABLES = [name for name, _ in PARSED.values()] + ["quarantine"]
_COMPRESSION = "lz4"  # read speed first: the layer is re-derivable from raw


def parsed_day_dir(lake: Path, day: date) -> Path:
    """``lake/parsed/date=YYYY-MM-DD``."""
    return Path(lake) / "parsed" / f"date={day:%Y-%m-%d}"


def parser_digest() -> str:
    """The parser identity: ``PARSER_VERSION`` + a digest of the parsing modules' source and the Polars version."""
    h = hashlib.sha256()
    for mod in (transforms.parse, transforms.envelope, transforms.content, transforms.schemas):
        h.update(Path(mod.__file__).read_bytes())
    h.update(pl.__version__.encode())
    return f"{transforms.parse.PARSER_VERSION}-{h.hexdigest()[:16]}"


def _segments(lake: Path, day: date) -> list[str]:
    out = []
    for p in lake_io.raw_segments(lake, day):
        st = p.stat()
        out.append(f"{p.name} {st.st_size} {st.st_mtime_ns}")
    return out


def raw_fingerprint(lake: Path, day: date) -> str:
    """Digest of the date's sealed raw segments (name, size, mtime_ns of each): changes whenever a segment is
    added, removed or rewritten (segments are published by rename, so a rewrite always has a new mtime)."""
    return _fingerprint(_segments(lake, day))


def _fingerprint(segments: list[str]) -> str:
    return hashlib.sha256("\n".join(segments).encode()).hexdigest()[:32]


def _key(version: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{version}\0{fingerprint}".encode()).hexdigest()[:24]


def read_parsed(lake: Path, day: date) -> dict[str, pl.DataFrame] | None:
    """The date's parsed tables if the layer matches the current parser and raw segments, else None.

    Returns
    -------
    ``{table: frame}`` for ``TABLES`` (exact schemas of ``transforms.schemas.PARSED`` / ``QUARANTINE``), or None
    when the layer is missing or was built from other raw segments or by another parser.
    """
    d = parsed_day_dir(lake, day) / _key(parser_digest(), raw_fingerprint(lake, day))
    try:
        return {name: pl.read_parquet(d / f"{name}.parquet") for name in TABLES}
    except (FileNotFoundError, OSError):  # missing, or pruned by a concurrent publish: the caller parses raw
        return None


def load_parsed(lake: Path, day: date) -> tuple[dict[str, pl.DataFrame], int]:
    """The date's parsed tables: from the parsed layer when fresh, else parsed from raw and written to it.

    Returns
    -------
    (tables, frames): ``tables`` as ``transforms.parse.parse_frames`` returns them for ``lake_io.read_raw``;
    ``frames`` the number of raw frames they cover (rows of all tables together).
    """
    segments = _segments(lake, day)  # before reading raw: the key is never newer than the tables
    version, fingerprint = parser_digest(), _fingerprint(segments)
    key = _key(version, fingerprint)
    d = parsed_day_dir(lake, day) / key
    try:
        tables = {name: pl.read_parquet(d / f"{name}.parquet") for name in TABLES}
    except (FileNotFoundError, OSError):
        raw = lake_io.read_raw(lake, day)
        tables = parse_frames(raw, day)
        if raw.height:
            _publish(lake, day, key, {"parser_version": version, "raw_fingerprint": fingerprint}, segments, tables)
    return tables, sum(t.height for t in tables.values())


def _publish(lake: Path, day: date, key: str, meta: dict[str, str], segments: list[str],
             tables: dict[str, pl.DataFrame]) -> None:
    base = parsed_day_dir(lake, day)
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{key}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()
    try:
        for name in TABLES:
            tables[name].write_parquet(tmp / f"{name}.parquet", compression=_COMPRESSION, metadata=meta)
        manifest = {**meta, "trading_date": day.isoformat(), "segments": segments,
                    "rows": {name: tables[name].height for name in TABLES}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        try:
            os.rename(tmp, base / key)
        except OSError:  # a concurrent writer published the same key first: theirs is equal
            return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    now = time.time()
    for old in base.iterdir():  # older keys; temp dirs of writers that died (an hour old)
        if old.name == key or not old.is_dir():
            continue
        if old.name.startswith(".") and now - old.stat().st_mtime < 3600:
            continue
        shutil.rmtree(old, ignore_errors=True)
