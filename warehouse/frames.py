"""Warehouse tables that are not curated tables as such: best bid/ask (book top) and capture events.

Pure Polars (frames in, frames out); the rebuild flow calls them beside ``transforms.pipeline.run_day``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from storage.lake import events_day_dir

BOOK_TOP_COLUMNS = ["session", "seq", "trading_date", "exch_time", "symbol", "exchange", "source", "best_bid",
                    "best_bid_vol", "best_ask", "best_ask_vol", "trading_session"]


def book_top(x_quote: pl.DataFrame, x: pl.DataFrame) -> pl.DataFrame:
    """Best bid / ask of every book frame of the day, in arrival order.

    Parameters
    ----------
    x_quote : parsed X-QUOTE frames (``transforms.schemas.X_QUOTE``: bid_price_1, bid_vol_1, ask_price_1, ...).
    x : parsed X snapshot frames (``transforms.schemas.X_SNAPSHOT``), which also carry the book.

    Returns
    -------
    pl.DataFrame : session str, seq u64, trading_date date, exch_time datetime[us, Asia/Ho_Chi_Minh], symbol str,
        exchange str, source str ("X-QUOTE" | "X"), best_bid f64 (VND or points), best_bid_vol i64, best_ask f64,
        best_ask_vol i64, trading_session str; sorted by (session, seq). A zero or missing level stays as sent
        (docs/analytics.md: it cannot trigger its side).

    References: ssi-wire.md X-QUOTE / X (BidPrice1, BidVol1, AskPrice1, AskVol1).
    """
    def top(frame: pl.DataFrame, source: str) -> pl.DataFrame:
        return frame.select(
            "session", "seq", "trading_date", "exch_time", "symbol", "exchange", pl.lit(source).alias("source"),
            pl.col("bid_price_1").alias("best_bid"), pl.col("bid_vol_1").alias("best_bid_vol"),
            pl.col("ask_price_1").alias("best_ask"), pl.col("ask_vol_1").alias("best_ask_vol"), "trading_session")
    return pl.concat([top(x_quote, "X-QUOTE"), top(x, "X")]).sort("session", "seq", maintain_order=True)


EVENT_COLUMNS = {"wall_ns": pl.Int64, "session": pl.String, "seq": pl.UInt64, "kind": pl.String, "detail": pl.String}


def read_capture_events(lake: Path, day: date) -> pl.DataFrame:
    """The day's capture events (contract C2) with ``trading_date`` and ``wall_time`` added.

    Uses ``storage.events.read_events`` (the capture area's reader) when it exists; otherwise reads the
    ``events/date=D/*.parquet`` files of schema ``storage.schemas.EVENT`` directly.

    Returns
    -------
    pl.DataFrame : trading_date date, wall_time datetime[us, Asia/Ho_Chi_Minh] (from wall_ns), wall_ns i64,
        session str, seq u64 (nullable), kind str, detail str; sorted by (wall_ns, session, seq).
    """
    try:
        from storage.events import read_events  # contract C2 (capture area)
    except ImportError:
        read_events = None
    if read_events is not None:
        events = read_events(lake, day)
    else:
        files = sorted(events_day_dir(lake, day).glob("*.parquet"))
        events = (pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed") if files
                  else pl.DataFrame(schema=EVENT_COLUMNS))
        events = events.select([pl.col(c).cast(t) for c, t in EVENT_COLUMNS.items()]).sort("wall_ns", "session", "seq")
    return events.select(
        pl.lit(day).alias("trading_date"),
        pl.from_epoch(pl.col("wall_ns"), time_unit="ns").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        .dt.convert_time_zone("Asia/Ho_Chi_Minh").alias("wall_time"),
        *EVENT_COLUMNS,
    )
