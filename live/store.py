"""The live tables and the checkpoint, written so that a kill -9 at any moment loses and repeats nothing.

Per checkpoint at micro-batch ``n`` (the loop checkpoints every few batches, docs/reliability.md): (1) the row
outputs of the batches since the previous checkpoint go to ``tables/<table>/part-<n>.parquet`` (non-empty tables
only), (2) the engine state after batch ``n`` to ``state/ckpt-<n>/``, (3) ``CHECKPOINT.json`` is replaced
atomically — the commit point, naming ``n``, the state directory, the reader's cursor and the loop's counters.
Everything newer than the checkpoint is garbage and :meth:`LiveStore.recover` deletes it on start, so the batches
since are simply redone (as one batch: any split gives the same rows).

A rebuild (late data, restatement) writes the whole day as batch ``n`` and sets ``base = n``: parts older than
the base are ignored by readers, then deleted. Compaction merges committed parts of a table into
``chunk-<first>-<last>.parquet`` files, in two tiers (readers prefer a chunk over the files it covers), so the
file count stays bounded through the day without rewriting the whole day often.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from storage.lake import fsync_dir, write_json, write_table
from storage import live as paths
from live.source import Cursor
from transforms import schemas
from transforms.incremental import ROW_TABLES, LiveState, initial_state, state_from_tables, state_tables

COMPACT_EVERY = 50
"""Compact a table once it has this many committed parts."""


def row_schema(table: str) -> pl.Schema:
    return schemas.QUARANTINE if table == "quarantine" else schemas.CURATED[table]


@dataclass
class Checkpoint:
    """The committed position of the loop (``CHECKPOINT.json``).

    Attributes
    ----------
    batch : last committed micro-batch number (0: nothing yet).
    base : first batch whose parts are valid (the last rebuild; 1 without one).
    cursor : the reader's watermarks, segments read and seq gaps.
    events : the loop's history of odd data: rebuilds with their reasons, late data, restarts.
    """

    batch: int = 0
    base: int = 1
    cursor: Cursor = field(default_factory=Cursor)
    events: list[dict] = field(default_factory=list)
    newest_recv_ns: int | None = None

    def to_json(self) -> dict:
        return {"batch": self.batch, "base": self.base, "state_dir": f"state/ckpt-{self.batch:09d}",
                "cursor": self.cursor.to_json(), "events": self.events, "newest_recv_ns": self.newest_recv_ns}


class LiveStore:
    """Reads and writes ``lake/live/date=D`` (live/README.md).

    Parameters
    ----------
    lake : lake root.
    day : trading date.
    """

    def __init__(self, lake: Path, day: date) -> None:
        self.lake, self.day = Path(lake), day
        self.root = paths.live_day_dir(lake, day)

    # -------------------------------------------------------------------------------------------- checkpoint
    def checkpoint(self) -> Checkpoint:
        """The committed checkpoint (batch 0 when there is none)."""
        path = paths.checkpoint_path(self.lake, self.day)
        if not path.is_file():
            return Checkpoint()
        d = json.loads(path.read_text(encoding="utf-8"))
        return Checkpoint(int(d["batch"]), int(d["base"]), Cursor.from_json(d["cursor"]), list(d.get("events", [])),
                          d.get("newest_recv_ns"))

    def load(self, futures_override: str | None = None) -> tuple[Checkpoint, LiveState]:
        """The committed checkpoint and state (the start of the day when there is none)."""
        ck = self.checkpoint()
        if ck.batch == 0:
            return ck, initial_state(self.day, futures_override)
        sdir = paths.state_dir(self.lake, self.day, ck.batch)
        meta = json.loads((sdir / "meta.json").read_text(encoding="utf-8"))
        tables = {p.stem: pl.read_ipc(p) for p in sdir.glob("*.arrow")}
        return ck, state_from_tables(tables, meta)

    def recover(self) -> Checkpoint:
        """Delete everything newer than the checkpoint (a batch cut short by a crash) and stale files."""
        ck = self.checkpoint()
        for p, batch in self._row_files():
            if p.name.endswith(".tmp") or (batch is not None and batch > ck.batch):
                p.unlink(missing_ok=True)
        self._prune(ck)
        return ck

    def commit(self, ck: Checkpoint, state: LiveState, outputs: dict[str, pl.DataFrame]) -> None:
        """Write the parts of checkpoint ``ck.batch`` (the rows of every batch since the previous checkpoint; a table
        absent from ``outputs`` has none), the state, then the checkpoint (the atomic commit), then prune.

        Every file is fsynced before ``CHECKPOINT.json`` is renamed over the old one, so after a machine crash the
        checkpoint never names a state or part that is not on disk."""
        for table in ROW_TABLES:
            df = outputs.get(table)
            if df is not None and df.height:
                write_table(paths.part_path(self.lake, self.day, table, ck.batch), df)
        sdir = paths.state_dir(self.lake, self.day, ck.batch)
        if sdir.exists():
            shutil.rmtree(sdir)
        tmp = sdir.with_name(f"{sdir.name}.{secrets.token_hex(4)}.tmp")
        tmp.mkdir(parents=True)
        tables, meta = state_tables(state)
        for name, df in tables.items():
            df.write_ipc(tmp / f"{name}.arrow")
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, sdir)
        fsync_dir(sdir.parent)
        write_json(paths.checkpoint_path(self.lake, self.day), ck.to_json())
        self._prune(ck)

    def _prune(self, ck: Checkpoint) -> None:
        root = paths.state_root(self.lake, self.day)
        if root.is_dir():
            for p in root.iterdir():
                m = paths.STATE_DIR.match(p.name)
                if p.name.endswith(".tmp") or (m and int(m["batch"]) != ck.batch):
                    shutil.rmtree(p, ignore_errors=True)
        for p, batch in self._row_files():
            if batch is not None and batch < ck.base:
                p.unlink(missing_ok=True)

    def _row_files(self):
        """Every file in the row tables' folders, with the batch its name ends at (None: not a part/compact)."""
        for table in ROW_TABLES:
            d = paths.table_dir(self.lake, self.day, table)
            if not d.is_dir():
                continue
            for p in list(d.iterdir()):
                m = paths.PART.match(p.name) or paths.COMPACT.match(p.name)
                yield p, int(m["batch"]) if m else None

    # ---------------------------------------------------------------------------------------------- tables
    def _files(self, table: str, ck: Checkpoint) -> list[tuple[int, int, Path]]:
        """The committed files of a table as (first batch, last batch, path), in batch order, none overlapping:
        a chunk wins over the parts (or smaller chunks) it covers (they are leftovers of a cut-short merge)."""
        d = paths.table_dir(self.lake, self.day, table)
        if not d.is_dir():
            return []
        found = []
        for p in d.iterdir():
            if m := paths.PART.match(p.name):
                found.append((int(m["batch"]), int(m["batch"]), p))
            elif m := paths.COMPACT.match(p.name):
                found.append((int(m["first"]), int(m["batch"]), p))
        out, covered = [], ck.base - 1
        for lo, hi, p in sorted(found, key=lambda f: (f[0], -f[1])):
            if lo > covered and ck.base <= lo and hi <= ck.batch:
                out.append((lo, hi, p))
                covered = hi
        return out

    def read_table(self, table: str, ck: Checkpoint | None = None) -> pl.DataFrame:
        """The committed rows of a live row table, in the order they were appended."""
        ck = ck or self.checkpoint()
        files = self._files(table, ck)
        if not files:
            return schemas.empty(row_schema(table))
        return pl.concat([pl.read_parquet(p) for _, _, p in files], how="vertical").cast(dict(row_schema(table)))

    def compact(self, ck: Checkpoint, *, every: int = COMPACT_EVERY) -> int:
        """Keep the file count bounded, in two tiers: ``every`` parts become one chunk, ``every`` chunks one
        bigger chunk (so a merge rewrites the whole day only once per ``every**2`` batches). Returns the number
        of merges. Safe at any moment: the merged file is published before its inputs are deleted, and readers
        prefer it over them (:meth:`_files`)."""
        done = 0
        for table in ROW_TABLES:
            files = self._files(table, ck)
            parts = [f for f in files if paths.PART.match(f[2].name)]
            chunks = [f for f in files if paths.COMPACT.match(f[2].name)]
            for group in (parts if len(parts) >= every else [], chunks if len(chunks) >= every else []):
                if not group:
                    continue
                df = pl.concat([pl.read_parquet(p) for _, _, p in group], how="vertical")
                target = paths.compact_path(self.lake, self.day, table, group[0][0], group[-1][1])
                write_table(target, df)
                for _, _, p in group:
                    if p != target:
                        p.unlink(missing_ok=True)
                done += 1
        return done

    def file_count(self) -> int:
        """Files under ``tables/`` (what compaction keeps bounded)."""
        d = self.root / "tables"
        return sum(1 for _ in d.rglob("*.parquet")) if d.is_dir() else 0
