"""The price board (bảng giá): one row per symbol with the day's state (docs/analytics.md §10)."""

from __future__ import annotations

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
    books = pl.concat(
        [t.select("session", "seq", "trading_date", "exch_time", "symbol", "exchange", *_BOOK) for t in (xq, x)],
        how="vertical",
    ).with_columns(arrival_key(ranks), normalize_exchange_expr(pl.col("exchange")).alias("exchange"))
    books = books.filter(~market.is_index_expr(pl.col("symbol")))

    t = trades.with_columns(arrival_key(ranks))
    matched = t.filter(pl.col("phase") != "pt")
    from_trades = matched.sort("_arr").group_by(*_ON).agg(
        pl.col("price").last().alias("last_price"),
        pl.col("volume").sum().alias("volume"),
        pl.col("value_vnd").sum().alias("value_vnd"),
        pl.col("volume").filter(pl.col("aggressor_side") == "buy").sum().alias("_buy"),
        pl.col("volume").filter(pl.col("aggressor_side") == "sell").sum().alias("_sell"),
    )
    limits = (
        pl.concat([t.select(*_ON, "_arr", "ref_price", "ceiling", "floor"),
                   x.with_columns(arrival_key(ranks)).select(*_ON, "_arr", "ref_price", "ceiling", "floor")],
                  how="vertical")
        .sort("_arr")
        .group_by(*_ON)
        .agg(pl.col(c).drop_nulls().last() for c in ("ref_price", "ceiling", "floor"))
    )
    exchanges = (
        pl.concat([t.select(*_ON, "_arr", "exchange"), books.select(*_ON, "_arr", "exchange")], how="vertical")
        .sort("_arr")
        .group_by(*_ON)
        .agg(pl.col("exchange").drop_nulls().last().alias("_exchange"))
    )
    last_book = books.sort("_arr").group_by(*_ON).agg(
        *[pl.col(c).last() for c in _BOOK], pl.lit(True).alias("_has_book")
    )
    times = pl.concat(
        [f.select(*_ON, "exch_time") for f in (trades, books, r)], how="vertical"
    ).group_by(*_ON).agg(pl.col("exch_time").max().alias("last_exch_time"))
    listed = pl.concat([trades.select(*_ON), books.select(*_ON)]).unique().with_columns(pl.lit(True).alias("_listed"))
    keys = pl.concat([listed.select(*_ON), times.select(*_ON)]).unique()
    return (
        keys.join(from_trades, on=_ON, how="left")
        .join(limits, on=_ON, how="left")
        .join(exchanges, on=_ON, how="left")
        .join(last_book, on=_ON, how="left")
        .join(times, on=_ON, how="left")
        .join(listed, on=_ON, how="left")
        .with_columns(pl.col("_has_book").fill_null(False), pl.col("_listed").fill_null(False))
    )


def merge_board_parts(earlier: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """:func:`board_parts` of two consecutive parts of a day -> that of their concatenation."""
    if earlier.height == 0:
        return later
    if later.height == 0:
        return earlier
    cols = [c for c in earlier.columns if c not in _ON]
    j = earlier.join(later.rename({c: f"{c}_n" for c in cols}), on=_ON, how="full", coalesce=True)
    new = pl.col("_has_book_n").fill_null(False)
    return j.select(
        *_ON,
        pl.coalesce("last_price_n", "last_price").alias("last_price"),
        *[pl.when(pl.col(c).is_null() & pl.col(f"{c}_n").is_null()).then(None)
          .otherwise(pl.col(c).fill_null(0) + pl.col(f"{c}_n").fill_null(0)).alias(c)
          for c in ("volume", "value_vnd", "_buy", "_sell")],
        *[pl.coalesce(f"{c}_n", c).alias(c) for c in ("ref_price", "ceiling", "floor", "_exchange")],
        *[pl.when(new).then(pl.col(f"{c}_n")).otherwise(pl.col(c)).alias(c) for c in _BOOK],
        (new | pl.col("_has_book").fill_null(False)).alias("_has_book"),
        pl.max_horizontal("last_exch_time", "last_exch_time_n").alias("last_exch_time"),
        (pl.col("_listed").fill_null(False) | pl.col("_listed_n").fill_null(False)).alias("_listed"),
    )


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
