"""Trades from the parsed channels, with session phase and aggressor side (docs/analytics.md §3).

Source per symbol: X-TRADE, else the TotalVol deltas of X, else B. Classification: call-auction prints are
neutral; otherwise the quote rule against the latest book that arrived strictly before the trade; without a
book, the tick rule. SSI's own ``Side`` is kept as ``vendor_side``.
"""

from __future__ import annotations

import functools
from datetime import time
from typing import NamedTuple

import polars as pl

from transforms import schemas

from market import rules as market
from market.reference_data import listed_exchanges
from transforms.classify import classify_trades
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.windows import arrival_key, arrival_order


REPEAT_KEY = ("symbol", "exch_time", "last_price", "last_vol", "total_vol")
"""The columns that make an X-TRADE row a repeat of an earlier one (docs/analytics.md §3)."""
SOURCE_PRIORITY = {"B": 0, "X": 1, "X-TRADE": 2}
"""A symbol's trades come from its highest-priority channel of the day."""


class TradeContext(NamedTuple):
    """What earlier frames of the day leave behind for the trades of later ones (the micro-batch loop).

    Every field is optional; ``None`` means "nothing earlier" (the start of the day), which is what the daily
    rebuild passes. Field frames hold only the rows the rules can still reach (transforms/incremental).

    Attributes
    ----------
    sources : symbol -> trade channel decided so far (``SOURCE_PRIORITY``); merged with this batch's channels.
    seen : earlier X-TRADE rows (``REPEAT_KEY`` columns) a repeat may match.
    x_baseline : ``symbol``, ``total_vol`` (Int64): the running maximum of earlier X ``TotalVol``.
    books : ``session, seq, symbol, bid_price_1, ask_price_1``: the latest earlier book per symbol.
    tick : ``symbol, price``: up to two earlier non-put-through prints per symbol (the reference, then the last),
        in arrival order, enough for the tick rule.
    """

    sources: dict[str, str] | None = None
    seen: pl.DataFrame | None = None
    x_baseline: pl.DataFrame | None = None
    books: pl.DataFrame | None = None
    tick: pl.DataFrame | None = None


def _x_trade_trades(x_trade: pl.LazyFrame, seen: pl.DataFrame | None = None,
                    symbols: pl.Series | None = None) -> pl.LazyFrame:
    """``symbols``: the symbols of ``x_trade`` (only their kept keys can be repeated)."""
    repeat_key = pl.struct(*REPEAT_KEY)
    if seen is not None and seen.height:
        # the key holds the symbol: only the kept keys of the batch's symbols can match (a few hundred of ~10k)
        earlier = seen.lazy().filter(pl.col("symbol").is_in(symbols.implode()))
        marked = pl.concat([earlier.select(*REPEAT_KEY, pl.lit(True).alias("_seen")),
                            x_trade.with_columns(pl.lit(False).alias("_seen"))], how="diagonal_relaxed")
        # one pass: the window (first of its repeat key) is evaluated over the whole frame before filtering
        x_trade = marked.filter(repeat_key.is_first_distinct() & ~pl.col("_seen"))
    else:
        x_trade = x_trade.filter(repeat_key.is_first_distinct())
    return (
        x_trade
        .filter((pl.col("last_price") > 0) & (pl.col("last_vol") > 0))
        .select(
            "session", "seq", "trading_date", "exch_time", "symbol",
            pl.col("exchange").alias("_exchange"), pl.col("market_id").alias("_market_id"),
            pl.lit("X-TRADE").alias("source"), pl.col("last_price").alias("price"), pl.col("last_vol").alias("volume"),
            "ref_price", "ceiling", "floor", "trading_session", pl.col("side").alias("vendor_side"),
        )
    )


def _x_snapshot_trades(x: pl.LazyFrame, baseline: pl.DataFrame | None = None, _symbols=None) -> pl.LazyFrame:
    prev_max = pl.col("total_vol").cum_max().shift(1).over("symbol")
    if baseline is not None and baseline.height:
        x = x.join(baseline.lazy().select("symbol", pl.col("total_vol").alias("_base")), on="symbol", how="left",
                   maintain_order="left")
        prev_max = pl.max_horizontal(prev_max, pl.col("_base"))
    return (
        x.filter(pl.col("total_vol").is_not_null())
        .with_columns((pl.col("total_vol") - prev_max).alias("_delta"))
        .filter((pl.col("_delta") > 0) & (pl.col("last_price") > 0))
        .select(
            "session", "seq", "trading_date", "exch_time", "symbol",
            pl.col("exchange").alias("_exchange"), pl.col("market_id").alias("_market_id"),
            pl.lit("X").alias("source"), pl.col("last_price").alias("price"), pl.col("_delta").alias("volume"),
            "ref_price", "ceiling", "floor", "trading_session", pl.col("side").alias("vendor_side"),
        )
    )


def _bar_trades(bar: pl.LazyFrame, _earlier=None, _symbols=None) -> pl.LazyFrame:
    null_f, null_s = pl.lit(None, pl.Float64), pl.lit(None, pl.String)
    return bar.filter((pl.col("close") > 0) & (pl.col("volume") > 0)).select(
        "session", "seq", "trading_date", "exch_time", "symbol", null_s.alias("_exchange"), null_s.alias("_market_id"),
        pl.lit("B").alias("source"), pl.col("close").alias("price"), "volume",
        null_f.alias("ref_price"), null_f.alias("ceiling"), null_f.alias("floor"),
        null_s.alias("trading_session"), null_s.alias("vendor_side"),
    )


def normalize_exchange_expr(col: pl.Expr) -> pl.Expr:
    """Vectorized :func:`market.rules.normalize_exchange`."""
    e = wire_label_expr(col)
    return pl.when(e == "DER").then(pl.lit(market.DERIVATIVES)).when(e == "").then(None).otherwise(e)


def resolve_exchange_expr(symbol: pl.Expr, exchange: pl.Expr, market_id: pl.Expr) -> pl.Expr:
    """Vectorized :func:`market.rules.resolve_exchange`."""
    from_list = symbol.str.to_uppercase().replace_strict(listed_exchanges(), default=None, return_dtype=pl.String)
    futures = pl.when(symbol.str.to_uppercase().str.starts_with(market.FUTURES_PREFIX)).then(pl.lit(market.DERIVATIVES))
    return pl.coalesce(normalize_exchange_expr(exchange), normalize_exchange_expr(market_id), from_list, futures)


def wire_label_expr(col: pl.Expr) -> pl.Expr:
    """Vectorized :func:`market.rules.wire_label`."""
    return col.str.strip_chars(market.WIRE_SPACE).str.to_uppercase()


def phase_expr(params: AnalyticsParams = DEFAULT_PARAMS, opening_match: pl.Expr | None = None) -> pl.Expr:
    """Session phase from exchange, TradingSession, time of day and, for a HOSE print stamped at the ATO end
    (09:15:00), whether it belongs to the opening match (docs/analytics.md §3 "Session phase"; docs/market.md §2);
    the boundaries are ``params.phases``.

    opening_match : Boolean per trade, "no earlier print of the symbol today at another price" (its tick
        reference is null); None while the tick references are not known yet (only ``pt`` is final then).
    """
    ato_end, atc_start = params.phases.ato_end, params.phases.atc_start
    s = wire_label_expr(pl.col("trading_session"))
    e = pl.col("exchange")
    hms = pl.col("exch_time").dt.time()
    at_open = pl.lit("ato") if opening_match is None else pl.when(opening_match).then(pl.lit("ato")).otherwise(
        pl.lit("continuous"))
    return (
        pl.when(s == "PT").then(pl.lit("pt"))
        .when(s == "ATO").then(pl.lit("ato"))
        .when(s == "ATC").then(pl.lit("atc"))
        .when(s == "PLO").then(pl.lit("plo"))
        .when(e == market.DERIVATIVES).then(pl.when(hms >= atc_start).then(pl.lit("atc")).otherwise(pl.lit("continuous")))
        .when(e == "UPCOM").then(pl.lit("continuous"))
        .when(e == "HNX").then(
            pl.when(hms > time(14, 45)).then(pl.lit("plo"))
            .when(hms >= atc_start).then(pl.lit("atc"))
            .otherwise(pl.lit("continuous")))
        .when(hms < ato_end).then(pl.lit("ato"))
        .when(hms == ato_end).then(at_open)
        .when(hms >= atc_start).then(pl.lit("atc"))
        .otherwise(pl.lit("continuous"))
    )


def trade_sources(parsed: dict[str, pl.DataFrame]) -> dict[str, str]:
    """Symbol -> the channel its trades come from today: X-TRADE, else X, else B. Index symbols never trade."""
    out: dict[str, str] = {}
    for channel, table in (("B", "bar"), ("X", "x"), ("X-TRADE", "x_trade")):
        for sym in parsed[table].get_column("symbol").unique().to_list():
            if not market.is_index_symbol(sym):
                out[sym] = channel
    return out


def merge_sources(earlier: dict[str, str] | None, batch: dict[str, str]) -> dict[str, str]:
    """Symbol -> trade channel over earlier frames and ``batch`` (the higher ``SOURCE_PRIORITY`` wins)."""
    out = dict(earlier or {})
    for sym, src in batch.items():
        if sym not in out or SOURCE_PRIORITY[src] > SOURCE_PRIORITY[out[sym]]:
            out[sym] = src
    return out


def build_trades(parsed: dict[str, pl.DataFrame], ranks: dict[str, int] | None = None,
                 context: TradeContext | None = None, params: AnalyticsParams = DEFAULT_PARAMS) -> pl.DataFrame:
    """All trades of the day, classified.

    Parameters
    ----------
    parsed : the tables of :func:`transforms.parse.parse_frames` (x_trade, x, bar for trades; x_quote, x for
        books), each in arrival order.
    ranks : capture-session ranks shared with the other tables (:func:`transforms.windows.arrival_order`).
    context : what earlier frames of the day left (:class:`TradeContext`); None at the start of the day.
    params : the analytics parameters (``phases``, ``classification``); the default is docs/analytics.md §3.

    Returns
    -------
    ``transforms.schemas.TRADES``, one row per trade in arrival order: price Float64 (VND or points),
    volume Int64 (shares/contracts), value_vnd Int64, phase, aggressor_side, rule, vendor_side.
    """
    context = context or TradeContext()
    sources = merge_sources(context.sources, trade_sources(parsed))
    by_source = {src: [s for s, v in sources.items() if v == src] for src in ("X-TRADE", "X", "B")}
    # a channel no symbol takes its trades from costs nothing (a micro-batch pays per Polars call, not per row):
    # the trades are one lazy query up to the book join, the tick reference and classification a second one
    parts = []
    for src, table, make, earlier in (("X-TRADE", "x_trade", _x_trade_trades, context.seen),
                                      ("X", "x", _x_snapshot_trades, context.x_baseline),
                                      ("B", "bar", _bar_trades, None)):
        if not (by_source[src] and parsed[table].height):
            continue
        symbols = parsed[table].get_column("symbol").unique()
        rows = parsed[table].lazy()
        if not set(symbols.to_list()) <= set(by_source[src]):  # some symbol's trades come from another channel
            rows = rows.filter(pl.col("symbol").is_in(by_source[src]))
            symbols = symbols.filter(symbols.is_in(by_source[src]))
        parts.append(make(rows, earlier, symbols))
    if not parts:
        return schemas.empty(schemas.TRADES)
    trades = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    if not ranks:
        trades = _collect(trades)
        ranks = arrival_order(trades, parsed["x_quote"], parsed["x"])
        trades = trades.lazy()
    exprs = _trade_exprs(params)
    trades = trades.with_columns(arrival_key(ranks), exprs.exchange).sort("_arr").with_columns(*exprs.value_phase)
    trades = _collect(_attach_book(trades, parsed, ranks, context.books))
    trades = _attach_tick_reference(trades, context.tick).with_columns(exprs.final_phase)
    if exprs.classification is None:
        classified = classify_trades(_collect(trades), params.classification).lazy()
    else:
        classified = trades.with_columns(*exprs.classification)
    return _collect(classified.select(list(schemas.TRADES)).cast(dict(schemas.TRADES)))


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    """Run ``query`` as eager calls run (the in-memory engine, no plan optimization): ``collect()``'s default
    engine choice costs ~0.1 ms more per query, more than a micro-batch's rows."""
    return query.collect(engine="in-memory", optimizations=pl.QueryOptFlags.none())


class _TradeExprs(NamedTuple):
    exchange: pl.Expr
    value_phase: tuple[pl.Expr, pl.Expr]
    final_phase: pl.Expr
    classification: tuple[pl.Expr, ...] | None  # None: custom parameters, :func:`classify_trades` runs


@functools.lru_cache(maxsize=16)
def _trade_exprs(params: AnalyticsParams) -> _TradeExprs:
    """The expressions of :func:`build_trades` for ``params``, built once (building them cost ~2 ms a call, more
    than a micro-batch's rows; the reference data they embed is loaded once per process)."""
    value = market.round_half_up_expr(
        pl.col("price") * pl.col("volume").cast(pl.Float64) * market.multiplier_expr(pl.col("symbol"), pl.col("exchange")))
    return _TradeExprs(
        exchange=resolve_exchange_expr(pl.col("symbol"), pl.col("_exchange"), pl.col("_market_id")).alias("exchange"),
        value_phase=(value.alias("value_vnd"), phase_expr(params).alias("phase")),
        final_phase=phase_expr(params, pl.col("_tick_ref").is_null()).alias("phase"),
        classification=(tuple(_default_classification()) if params.classification == DEFAULT_PARAMS.classification
                        else None),
    )


def _attach_book(trades: pl.LazyFrame, parsed: dict[str, pl.DataFrame], ranks: dict[str, int],
                 earlier: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Join each trade with the latest X-QUOTE / X book of its symbol that arrived strictly before it."""
    cols = ["session", "seq", "symbol", "bid_price_1", "ask_price_1"]
    sources = [parsed["x_quote"].lazy().select(cols), parsed["x"].lazy().select(cols)]
    if earlier is not None and earlier.height:
        sources.insert(0, earlier.lazy().select(cols).cast({c: parsed["x_quote"].schema[c] for c in cols}))
    books = (
        pl.concat(sources, how="vertical")
        .with_columns(arrival_key(ranks))
        .sort("_arr")
        .select("_arr", "symbol", pl.col("bid_price_1").alias("_bid"), pl.col("ask_price_1").alias("_ask"),
                pl.lit(True).alias("_has_book"))
    )
    return trades.join_asof(
        books, on="_arr", by="symbol", strategy="backward", allow_exact_matches=False, check_sortedness=False
    )


def tick_references(history: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """``_tick_ref`` per row of ``history`` (non-put-through prints, arrival order, columns symbol + price): the
    most recent earlier price of the symbol that differs from the row's price (docs/analytics.md §3, tick rule)."""
    prev = pl.col("price").shift(1).over("symbol")
    return history.with_columns(
        pl.when(pl.col("price") != prev).then(prev).otherwise(None).forward_fill().over("symbol").alias("_tick_ref")
    )


def _attach_tick_reference(trades: pl.DataFrame, earlier: pl.DataFrame | None = None) -> pl.LazyFrame:
    """``_tick_ref``: the most recent earlier non-put-through price of the symbol that differs from this one."""
    history = trades.lazy().filter(pl.col("phase") != "pt").select("_arr", "symbol", "price")
    if earlier is not None and earlier.height:  # earlier prints come first; _arr -1 never joins a trade
        history = pl.concat([earlier.lazy().select(pl.lit(-1, pl.Int64).alias("_arr"), "symbol", "price"), history],
                            how="vertical_relaxed")
    history = tick_references(history)
    return trades.lazy().join(history.select("_arr", "_tick_ref").filter(pl.col("_arr") >= 0), on="_arr",
                              how="left", maintain_order="left")


def _default_classification() -> list[pl.Expr]:
    """``aggressor_side``, ``rule``, ``best_bid``, ``best_ask`` by docs/analytics.md §3 with the default parameters,
    over trades with ``_bid``, ``_ask``, ``_has_book``, ``_tick_ref``, ``price`` and ``phase``."""
    bid, ask, price = pl.col("_bid").fill_null(0.0), pl.col("_ask").fill_null(0.0), pl.col("price")
    usable = pl.col("_has_book").fill_null(False) & ((bid > 0) | (ask > 0))
    ref = pl.col("_tick_ref")
    auction = pl.col("phase").is_in(["ato", "atc"])
    side = (
        pl.when(auction | (pl.col("phase") == "pt")).then(pl.lit("neutral"))
        .when(usable).then(
            pl.when((ask > 0) & (price >= ask)).then(pl.lit("buy"))
            .when((bid > 0) & (price <= bid)).then(pl.lit("sell"))
            .otherwise(pl.lit("neutral"))
        )
        .when(ref.is_null()).then(pl.lit("neutral"))
        .when(price > ref).then(pl.lit("buy"))
        .otherwise(pl.lit("sell"))
    )
    rule = (
        pl.when(auction).then(pl.lit("auction"))
        .when(pl.col("phase") == "pt").then(pl.lit("none"))
        .when(usable).then(pl.lit("quote"))
        .when(ref.is_null()).then(pl.lit("none"))
        .otherwise(pl.lit("tick"))
    )
    return [
        side.alias("aggressor_side"),
        rule.alias("rule"),
        pl.when(usable & (bid > 0)).then(bid).alias("best_bid"),
        pl.when(usable & (ask > 0)).then(ask).alias("best_ask"),
    ]
