"""``vntrack tail``: the micro-batch loop over one trading date (docs/architecture.md §5, contract C3).

On new data (file-system events on ``lake/raw``), and at least every interval: read what is durable since the
cursor (:mod:`live.source`), run one engine step (:func:`transforms.incremental.step`), publish the snapshot
(:func:`storage.live.publish`), and every ``checkpoint_s`` seconds commit the rows of the batches since the last
checkpoint + the state + the cursor (:mod:`live.store`), off the latency path in a writer thread. A crash between
checkpoints loses nothing: the restart redoes those batches from the checkpoint's cursor over the same durable raw
frames, and any split of a day into batches gives the same rows (docs/reliability.md). Late data that would break
arrival order, and batches that would restate emitted
rows, trigger a rebuild: the whole day's durable frames in one step from a fresh state, which is exactly the
batch run; the rebuild and its reason are kept in the checkpoint, the health snapshot and ``replay --verify``.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from storage.events import read_events
from storage import live as paths
from storage.lake import events_day_dir, write_json
from storage.live import SNAPSHOT_TABLES, next_version, publish
from live.source import Cursor, Poll, Waker, advance, poll, read_all
from live.store import Checkpoint, LiveStore
from market.calendar import market_sessions
from transforms import schemas
from transforms.incremental import ROW_TABLES, Restatement, initial_state, snapshot_tables, step

log = logging.getLogger("vntrack.tail")
_WHOLE_DAY = ("indices", "basis", "alerts", "foreign_flow")  # row tables the snapshot shows in full


@dataclass(frozen=True)
class BatchResult:
    """What one iteration did: ``frames`` applied (0: nothing new), ``rebuilt`` (with reasons), timing."""

    batch: int
    frames: int
    rebuilt: tuple[str, ...]
    batch_ms: float


class TailLoop:
    """The live loop of one date; ``start`` recovers from the last checkpoint, ``run_once`` does one batch.

    Parameters
    ----------
    lake : lake root.
    day : trading date.
    futures_override : front-month override (``VNTRACK_FUTURES_OVERRIDE``).
    compact_every : parts per table before compaction.
    checkpoint_s : seconds between checkpoints (``VNTRACK_TAIL_CHECKPOINT_INTERVAL``). 0: a checkpoint after every
        batch, written in line after the publication (what the in-process tests read back at once); > 0: the first
        batch after start and then every ``checkpoint_s`` seconds, written by a background thread while the loop
        goes on (a rebuild and a stop checkpoint at once). :meth:`checkpoint` forces one and waits for it.
    """

    def __init__(self, lake: Path, day: date, *, futures_override: str | None = None, compact_every: int = 50,
                 checkpoint_s: float = 0.0):
        if checkpoint_s < 0:
            raise ValueError(f"checkpoint_s must be >= 0 seconds, got {checkpoint_s}")
        self.lake, self.day, self.futures_override = Path(lake), day, futures_override
        self.store = LiveStore(lake, day)
        self.compact_every = compact_every
        self.checkpoint_s = checkpoint_s
        self._pending: dict[str, list[pl.DataFrame]] = {t: [] for t in ROW_TABLES}  # rows not checkpointed yet
        self._pending_batches = 0
        self._last_checkpoint = float("-inf")  # monotonic time of the last checkpoint started
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        self.committed_batch = 0  # the batch of the last durable checkpoint
        self.checkpoint_ms = 0.0
        self._rates: collections.deque[tuple[float, int]] = collections.deque()
        self._last_applied_wall: float | None = None
        self._last_poll: Poll | None = None
        self.batch_ms = 0.0
        self.publish_ms = 0.0
        self._changed: set[str] | None = None  # snapshot tables changed since the last publication (None: all)
        self.lag_ms: float | None = None

    # ----------------------------------------------------------------------------------------------- start
    def start(self) -> None:
        """Delete what a crash left beyond the checkpoint, load state and the day's tables so far."""
        self.store.recover()
        self.ck, self.state = self.store.load(self.futures_override)
        self.committed_batch = self.ck.batch
        self.ck.events.append({"kind": "start", "wall_ns": time.time_ns(), "batch": self.ck.batch, "pid": os.getpid()})
        if self.ck.batch:  # the same commit point, now also recording this start
            write_json(paths.checkpoint_path(self.lake, self.day), self.ck.to_json())
        self.whole = {t: self.store.read_table(t, self.ck) for t in _WHOLE_DAY}
        self._newest_recv_ns = self.ck.newest_recv_ns
        self.version = next_version(self.lake, self.day)
        log.info("tail %s: resuming after batch %d (%d frames)", self.day, self.ck.batch, self.state.frames_total)

    # ------------------------------------------------------------------------------------------------ loop
    def run_once(self) -> BatchResult:
        """Read, step, commit, publish. Returns what was done."""
        started = time.perf_counter()
        p = poll(self.lake, self.day, self.ck.cursor)
        self._last_poll = p
        rebuilt: tuple[str, ...] = ()
        frames = 0
        if p.late:
            rebuilt = p.late
        elif p.rows.height:
            try:
                state, out = step(self.state, p.rows)
            except Restatement as e:
                rebuilt = (e.reason,)
            else:
                self._apply(Checkpoint(self.ck.batch + 1, self.ck.base, advance(self.ck.cursor, p), self.ck.events),
                            state, out, p.rows)
                frames = p.rows.height
        if rebuilt:
            frames = self._rebuild(rebuilt)
        self.batch_ms = (time.perf_counter() - started) * 1000 if frames else self.batch_ms
        if frames:
            self.lag_ms = (time.time_ns() - self._batch_newest_ns) / 1e6
        self._publish()  # first: the snapshot is derived, the checkpoint below is what must be durable
        if self._pending_batches and (rebuilt or self.checkpoint_s == 0
                                      or time.monotonic() - self._last_checkpoint >= self.checkpoint_s):
            self._start_checkpoint(background=self.checkpoint_s > 0 and not rebuilt)
        return BatchResult(self.ck.batch, frames, rebuilt, self.batch_ms)

    def run(self, interval_s: float = 1.0, *, stop_when_idle_s: float | None = None,
            max_batches: int | None = None, should_stop=lambda: False, wake_on_data: bool = True) -> None:
        """Loop until ``should_stop()``, ``max_batches`` batches with frames, or ``stop_when_idle_s`` seconds
        without new frames and without open journals of the date.

        A batch runs as soon as capture writes to ``lake/raw`` (``live.source.Waker``: file-system events), and at
        the latest ``interval_s`` after the previous one; ``wake_on_data=False`` keeps the fixed interval."""
        self.start()
        done, idle_since = 0, time.monotonic()
        next_at = time.monotonic()
        waker = Waker(self.lake) if wake_on_data else None
        try:
            while not should_stop():
                r = self.run_once()
                if r.frames or (self._last_poll and self._last_poll.journals):
                    idle_since = time.monotonic()
                done += 1 if r.frames else 0
                if max_batches is not None and done >= max_batches:
                    break
                if stop_when_idle_s is not None and time.monotonic() - idle_since >= stop_when_idle_s:
                    break
                next_at += interval_s
                if waker is not None and waker.wait(next_at - time.monotonic()):
                    next_at = time.monotonic()  # woken by data: the upper bound counts from now
                elif waker is None:
                    time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic() - interval_s)
        finally:
            if waker is not None:
                waker.close()
            self.checkpoint()
            self._publish(stopped=True)

    # ---------------------------------------------------------------------------------------------- commit
    def checkpoint(self) -> None:
        """Make everything applied so far durable now (parts, state, ``CHECKPOINT.json``) and wait for it.

        Raises
        ------
        OSError (or whatever the store raised) : a checkpoint written in the background failed.
        """
        if self._pending_batches:
            self._start_checkpoint(background=False)
        else:
            self._join_writer()

    def _start_checkpoint(self, *, background: bool) -> None:
        """Hand the batches applied since the last checkpoint to the store, as batch ``self.ck.batch``: each row
        table's rows of those batches become one part. At most one checkpoint is written at a time; when one is
        still running in the background, a background request waits for the next batch instead."""
        if background and self._writer is not None and self._writer.is_alive():
            return
        self._join_writer()
        ck = Checkpoint(self.ck.batch, self.ck.base, self.ck.cursor, list(self.ck.events), self.ck.newest_recv_ns)
        out = {t: (pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0])
               for t, parts in self._pending.items() if parts}
        state = self.state
        self._pending = {t: [] for t in ROW_TABLES}
        self._pending_batches = 0
        self._last_checkpoint = time.monotonic()
        if background:
            self._writer = threading.Thread(target=self._write_checkpoint, args=(ck, state, out),
                                            name="tail-checkpoint", daemon=True)
            self._writer.start()
        else:
            self._write_checkpoint(ck, state, out)
            self._raise_writer_error()

    def _write_checkpoint(self, ck: Checkpoint, state, out: dict[str, pl.DataFrame]) -> None:
        started = time.perf_counter()
        try:
            self.store.commit(ck, state, out)
            self.committed_batch = ck.batch
            if self.store.compact(ck, every=self.compact_every):
                log.info("compacted live tables at batch %d", ck.batch)
        except BaseException as e:  # re-raised in the loop's thread (_raise_writer_error)
            self._writer_error = e
        self.checkpoint_ms = (time.perf_counter() - started) * 1000

    def _join_writer(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        self._raise_writer_error()

    def _raise_writer_error(self) -> None:
        if self._writer_error is not None:
            e, self._writer_error = self._writer_error, None
            raise e

    def _apply(self, ck: Checkpoint, state, out: dict[str, pl.DataFrame], rows: pl.DataFrame,
               *, replace_all: bool = False) -> None:
        """Take a batch's result as the loop's position; its rows wait in memory for the next checkpoint
        (``replace_all``: a rebuild, whose rows are the whole day and replace what was pending)."""
        ck.newest_recv_ns = max(self._newest_recv_ns or 0, int(rows.get_column("recv_ns").max()))
        if replace_all:
            self._pending = {t: [] for t in ROW_TABLES}
            self._pending_batches = 0
        for t in ROW_TABLES:
            if out[t].height:
                self._pending[t].append(out[t])
        self._pending_batches += 1
        self.ck, self.state = ck, state
        if self._changed is not None:
            self._changed |= _touched(out, rows) if not replace_all else set(SNAPSHOT_TABLES)
        for t in _WHOLE_DAY:
            self.whole[t] = out[t] if replace_all else pl.concat([self.whole[t], out[t]], how="vertical")
        now = time.time()
        self._rates.append((now, rows.height))
        self._last_applied_wall = now
        newest = int(rows.get_column("recv_ns").max())
        self._newest_recv_ns = max(self._newest_recv_ns or 0, newest)
        self._batch_newest_ns = newest

    def _rebuild(self, reasons: tuple[str, ...]) -> int:
        """The whole day's durable frames in one step from a fresh state (= the batch run)."""
        log.warning("rebuilding %s from raw: %s", self.day, "; ".join(reasons))
        rows, segments = read_all(self.lake, self.day)
        state, out = step(initial_state(self.day, self.futures_override), rows)
        n = self.ck.batch + 1
        cursor = advance(Cursor(), Poll(rows, segments, (), (), ()))
        events = [*self.ck.events, {"kind": "rebuild", "wall_ns": time.time_ns(), "batch": n,
                                    "frames": rows.height, "reasons": list(reasons)}]
        self._join_writer()  # a checkpoint in flight finishes first; the rebuild's one supersedes it
        self._apply(Checkpoint(n, n, cursor, events), state, out, rows, replace_all=True)
        return rows.height

    # --------------------------------------------------------------------------------------------- publish
    def health(self, *, stopped: bool = False) -> dict:
        """The C3 health object (plus this loop's extra keys: batches, rebuilds, late_data, seq_gaps, ...)."""
        now = time.time()
        while self._rates and self._rates[0][0] < now - 10:
            self._rates.popleft()
        kinds = self._event_kinds()
        count = kinds.get
        newest = self._newest_recv_ns
        rebuilds = [e for e in self.ck.events if e["kind"] == "rebuild"]
        p = self._last_poll
        return {
            "lag_ms": round(self.lag_ms, 1) if self.lag_ms is not None else None,
            "frames_per_s": round(sum(n for _, n in self._rates) / 10, 1),
            "last_frame_age_s": round((time.time_ns() - newest) / 1e9, 3) if newest else None,
            "frames_total": self.state.frames_total,
            "quarantined_total": self.state.quarantined_total,
            "sessions": list(self.state.sessions),
            "gaps": count("gap", 0),
            "reconnects": count("reconnect", 0),
            "watermarks": dict(sorted(self.ck.cursor.watermarks.items())),
            "batch_ms": round(self.batch_ms, 1),
            "publish_ms": round(self.publish_ms, 1),
            "checkpoint_batch": self.committed_batch,
            "checkpoint_ms": round(self.checkpoint_ms, 1),
            "state": "stopped" if stopped else "running",
            "trading_date": self.day.isoformat(),
            "batch": self.ck.batch,
            "rebuilds": len(rebuilds),
            "late_data": [r for e in rebuilds for r in e["reasons"]][-10:],
            "seq_gaps": sum(len(v) for v in self.ck.cursor.seq_gaps.values()),
            "open_journals": list(p.journals) if p else [],
            "torn_journals": list(p.torn) if p else [],
            "restarts": sum(1 for e in self.ck.events if e["kind"] == "start") - 1,
            "market_session": self.market_session(),
        }

    def market_session(self) -> dict | None:
        """``{"as_of": exchange time (ISO), <exchange>: state}`` at the newest exchange time the day's data reaches
        (board rows, index rows), by :func:`market.calendar.market_sessions`; None before any."""
        times = [t for t in (
            self.state.board.get_column("last_exch_time").max() if self.state.board is not None
            and self.state.board.height else None,
            self.whole["indices"].get_column("exch_time").max() if self.whole["indices"].height else None,
        ) if t is not None]
        if not times:
            return None
        as_of = max(times)
        return {"as_of": as_of.isoformat(), **market_sessions(as_of)}

    def _event_kinds(self) -> dict[str, int]:
        """Capture events of the date per kind (C2), re-read only when the set of event files changed."""
        directory = events_day_dir(self.lake, self.day)
        names = frozenset(p.name for p in directory.glob("*.parquet")) if directory.is_dir() else frozenset()
        if names != getattr(self, "_event_files", None):
            events = read_events(self.lake, self.day)
            self._kinds = dict(events.group_by("kind").len().iter_rows()) if events.height else {}
            self._event_files = names
        return self._kinds

    def _publish(self, *, stopped: bool = False) -> None:
        """Publish a version; tables the batches since the last one did not touch are linked, not rewritten."""
        started = time.perf_counter()
        changed, self._changed = self._changed, set()
        reuse = frozenset() if changed is None else frozenset(t for t in SNAPSHOT_TABLES if t not in changed)
        publish(self.lake, self.day, self.version, lambda: {**snapshot_tables(self.state), **self.whole},
                self.health(stopped=stopped), schemas=schemas.CURATED, reuse=reuse)
        self.version += 1
        self.publish_ms = (time.perf_counter() - started) * 1000


def _touched(out: dict[str, pl.DataFrame], rows: pl.DataFrame) -> set[str]:
    """The snapshot tables a batch can have changed (the board changes with any frame of a symbol)."""
    touched = {"board"}
    if out["trades"].height:
        touched |= {"session_stats", "candles_1m"}
    if out["foreign_flow"].height:
        touched |= {"foreign_summary", "foreign_by_sector", "foreign_flow"}
    touched |= {t for t in ("indices", "basis", "alerts") if out[t].height}
    return touched


def read_checkpoint(lake: Path, day: date) -> dict | None:
    """``CHECKPOINT.json`` of a date, or None."""
    path = paths.checkpoint_path(lake, day)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


__all__ = ["ROW_TABLES", "BatchResult", "TailLoop", "read_checkpoint"]
