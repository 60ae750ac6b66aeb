"""A simulated trading day -> raw frames in arrival order -> sealed segments of the lake.

Arrival order is the order of ``(second, instant in the second, event, rank in the event)``: within an event the
prints come first (each X-TRADE followed by its B, and its X when requested), then the book after the event, then
the R frame; session changes (F) come at half past the second of the change, an opening book 100 ms later, and
the MI frames of a second after everything else of that second. ``seq`` is 1..n in that order; ``recv_ns`` is
the exchange instant (UTC) plus a network latency of 25 ms + Exp(10 ms), kept non-decreasing.

A day is written as one capture session ``sim-YYYYMMDD-<universe>-<seed>`` (source ``sim:<universe>:<seed>``),
in segments of :data:`SEGMENT_FRAMES` frames, each sealed with ``storage.lake.write_raw_segment``. Raw is
append-only: simulating a (date, universe, seed) the lake already holds is refused (:class:`AlreadySimulated`).
Weekends and exchange holidays are refused (:class:`NotATradingDay`), naming the next trading day.

References: docs/architecture.md §3 (raw frames, append-only lake), §4 (arrival order); docs/market.md §9 (calendar).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from datetime import time as dt_time
from pathlib import Path

import numpy as np
import polars as pl

from storage import lake as lake_io
from market.clock import exchange_time_ns
from storage.schemas import RAW_FRAME_PL
from testbed.simulate import frames
from testbed.simulate.build import F_EVENTS, F_SUB_NS, MI_EVENTS, SimulatedDay, build_day
from testbed.simulate.quotes import POST_ORD
from testbed.simulate.snapshots import snapshot_tables
from testbed.simulate.trades import PT
from testbed.simulate.universe import UNIVERSES, UniverseName
from ssi.channels import ANALYTICS_CHANNELS
from market.calendar import covered_years, holidays, is_trading_day, next_trading_day

CHANNELS: tuple[str, ...] = (*ANALYTICS_CHANNELS, "X")
"""Channels the simulator writes (docs/ssi-wire.md §1.4 names)."""
DEFAULT_CHANNELS: tuple[str, ...] = ANALYTICS_CHANNELS
"""Written unless ``channels`` says otherwise; X (the combined snapshot) only on request."""
SEGMENT_FRAMES = 250_000
MI_SUB_NS = 999_000_000
R_ORD = POST_ORD + 100


class NotATradingDay(ValueError):
    """The date is a weekend or an exchange holiday: no session to simulate."""


class AlreadySimulated(FileExistsError):
    """The lake already holds this (date, universe, seed): raw is append-only."""


def check_trading_day(day: date) -> None:
    """Refuse weekends and holidays (``market.calendar``) with the next trading day in the message.

    Raises
    ------
    NotATradingDay
    """
    if is_trading_day(day):
        return
    why = holidays().get(day) or ("Saturday" if day.weekday() == 5 else "Sunday")
    raise NotATradingDay(
        f"{day:%Y-%m-%d} is not a trading day ({why}): the exchanges are closed; "
        f"the next trading day is {next_trading_day(day):%Y-%m-%d}"
    )


def holiday_list_covers(day: date) -> bool:
    """True when the shipped holiday list covers ``day``'s year (outside it only weekends are known)."""
    return day.year in covered_years()


def session_id(day: date, universe: str, seed: int) -> str:
    """Capture session id of a simulated day: ``sim-YYYYMMDD-<universe>-<seed>``."""
    return f"sim-{day:%Y%m%d}-{universe}-{seed}"


def source_name(universe: str, seed: int) -> str:
    """The raw ``source`` of simulated frames: ``sim:<universe>:<seed>``."""
    return f"sim:{universe}:{seed}"


def parse_channels(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """Channel list from ``"X-TRADE,R"`` / ``["X-TRADE", "R"]`` / None (the defaults), upper-cased, in
    :data:`CHANNELS` order.

    Raises
    ------
    ValueError : an unknown channel or an empty list.
    """
    if spec is None:
        return DEFAULT_CHANNELS
    items = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    wanted = {s.strip().upper() for s in items if s.strip()}
    unknown = sorted(wanted - set(CHANNELS))
    if unknown:
        raise ValueError(f"unknown channel(s) {', '.join(unknown)}: choose among {', '.join(CHANNELS)}")
    if not wanted:
        raise ValueError(f"no channel given: choose among {', '.join(CHANNELS)}")
    return tuple(c for c in CHANNELS if c in wanted)


# ------------------------------------------------------------------------------------------------ frame sources


@dataclass(frozen=True)
class _Source:
    """Rows of one kind of frame: a table, its render function, and the arrival key of each row."""

    data_type: str
    table: pl.DataFrame
    render: Callable[[frames.Context, pl.DataFrame], pl.Series]
    sec: np.ndarray
    sub_ns: np.ndarray
    event: np.ndarray
    ord: np.ndarray


def _key(table: pl.DataFrame, ord_: np.ndarray | int, *, sub_ns: int | None = None,
         event: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    n = table.height
    sec = table.get_column("sec").to_numpy().astype(np.int64)
    sub = np.full(n, sub_ns, np.int64) if sub_ns is not None else table.get_column("sub_ns").to_numpy().astype(np.int64)
    ev = event if event is not None else table.get_column("event").to_numpy().astype(np.int64)
    o = np.full(n, ord_, np.int64) if isinstance(ord_, int) else ord_.astype(np.int64)
    return sec, sub, ev, o


def _sources(sim: SimulatedDay, channels: tuple[str, ...]) -> list[_Source]:
    out = []
    p = sim.prints
    child = p.get_column("child").to_numpy()
    matched = p.filter(pl.col("session") != PT)
    m_child = matched.get_column("child").to_numpy()
    if "X-TRADE" in channels:
        out.append(_Source("X-TRADE", p, frames.render_x_trade, *_key(p, 4 * child)))
    if "B" in channels:
        out.append(_Source("B", matched, frames.render_b, *_key(matched, 4 * m_child + 1)))
    if "X" in channels:
        x_prints, x_books = snapshot_tables(sim)
        x_child = x_prints.get_column("child").to_numpy()
        out.append(_Source("X", x_prints, frames.render_x, *_key(x_prints, 4 * x_child + 2)))
        out.append(_Source("X", x_books, frames.render_x, *_key(x_books, x_books.get_column("ord").to_numpy() + 1)))
    if "X-QUOTE" in channels:
        books = sim.books
        out.append(_Source("X-QUOTE", books, frames.render_x_quote, *_key(books, books.get_column("ord").to_numpy())))
    if "R" in channels:
        room = sim.room
        out.append(_Source("R", room, frames.render_r, *_key(room, R_ORD + room.get_column("ord").to_numpy())))
    if "MI" in channels:
        idx = sim.index
        ev = MI_EVENTS + (idx.get_column("index") == "VNINDEX").cast(pl.Int64).to_numpy()
        out.append(_Source("MI", idx, frames.render_mi, *_key(idx, 0, sub_ns=MI_SUB_NS, event=ev)))
        if "B" in channels:
            out.append(_Source("B", idx, frames.render_index_bar, *_key(idx, 1, sub_ns=MI_SUB_NS, event=ev)))
    if "F" in channels:
        st = sim.status
        ev = F_EVENTS + st.get_column("sym").to_numpy()
        out.append(_Source("F", st, frames.render_f, *_key(st, 0, sub_ns=F_SUB_NS, event=ev)))
    return out


# ------------------------------------------------------------------------------------------------ arrival order


@dataclass(frozen=True)
class FrameOrder:
    """Every frame of the day in arrival order: ``source`` (index into the sources), ``row`` (into its table),
    ``recv_ns`` (int64 UTC ns)."""

    source: np.ndarray
    row: np.ndarray
    recv_ns: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


def frame_order(sim: SimulatedDay, sources: list[_Source]) -> FrameOrder:
    """Sort every frame into arrival order (module docstring) and stamp ``recv_ns``."""
    sec = np.concatenate([s.sec for s in sources])
    sub = np.concatenate([s.sub_ns for s in sources])
    ev = np.concatenate([s.event for s in sources])
    ordr = np.concatenate([s.ord for s in sources])
    src = np.concatenate([np.full(len(s.sec), i, np.int16) for i, s in enumerate(sources)])
    row = np.concatenate([np.arange(len(s.sec), dtype=np.int64) for s in sources])
    order = np.lexsort((ordr, ev, sub, sec))
    rng = np.random.default_rng([sim.seed, sim.day.toordinal(), UNIVERSES.index(sim.universe_name), 11])
    midnight = exchange_time_ns(sim.day, dt_time(0, 0))
    latency = 25_000_000 + rng.exponential(10_000_000, len(order)).astype(np.int64)
    recv = np.maximum.accumulate(midnight + sec[order] * 1_000_000_000 + sub[order] + latency)
    return FrameOrder(source=src[order], row=row[order], recv_ns=recv)


def _render(ctx: frames.Context, sources: list[_Source], order: FrameOrder, start: int, stop: int) -> pl.DataFrame:
    """``data_type`` and ``payload`` of frames ``[start, stop)`` of ``order``, in that order."""
    src = order.source[start:stop]
    rows = order.row[start:stop]
    parts = []
    for i, s in enumerate(sources):
        m = src == i
        if not m.any():
            continue
        table = s.table.select(pl.all().gather(rows[m]))
        parts.append(pl.DataFrame({"_pos": np.flatnonzero(m), "data_type": s.data_type,
                                   "payload": s.render(ctx, table)}))
    return pl.concat(parts).sort("_pos").drop("_pos")


# ------------------------------------------------------------------------------------------------ public API


@dataclass
class SimulationResult:
    """What :func:`simulate_day` wrote.

    Attributes
    ----------
    session, source : the raw ``session`` and ``source`` of every frame.
    day, universe, seed, channels : the inputs.
    frames : frames written; ``by_channel`` per DataType.
    trades : matched prints (auction + continuous) and ``put_through`` deals among them.
    instruments : instruments simulated.
    segments : the sealed segment files, in order.
    seconds : wall time of the whole simulation (s).
    """

    session: str
    source: str
    day: date
    universe: str
    seed: int
    channels: tuple[str, ...]
    frames: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    trades: int = 0
    put_through: int = 0
    instruments: int = 0
    segments: list[Path] = field(default_factory=list)
    seconds: float = 0.0


class DayFrames:
    """The raw frames of a simulated day, planned: arrival order fixed, payloads rendered on demand.

    Parameters
    ----------
    sim : the simulated day.
    channels : subset of :data:`CHANNELS` (default :data:`DEFAULT_CHANNELS`).
    """

    def __init__(self, sim: SimulatedDay, channels: Iterable[str] | str | None = None) -> None:
        self.sim = sim
        self.channels = parse_channels(channels)
        self._sources = _sources(sim, self.channels)
        self._order = frame_order(sim, self._sources)
        self._ctx = frames.Context(sim.universe, sim.day)
        self.session = session_id(sim.day, sim.universe_name, sim.seed)
        self.source = source_name(sim.universe_name, sim.seed)

    @property
    def total(self) -> int:
        """Number of frames of the day."""
        return len(self._order)

    def batch(self, start: int, stop: int) -> pl.DataFrame:
        """Frames ``[start, stop)`` (0-based positions in arrival order) as raw frame records: exactly
        ``storage.schemas.RAW_FRAME_PL`` (session, seq = position + 1, recv_ns, data_type, payload, cursor null,
        source)."""
        stop = min(stop, self.total)
        n = stop - start
        body = _render(self._ctx, self._sources, self._order, start, stop)
        return pl.DataFrame({
            "session": [self.session] * n, "seq": np.arange(start + 1, stop + 1, dtype=np.uint64),
            "recv_ns": self._order.recv_ns[start:stop], "data_type": body.get_column("data_type"),
            "payload": body.get_column("payload"), "cursor": pl.Series([None] * n, dtype=pl.String),
            "source": [self.source] * n,
        }, schema=RAW_FRAME_PL)

    def batches(self, size: int = SEGMENT_FRAMES) -> Iterator[pl.DataFrame]:
        """Every frame in arrival order, ``size`` at a time (:meth:`batch`)."""
        for start in range(0, self.total, size):
            yield self.batch(start, start + size)


def simulate_frames(day: date, universe: UniverseName = "vn30", seed: int = 0,
                    channels: Iterable[str] | str | None = None, activity: float = 1.0) -> pl.DataFrame:
    """A whole simulated day as one raw-frame table in memory (tests, the feed server). See :func:`simulate_day`.

    Raises
    ------
    NotATradingDay, ValueError (bad universe, channel, seed or activity).
    """
    check_trading_day(day)
    chans = parse_channels(channels)
    return pl.concat(list(DayFrames(build_day(day, universe, seed, activity), chans).batches()))


def simulate_day(lake: Path, day: date, *, universe: UniverseName = "vn30", seed: int = 0,
                 channels: Iterable[str] | str | None = None, activity: float = 1.0,
                 segment_frames: int = SEGMENT_FRAMES,
                 progress: Callable[[int, int], None] | None = None) -> SimulationResult:
    """Simulate one complete trading day and write it into the lake as raw SSI frames.

    Parameters
    ----------
    lake : lake root (``Settings().lake``).
    day : the trading date.
    universe : ``vn30`` (VN30 members + VN30F), ``hose`` (+ ~370 HOSE tickers) or ``all`` (~1,600 stocks of
        HOSE, HNX and UPCOM); module ``universe``.
    seed : the realisation; the same (day, universe, seed, channels, activity) gives byte-identical frames.
    channels : subset of :data:`CHANNELS` (default :data:`DEFAULT_CHANNELS`; X only on request).
    activity : multiplier of every instrument's trading activity (1.0 = calibrated on the real recordings).
    segment_frames : frames per sealed segment.
    progress : called with (frames written, total frames) after each segment.

    Returns
    -------
    SimulationResult

    Raises
    ------
    NotATradingDay : a weekend or holiday (the message names the next trading day).
    AlreadySimulated : the lake already has this session on this date.
    ValueError : unknown universe or channel, negative seed, non-positive activity or segment size.
    """
    started = time.perf_counter()
    check_trading_day(day)
    chans = parse_channels(channels)
    if universe not in UNIVERSES:
        raise ValueError(f"unknown universe {universe!r}: expected one of {', '.join(UNIVERSES)}")
    if segment_frames <= 0:
        raise ValueError(f"segment_frames must be > 0, got {segment_frames}")
    session = session_id(day, universe, seed)
    existing = lake_io.raw_segments(lake, day, session)
    if existing:
        raise AlreadySimulated(
            f"{session} is already in the lake ({len(existing)} segment(s) in {lake_io.raw_day_dir(lake, day)}); "
            "raw is append-only: choose another --seed, or delete those segments to simulate it again"
        )
    sim = build_day(day, universe, seed, activity)
    result = SimulationResult(session=session, source=source_name(universe, seed), day=day, universe=universe,
                              seed=seed, channels=chans, instruments=sim.universe.size)
    result.trades = sim.prints.height
    result.put_through = int((sim.prints.get_column("session") == PT).sum())
    plan = DayFrames(sim, chans)
    for k, batch in enumerate(plan.batches(segment_frames)):
        path = lake_io.write_raw_segment(lake, day, session, k, lake_io.raw_table_from_polars(batch))
        result.segments.append(path)
        result.frames += batch.height
        for dt, n in batch.group_by("data_type").len().iter_rows():
            result.by_channel[dt] = result.by_channel.get(dt, 0) + n
        if progress is not None:
            progress(result.frames, plan.total)
    result.by_channel = dict(sorted(result.by_channel.items()))
    result.seconds = time.perf_counter() - started
    return result
