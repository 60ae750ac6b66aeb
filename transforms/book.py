"""Best bid and ask (book top) of every book frame: the top level of X-QUOTE and X, in arrival order.

A row table of the day like ``trades``: the live loop appends it batch by batch, the day build writes it whole, and
the warehouse loads it as ``book_top`` (docs/analytics.md, "Book top").
"""

from __future__ import annotations

import polars as pl

from transforms import schemas


def book_top(x_quote: pl.DataFrame, x: pl.DataFrame) -> pl.DataFrame:
    """Best bid / ask of every book frame, in arrival order.

    Parameters
    ----------
    x_quote : parsed X-QUOTE frames (``transforms.schemas.X_QUOTE``: bid_price_1, bid_vol_1, ask_price_1, ...).
    x : parsed X snapshot frames (``transforms.schemas.X_SNAPSHOT``), which carry the same book.

    Returns
    -------
    pl.DataFrame with exactly ``transforms.schemas.BOOK_TOP``: session str, seq u64, trading_date date,
        exch_time datetime[us, Asia/Ho_Chi_Minh], symbol str, exchange str, source str ("X-QUOTE" | "X"),
        best_bid f64 (VND; index points for futures), best_bid_vol i64 (shares / contracts), best_ask f64,
        best_ask_vol i64, trading_session str (SSI ``TradingSession``); sorted by (session, seq). A zero or missing
        level stays as sent (docs/analytics.md: it cannot trigger its side).

    Source: SSI X-QUOTE / X fields BidPrice1, BidVol1, AskPrice1, AskVol1 (docs/ssi-wire.md).
    """
    def top(frame: pl.DataFrame, source: str) -> pl.DataFrame:
        return frame.select(
            "session", "seq", "trading_date", "exch_time", "symbol", "exchange", pl.lit(source).alias("source"),
            pl.col("bid_price_1").alias("best_bid"), pl.col("bid_vol_1").alias("best_bid_vol"),
            pl.col("ask_price_1").alias("best_ask"), pl.col("ask_vol_1").alias("best_ask_vol"), "trading_session")
    parts = [top(frame, source) for frame, source in ((x_quote, "X-QUOTE"), (x, "X")) if frame.height]
    if not parts:  # a micro-batch without a book frame (a query less)
        return schemas.empty(schemas.BOOK_TOP)
    out = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    session, seq = out.get_column("session"), out.get_column("seq")
    if len(parts) > 1 or session.n_unique() > 1 or not seq.is_sorted():  # one table of one session: in order
        out = out.sort("session", "seq", maintain_order=True)
    return out.cast(dict(schemas.BOOK_TOP))
