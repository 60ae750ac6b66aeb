"""``step(state, batch)``: one micro-batch of raw frames through the day's analytics (docs/architecture.md §5).

This is the one composition of the analytics: :func:`transforms.pipeline.run_day` is this step over a whole day
from the initial state. Each rule is computed by its transform over the batch plus the
earlier rows the rule can still reach (the context kept in :class:`~transforms.incremental.state.LiveState`);
only the new rows' outputs are kept. Snapshot tables are combined from carried aggregates with the merge
functions that sit beside each transform. Why each context is enough: :mod:`transforms.incremental.context`.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from transforms import schemas
from transforms.alerts import alerts_after
from transforms.basis import basis
from transforms.book import book_top
from transforms.board import board_parts, finish_board, merge_board_parts
from transforms.candles import candle_parts, finish_candles, merge_candle_parts
from transforms.foreign import (
    foreign_by_sector,
    foreign_flow,
    foreign_totals,
    merge_foreign_totals,
    rank_foreign_totals,
)
from transforms.incremental import context
from transforms.incremental.state import LiveState
from transforms.indices import indices
from transforms.parse import parse_frames
from transforms.sessions import merge_session_stats, session_stats
from transforms.trades import SOURCE_PRIORITY, TradeContext, build_trades, merge_sources, trade_sources
from transforms.windows import after_key

ROW_TABLES = ("trades", "foreign_flow", "indices", "basis", "alerts", "book_top", "quarantine")
"""Tables whose rows the loop appends batch by batch (their concatenation equals run_day's table)."""
SNAPSHOT_TABLES = ("board", "session_stats", "candles_1m", "foreign_summary", "foreign_by_sector")
"""Tables that describe the day so far (the last snapshot equals run_day's table)."""


class Restatement(Exception):
    """The batch changes rows already emitted: rebuild the day from raw (one ``step`` over all its frames).

    Raised before anything is computed; the state passed in stays valid. ``reason`` says what happened.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OrderViolation(Restatement):
    """The batch holds a frame that does not come after the last consumed one in arrival order (session, seq):
    typically a late segment of an earlier capture session."""


def step(state: LiveState, raw: pl.DataFrame, *, parsed: dict[str, pl.DataFrame] | None = None
         ) -> tuple[LiveState, dict[str, pl.DataFrame]]:
    """Consume one batch of raw frames.

    Parameters
    ----------
    state : the state after the earlier frames of the day (:func:`~transforms.incremental.initial_state`).
    raw : raw frame records (``storage.schemas.RAW_FRAME_PL``) that all come after ``state.last_key`` in arrival
        order (session, seq); any row order, no duplicate (session, seq).
    parsed : the batch already parsed (``transforms.parse.parse_frames(raw, state.day)``, e.g. read back from the
        lake's parsed layer); ``raw`` then needs only its ``session`` and ``seq`` columns.

    Returns
    -------
    (new state, outputs): outputs holds the new rows of every :data:`ROW_TABLES` table, each with exactly its
    ``transforms.schemas`` schema (``quarantine``: ``QUARANTINE``), and the batch's parsed tables
    (``transforms.schemas.PARSED`` names); :func:`snapshot_tables` gives the snapshot tables of the new state.

    Raises
    ------
    OrderViolation : a frame at or before ``state.last_key``, or a duplicate (session, seq).
    Restatement : the batch would change emitted rows (a symbol's trade channel upgrades after it traded, or an
        X-TRADE frame is stamped more than ``REPEAT_HORIZON_S`` before the symbol's latest).
    """
    if raw.height == 0:
        return state, _empty_outputs()
    batch_sessions = set(raw.get_column("session").to_list())
    seq = raw.get_column("seq").to_numpy()
    # the usual micro-batch: one capture session, seq strictly increasing (in order, no duplicate)
    in_order = len(batch_sessions) == 1 and (seq.size < 2 or bool((np.diff(seq.astype(np.int64)) > 0).all()))
    if not in_order:
        raw = raw.sort("session", "seq", maintain_order=True)
    first = (raw.item(0, "session"), int(raw.item(0, "seq")))
    if state.last_key is not None and first <= state.last_key:
        raise OrderViolation(f"frame {first} arrived after {state.last_key} was consumed (arrival order is "
                             "(session, seq)): a late segment of an earlier capture session")
    if not in_order and raw.select(pl.struct("session", "seq").is_duplicated().any()).item():
        raise OrderViolation("the batch holds a (session, seq) twice; dedupe by the per-session watermark")
    last = (raw.item(raw.height - 1, "session"), int(raw.item(raw.height - 1, "seq")))
    sessions = tuple(sorted(set(state.sessions) | batch_sessions))
    ranks = {s: i for i, s in enumerate(sessions)}
    parsed = parse_frames(raw, state.day) if parsed is None else parsed
    batch_sources = trade_sources(parsed)
    seen = context.seen_keys(state.xt_seen, parsed["x_trade"])  # the kept repeat keys the batch can match
    _check_restatement(state, parsed, batch_sources, seen)

    # rows
    params = state.params
    trades = build_trades(parsed, ranks, TradeContext(
        sources=state.sources, seen=seen, x_baseline=state.x_baseline, books=state.books, tick=state.tick),
        params=params)
    # A rule whose stream has no new row in the batch is skipped, its context carried as it is: every output row
    # of a rule belongs to a new row of its stream, and each context is what later rows read (context.py), which
    # a batch without rows of that stream does not change. A micro-batch pays per Polars call, not per row.
    if parsed["foreign_room"].height:
        flow_all = foreign_flow(context.room_with_context(state.flow_win, parsed["foreign_room"]), ranks, params)
        flow = flow_all.filter(after_key(state.last_key))
    else:
        flow_all = flow = schemas.empty(schemas.FOREIGN_FLOW)
    idx = indices(parsed["index"])
    spot = (idx if state.spot is None else state.spot if idx.height == 0
            else pl.concat([state.spot, idx], how="vertical"))
    bas = basis(trades, spot, futures_override=state.futures_override, ranks=ranks, params=params)
    trades_ctx = context.trades_with_context(state.trades_win, trades)  # carries each row's t_eff
    basis_ctx = bas if state.basis_ctx is None else pl.concat([state.basis_ctx, bas], how="vertical")
    if trades.height or flow.height or bas.height:
        alerts, cooldown = alerts_after(trades_ctx, flow_all, basis_ctx, ranks, after=state.last_key,
                                        last_emitted=state.cooldown, params=params)
    else:
        alerts, cooldown = schemas.empty(schemas.ALERTS), state.cooldown

    # aggregates
    new_state = state.evolve(
        sessions=sessions,
        last_key=last,
        sources=merge_sources(state.sources, batch_sources),
        traded=state.traded | frozenset(trades.get_column("symbol").unique().to_list()),
        cooldown=cooldown,
        frames_total=state.frames_total + raw.height,
        quarantined_total=state.quarantined_total + parsed["quarantine"].height,
        batches=state.batches + 1,
        xt_seen=context.repeat_keys(state.xt_seen, parsed["x_trade"]),
        x_baseline=context.x_baseline(state.x_baseline, parsed["x"]),
        books=context.last_books(state.books, parsed, ranks),
        tick=context.tick_context(state.tick, trades),
        trades_win=(context.trade_window(trades_ctx, params, moved=trades.get_column("symbol").to_list())
                    if trades.height else state.trades_win),
        flow_win=context.flow_window(flow_all, params) if flow_all.height else state.flow_win,
        spot=context.last_spot(spot) if idx.height else state.spot,
        basis_ctx=context.basis_context(basis_ctx) if bas.height else state.basis_ctx,
        session_stats=_merge(state.session_stats, trades, session_stats, merge_session_stats),
        candles=_merge(state.candles, trades, candle_parts, merge_candle_parts),
        board=_merge(state.board, parsed, lambda p: board_parts(p, trades, ranks), merge_board_parts),
        foreign=_merge(state.foreign, flow, foreign_totals, merge_foreign_totals),
    )
    outputs = {**parsed, "trades": trades, "foreign_flow": flow, "indices": idx, "basis": bas, "alerts": alerts,
               "book_top": book_top(parsed["x_quote"], parsed["x"])}
    return new_state, outputs


def snapshot_tables(state: LiveState) -> dict[str, pl.DataFrame]:
    """The snapshot tables of the day so far (:data:`SNAPSHOT_TABLES`), each with exactly its CURATED schema."""
    summary = rank_foreign_totals(state.foreign) if state.foreign is not None else schemas.empty(
        schemas.FOREIGN_SUMMARY)
    parts = state.board if state.board is not None else pl.DataFrame()
    return {
        "board": finish_board(parts, summary) if parts.height else schemas.empty(schemas.BOARD),
        "session_stats": (state.session_stats if state.session_stats is not None
                          else schemas.empty(schemas.SESSION_STATS)),
        "candles_1m": finish_candles(state.candles) if state.candles is not None else schemas.empty(
            schemas.CANDLES_1M),
        "foreign_summary": summary,
        "foreign_by_sector": foreign_by_sector(summary),
    }


def run_batches(state: LiveState, batches) -> tuple[LiveState, dict[str, pl.DataFrame], dict[str, float]]:
    """Step through ``batches`` in order; returns the final state, the concatenated row outputs and timing
    (``seconds``). A convenience for tests, benchmarks and rebuilds."""
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in ROW_TABLES}
    started = time.perf_counter()
    for batch in batches:
        state, out = step(state, batch)
        for name in ROW_TABLES:
            parts[name].append(out[name])
    rows = {name: pl.concat(parts[name], how="vertical") if parts[name] else _empty_outputs()[name]
            for name in ROW_TABLES}
    return state, rows, {"seconds": time.perf_counter() - started}


def _merge(earlier, rows, aggregate, merge):
    """``merge(earlier, aggregate(rows))``; the aggregate alone at the start, ``earlier`` when ``rows`` is empty."""
    if earlier is not None and isinstance(rows, pl.DataFrame) and rows.height == 0:
        return earlier
    later = aggregate(rows)
    return later if earlier is None else merge(earlier, later)


def _empty_outputs() -> dict[str, pl.DataFrame]:
    parsed = {name: schemas.empty(schema) for name, schema in schemas.PARSED.values()}
    return parsed | {name: schemas.empty(schemas.QUARANTINE if name == "quarantine" else schemas.CURATED[name])
                     for name in ROW_TABLES}


def _check_restatement(state: LiveState, parsed: dict[str, pl.DataFrame], batch_sources: dict[str, str],
                       seen: pl.DataFrame | None) -> None:
    for sym, src in batch_sources.items():
        old = state.sources.get(sym)
        if old is not None and SOURCE_PRIORITY[src] > SOURCE_PRIORITY[old] and sym in state.traded:
            raise Restatement(f"{sym}: its first {src} frame arrived after trades were derived from {old} "
                              "(the day's trades of a symbol come from its best channel)")
    stale = context.stale_repeats(seen, parsed["x_trade"])
    if stale is not None:
        raise Restatement(stale)
