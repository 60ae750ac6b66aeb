"""The daily report: DuckDB SQL over one day of the lake -> one self-contained HTML file and a Markdown summary.

``build_report`` opens an in-memory DuckDB connection, creates one view per input (``reports/inputs.py``: the
curated tables, the quarantine, the raw frames; an empty typed view when a file is missing), builds the eight
sections (``reports/sections.py``) from the named queries of ``reports/queries.py`` (all aggregation is there),
lays them out (``reports/layout.py``) and renders ``reports/templates/report.{html,md}.j2``.

The HTML embeds plotly.js once, inline, and nothing is fetched at view time. The Markdown has the same numbers
as tables, without charts. A missing or empty input never fails the report: its section says so.

References: docs/architecture.md §3 (lake); docs/analytics.md; docs/market.md §10 (colours); transforms/schemas.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

import duckdb
import jinja2

from market.clock import SET_TIMEZONE
from reports import charts, sections
from reports.classification import classification
from reports.inputs import Input, Runner, register_inputs
from transforms import schemas


class ReportPaths(NamedTuple):
    """The two files of one day's report."""

    html: Path
    markdown: Path


def build_report(lake: Path, day: dt.date, out_dir: Path) -> ReportPaths:
    """Build the daily report of ``day`` from the lake.

    Parameters
    ----------
    lake : Path
        Lake root. Read: ``curated/date=YYYY-MM-DD/<table>.parquet`` (every table of
        ``transforms.schemas.CURATED``), ``quarantine/date=YYYY-MM-DD/quarantine.parquet`` (``QUARANTINE``) and
        ``raw/date=YYYY-MM-DD/*.parquet`` (columns ``session``, ``seq``, ``data_type``, ``source``). Any of them
        may be missing or empty.
    day : datetime.date
        Trading date (the partition read).
    out_dir : Path
        Created if needed; ``report-YYYY-MM-DD.html`` and ``report-YYYY-MM-DD.md`` are (re)written there.

    Returns
    -------
    ReportPaths
        ``html``: one self-contained file (plotly.js inline once, no network at view time); ``markdown``: the
        same numbers as tables, no charts.

    Raises
    ------
    ValueError
        When an input file lacks a column of its schema (names the file and the columns).
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute(SET_TIMEZONE)
        inputs = register_inputs(con, Path(lake), day)
        q = Runner(con)
        parts = [
            sections.overview(q, inputs, day),
            sections.prices(q, inputs),
            sections.phases(q, inputs),
            sections.foreign(q, inputs),
            sections.indices(q, inputs),
            sections.basis(q, inputs),
            sections.alerts(q, inputs),
            sections.quality(q, inputs, day),
            classification(q, inputs),
        ]
    finally:
        con.close()
    headline = " ".join(h for h in (_incomplete(Path(lake), day), _headline(inputs, day)) if h) or None
    context = {"day": f"{day:%Y-%m-%d}", "headline": headline, "sections": parts}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"report-{day:%Y-%m-%d}.html"
    md_path = out_dir / f"report-{day:%Y-%m-%d}.md"
    any_chart = any(b.kind == "chart" for s in parts for b in s.blocks)
    env = _jinja()
    html = env.get_template("report.html.j2").render(**context, plotly_js=charts.plotly_bundle() if any_chart else None)
    _write_text(html_path, html)
    _write_text(md_path, env.get_template("report.md.j2").render(**context))
    return ReportPaths(html=html_path, markdown=md_path)


def _incomplete(lake: Path, day: dt.date) -> str | None:
    """A sentence when raw segments of the day were unreadable and moved to the quarantine (storage.lake)."""
    from storage.lake import quarantined_segments

    bad = quarantined_segments(lake, day)
    if not bad:
        return None
    return (f"Incomplete day: {len(bad)} raw segment{'s' if len(bad) > 1 else ''} of {day:%Y-%m-%d} could not be "
            f"read and {'are' if len(bad) > 1 else 'is'} in the quarantine ({', '.join(p.name for p in bad)}); "
            "every figure below leaves out the frames they held.")


def _headline(inputs: dict[str, Input], day: dt.date) -> str | None:
    """A sentence above everything when the day has no data, or raw frames but no curated tables."""
    if not any(i.rows for i in inputs.values()):
        return (
            f"No data for {day:%Y-%m-%d}: the lake has no curated tables, raw frames or quarantined frames "
            "for this day (missing or empty files)."
        )
    if all(inputs[t].missing for t in schemas.CURATED) and inputs["raw"].rows:
        return (
            f"No curated tables for {day:%Y-%m-%d}, but {inputs['raw'].rows:,} raw frames: rebuild the day "
            "from raw, then build this report again."
        )
    return None


def _md_cell(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md_cell
    return env


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
