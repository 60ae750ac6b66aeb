"""One trading day of raw frames -> every parsed and curated table.

There is one composition of the analytics: the micro-batch step (:func:`transforms.incremental.step`). A day is
that step over all of the day's frames from the state before its first frame, so a table added to the step appears
live, replayed and rebuilt alike (docs/architecture.md §5). No I/O.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.incremental import initial_state, snapshot_tables, step


def run_day(raw: pl.DataFrame, trading_date: date, *, futures_override: str | None = None) -> dict[str, pl.DataFrame]:
    """Parse and analyse one day of raw frames.

    Parameters
    ----------
    raw : raw frame records of the day (``storage.schemas.RAW_FRAME_PL``: session, seq, recv_ns, data_type,
        payload, cursor, source); any row order, no duplicate (session, seq).
    trading_date : the lake partition date (fallback date of frames without ``TradingDate``).
    futures_override : front-month VN30F contract (``VNTRACK_FUTURES_OVERRIDE``), else the third-Thursday resolver.

    Returns
    -------
    dict: the parsed tables (``transforms.schemas.PARSED`` names), ``quarantine``, and every curated table of
    ``transforms.schemas.CURATED``, each with exactly its schema. ``recv_ns`` never changes a result.
    """
    state, out = step(initial_state(trading_date, futures_override), raw)
    return {**out, **snapshot_tables(state)}
