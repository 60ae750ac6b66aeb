"""The daily report: DuckDB SQL over one day of the lake -> one self-contained HTML file and a Markdown summary.

``build_report`` opens an in-memory DuckDB connection, creates one view per input (the curated tables, the
quarantine, the raw frames; an empty typed view when a file is missing), runs the named queries of
``reports/queries.py`` (all aggregation is there) and renders ``reports/templates/report.{html,md}.j2``.
Python here only formats numbers and lays out sections.

The HTML embeds plotly.js once, inline, and nothing is fetched at view time. The Markdown has the same numbers
as tables, without charts. A missing or empty input never fails the report: its section says so.

References: design.md §3 (lake), §5 (analytics), §7 (board colours); docs/analytics.md; transforms/schemas.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb
import jinja2
import polars as pl

from capture.lake import curated_path, quarantine_path, raw_day_dir, raw_segments
from reports import charts, queries
from transforms import schemas

TOP_CANDLE_SYMBOLS = 12  # candlestick charts for the most-traded symbols (by matched value)
TOP_FOREIGN_SERIES = 5  # symbols drawn beside the market in the cumulative foreign chart
TOP_ALERTS = 50  # latest alerts listed
REASON_EXAMPLES = 3  # full quarantine reasons shown per reason group
RAW_COLUMNS = pl.Schema({"session": pl.String, "seq": pl.UInt64, "data_type": pl.String, "source": pl.String})

_DASH = "—"


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
        con.execute(queries.SET_TIMEZONE)
        inputs = _register_inputs(con, Path(lake), day)
        q = _Runner(con)
        sections = [
            _overview(q, inputs, day), _prices(q, inputs), _phases(q, inputs), _foreign(q, inputs),
            _indices(q, inputs), _basis(q, inputs), _alerts(q, inputs), _quality(q, inputs, day),
        ]
    finally:
        con.close()
    context = {"day": f"{day:%Y-%m-%d}", "headline": _headline(inputs, day), "sections": sections}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"report-{day:%Y-%m-%d}.html"
    md_path = out_dir / f"report-{day:%Y-%m-%d}.md"
    any_chart = any(b.kind == "chart" for s in sections for b in s.blocks)
    env = _jinja()
    html = env.get_template("report.html.j2").render(
        **context, plotly_js=charts.plotly_bundle() if any_chart else None)
    _write_text(html_path, html)
    _write_text(md_path, env.get_template("report.md.j2").render(**context))
    return ReportPaths(html=html_path, markdown=md_path)


def _headline(inputs: dict[str, _Input], day: dt.date) -> str | None:
    """A sentence above everything when the day has no data, or raw frames but no curated tables."""
    if not any(i.rows for i in inputs.values()):
        return (f"No data for {day:%Y-%m-%d}: the lake has no curated tables, raw frames or quarantined frames "
                "for this day (missing or empty files).")
    if all(inputs[t].missing for t in schemas.CURATED) and inputs["raw"].rows:
        return (f"No curated tables for {day:%Y-%m-%d}, but {inputs['raw'].rows:,} raw frames: rebuild the day "
                "from raw, then build this report again.")
    return None


# ----------------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Input:
    label: str  # file name as shown in the report
    rows: int
    missing: bool
    missing_text: str = ""  # why it is missing, when "<label> is missing" does not say it well

    def absent(self, prefix: str = "No data") -> str | None:
        """A sentence saying why there is nothing to show, or None when there are rows."""
        if self.missing:
            return f"{prefix}: {self.missing_text or self.label + ' is missing'} for this day."
        return None if self.rows else f"{prefix}: {self.label} has no rows."


def _register_inputs(con: duckdb.DuckDBPyConnection, lake: Path, day: dt.date) -> dict[str, _Input]:
    """One view per input: curated tables under their names, ``quarantine`` and ``raw``."""
    inputs = {}
    for table, schema in schemas.CURATED.items():
        path = curated_path(lake, day, table)
        inputs[table] = _register(con, table, [path] if _usable(path) else [], schema, path.name)
    qpath = quarantine_path(lake, day)
    inputs["quarantine"] = _register(con, "quarantine", [qpath] if _usable(qpath) else [], schemas.QUARANTINE,
                                     f"quarantine/date={day:%Y-%m-%d}/{qpath.name}")
    raw = [p for p in raw_segments(lake, day) if _usable(p)]
    raw_dir = f"raw/{raw_day_dir(lake, day).name}/"
    inputs["raw"] = _register(con, "raw", raw, RAW_COLUMNS, f"{raw_dir} ({len(raw)} segments)")
    if not raw:
        inputs["raw"] = _Input(raw_dir, 0, missing=True, missing_text=f"no sealed raw segment under {raw_dir}")
    return inputs


def _usable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _register(con: duckdb.DuckDBPyConnection, name: str, paths: Sequence[Path], schema: pl.Schema,
              label: str) -> _Input:
    """A view ``name`` over ``paths`` (the schema's columns), or an empty view of ``schema`` when there is none."""
    if not paths:
        con.register(name, schemas.empty(schema))
        return _Input(label, 0, missing=True)
    rel = con.read_parquet([str(p) for p in paths], union_by_name=True)
    lacking = [c for c in schema.names() if c not in rel.columns]
    if lacking:
        raise ValueError(
            f"{label} ({paths[0]}) is missing column(s) {lacking}; it must have every column of its schema in "
            "transforms/schemas.py (or capture/schemas.py for raw): rebuild the day's curated tables")
    rel.select(*schema.names()).create_view(name)
    rows = rel.aggregate("count(*)").fetchall()[0][0]
    return _Input(label, rows, missing=False)


class _Runner:
    """Runs a named query with DuckDB parameters and reads the whole result as a Polars frame."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __call__(self, sql: str, **params: Any) -> pl.DataFrame:
        return self._con.sql(sql, params=params or None).pl()


# ----------------------------------------------------------------------------------------------- presentation


@dataclass(frozen=True)
class Col:
    """A column of a report table: result column ``key``, its ``header``, how to format a value."""

    key: str
    header: str
    fmt: Callable[[Any], str] = lambda v: _DASH if v is None else str(v)
    numeric: bool = True
    css: str = ""


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    numeric: list[bool]
    col_css: list[str]
    rows: list[list[str]]
    row_css: list[str]
    css: str = ""


@dataclass(frozen=True)
class Block:
    kind: Literal["note", "warn", "empty", "heading", "table", "chart"]
    text: str = ""
    table: Table | None = None
    html: str = ""


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def note(self, text: str, kind: Literal["note", "warn", "empty", "heading"] = "note") -> None:
        self.blocks.append(Block(kind, text=text))

    def table(self, caption: str, df: pl.DataFrame, cols: Sequence[Col], *,
              row_class: tuple[str, str] | None = None, css: str = "") -> None:
        """Add ``df`` as a table; ``row_class=(key, prefix)`` gives each row the CSS class ``prefix-<value>``."""
        rows = [[c.fmt(r[c.key]) for c in cols] for r in df.iter_rows(named=True)]
        classes = [f"{row_class[1]}-{_slug(str(r[row_class[0]]))}" if row_class and r[row_class[0]] else ""
                   for r in df.iter_rows(named=True)]
        self.blocks.append(Block("table", table=Table(
            caption, [c.header for c in cols], [c.numeric for c in cols], [c.css for c in cols], rows, classes,
            css)))

    def chart(self, html: str) -> None:
        self.blocks.append(Block("chart", html=html))

    def absent(self, inp: _Input, prefix: str = "No data") -> bool:
        """Add the 'no data' sentence for ``inp`` and return True when it has no rows."""
        msg = inp.absent(prefix)
        if msg:
            self.note(msg, "empty")
        return msg is not None


def _num(v: Any) -> str:
    return _DASH if v is None else f"{int(v):,}"


def _signed(v: Any) -> str:  # "+1,000", "-1,000", "0"
    return _DASH if v is None else (f"{int(v):+,}" if v else "0")


def _price(v: Any) -> str:
    return _DASH if v is None else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")


def _signed_price(v: Any) -> str:
    if v is None:
        return _DASH
    return "0" if v == 0 else (f"{v:+,.0f}" if float(v).is_integer() else f"{v:+,.2f}")


def _pts(v: Any) -> str:
    return _DASH if v is None else f"{v:,.2f}"


def _signed_pts(v: Any) -> str:
    return _DASH if v is None else (f"{v:+,.2f}" if v else "0.00")


def _pct(v: Any) -> str:  # already in percent
    return _DASH if v is None else f"{v:.1f}%"


def _signed_pct(v: Any) -> str:
    return _DASH if v is None else (f"{v:+.2f}%" if v else "0.00%")


def _share(v: Any) -> str:  # a fraction 0..1
    return _DASH if v is None else f"{100 * v:.1f}%"


def _time(v: Any) -> str:
    return _DASH if v is None else f"{v:%H:%M:%S}"


def _text(v: Any) -> str:
    return _DASH if v is None else str(v)


def _yes(v: Any) -> str:
    return _DASH if v is None else ("yes" if v else "no")


def _txt(key: str, header: str, fmt: Callable[[Any], str] = _text) -> Col:
    return Col(key, header, fmt, numeric=False)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


# --------------------------------------------------------------------------------------------------- sections


def _overview(q: _Runner, inputs: dict[str, _Input], day: dt.date) -> Section:
    s = Section("overview", "Overview (tổng quan)")
    if not s.absent(inputs["trades"], "No trades"):
        s.table("Trades (giao dịch); matched = order matching (khớp lệnh), put-through = thỏa thuận",
                q(queries.OVERVIEW_TRADES), [
                    _txt("instrument", "Instrument"), Col("symbols", "Symbols (mã)", _num),
                    Col("trades", "Trades", _num), Col("matched_volume", "Matched volume (khối lượng khớp)", _num),
                    Col("matched_value_vnd", "Matched value VND (giá trị khớp)", _num),
                    Col("pt_volume", "Put-through volume", _num), Col("pt_value_vnd", "Put-through value VND", _num),
                    Col("first_trade", "First trade", _time), Col("last_trade", "Last trade", _time)])
        s.note("Volumes are shares for stocks and contracts for futures, so they are not added across the two; "
               "futures values use 100,000 VND per index point.")
    f = q(queries.OVERVIEW_FRAMES).row(0, named=True)
    measures = pl.DataFrame({
        "measure": ["Raw frames", "Capture sessions", "Quarantined frames (cách ly)", "Alerts (cảnh báo)"],
        "count": [f["raw_frames"], f["raw_sessions"], f["quarantined"], f["alerts"]]})
    s.table("Frames (khung dữ liệu)", measures, [_txt("measure", "Measure"), Col("count", "Count", _num)])
    other_dates = [d for d in (f["trade_dates"] or []) if d != day]
    if other_dates:
        s.note(f"Trades carry other trading dates than {day}: {', '.join(map(str, other_dates))}.", "warn")
    s.table("Inputs (dữ liệu đầu vào)", pl.DataFrame({
        "input": list(inputs), "file": [i.label for i in inputs.values()],
        "state": ["missing" if i.missing else ("empty" if not i.rows else "ok") for i in inputs.values()],
        "rows": [i.rows for i in inputs.values()]}, schema={"input": pl.String, "file": pl.String,
                                                            "state": pl.String, "rows": pl.Int64}),
        [_txt("input", "Input"), _txt("file", "File"), _txt("state", "State"), Col("rows", "Rows", _num)])
    return s


def _prices(q: _Runner, inputs: dict[str, _Input]) -> Section:
    s = Section("prices", "Price and volume per symbol (giá và khối lượng)")
    if not s.absent(inputs["board"]):
        s.note("Board colours (màu bảng giá): green = up (tăng), red = down (giảm), yellow = at reference "
               "(tham chiếu), purple = ceiling (trần), cyan = floor (sàn).")
        s.table("Price board (bảng giá)", q(queries.BOARD), [
            _txt("symbol", "Symbol"), _txt("exchange", "Exchange"), _txt("price_state", "State"),
            Col("last_price", "Last (giá khớp)", _price, css="px"),
            Col("change", "Change", _signed_price, css="px"),
            Col("change_pct", "Change %", _signed_pct, css="px"),
            Col("ref_price", "Ref (tham chiếu)", _price, css="ref"),
            Col("ceiling", "Ceiling (trần)", _price, css="ceil"), Col("floor", "Floor (sàn)", _price, css="floor"),
            Col("volume", "Volume (khối lượng)", _num), Col("value_vnd", "Value VND (giá trị)", _num),
            Col("active_buy_share", "Active buy share (mua chủ động)", _share),
            Col("foreign_net_val_vnd", "Foreign net VND (khối ngoại ròng)", _signed)],
            row_class=("price_state", "st"), css="board")
        s.note("Volume and value exclude put-through deals; active buy share = active buy / (active buy + active "
               "sell) volume.")
    s.note("1-minute candles (nến 1 phút)", "heading")
    if not s.absent(inputs["candles_1m"]):
        candles = q(queries.TOP_CANDLES, top_n=TOP_CANDLE_SYMBOLS)
        symbols = candles["symbol"].unique(maintain_order=True).to_list()
        s.note(f"The {len(symbols)} most-traded symbol(s) by matched value (at most {TOP_CANDLE_SYMBOLS}): "
               f"{', '.join(symbols)}. Volume bars split active buy / active sell / neutral.")
        for (symbol,), part in candles.group_by("symbol", maintain_order=True):
            s.chart(charts.to_div(charts.candles(symbol, part), f"chart-candles-{_slug(symbol)}", height_px=460))
    return s


_STAT_COLS = [
    Col("trade_count", "Trades", _num), Col("volume", "Volume", _num),
    Col("buy_volume", "Active buy vol (mua chủ động)", _num),
    Col("sell_volume", "Active sell vol (bán chủ động)", _num),
    Col("neutral_volume", "Neutral vol (trung tính)", _num), Col("value_vnd", "Value VND", _num),
    Col("buy_value_vnd", "Active buy VND", _num), Col("sell_value_vnd", "Active sell VND", _num),
    Col("neutral_value_vnd", "Neutral VND", _num),
]


def _phases(q: _Runner, inputs: dict[str, _Input]) -> Section:
    s = Section("phases", "Active buy / sell by session phase (mua / bán chủ động theo phiên)")
    s.note("Active buy (mua chủ động) = the buyer took the ask; Active sell (bán chủ động) = the seller hit the "
           "bid; neutral (trung tính) = neither, and every auction (ATO mở cửa, ATC đóng cửa) and put-through "
           "(thỏa thuận) print. Phases: ato, continuous (khớp lệnh liên tục), atc, pt.")
    if s.absent(inputs["session_stats"]):
        return s
    check = q(queries.PHASE_CHECK).row(0, named=True)
    if check["symbols_failing"]:
        s.note(f"Check FAILED for {check['symbols_failing']} of {check['symbols_checked']} symbols: "
               + " | ".join(check["failures"]), "warn")
    else:
        s.note(f"Check passed: for all {check['symbols_checked']} symbols the four phases sum exactly to the "
               "total in every column (trades, volume, value and their buy / sell / neutral splits), and buy + "
               "sell + neutral = all in every row.")
    s.table("All symbols by phase (toàn thị trường theo phiên), VND", q(queries.SESSION_MARKET), [
        _txt("phase", "Phase"), Col("trade_count", "Trades", _num), Col("value_vnd", "Value VND", _num),
        Col("buy_value_vnd", "Active buy VND (mua chủ động)", _num),
        Col("sell_value_vnd", "Active sell VND (bán chủ động)", _num),
        Col("neutral_value_vnd", "Neutral VND (trung tính)", _num),
        Col("active_buy_share", "Active buy share", _share)])
    bars = q(queries.PHASE_BARS)
    if bars.height:
        s.chart(charts.to_div(charts.phase_bars(bars), "chart-phases", height_px=480))
    s.table("Active buy / sell / neutral per symbol and phase (exact numbers)", q(queries.SESSION_PHASES),
            [_txt("symbol", "Symbol"), _txt("phase", "Phase"), *_STAT_COLS])
    return s


def _foreign(q: _Runner, inputs: dict[str, _Input]) -> Section:
    s = Section("foreign", "Foreign flow (giao dịch khối ngoại)")
    if not s.absent(inputs["foreign_summary"]):
        s.table("Foreign totals (tổng khối ngoại)", q(queries.FOREIGN_TOTALS), [
            Col("symbols", "Symbols", _num), Col("buy_val_vnd", "Buy value VND (mua)", _num),
            Col("sell_val_vnd", "Sell value VND (bán)", _num), Col("net_val_vnd", "Net value VND", _signed),
            Col("buy_vol", "Buy volume", _num), Col("sell_vol", "Sell volume", _num),
            Col("net_vol", "Net volume", _signed), Col("net_buyers", "Net buyers", _num),
            Col("net_sellers", "Net sellers", _num), Col("corrections", "Corrections", _num)])
        top = q(queries.FOREIGN_TOP)
        cols = [Col("rank", "Rank", _num), _txt("symbol", "Symbol"), _txt("sector", "Sector"),
                Col("net_val_vnd", "Net value VND", _signed), Col("net_vol", "Net volume", _signed),
                Col("buy_val_vnd", "Buy value VND", _num), Col("sell_val_vnd", "Sell value VND", _num),
                Col("room_used", "Room used (room đã dùng)", _share)]
        for side, caption in (("buy", "Top 10 net buy (mua ròng)"), ("sell", "Top 10 net sell (bán ròng)")):
            part = top.filter(pl.col("side") == side)
            if part.height:
                s.table(caption, part, cols)
            else:
                s.note(f"{caption}: no symbol.")
        s.note("Corrections: R frames whose cumulative level went down (never counted as negative flow).")
    s.note("By sector (theo ngành)", "heading")
    if not s.absent(inputs["foreign_by_sector"]):
        s.table("By sector (theo ngành)", q(queries.FOREIGN_SECTORS), [
            _txt("sector", "Sector"), Col("symbols", "Symbols", _num), Col("buy_val_vnd", "Buy value VND", _num),
            Col("sell_val_vnd", "Sell value VND", _num), Col("net_val_vnd", "Net value VND", _signed),
            Col("net_vol", "Net volume", _signed)])
    s.note("Cumulative intraday net value (lũy kế trong phiên)", "heading")
    if not s.absent(inputs["foreign_flow"]):
        cumulative = q(queries.FOREIGN_CUMULATIVE, top_n=TOP_FOREIGN_SERIES)
        market = cumulative.filter(pl.col("series") == "All symbols").row(-1, named=True)
        s.note(f"All symbols: {_signed(market['cum_net_val_vnd'])} VND net at {_time(market['minute'])}; the chart "
               f"also draws the {TOP_FOREIGN_SERIES} symbols with the largest net value.")
        s.chart(charts.to_div(charts.foreign_cumulative(cumulative), "chart-foreign"))
    return s


def _indices(q: _Runner, inputs: dict[str, _Input]) -> Section:
    s = Section("indices", "Indices (chỉ số)")
    if s.absent(inputs["indices"]):
        return s
    s.table("Latest index values (giá trị chỉ số mới nhất)", q(queries.INDICES_LAST), [
        _txt("index_id", "Index"), Col("value", "Value", _pts), Col("change", "Change", _signed_pts),
        Col("change_pct", "Change %", _signed_pct), Col("prior_value", "Prior (tham chiếu)", _pts),
        Col("day_high", "High", _pts), Col("day_low", "Low", _pts), Col("advances", "Advances (tăng)", _num),
        Col("declines", "Declines (giảm)", _num), Col("no_changes", "No change (đứng giá)", _num),
        Col("ceilings", "Ceilings (trần)", _num), Col("floors", "Floors (sàn)", _num),
        Col("advance_ratio", "Advance ratio", _share), Col("total_value_vnd", "Value VND", _num),
        Col("as_of", "As of", _time)])
    s.note("Advance ratio = advances / (advances + declines).")
    series = q(queries.INDICES_SERIES)
    if series.height:
        s.chart(charts.to_div(charts.indices(series), "chart-indices"))
    else:
        s.note("No VN30 or VNINDEX values to draw.")
    return s


def _basis(q: _Runner, inputs: dict[str, _Input]) -> Section:
    s = Section("basis", "Basis (độ lệch cơ sở) of VN30 futures")
    if s.absent(inputs["basis"]):
        return s
    s.note("Basis = futures price - VN30 spot, in index points; premium (basis dương) when > 0, discount "
           "(basis âm) when < 0. Shares are of futures trades (and of contracts traded).")
    s.table("Basis per contract", q(queries.BASIS_SUMMARY), [
        _txt("symbol", "Contract"), _txt("front_month", "Front month", _yes), Col("trades", "Trades", _num),
        Col("contracts", "Contracts", _num), Col("premium_pct", "Premium % (basis dương)", _pct),
        Col("discount_pct", "Discount % (basis âm)", _pct), Col("flat_pct", "Zero %", _pct),
        Col("premium_volume_pct", "Premium % of contracts", _pct), Col("mean_basis_pts", "Mean basis pts", _pts),
        Col("min_basis_pts", "Min pts", _pts), Col("max_basis_pts", "Max pts", _pts),
        Col("last_basis_pts", "Last basis pts", _pts), Col("last_basis_pct", "Last basis %", _signed_pct)])
    series = q(queries.BASIS_SERIES)
    if not series.height:
        s.note("No front-month rows: no basis chart.")
    for i, ((symbol,), part) in enumerate(series.group_by("symbol", maintain_order=True)):
        s.chart(charts.to_div(charts.basis(symbol, part), "chart-basis" + (f"-{_slug(symbol)}" if i else "")))
    return s


def _alerts(q: _Runner, inputs: dict[str, _Input]) -> Section:
    s = Section("alerts", "Alerts (cảnh báo)")
    if s.absent(inputs["alerts"], "No alerts"):
        return s
    s.table("Alerts by type and severity (theo loại và mức độ)", q(queries.ALERT_COUNTS), [
        _txt("alert_type", "Type"), _txt("severity", "Severity"), Col("alerts", "Alerts", _num),
        Col("symbols", "Symbols", _num), Col("first_at", "First", _time), Col("last_at", "Last", _time)])
    s.table(f"Latest alerts (the {TOP_ALERTS} most recent, newest first)", q(queries.ALERTS_LATEST, limit=TOP_ALERTS),
            [Col("exch_time", "Time", _time), _txt("severity", "Severity"), _txt("alert_type", "Type"),
             _txt("symbol", "Symbol"), Col("metric", "Metric", _price), Col("threshold", "Threshold", _price),
             _txt("details", "Details")], row_class=("severity", "sev"))
    return s


def _quality(q: _Runner, inputs: dict[str, _Input], day: dt.date) -> Section:
    s = Section("quality", "Data quality (chất lượng dữ liệu)")
    raw, quarantine = inputs["raw"], inputs["quarantine"]
    s.absent(raw, "No raw frames")
    if raw.rows or quarantine.rows:
        s.table("Frames per channel (khung theo kênh), DataType trimmed and upper-cased",
                q(queries.FRAMES_BY_CHANNEL), [
            _txt("channel", "Channel"), Col("frames", "Frames", _num), Col("sessions", "Sessions", _num),
            Col("quarantined", "Quarantined", _num), Col("quarantined_pct", "Quarantined %", _pct)])
    if raw.rows:
        s.table("Frames per source (nguồn)", q(queries.FRAMES_BY_SOURCE), [
            _txt("source", "Source"), Col("sessions", "Sessions", _num), Col("frames", "Frames", _num)])
    s.note("Quarantine (cách ly)", "heading")
    if not s.absent(quarantine, "No quarantined frames"):
        s.table("Quarantined frames by reason (reason group = the text before the first ':')",
                q(queries.QUARANTINE_BY_REASON, examples=REASON_EXAMPLES), [
                    _txt("reason_group", "Reason group"), Col("frames", "Frames", _num),
                    Col("distinct_reasons", "Distinct reasons", _num),
                    _txt("examples", "First reasons", lambda v: " / ".join(v or []))])
    s.note("Agreement with the vendor aggressor flag (so khớp với nhãn chủ động của nhà cung cấp)", "heading")
    if s.absent(inputs["trades"], "No trades"):
        return s
    cov = q(queries.VENDOR_SIDE_COVERAGE).row(0, named=True)
    others = ", ".join(cov["other_vendor_values"]) or "none"
    s.note(f"{cov['with_vendor_side']:,} of {cov['trades']:,} trades carry a vendor aggressor flag (BU/SD); the "
           f"others ({cov['without_vendor_side']:,}) say: {others}. BU = buy-initiated, SD = sell-initiated.")
    agreement = q(queries.AGREEMENT)
    if not agreement.height:
        s.note("No trade carries a vendor aggressor flag: nothing to compare.", "empty")
        return s
    for r in agreement.filter(pl.col("grp") == "KBS tick import / tick").iter_rows(named=True):
        s.note(f"Tick-rule agreement with the KBS aggressor labels: {r['agree']:,} of {r['n']:,} = "
               f"{_pct(r['agree_pct'])} (trades from KBS tick imports decided by the tick rule).", "warn")
    every = agreement.row(0, named=True)
    s.note(f"Overall: {every['agree']:,} of {every['n']:,} = {_pct(every['agree_pct'])} agree; "
           f"we said neutral while the vendor gave a side: {every['neutral']:,}; opposite sides: "
           f"{every['opposite']:,}.")
    s.table("Agreement with the vendor aggressor flag (BU -> buy, SD -> sell)", agreement, [
        _txt("split", "Split"), _txt("grp", "Group"), Col("n", "n", _num), Col("agree", "Agree", _num),
        Col("opposite", "Opposite", _num), Col("neutral", "We said neutral", _num),
        Col("agree_pct", "Agree %", _pct), Col("agree_sided_pct", "Agree % where we gave a side", _pct)])
    s.note("Rule = what decided our side: quote (against the latest book), tick (price vs the last different "
           "price), auction (ATO/ATC prints, always neutral), none. Origin: ssi / feed = live capture; "
           "'KBS tick import' = raw source import:*.csv (the importer's only CSV format); 'SSI recording import' "
           "= other imported files.")
    return s


# ---------------------------------------------------------------------------------------------------- render


def _md_cell(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md_cell
    return env


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
