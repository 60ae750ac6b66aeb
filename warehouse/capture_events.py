"""The warehouse's ``capture_events`` table: the capture events of contract C2 as the warehouse stores them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from market.clock import TZ
from storage.events import EVENT_PL, read_events


def read_capture_events(lake: Path, day: date) -> pl.DataFrame:
    """The day's capture events (``storage.events.read_events``) with ``trading_date`` and ``wall_time`` added.

    Returns
    -------
    pl.DataFrame : trading_date date, wall_time datetime[us, Asia/Ho_Chi_Minh] (from wall_ns), wall_ns i64 (ns since
        the epoch, the capture host's clock), session str, seq u64 (nullable), kind str, detail str; sorted by
        (wall_ns, session, seq).
    """
    return read_events(lake, day).select(
        pl.lit(day).alias("trading_date"),
        pl.from_epoch(pl.col("wall_ns"), time_unit="ns").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        .dt.convert_time_zone(TZ).alias("wall_time"),
        *EVENT_PL.names(),
    )
