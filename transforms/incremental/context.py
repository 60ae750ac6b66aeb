"""The context each rule carries from one micro-batch to the next, and why it is enough (docs/analytics.md).

Notation: for a stream (a symbol's trades, a symbol's R rows, a contract's basis rows) ``T`` is the largest
``t_eff`` so far; every later row has ``t_eff >= T``.

* ``t_eff`` recomputed over a context that holds every row with ``t_eff > T - W`` equals the true ``t_eff`` for
  those rows and for every later row: the row that set a running maximum above ``T - W`` is itself inside the
  context. Rows older than the context can only sit in windows that end before ``T - W``.
* VOLUME_SPIKE looks back 1200 s from ``t_eff_i >= T``: the trades with ``t_eff > T - 1200`` (all phases, since
  ``t_eff`` runs over all of the symbol's trades).
* Foreign speed (300 s) and acceleration (300 s ending 60 s back) look back 360 s; FOREIGN_ACCELERATION needs
  the latest row with ``t_eff <= t_eff_i - 300``: so the R rows with ``t_eff > T - 360`` plus the latest row
  before them (the *anchor*). The rows are replayed with their levels replaced by the running maxima ``_cm_*``:
  ``foreign_flow`` then rebuilds the same running maxima, the same deltas after the anchor, and - since flows sum
  to the running maximum - the anchor's own net equals the true running net. Only the anchor's ``net_vol`` is
  off, and it lies outside every window a later row uses.
* The quote rule needs the latest book; X trades the running maximum of ``TotalVol``; the tick rule the last
  print and its own reference; the basis the latest VN30 value; BASIS_FLIP the last non-zero basis.
"""

from __future__ import annotations

import polars as pl

from transforms import schemas
from transforms.basis import SPOT_INDEX
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.trades import REPEAT_KEY, tick_references
from transforms.windows import arrival_key, effective_time

REPEAT_HORIZON_S = 1200
"""X-TRADE repeat keys are kept this long (exchange time) behind the symbol's latest X-TRADE frame."""


def flow_reach_s(params: AnalyticsParams = DEFAULT_PARAMS) -> int:
    """How far back (s of exchange time) the foreign speed, acceleration and FOREIGN_ACCELERATION look."""
    return max(params.foreign.speed_window_s + params.foreign.accel_lag_s,
               params.alerts.foreign_acceleration.window_s)
_LEVELS = ("buy_vol", "sell_vol", "buy_val_vnd", "sell_val_vnd")
_BOOK = ["session", "seq", "symbol", "bid_price_1", "ask_price_1"]


def _secs(col: str = "exch_time") -> pl.Expr:
    return pl.col(col).dt.replace_time_zone(None).dt.epoch("s")


def _concat(earlier: pl.DataFrame | None, later: pl.DataFrame) -> pl.DataFrame:
    return later if earlier is None else pl.concat([earlier, later], how="vertical_relaxed")


def repeat_keys(earlier: pl.DataFrame | None, x_trade: pl.DataFrame) -> pl.DataFrame | None:
    """X-TRADE repeat keys within ``REPEAT_HORIZON_S`` of each symbol's latest ``exch_time``."""
    if x_trade.height == 0:
        return earlier
    keys = _concat(earlier, x_trade.select(REPEAT_KEY)).unique(maintain_order=True)
    latest = _secs().max().over("symbol")
    return keys.filter(_secs() > latest - REPEAT_HORIZON_S)


def stale_repeats(earlier: pl.DataFrame | None, x_trade: pl.DataFrame) -> str | None:
    """Why ``x_trade`` cannot be de-duplicated against the kept keys, or None when it can."""
    if earlier is None or x_trade.height == 0:
        return None
    latest = earlier.group_by("symbol").agg(_secs().max().alias("_latest"))
    stale = x_trade.join(latest, on="symbol").filter(_secs() <= pl.col("_latest") - REPEAT_HORIZON_S)
    if stale.height == 0:
        return None
    r = stale.row(0, named=True)
    return (f"X-TRADE {r['symbol']} ({r['session']}, {r['seq']}) is stamped {r['exch_time']:%H:%M:%S}, more than "
            f"{REPEAT_HORIZON_S} s before the symbol's latest: its repeat check needs the whole day")


def x_baseline(earlier: pl.DataFrame | None, x: pl.DataFrame) -> pl.DataFrame | None:
    """Per symbol the running max of X ``TotalVol`` (Int64)."""
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


def trade_window(trades: pl.DataFrame, params: AnalyticsParams = DEFAULT_PARAMS) -> pl.DataFrame | None:
    """Trades (context + new, arrival order) with ``t_eff > T - W`` per symbol, W the VOLUME_SPIKE window
    (``params.alerts.volume_spike.window_s``, default 1200 s)."""
    if trades.height == 0:
        return None
    teff = effective_time("symbol")
    return trades.filter(teff > teff.max().over("symbol") - params.alerts.volume_spike.window_s)


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
    """FOREIGN_FLOW rows (context + new, arrival order) with ``_cm_*`` levels, ``t_eff > T - R`` + the anchor,
    R = :func:`flow_reach_s` (default 360 s)."""
    if flow.height == 0:
        return None
    teff = effective_time("symbol")
    f = flow.with_columns(*[pl.col(f"d_{c}").cum_sum().over("symbol").alias(f"_cm_{c}") for c in _LEVELS],
                          teff, teff.max().over("symbol").alias("_T"))
    inside = pl.col("_teff") > pl.col("_T") - flow_reach_s(params)
    anchor = (~inside) & (~inside).cum_sum().over("symbol").eq((~inside).sum().over("symbol"))
    return f.filter(inside | anchor).drop("_teff", "_T")


def last_spot(indices: pl.DataFrame) -> pl.DataFrame | None:
    """The latest VN30 row with a value (INDICES schema), or None."""
    spot = indices.filter((pl.col("index_id").str.to_uppercase() == SPOT_INDEX) & pl.col("value").is_not_null())
    return spot.tail(1) if spot.height else None


def basis_context(basis: pl.DataFrame) -> pl.DataFrame | None:
    """Per contract: the last non-zero basis row and the first row stamped with the contract's ``T``."""
    if basis.height == 0:
        return None
    secs = _secs()
    nonzero = pl.col("basis_pts").sign() != 0
    last_nonzero = nonzero & (nonzero.cum_sum().over("symbol") == nonzero.sum().over("symbol"))
    at_max = secs == secs.max().over("symbol")
    first_at_max = at_max & (at_max.cum_sum().over("symbol") == 1)
    return basis.filter(last_nonzero | first_at_max)
