"""The price board (bảng giá): one row per symbol with the day's state (docs/analytics.md §10)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import polars as pl

from transforms import schemas

from market import rules as market
from transforms.trades import normalize_exchange_expr, resolve_exchange_expr
from transforms.windows import arrival_key, arrival_order


def _positive(col: str) -> pl.Expr:
    return pl.when(pl.col(col) > 0).then(pl.col(col))


_BOOK = ("bid_price_1", "bid_vol_1", "ask_price_1", "ask_vol_1")
_ON = ["trading_date", "symbol"]


def board(parsed: dict[str, pl.DataFrame], trades: pl.DataFrame, summary: pl.DataFrame,
          ranks: dict[str, int] | None = None) -> pl.DataFrame:
    """Price board snapshot at the end of the data.

    Parameters
    ----------
    parsed : parsed tables (x_quote, x, foreign_room are read).
    trades : classified trades (``TRADES``).
    summary : foreign summary (``FOREIGN_SUMMARY``).

    Returns
    -------
    ``transforms.schemas.BOARD`` sorted by symbol: last price, reference/ceiling/floor (VND or points), change and
    change %, board colour state, best bid/ask with volumes, matched volume/value (put-through excluded),
    active-buy share, foreign net volume/value.
    """
    return finish_board(board_parts(parsed, trades, ranks), summary)


def board_parts(parsed: dict[str, pl.DataFrame], trades: pl.DataFrame,
                ranks: dict[str, int] | None = None) -> pl.DataFrame:
    """The board's per-(trading_date, symbol) state over some frames, combinable with :func:`merge_board_parts`.

    Columns: last_price, volume, value_vnd, _buy, _sell (matched trades), ref_price, ceiling, floor (last
    non-null), _exchange (last non-null), the last book's level 1 and ``_has_book``, last_exch_time (max over
    trades, books and R rows), ``_listed`` (the symbol has a trade or a book: it is on the board).
    """
    xq, x, r = parsed["x_quote"], parsed["x"], parsed["foreign_room"]
    ranks = ranks or arrival_order(trades, xq, x, r)
    # One long frame in arrival order and one group_by (a micro-batch pays per Polars call, not per row).
    e = _parts_exprs()
    rows = pl.concat([trades.select(*e.trade), x.select(*e.limits), xq.select(*e.book), x.select(*e.book),
                      r.select(*e.room)], how="diagonal")
    return (
        rows.with_columns(arrival_key(ranks))
        .sort("_arr", "_kind")
        .group_by(*_ON)
        .agg(*e.aggregates)
        .filter(pl.col("_on_board"))
        .drop("_on_board")
    )


class _PartsExprs(NamedTuple):
    trade: tuple[pl.Expr | str, ...]
    limits: tuple[pl.Expr | str, ...]
    book: tuple[pl.Expr | str, ...]
    room: tuple[pl.Expr | str, ...]
    aggregates: tuple[pl.Expr, ...]


@functools.lru_cache(maxsize=1)
def _parts_exprs() -> _PartsExprs:
    """The expressions of :func:`board_parts`, built once (they embed literal lists; building them each call
    cost about as much as the micro-batch's query)."""
    # _kind: 0 a trade, 1 an X row's limits, 2 a book (X-QUOTE or X), 3 an R row (its time), 4 the book of an
    # index symbol (no board row comes of it: every aggregate below ignores it)
    key = ("session", "seq", *_ON)
    book_kind = pl.when(market.is_index_expr(pl.col("symbol"))).then(pl.lit(4, pl.Int8)).otherwise(pl.lit(2, pl.Int8))
    kind = pl.col("_kind")
    trade, book, on_board = kind == 0, kind == 2, (kind != 1) & (kind != 4)
    matched = trade & (pl.col("phase") != "pt")

    def when_matched(e: pl.Expr) -> pl.Expr:  # null, not 0, for a symbol without matched trades in these frames
        return pl.when(matched.any()).then(e)

    return _PartsExprs(
        trade=(*key, "exch_time", "price", "volume", "value_vnd", "aggressor_side", "phase", "ref_price", "ceiling",
               "floor", "exchange", pl.lit(0, pl.Int8).alias("_kind")),
        limits=(*key, "ref_price", "ceiling", "floor", pl.lit(1, pl.Int8).alias("_kind")),
        book=(*key, "exch_time", normalize_exchange_expr(pl.col("exchange")).alias("exchange"), *_BOOK,
              book_kind.alias("_kind")),
        room=(*key, "exch_time", pl.lit(3, pl.Int8).alias("_kind")),
        aggregates=(
            pl.col("price").filter(matched).last().alias("last_price"),
            when_matched(pl.col("volume").filter(matched).sum()).alias("volume"),
            when_matched(pl.col("value_vnd").filter(matched).sum()).alias("value_vnd"),
            when_matched(pl.col("volume").filter(matched & (pl.col("aggressor_side") == "buy")).sum()).alias("_buy"),
            when_matched(pl.col("volume").filter(matched & (pl.col("aggressor_side") == "sell")).sum()).alias("_sell"),
            *[pl.col(c).filter(kind <= 1).drop_nulls().last() for c in ("ref_price", "ceiling", "floor")],
            pl.col("exchange").filter(trade | book).drop_nulls().last().alias("_exchange"),
            *[pl.col(c).filter(book).last() for c in _BOOK],
            book.any().alias("_has_book"),
            pl.col("exch_time").filter(on_board).max().alias("last_exch_time"),
            (trade | book).any().alias("_listed"),
            on_board.any().alias("_on_board"),  # a symbol seen only in an X row's limits has no board row
        ),
    )


def merge_board_parts(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`board_parts` of two consecutive parts of a day -> that of their concatenation.

    Per (trading_date, symbol): the later part's last price, limits and exchange where it has them, else the
    earlier's; volumes and values added (null only if null in both); the later book if the later part has one;
    the latest time; listed if listed in either. Rows of symbols the later part does not touch are kept as they
    are; the touched ones (a micro-batch touches a few of the board's symbols) are combined row by row.
    """
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    keys = list(zip(earlier.get_column("trading_date").to_list(), earlier.get_column("symbol").to_list()))
    at = {k: i for i, k in enumerate(keys)}
    touched = [at.get(k) for k in zip(later.get_column("trading_date").to_list(), later.get_column("symbol").to_list())]
    old = earlier[[i for i in touched if i is not None]].to_dicts()
    olds = iter(old)
    rows = [_merge_row(next(olds), new) if i is not None else new
            for i, new in zip(touched, later.select(earlier.columns).to_dicts(), strict=True)]
    untouched = np.ones(earlier.height, dtype=bool)
    untouched[[i for i in touched if i is not None]] = False
    return pl.concat([earlier[np.flatnonzero(untouched)], pl.from_dicts(rows, schema=earlier.schema)],
                     how="vertical")


def _merge_row(old: dict, new: dict) -> dict:
    """One symbol's board part over earlier frames (``old``) and later ones (``new``) -> over both."""
    def later_else_earlier(c: str):
        return new[c] if new[c] is not None else old[c]

    def added(c: str):
        return None if old[c] is None and new[c] is None else (old[c] or 0) + (new[c] or 0)

    has_book = bool(new["_has_book"])
    times = [t for t in (old["last_exch_time"], new["last_exch_time"]) if t is not None]
    return {
        **{c: old[c] for c in _ON},
        "last_price": later_else_earlier("last_price"),
        **{c: added(c) for c in ("volume", "value_vnd", "_buy", "_sell")},
        **{c: later_else_earlier(c) for c in ("ref_price", "ceiling", "floor", "_exchange")},
        **{c: (new if has_book else old)[c] for c in _BOOK},
        "_has_book": has_book or bool(old["_has_book"]),
        "last_exch_time": max(times) if times else None,
        "_listed": bool(old["_listed"]) or bool(new["_listed"]),
    }


def finish_board(parts: pl.DataFrame, summary: pl.DataFrame) -> pl.DataFrame:
    """:func:`board_parts` + the foreign summary -> ``BOARD`` (listed symbols only, sorted by symbol)."""
    b = parts.filter(pl.col("_listed"))
    if b.height == 0:
        return schemas.empty(schemas.BOARD)
    b = b.join(summary.select(*_ON, pl.col("net_vol").alias("foreign_net_vol"),
                              pl.col("net_val_vnd").alias("foreign_net_val_vnd")), on=_ON, how="left")
    last, ref, ceiling, floor = pl.col("last_price"), pl.col("ref_price"), pl.col("ceiling"), pl.col("floor")
    change = last - ref
    state = (
        pl.when(last.is_null() | ref.is_null()).then(None)
        .when((ceiling > 0) & (last >= ceiling)).then(pl.lit("ceiling"))
        .when((floor > 0) & (last <= floor)).then(pl.lit("floor"))
        .when(last > ref).then(pl.lit("up"))
        .when(last < ref).then(pl.lit("down"))
        .otherwise(pl.lit("unchanged"))
    )
    active = pl.col("_buy") + pl.col("_sell")
    return (
        b.with_columns(
            resolve_exchange_expr(pl.col("symbol"), pl.col("_exchange"), pl.lit(None, pl.String)).alias("exchange"),
            change.alias("change"),
            pl.when(ref.is_not_null() & (ref != 0)).then(change / ref * 100).alias("change_pct"),
            state.alias("price_state"),
            _positive("bid_price_1").alias("best_bid"),
            pl.when(pl.col("bid_price_1") > 0).then(pl.col("bid_vol_1")).alias("best_bid_vol"),
            _positive("ask_price_1").alias("best_ask"),
            pl.when(pl.col("ask_price_1") > 0).then(pl.col("ask_vol_1")).alias("best_ask_vol"),
            pl.when(active > 0).then(pl.col("_buy") / active).alias("active_buy_share"),
            pl.col("volume").fill_null(0),
            pl.col("value_vnd").fill_null(0),
        )
        .sort("symbol", "trading_date")
        .select(list(schemas.BOARD))
        .cast(dict(schemas.BOARD))
    )
