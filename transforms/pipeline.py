"""One trading day of raw frames -> every parsed and curated table.

There is one composition of the analytics: the micro-batch step (:func:`transforms.incremental.step`). A day is
that step over all of the day's frames from the state before its first frame, so a table added to the step appears
live, replayed and rebuilt alike (docs/architecture.md §5). No I/O.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.incremental import initial_state, snapshot_tables, step
from transforms.params import DEFAULT_PARAMS, AnalyticsParams

__all__ = ["run_day", "run_parsed"]


def run_day(raw: pl.DataFrame, trading_date: date, *, futures_override: str | None = None,
            params: AnalyticsParams = DEFAULT_PARAMS) -> dict[str, pl.DataFrame]:
    """Parse and analyse one day of raw frames.

    Parameters
    ----------
    raw : raw frame records of the day (``storage.schemas.RAW_FRAME_PL``: session, seq, recv_ns, data_type,
        payload, cursor, source); any row order, no duplicate (session, seq).
    trading_date : the lake partition date (fallback date of frames without ``TradingDate``).
    futures_override : front-month VN30F contract (``VNTRACK_FUTURES_OVERRIDE``), else the third-Thursday resolver.
    params : the analytics parameters (``transforms.params``); the default is docs/analytics.md exactly.

    Returns
    -------
    dict: the parsed tables (``transforms.schemas.PARSED`` names), ``quarantine``, and every curated table of
    ``transforms.schemas.CURATED``, each with exactly its schema. ``recv_ns`` never changes a result.
    """
    state, out = step(initial_state(trading_date, futures_override, params), raw)
    return {**out, **snapshot_tables(state)}


def run_parsed(parsed: dict[str, pl.DataFrame], trading_date: date, *, futures_override: str | None = None,
               params: AnalyticsParams = DEFAULT_PARAMS) -> dict[str, pl.DataFrame]:
    """``run_day`` over a day already parsed: the same step, without decoding JSON again.

    Parameters
    ----------
    parsed : ``transforms.parse.parse_frames`` of the day's raw frames (the ``transforms.schemas.PARSED`` names and
        ``quarantine``; every frame is in exactly one of them), e.g. read back from the lake's parsed layer.
    trading_date, futures_override, params : as in :func:`run_day`.

    Returns
    -------
    dict: exactly what :func:`run_day` returns for those raw frames.
    """
    keys = pl.concat([t.select("session", "seq") for t in parsed.values()], how="vertical")
    state, out = step(initial_state(trading_date, futures_override, params), keys, parsed=parsed)
    return {**out, **snapshot_tables(state)}
