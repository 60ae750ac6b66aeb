"""Replay a recorded day in the live pages: the day's tables as they stood when the exchange clock read ``cursor``.

The replay page keeps a *cursor* (exchange time advancing at a chosen speed, in ``st.session_state``); every live
page then shows :func:`snapshot_at` of it instead of the live snapshot. Nothing is written anywhere.

How a table is cut at the cursor (exchange time, design.md §4):

* event tables (``trades``, ``foreign_flow``, ``indices``, ``basis``, ``alerts``): rows with ``exch_time <= cursor``;
* derived tables are recomputed from those rows with the project's own transforms, so that at the end of the day
  they equal the curated tables row for row: ``session_stats`` (``transforms.sessions.session_stats``),
  ``candles_1m`` (``transforms.candles.candles_1m``), ``foreign_summary`` / ``foreign_by_sector``
  (``transforms.foreign``), ``board`` (``transforms.board.board``, with the day's X-QUOTE/X books parsed once from
  raw and cut at the cursor; without raw frames the board has no best bid/ask).

*Decision*: cut by ``exch_time`` rather than by arrival position: the cursor is a clock, and the rare frame that
arrives stamped earlier than one already received (docs/analytics.md, effective time) shows with its own time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from app.data.snapshot import Snapshot, read_curated_snapshot
from storage.lake import read_raw
from transforms.board import board
from transforms.candles import candles_1m
from transforms.foreign import foreign_by_sector, foreign_summary
from transforms.parse import parse_frames
from transforms.schemas import CURATED, X_QUOTE, X_SNAPSHOT, empty
from transforms.sessions import session_stats
from transforms.windows import arrival_order

EVENT_TABLES: tuple[str, ...] = ("trades", "foreign_flow", "indices", "basis", "alerts")
_BOOK_COLUMNS = ("session", "seq", "trading_date", "exch_time", "symbol", "exchange", "bid_price_1", "bid_vol_1",
                 "ask_price_1", "ask_vol_1")
_X_COLUMNS = (*_BOOK_COLUMNS, "ref_price", "ceiling", "floor")


class NotReplayable(LookupError):
    """The day has no curated event tables to replay (it was never rebuilt)."""


@dataclass(frozen=True)
class ReplayDay:
    """Everything needed to cut one finished day at any cursor, loaded once.

    Attributes
    ----------
    trading_date : the day.
    events : the curated event tables (:data:`EVENT_TABLES`), full day.
    x_quote, x : the day's parsed books (only the columns the board reads), full day; empty without raw frames.
    start, end : first and last ``exch_time`` of the day's trades, indices and books (the cursor's range).
    """

    trading_date: date
    events: dict[str, pl.DataFrame]
    x_quote: pl.DataFrame
    x: pl.DataFrame
    start: datetime
    end: datetime


def load_replay_day(lake: Path, day: date) -> ReplayDay:
    """Load a finished day for replay: curated event tables + its books parsed from raw.

    Raises
    ------
    NotReplayable : the day has no curated ``trades`` or ``indices`` rows (rebuild it first: ``vntrack replay``).
    """
    snap = read_curated_snapshot(lake, day, EVENT_TABLES)
    if snap is None or not (snap.table("trades").height or snap.table("indices").height):
        raise NotReplayable(f"{day} has no curated trades or indices in {lake}; run `vntrack replay --date {day}`")
    events = {name: snap.table(name) for name in EVENT_TABLES}
    raw = read_raw(lake, day)
    books = raw.filter(pl.col("data_type").str.strip_chars().str.to_uppercase().is_in(["X-QUOTE", "X"]))
    if books.height:
        parsed = parse_frames(books, day)
        x_quote, x = parsed["x_quote"].select(_BOOK_COLUMNS), parsed["x"].select(_X_COLUMNS)
    else:
        x_quote = empty(X_QUOTE).select(_BOOK_COLUMNS)
        x = empty(X_SNAPSHOT).select(_X_COLUMNS)
    times = pl.concat([events["trades"].select("exch_time"), events["indices"].select("exch_time"),
                       x_quote.select("exch_time"), x.select("exch_time")])
    return ReplayDay(trading_date=day, events=events, x_quote=x_quote, x=x,
                     start=times.get_column("exch_time").min(), end=times.get_column("exch_time").max())


def snapshot_at(day: ReplayDay, cursor: datetime) -> Snapshot:
    """The day's tables as they stood at exchange time ``cursor``.

    Parameters
    ----------
    day : from :func:`load_replay_day`.
    cursor : timezone-aware exchange time; before the first row every table is empty.

    Returns
    -------
    Snapshot of kind ``replay`` with every curated table (exact schemas) and ``cursor`` set.
    """
    until = pl.col("exch_time") <= cursor
    cut = {name: t.filter(until) for name, t in day.events.items()}
    trades, flow = cut["trades"], cut["foreign_flow"]
    x_quote, x = day.x_quote.filter(until), day.x.filter(until)
    summary = foreign_summary(flow)
    rooms = flow.select("session", "seq", "trading_date", "exch_time", "symbol")
    ranks = arrival_order(trades, x_quote, x, rooms)
    tables = {
        **cut,
        "session_stats": session_stats(trades),
        "candles_1m": candles_1m(trades),
        "foreign_summary": summary,
        "foreign_by_sector": foreign_by_sector(summary),
        # transforms.board.board fails on all-empty inputs (empty session ranks): before the first row, no board
        "board": (board({"x_quote": x_quote, "x": x, "foreign_room": rooms}, trades, summary, ranks)
                  if trades.height or x_quote.height or x.height else empty(CURATED["board"])),
    }
    tables = {name: tables[name].select(list(CURATED[name])) for name in CURATED}
    return Snapshot(kind="replay", trading_date=day.trading_date, tables=tables, cursor=cursor)

