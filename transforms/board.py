"""The price board (bảng giá): one row per symbol with the day's state (docs/analytics.md §10)."""

from __future__ import annotations

import polars as pl

from transforms import market, schemas
from transforms.trades import normalize_exchange_expr, resolve_exchange_expr
from transforms.windows import arrival_key, arrival_order


def _positive(col: str) -> pl.Expr:
    return pl.when(pl.col(col) > 0).then(pl.col(col))


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
    xq, x, r = parsed["x_quote"], parsed["x"], parsed["foreign_room"]
    ranks = ranks or arrival_order(trades, xq, x, r)
    books = pl.concat(
        [t.select("session", "seq", "trading_date", "exch_time", "symbol", "exchange", "bid_price_1", "bid_vol_1",
                  "ask_price_1", "ask_vol_1") for t in (xq, x)],
        how="vertical",
    ).with_columns(arrival_key(ranks), normalize_exchange_expr(pl.col("exchange")).alias("exchange"))
    books = books.filter(~market.is_index_expr(pl.col("symbol")))
    if trades.height == 0 and books.height == 0:
        return schemas.empty(schemas.BOARD)

    t = trades.with_columns(arrival_key(ranks))
    matched = t.filter(pl.col("phase") != "pt")
    from_trades = matched.sort("_arr").group_by("trading_date", "symbol").agg(
        pl.col("price").last().alias("last_price"),
        pl.col("volume").sum().alias("volume"),
        pl.col("value_vnd").sum().alias("value_vnd"),
        pl.col("volume").filter(pl.col("aggressor_side") == "buy").sum().alias("_buy"),
        pl.col("volume").filter(pl.col("aggressor_side") == "sell").sum().alias("_sell"),
    )
    limits = (
        pl.concat([t.select("trading_date", "symbol", "_arr", "ref_price", "ceiling", "floor"),
                   x.with_columns(arrival_key(ranks)).select("trading_date", "symbol", "_arr", "ref_price", "ceiling", "floor")],
                  how="vertical")
        .sort("_arr")
        .group_by("trading_date", "symbol")
        .agg(pl.col(c).drop_nulls().last() for c in ("ref_price", "ceiling", "floor"))
    )
    exchanges = (
        pl.concat([t.select("trading_date", "symbol", "_arr", "exchange"), books.select("trading_date", "symbol", "_arr", "exchange")],
                  how="vertical")
        .sort("_arr")
        .group_by("trading_date", "symbol")
        .agg(pl.col("exchange").drop_nulls().last().alias("_exchange"))
    )
    last_book = books.sort("_arr").group_by("trading_date", "symbol").agg(
        pl.col(c).last() for c in ("bid_price_1", "bid_vol_1", "ask_price_1", "ask_vol_1")
    )
    times = pl.concat(
        [f.select("trading_date", "symbol", "exch_time") for f in (trades, books, r)], how="vertical"
    ).group_by("trading_date", "symbol").agg(pl.col("exch_time").max().alias("last_exch_time"))
    keys = pl.concat([trades.select("trading_date", "symbol"), books.select("trading_date", "symbol")]).unique()
    on = ["trading_date", "symbol"]
    b = (
        keys.join(from_trades, on=on, how="left")
        .join(limits, on=on, how="left")
        .join(exchanges, on=on, how="left")
        .join(last_book, on=on, how="left")
        .join(times, on=on, how="left")
        .join(summary.select(*on, pl.col("net_vol").alias("foreign_net_vol"),
                             pl.col("net_val_vnd").alias("foreign_net_val_vnd")), on=on, how="left")
    )
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
