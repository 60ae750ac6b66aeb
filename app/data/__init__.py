"""The app's one data-access module: every page reads through these cached functions, nothing else.

* Live pages: :func:`current_snapshot` -> the replay cursor's snapshot when a replay runs in this browser
  session, else the newest live snapshot (contract C3) or finished day (``app.data.snapshot``).
* History pages: :func:`history` (a DuckDB connection, ``st.cache_resource``) and the ``history_*`` results
  (``st.cache_data`` with a TTL and ``max_entries``).
* Pipeline health: :func:`capture_events`, :func:`quarantine`, :func:`flow_runs`.

Caches are keyed by the lake path and by what identifies the data (published version, curated files' mtimes,
the set of days), so a rebuilt day or a new live version is picked up without waiting for a TTL. Every cache
is bounded. Nothing here writes to the lake or the warehouse.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import streamlit as st

from app.data import health as _health
from app.data import replay as _replay
from app.data import snapshot as _snapshot
from app.data.history import LakeHistory, open_history
from app.data.snapshot import Snapshot
from replay.parsed import raw_fingerprint
from storage import live as live_store
from storage.settings import Settings

LIVE_REFRESH = "1s"
"""How often the live pages' fragments rerun (st.fragment run_every)."""

REPLAY_KEY = "replay"
"""``st.session_state`` key of the replay state (a :class:`ReplayState`)."""


def lake() -> Path:
    """The lake root from the settings (``VNTRACK_LAKE``; read on every run so a test can point it anywhere)."""
    return Settings().lake.resolve()


# ------------------------------------------------------------------------------------------------ live source


@st.cache_resource(max_entries=4, ttl="10m", show_spinner=False)
def _live(lake_root: str, day: date, version: int) -> Snapshot | None:
    return _snapshot.read_live_snapshot(Path(lake_root), day)


@st.cache_resource(max_entries=4, ttl="10m", show_spinner=False)
def _curated(lake_root: str, day: date, signature: tuple) -> Snapshot | None:
    return _snapshot.read_curated_snapshot(Path(lake_root), day)


def latest_snapshot() -> Snapshot | None:
    """The newest live snapshot or finished day (see ``app.data.snapshot.choose_source``); None for an empty lake."""
    root = lake()
    choice = _snapshot.choose_source(root)
    if choice is None:
        return None
    kind, day = choice
    if kind == "live":
        ptr = live_store.read_pointer(root, day)
        return _live(str(root), day, ptr["version"]) if ptr else None
    return _curated(str(root), day, _snapshot.curated_signature(root, day))


# ----------------------------------------------------------------------------------------------------- replay


class ReplayState:
    """A replay in this browser session: exchange time ``origin`` at wall time ``wall_origin``, ``speed`` x.

    The cursor is ``origin + (now - wall_origin) * speed`` while playing, frozen while paused, and never past
    the day's ``end``. Kept in ``st.session_state`` only (no writes anywhere).
    """

    def __init__(self, day: date, start: datetime, end: datetime, speed: float) -> None:
        self.day, self.end, self.speed = day, end, float(speed)
        self.origin, self.wall_origin, self.paused = start, time.monotonic(), False

    def cursor(self) -> datetime:
        """Current exchange time of the replay (one-second resolution)."""
        elapsed = 0.0 if self.paused else (time.monotonic() - self.wall_origin) * self.speed
        at = min(self.origin + timedelta(seconds=elapsed), self.end)
        return at.replace(microsecond=0)

    def pause(self) -> None:
        """Freeze the cursor where it is."""
        self.origin, self.paused = self.cursor(), True

    def play(self, speed: float | None = None) -> None:
        """Resume from the cursor (optionally at another speed)."""
        self.origin, self.wall_origin, self.paused = self.cursor(), time.monotonic(), False
        if speed is not None:
            self.speed = float(speed)

    def seek(self, at: datetime) -> None:
        """Move the cursor to ``at`` (clamped to the day's end)."""
        self.origin, self.wall_origin = min(at, self.end), time.monotonic()

    @property
    def finished(self) -> bool:
        """True once the cursor reached the end of the day."""
        return self.cursor() >= self.end


@st.cache_resource(max_entries=2, ttl="30m", show_spinner="Loading the day for replay (đang tải)...")
def replay_day(lake_root: str, day: date, signature: str) -> _replay.ReplayDay:
    """A recorded day loaded for replay (its raw frames and their exchange clock, ``replay.cursor``), cached per day
    and per ``signature`` (``replay.parsed.raw_fingerprint`` of its sealed raw segments: a segment sealed or
    imported since is replayed at once, not after the cache's TTL).

    Raises
    ------
    app.data.replay.NotReplayable : the lake has no recorded frame for the day.
    """
    return _replay.load_replay_day(Path(lake_root), day, futures_override=Settings().futures_override)


@st.cache_resource(max_entries=8, ttl="2m", show_spinner=False)
def _replay_snapshot(lake_root: str, day: date, signature: str, cursor: datetime) -> Snapshot:
    return _replay.snapshot_at(replay_day(lake_root, day, signature), cursor)


def replay_state() -> ReplayState | None:
    """The replay running in this browser session, if any."""
    return st.session_state.get(REPLAY_KEY)


def start_replay(day: date, speed: float, start: datetime | None = None) -> ReplayState:
    """Start replaying ``day`` at ``speed`` x from ``start`` (default: the day's first row)."""
    root = lake()
    rd = replay_day(str(root), day, raw_fingerprint(root, day))
    origin = max(start or rd.start, rd.start)
    rd.tables_at(origin)  # step the frames up to the start now, so the replay clock starts once they are in
    state = ReplayState(day, origin, rd.end, speed)
    st.session_state[REPLAY_KEY] = state
    return state


def stop_replay() -> None:
    """Back to the live source."""
    st.session_state.pop(REPLAY_KEY, None)


def current_snapshot() -> Snapshot | None:
    """What the live pages show now: the replay at its cursor, else :func:`latest_snapshot`."""
    state = replay_state()
    if state is not None:
        root = lake()
        return _replay_snapshot(str(root), state.day, raw_fingerprint(root, state.day), state.cursor())
    return latest_snapshot()


def day_notice(day: date | None = None) -> str | None:
    """A sentence about a day that is not whole (``app.data.snapshot.day_notice``), or None."""
    return _snapshot.day_notice(lake(), day)


def curated_days() -> list[date]:
    """Finished days in the lake (those that can be replayed), ascending."""
    return _snapshot.curated_days(lake())


# ---------------------------------------------------------------------------------------------------- history


@st.cache_resource(max_entries=2, ttl="1h", show_spinner=False)
def _history(lake_root: str, days: tuple[date, ...], warehouse_file: str, warehouse_mtime: int,
             database_url: str | None = None) -> LakeHistory:
    return open_history(Path(lake_root), database_url, Path(warehouse_file))


def _key() -> tuple[str, tuple[date, ...], str, int, str | None]:
    root, settings = lake(), Settings()
    wh = settings.warehouse_file
    return (str(root), tuple(_snapshot.curated_days(root)), str(wh), wh.stat().st_mtime_ns if wh.is_file() else 0,
            settings.database_url)


def history() -> LakeHistory:
    """The history reader: PostgreSQL when ``VNTRACK_DATABASE_URL`` is set, else the DuckDB warehouse when it has
    the tables, else the lake (``app.data.history``)."""
    return _history(*_key())


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _history_call(key: tuple, method: str, *args) -> pl.DataFrame | list | tuple:
    return getattr(_history(*key), method)(*args)


def history_call(method: str, *args):
    """``history().<method>(*args)``, cached (TTL 10 min, 64 entries): see ``app.data.history`` for the methods."""
    return _history_call(_key(), method, *args)


# ----------------------------------------------------------------------------------------------------- health


@st.cache_data(ttl="5s", max_entries=16, show_spinner=False)
def _events(lake_root: str, day: date) -> pl.DataFrame | None:
    return _health.capture_events(Path(lake_root), day)


def capture_events(day: date) -> pl.DataFrame | None:
    """Capture events of ``day`` (None when ``storage.events`` is unavailable); cached 5 s."""
    return _events(str(lake()), day)


@st.cache_data(ttl="30s", max_entries=16, show_spinner=False)
def _quarantine(lake_root: str, day: date) -> pl.DataFrame:
    return _health.quarantine(Path(lake_root), day)


def quarantine(day: date) -> pl.DataFrame:
    """Quarantined frames of ``day`` (payload cut to its first 120 characters); cached 30 s."""
    return _quarantine(str(lake()), day)


def health_days() -> list[date]:
    """Dates with anything the health page can show (live, curated, quarantine), newest first."""
    root = lake()
    days = {*live_store.live_days(root), *_snapshot.curated_days(root), *_health.quarantine_days(root)}
    return sorted(days, reverse=True)


@st.cache_data(ttl="10s", max_entries=4, show_spinner=False)
def _flow_runs(api_url: str, limit: int) -> pl.DataFrame | None:
    return _health.flow_runs(limit)


def flow_runs(limit: int = 20) -> pl.DataFrame | None:
    """Last flow runs from Prefect's API; None when ``PREFECT_API_URL`` is unset. Cached 10 s."""
    url = _health.prefect_api_url()
    return None if url is None else _flow_runs(url, limit)


# ------------------------------------------------------------------------------------------ experiments (issue 12)


def _ledger_signature(root: Path) -> tuple:
    files = sorted((root / "curated").glob("date=*/classification_ledger.parquet")) if (root / "curated").is_dir() \
        else []
    return tuple((str(p), p.stat().st_mtime_ns) for p in files)


@st.cache_data(max_entries=8, ttl="10m", show_spinner=False)
def _ledger(lake_root: str, experiment: str, signature: tuple) -> pl.DataFrame:
    from transforms.classify import pool_ledgers

    frames = [pl.read_parquet(p) for p, _ in signature]
    if not frames:
        return pl.DataFrame()
    per_day = pl.concat(frames, how="vertical")
    return pl.concat([pool_ledgers(per_day), per_day], how="vertical")


def classification_ledger(experiment: str = "curated") -> pl.DataFrame:
    """The classification-accuracy ledgers of every day of ``experiment`` (``curated`` = the canonical tables):
    the pooled rows (``trading_date`` null) first, then each day's (``transforms.classify.LEDGER``)."""
    from replay.experiment import table_root

    root = table_root(lake(), experiment)
    return _ledger(str(lake()), experiment, _ledger_signature(root))


def experiments() -> list[str]:
    """``curated`` and the lake's experiments."""
    from replay.experiment import CANONICAL, list_experiments

    return [CANONICAL, *list_experiments(lake())]


def experiment_manifest(name: str) -> dict:
    """An experiment's manifest (parameters, digest, code version, days)."""
    from replay.experiment import read_manifest

    return read_manifest(lake(), name)


def experiment_days(name: str) -> list[date]:
    """Days with curated tables in ``name``."""
    from replay.experiment import experiment_days as _days

    return _days(lake(), name)


@st.cache_data(max_entries=8, ttl="10m", show_spinner=False)
def _comparison(lake_root: str, a: str, b: str, day: date, stamp: tuple):
    from replay.compare import compare, sections

    return [(t, s, df) for t, s, df in sections(compare(Path(lake_root), a, b, [day]))]


def comparison(a: str, b: str, day: date) -> list[tuple[str, str, pl.DataFrame]]:
    """``vntrack compare A B --date D`` as (title, sentence, frame) parts (``replay.compare.sections``)."""
    from replay.experiment import table_root

    stamp = tuple((table_root(lake(), n) / "curated" / f"date={day:%Y-%m-%d}" / "trades.parquet").stat().st_mtime_ns
                  for n in (a, b))
    return _comparison(str(lake()), a, b, day, stamp)
