"""Read side of the pipeline health page: capture events, quarantined frames, Prefect flow runs.

* Capture events come from ``storage.events.read_events`` (contract C2); without that module (an older checkout)
  :func:`capture_events` returns None and the page says no capture events are recorded.
* Quarantined frames: ``lake/quarantine/date=D/quarantine.parquet`` (``transforms.schemas.QUARANTINE``).
* Flow runs: Prefect's API through its own client, only when ``PREFECT_API_URL`` is set (never the ephemeral
  server: the app must not start one). The payload column is never shown (it is market data, not a secret, but
  large); no setting or credential is ever read here.

Read only; no Streamlit import.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import polars as pl

from storage.lake import quarantine_path
from transforms.schemas import QUARANTINE, TZ

EVENTS_TIMELINE = pl.Schema({
    "wall_time": pl.Datetime("us", TZ), "session": pl.String, "seq": pl.UInt64, "kind": pl.String,
    "detail": pl.String, "gap_start": pl.Datetime("us", TZ), "gap_end": pl.Datetime("us", TZ), "gap_s": pl.Float64,
})
FLOW_RUNS = pl.Schema({
    "flow": pl.String, "flow_run": pl.String, "state": pl.String, "start_time": pl.Datetime("us", TZ),
    "end_time": pl.Datetime("us", TZ), "duration_s": pl.Float64, "parameters": pl.String,
})


def capture_events(lake: Path, day: date) -> pl.DataFrame | None:
    """The capture events of ``day`` as a timeline, or None when ``storage.events`` is not available.

    Returns
    -------
    :data:`EVENTS_TIMELINE`: wall_time (Asia/Ho_Chi_Minh), session, seq, kind, detail (JSON text); for ``gap``
    events whose detail has ``start_ns``/``end_ns`` (contract C2): gap_start, gap_end and gap_s (seconds). By
    wall time.
    """
    try:
        from storage.events import read_events
    except ImportError:
        return None
    ev = read_events(lake, day)
    spans = [_gap_span(d) if k == "gap" else (None, None) for k, d in zip(ev["kind"], ev["detail"], strict=True)]
    return ev.with_columns(
        pl.Series("_start", [a for a, _ in spans], dtype=pl.Int64),
        pl.Series("_end", [b for _, b in spans], dtype=pl.Int64),
    ).select(
        _zoned("wall_ns").alias("wall_time"), "session", "seq", "kind", "detail",
        _zoned("_start").alias("gap_start"), _zoned("_end").alias("gap_end"),
        ((pl.col("_end") - pl.col("_start")) / 1e9).alias("gap_s"),
    )


def _zoned(ns_col: str) -> pl.Expr:
    return (pl.from_epoch(ns_col, time_unit="ns").dt.cast_time_unit("us").dt.replace_time_zone("UTC")
            .dt.convert_time_zone(TZ))


def _gap_span(detail: str | None) -> tuple[int | None, int | None]:
    try:
        d = json.loads(detail or "")
        return int(d["start_ns"]), int(d["end_ns"])
    except (ValueError, KeyError, TypeError):
        return None, None


def event_counts(events: pl.DataFrame) -> dict[str, int]:
    """``{kind: count}`` of a timeline from :func:`capture_events`."""
    return dict(events.group_by("kind").len().iter_rows()) if events.height else {}


def quarantine(lake: Path, day: date) -> pl.DataFrame:
    """Quarantined frames of ``day`` without their payload: session, seq, recv_ns, data_type, reason, and
    ``payload_head`` (first 120 characters); empty with those columns when there are none."""
    path = quarantine_path(lake, day)
    df = pl.read_parquet(path) if path.is_file() else pl.DataFrame(schema=QUARANTINE)
    return df.select("session", "seq", "recv_ns", "data_type", "reason",
                     pl.col("payload").str.slice(0, 120).alias("payload_head"))


def quarantine_days(lake: Path) -> list[date]:
    """Dates that have a quarantine table, ascending."""
    root = Path(lake) / "quarantine"
    if not root.is_dir():
        return []
    return sorted(date.fromisoformat(d.name[5:]) for d in root.glob("date=*") if (d / "quarantine.parquet").is_file())


def prefect_api_url() -> str | None:
    """``PREFECT_API_URL`` when set (the flow-runs panel is shown only then)."""
    return os.environ.get("PREFECT_API_URL") or None


def flow_runs(limit: int = 20) -> pl.DataFrame | None:
    """The last ``limit`` flow runs from Prefect's API (newest first), or None when ``PREFECT_API_URL`` is unset.

    Returns
    -------
    :data:`FLOW_RUNS`: flow (name), flow_run (name), state (e.g. COMPLETED, FAILED, RUNNING), start_time,
    end_time, duration_s, parameters (JSON text).

    Raises
    ------
    Exception : whatever Prefect's client raises when the server cannot be reached (the page shows it).
    """
    url = prefect_api_url()
    if url is None:
        return None
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterId
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Prefect reads its settings once per process: pass the URL of this call explicitly.
    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=limit)
        ids = list({r.flow_id for r in runs})
        flows = ({f.id: f.name for f in client.read_flows(flow_filter=FlowFilter(id=FlowFilterId(any_=ids)))}
                 if ids else {})
    rows = [{
        "flow": flows.get(r.flow_id, str(r.flow_id)),
        "flow_run": r.name,
        "state": r.state.type.value if r.state else None,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "duration_s": r.total_run_time.total_seconds() if r.total_run_time is not None else None,
        "parameters": json.dumps(r.parameters, default=str),
    } for r in runs]
    if not rows:
        return pl.DataFrame(schema=FLOW_RUNS)
    df = pl.DataFrame(rows)
    return df.with_columns(
        pl.col(c).dt.convert_time_zone(TZ).dt.cast_time_unit("us") for c in ("start_time", "end_time")
        if isinstance(df.schema[c], pl.Datetime)
    ).cast(dict(FLOW_RUNS), strict=False).select(list(FLOW_RUNS))
