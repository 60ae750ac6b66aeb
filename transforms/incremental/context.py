"""The context each rule carries from one micro-batch to the next, and why it is enough (docs/analytics.md).

Notation: for a stream (a symbol's trades, a symbol's R rows, a contract's basis rows) ``T`` is the largest
``t_eff`` so far; every later row has ``t_eff >= T``.

* ``t_eff`` recomputed over a context that holds every row with ``t_eff > T - W`` equals the true ``t_eff`` for
  those rows and for every later row: the row that set a running maximum above ``T - W`` is itself inside the
  context. Rows older than the context can only sit in windows that end before ``T - W``.
* VOLUME_SPIKE looks back 1200 s from ``t_eff_i >= T``: the trades with ``t_eff > T - 1200`` (all phases, since
  ``t_eff`` runs over all of the symbol's trades).
* Foreign flow: a new row i (``t_eff_i >= T``) reads the latest rows with ``t_eff <= t_eff_i - 300`` (its speed,
  FOREIGN_ACCELERATION) and ``<= t_eff_i - 60`` (its acceleration: that row's speed), else the symbol's first row
  (the baseline). Those rows have ``t_eff > T - 360`` or are the latest row before them (the *anchor*); the speed
  of each of them needs the row it was measured from. So the context is, per symbol: the rows with
  ``t_eff > T - 360``, the anchor, the row each of these measures its speed from, and the first row. They are
  replayed with their levels replaced by the running maxima ``_cm_*`` and their ``exch_time`` by their
  ``t_eff``: ``foreign_flow`` then rebuilds the same running maxima, net levels, effective times and speeds for
  every row a new row reads (a speed reads only levels and times); only deltas of replayed rows are off, and no
  later row reads a delta.
* The quote rule needs the latest book; X trades the running maximum of ``TotalVol``; the tick rule the last
  print and its own reference; the basis the latest VN30 value; BASIS_FLIP the last non-zero basis.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from transforms import schemas
from transforms.schemas import EXCH_TIME
from transforms.basis import SPOT_INDEX
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.trades import REPEAT_KEY, tick_references
from transforms.windows import StreamIndex, arrival_key, effective_time, group_by_codes, running_max, stream_codes

REPEAT_HORIZON_S = 1200
"""X-TRADE repeat keys are kept this long (exchange time) behind the symbol's latest X-TRADE frame."""
_HORIZON = timedelta(seconds=REPEAT_HORIZON_S)


def flow_reach_s(params: AnalyticsParams = DEFAULT_PARAMS) -> int:
    """How far back (s of exchange time) the foreign speed, acceleration and FOREIGN_ACCELERATION look."""
    return max(params.foreign.speed_window_s + params.foreign.accel_lag_s,
               params.alerts.foreign_acceleration.window_s)
_LEVELS = ("buy_vol", "sell_vol", "buy_val_vnd", "sell_val_vnd")
_BOOK = ["session", "seq", "symbol", "bid_price_1", "ask_price_1"]


def _secs(col: str = "exch_time") -> pl.Expr:
    return pl.col(col).dt.replace_time_zone(None).dt.epoch("s")


def _run_ends(groups: np.ndarray) -> np.ndarray:
    """Mask of the last element of each run of equal values (``groups`` sorted)."""
    return np.r_[groups[1:] != groups[:-1], True] if groups.size else np.zeros(0, dtype=bool)


def _run_starts(groups: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values (``groups`` sorted)."""
    return np.r_[True, groups[1:] != groups[:-1]] if groups.size else np.zeros(0, dtype=bool)


def _concat(earlier: pl.DataFrame | None, later: pl.DataFrame) -> pl.DataFrame:
    return later if earlier is None else pl.concat([earlier, later], how="vertical_relaxed")


RepeatKeys = dict[str, pl.DataFrame]
"""Per symbol, its kept X-TRADE repeat keys (``REPEAT_KEY`` columns, in arrival order)."""


def seen_keys(kept: RepeatKeys, x_trade: pl.DataFrame) -> pl.DataFrame | None:
    """The kept repeat keys of the symbols in ``x_trade`` (only those can match its rows: the key holds the
    symbol), one frame; None when none is kept."""
    if not kept or x_trade.height == 0:
        return None
    blocks = [kept[s] for s in dict.fromkeys(x_trade.get_column("symbol").to_list()) if s in kept]
    return (pl.concat(blocks, how="vertical_relaxed") if len(blocks) > 1 else blocks[0]) if blocks else None


def repeat_keys(kept: RepeatKeys, x_trade: pl.DataFrame) -> RepeatKeys:
    """Per symbol, the X-TRADE repeat keys within ``REPEAT_HORIZON_S`` of its latest ``exch_time``.

    Each symbol's frame holds the same rows, in the same order, as ``concat(earlier keys, batch keys)
    .unique(maintain_order=True)`` followed by the horizon filter (``_secs() > latest - REPEAT_HORIZON_S``),
    restricted to that symbol. Only the batch's symbols are looked at (a dict lookup each): the others' latest
    time does not move. A repeat has its original's ``exch_time``, so only kept keys stamped like a batch row are
    compared with it (a handful of the symbol's hundreds).
    """
    if x_trade.height == 0:
        return kept
    batch = x_trade.select(*REPEAT_KEY)
    seen = seen_keys(kept, batch)
    batch_us = _micros(batch)
    if seen is None:
        candidates = batch.clear()
    else:
        candidates = seen[np.flatnonzero(np.isin(_micros(seen), batch_us))]
    first = (pl.concat([candidates, batch], how="vertical_relaxed") if candidates.height else batch).select(
        pl.struct(pl.all()).is_first_distinct()).to_series().to_numpy()[candidates.height:]
    # whole seconds of exchange time: the floor of UTC and of local time differ by the zone's whole-second offset
    batch_s, symbols = batch_us // 1_000_000, np.array(batch.get_column("symbol").to_list(), dtype=object)
    out = dict(kept)
    for sym in dict.fromkeys(symbols.tolist()):
        mine = symbols == sym
        earlier = kept.get(sym)
        earlier_s = _micros(earlier) // 1_000_000 if earlier is not None else batch_s[:0]
        cut = max(earlier_s.max(initial=batch_s[mine].max()), batch_s[mine].max()) - REPEAT_HORIZON_S
        stay, added = earlier_s > cut, np.flatnonzero(mine & first & (batch_s > cut))
        if stay.all() and added.size == 0:
            continue  # repeats only, nothing ages out
        parts = [earlier if stay.all() else earlier[np.flatnonzero(stay)]] if earlier is not None else []
        out[sym] = pl.concat([*parts, batch[added]], how="vertical_relaxed") if added.size else parts[0]
    return out


def _micros(keys: pl.DataFrame) -> np.ndarray:
    """``exch_time`` as Int64 microseconds since the epoch (UTC)."""
    return keys.get_column("exch_time").to_numpy().astype("datetime64[us]", copy=False).view(np.int64)


def stale_repeats(seen: pl.DataFrame | None, x_trade: pl.DataFrame) -> str | None:
    """Why ``x_trade`` cannot be de-duplicated against the kept keys of its symbols (``seen``, from
    :func:`seen_keys`): a row stamped ``REPEAT_HORIZON_S`` or more before its symbol's latest kept key, whose
    repeat might have been dropped. None when it can."""
    if seen is None or x_trade.height == 0:
        return None
    if x_trade.get_column("exch_time").min() > seen.get_column("exch_time").max() - _HORIZON:
        return None  # the usual live batch: no row is that far behind even the latest key of its symbols
    latest = seen.group_by("symbol").agg(_secs().max().alias("_latest"))
    stale = x_trade.join(latest, on="symbol").filter(_secs() <= pl.col("_latest") - REPEAT_HORIZON_S)
    if stale.height == 0:
        return None
    r = stale.row(0, named=True)
    return (f"X-TRADE {r['symbol']} ({r['session']}, {r['seq']}) is stamped {r['exch_time']:%H:%M:%S}, more than "
            f"{REPEAT_HORIZON_S} s before the symbol's latest: its repeat check needs the whole day")


def x_baseline(earlier: pl.DataFrame | None, x: pl.DataFrame) -> pl.DataFrame | None:
    """Per symbol the running max of X ``TotalVol`` (Int64)."""
    if x.height == 0:
        return earlier
    rows = x.filter(pl.col("total_vol").is_not_null()).select("symbol", "total_vol")
    if rows.height == 0:
        return earlier
    return _concat(earlier, rows).group_by("symbol").agg(pl.col("total_vol").max()).sort("symbol")


def last_books(earlier: pl.DataFrame | None, parsed: dict[str, pl.DataFrame], ranks: dict[str, int]):
    """Per symbol the latest X-QUOTE / X book (session, seq, level-1 prices)."""
    rows = pl.concat([parsed["x_quote"].select(_BOOK), parsed["x"].select(_BOOK)], how="vertical")
    if rows.height == 0:
        return earlier
    return (
        _concat(earlier, rows).with_columns(arrival_key(ranks)).sort("_arr")
        .group_by("symbol").agg(pl.all().exclude("_arr").last()).select(_BOOK).sort("symbol")
    )


def tick_context(earlier: pl.DataFrame | None, trades: pl.DataFrame) -> pl.DataFrame | None:
    """Per symbol: its tick reference (when any), then its last non-put-through print (``symbol, price``)."""
    if trades.height == 0:
        return earlier
    prints = trades.filter(pl.col("phase") != "pt").select("symbol", "price")
    if prints.height == 0:
        return earlier
    history = tick_references(_concat(earlier, prints))
    last = history.group_by("symbol", maintain_order=True).agg(pl.col("price").last(), pl.col("_tick_ref").last())
    return (
        pl.concat([last.filter(pl.col("_tick_ref").is_not_null()).select("symbol", pl.col("_tick_ref").alias("price"),
                                                                        pl.lit(0).alias("_o")),
                   last.select("symbol", "price", pl.lit(1).alias("_o"))], how="vertical")
        .sort("symbol", "_o").drop("_o")
    )


def trades_with_context(earlier: pl.DataFrame | None, trades: pl.DataFrame) -> pl.DataFrame:
    """The trades the rules run over: ``earlier`` (the carried :func:`trade_window`) then the batch's ``trades``,
    both in arrival order, with ``_teff`` (Int64 epoch s) on every row.

    A carried ``_teff`` is kept (exact for the window's rows, see the module docstring); the batch's rows continue
    each symbol's running maximum from it, so only they need their ``exch_time`` read. Without a carried ``_teff``
    (no context yet, or a state written before it was carried) it is computed over all rows.
    """
    if earlier is None or earlier.height == 0 or "_teff" not in earlier.columns:
        both = trades if earlier is None or earlier.height == 0 else pl.concat([earlier, trades], how="vertical")
        if both.height == 0:
            return both.with_columns(pl.lit(None, pl.Int64).alias("_teff"))
        codes = both.select(stream_codes("symbol")).to_series().to_numpy()
        order, dense = group_by_codes(codes)
        teff = np.empty(both.height, dtype=np.int64)
        teff[order] = running_max(dense, both.select(_secs()).to_series().to_numpy().astype(np.int64)[order])
        return both.with_columns(pl.Series("_teff", teff, dtype=pl.Int64))
    # Carried: only the batch's rows get a column; the context is appended to as it is (a with_columns over the
    # concatenation would copy every context row, ~2 ms on a 20-minute window). Each batch symbol's running maximum
    # continues from its latest carried _teff (the running maximum's last value is its largest).
    if trades.height == 0:
        return earlier
    symbols = trades.get_column("symbol").to_list()
    latest = _latest_teff(earlier, dict.fromkeys(symbols))
    at = {sym: i for i, sym in enumerate(dict.fromkeys(symbols))}
    codes = np.array([at[s] for s in [*latest, *symbols]], dtype=np.int64)
    values = np.concatenate([np.fromiter(latest.values(), np.int64, len(latest)),
                             trades.select(_secs()).to_series().to_numpy().astype(np.int64)])
    order, dense = group_by_codes(codes)
    teff = np.empty(len(values), dtype=np.int64)
    teff[order] = running_max(dense, values[order])
    return pl.concat([earlier, trades.with_columns(pl.Series("_teff", teff[len(latest):], dtype=pl.Int64))],
                     how="vertical")


def _latest_teff(window: pl.DataFrame, symbols) -> dict[str, int]:
    """Per symbol of ``symbols`` that has rows in ``window`` (with ``_teff``), its largest ``_teff``. One
    comparison per symbol: a batch holds a few of the ~30 symbols, the window thousands of rows."""
    column, teff = window.get_column("symbol"), window.get_column("_teff").to_numpy()
    out = {}
    for sym in symbols:
        mine = (column == sym).to_numpy()
        if mine.any():
            out[sym] = int(teff[mine].max())
    return out


def trade_window(trades: pl.DataFrame, params: AnalyticsParams = DEFAULT_PARAMS,
                 moved: list[str] | None = None) -> pl.DataFrame | None:
    """Trades (context + new, arrival order) with ``t_eff > T - W`` per symbol, W the VOLUME_SPIKE window
    (``params.alerts.volume_spike.window_s``, default 1200 s). With a ``_teff`` column (from
    :func:`trades_with_context`) the window is cut by it and keeps it (the next batch's carried ``_teff``);
    without one, ``t_eff`` is computed and not kept.

    ``moved``: when ``trades`` is a window this function cut plus new rows, the new rows' symbols; only their
    ``T`` moved, so only their rows are looked at (the others' all stay inside).
    """
    if trades.height == 0:
        return None
    has_teff = "_teff" in trades.columns and trades.get_column("_teff").null_count() == 0
    if not has_teff:
        trades = trades_with_context(None, trades.drop("_teff", strict=False))
    window_s = params.alerts.volume_spike.window_s
    if has_teff and moved is not None:
        column, teff = trades.get_column("symbol"), trades.get_column("_teff").to_numpy()
        keep = np.ones(trades.height, dtype=bool)
        for sym in dict.fromkeys(moved):
            mine = (column == sym).to_numpy()
            keep &= ~(mine & (teff <= teff[mine].max(initial=np.iinfo(np.int64).min) - window_s))
        return _keep_rows(trades, keep)
    keys = trades.select(stream_codes("symbol").alias("_code"), "_teff")
    codes, teff = keys.get_column("_code").to_numpy(), keys.get_column("_teff").to_numpy()
    latest = np.full(int(codes.max()) + 1, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, codes, teff)
    keep = teff > latest[codes] - window_s
    window = _keep_rows(trades, keep) if has_teff else trades.filter(pl.Series(keep)).drop("_teff")
    return window


_MAX_RUNS = 16
_MAX_CHUNKS = 64


def _keep_rows(frame: pl.DataFrame, keep: np.ndarray) -> pl.DataFrame:
    """``frame.filter(keep)`` without copying the rows when they form a few runs: a filter copies every kept row
    (~2.5 ms for a 20-minute trade window, while a batch drops a couple of rows); zero-copy slices are
    concatenated instead, and the result is made contiguous once it holds more than ``_MAX_CHUNKS`` chunks."""
    if keep.all():
        out = frame
    else:
        edges = np.diff(np.r_[0, keep.astype(np.int8), 0])
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if starts.size == 0:
            return frame.clear()
        if starts.size > _MAX_RUNS:
            return frame.filter(pl.Series(keep))
        out = pl.concat([frame.slice(int(a), int(b - a)) for a, b in zip(starts, stops, strict=True)],
                        how="vertical", rechunk=False)
    return out.rechunk() if out.n_chunks("all") and max(out.n_chunks("all")) > _MAX_CHUNKS else out


def room_with_context(flow_win: pl.DataFrame | None, foreign_room: pl.DataFrame) -> pl.DataFrame:
    """The R rows to run ``foreign_flow`` over: the kept rows with their running-max levels, then the batch."""
    if flow_win is None or flow_win.height == 0:
        return foreign_room
    ctx = flow_win.select(
        "session", "seq", pl.lit(0, pl.Int64).alias("recv_ns"), "trading_date", "exch_time", "symbol",
        "total_room", "current_room",
        pl.col("_cm_buy_vol").alias("buy_vol"), pl.col("_cm_sell_vol").alias("sell_vol"),
        pl.col("_cm_buy_val_vnd").cast(pl.Float64).alias("buy_val"),
        pl.col("_cm_sell_val_vnd").cast(pl.Float64).alias("sell_val"),
    )
    return pl.concat([ctx, foreign_room], how="diagonal_relaxed").select(list(schemas.FOREIGN_ROOM)).cast(
        dict(schemas.FOREIGN_ROOM))


def flow_window(flow: pl.DataFrame, params: AnalyticsParams = DEFAULT_PARAMS) -> pl.DataFrame | None:
    """FOREIGN_FLOW rows (context + new, arrival order) that later rows can still read, with ``_cm_*`` levels:
    per symbol the rows with ``t_eff > T - R`` (R = :func:`flow_reach_s`, default 360 s), the anchor, the row each
    of those measures its speed from, and the baseline; ``exch_time`` is the row's ``t_eff`` (so that a replay
    rebuilds it)."""
    if flow.height == 0:
        return None
    levels = [pl.col(c).clip(lower_bound=0).alias(c) for c in _LEVELS]
    keys = flow.select(stream_codes("symbol").alias("_code"), _secs().alias("_secs"), *levels)
    if any(keys.get_column(c).null_count() for c in _LEVELS):  # nulls: the running maxima skip them, as Polars does
        return _flow_window_polars(flow, params)
    # One pass to numpy, then per symbol in arrival order (a stable sort by symbol code keeps the input order, as
    # the sort by (symbol, row index) does): running maxima, t_eff, the rows kept; one filter back.
    order, dense = group_by_codes(keys.get_column("_code").to_numpy())
    teff = running_max(dense, keys.get_column("_secs").to_numpy().astype(np.int64)[order])
    cm = {c: running_max(dense, keys.get_column(c).to_numpy()[order]) for c in _LEVELS}
    last = _run_ends(dense)  # a stream's last row holds its T (t_eff only grows)
    inside = teff > (teff[last] - flow_reach_s(params))[dense]
    outside = np.flatnonzero(~inside)
    read = inside.copy()
    read[outside[_run_ends(dense[outside])]] = True  # the anchor: the stream's last row outside
    idx = StreamIndex(None, codes=dense, teff=teff)
    keep = read | (np.arange(len(order)) == np.searchsorted(idx.codes, idx.codes, side="left"))
    speed_from = idx.last_at_or_before(params.foreign.speed_window_s)[read]
    keep[speed_from[speed_from >= 0]] = True
    rows = np.sort(order[keep])  # back to input order
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    at = back[rows]  # position of each kept row in stream order
    at_teff = (pl.from_epoch(pl.Series("_teff", teff[at]), time_unit="s")
               .dt.replace_time_zone(EXCH_TIME.time_zone).cast(EXCH_TIME).alias("exch_time"))
    return flow[rows].with_columns(
        at_teff, *[pl.Series(f"_cm_{c}", cm[c][at], dtype=keys.schema[c]) for c in _LEVELS])


def _flow_window_polars(flow: pl.DataFrame, params: AnalyticsParams) -> pl.DataFrame:
    """:func:`flow_window` in Polars expressions (any input, nulls included)."""
    f = flow.with_row_index("_i").sort("symbol", "_i").with_columns(
        *[pl.col(c).clip(lower_bound=0).cum_max().over("symbol").alias(f"_cm_{c}") for c in _LEVELS],
        effective_time("symbol"))
    inside = pl.col("_teff") > pl.col("_teff").max().over("symbol") - flow_reach_s(params)
    anchor = (~inside) & (~inside).cum_sum().over("symbol").eq((~inside).sum().over("symbol"))
    read = f.select(inside | anchor).to_series().to_numpy()
    idx = StreamIndex(f, "symbol")
    keep = read | (np.arange(f.height) == np.searchsorted(idx.codes, idx.codes, side="left"))
    speed_from = idx.last_at_or_before(params.foreign.speed_window_s)[read]
    keep[speed_from[speed_from >= 0]] = True
    at_teff = pl.from_epoch("_teff", time_unit="s").dt.replace_time_zone(EXCH_TIME.time_zone).cast(EXCH_TIME)
    return (f.filter(pl.Series(keep)).sort("_i").with_columns(at_teff.alias("exch_time"))
            .drop("_i", "_teff"))


def last_spot(indices: pl.DataFrame) -> pl.DataFrame | None:
    """The latest VN30 row with a value (INDICES schema), or None."""
    spot = indices.filter((pl.col("index_id").str.to_uppercase() == SPOT_INDEX) & pl.col("value").is_not_null())
    return spot.tail(1) if spot.height else None


def basis_context(basis: pl.DataFrame) -> pl.DataFrame | None:
    """Per contract: the last non-zero basis row and the first row stamped with the contract's ``T``."""
    if basis.height == 0:
        return None
    # One pass to numpy instead of four window expressions: per contract, in row order, the last row with a
    # non-zero sign and the first row at the contract's latest exch_time.
    keys = basis.select(stream_codes("symbol").alias("_code"), _secs().alias("_secs"),
                        (pl.col("basis_pts").sign() != 0).alias("_nz"))
    if keys.get_column("_nz").null_count():  # a null basis: keep the expressions' null semantics
        return _basis_context_polars(basis)
    order, dense = group_by_codes(keys.get_column("_code").to_numpy())
    secs = keys.get_column("_secs").to_numpy()[order]
    nonzero = keys.get_column("_nz").to_numpy()[order]
    keep = np.zeros(len(order), dtype=bool)
    nz = np.flatnonzero(nonzero)
    keep[nz[_run_ends(dense[nz])]] = True  # last non-zero row per contract
    latest = np.full(int(dense[-1]) + 1, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, dense, secs)
    at = np.flatnonzero(secs == latest[dense])
    keep[at[_run_starts(dense[at])]] = True  # first row at the contract's latest time
    return basis[np.sort(order[keep])]


def _basis_context_polars(basis: pl.DataFrame) -> pl.DataFrame:
    """:func:`basis_context` in Polars expressions (any input, nulls included)."""
    secs = _secs()
    nonzero = pl.col("basis_pts").sign() != 0
    last_nonzero = nonzero & (nonzero.cum_sum().over("symbol") == nonzero.sum().over("symbol"))
    at_max = secs == secs.max().over("symbol")
    first_at_max = at_max & (at_max.cum_sum().over("symbol") == 1)
    return basis.filter(last_nonzero | first_at_max)
