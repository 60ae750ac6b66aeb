"""The report's eight sections, each from named queries (reports/queries.py) over the day's views.

Overview, prices and volume, active buy/sell by session phase, foreign flow, indices, basis, alerts, data quality.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from reports import charts, queries
from reports.inputs import Input, Runner
from transforms.classify import vendor_agreement
from reports.layout import (
    Col,
    Section,
    fmt_num,
    fmt_pct,
    fmt_price,
    fmt_pts,
    fmt_share,
    fmt_signed,
    fmt_signed_pct,
    fmt_signed_price,
    fmt_signed_pts,
    fmt_time,
    fmt_yes,
    slug,
    text_col,
)

TOP_CANDLE_SYMBOLS = 12  # candlestick charts for the most-traded symbols (by matched value)
TOP_FOREIGN_SERIES = 5  # symbols drawn beside the market in the cumulative foreign chart
TOP_ALERTS = 50  # latest alerts listed
REASON_EXAMPLES = 3  # full quarantine reasons shown per reason group

# --------------------------------------------------------------------------------------------------- sections


def overview(q: Runner, inputs: dict[str, Input], day: dt.date) -> Section:
    s = Section("overview", "Overview (tổng quan)")
    if not s.absent(inputs["trades"], "No trades"):
        s.table(
            "Trades (giao dịch); matched = order matching (khớp lệnh), put-through = thỏa thuận",
            q(queries.OVERVIEW_TRADES),
            [
                text_col("instrument", "Instrument"),
                Col("symbols", "Symbols (mã)", fmt_num),
                Col("trades", "Trades", fmt_num),
                Col("matched_volume", "Matched volume (khối lượng khớp)", fmt_num),
                Col("matched_value_vnd", "Matched value VND (giá trị khớp)", fmt_num),
                Col("pt_volume", "Put-through volume", fmt_num),
                Col("pt_value_vnd", "Put-through value VND", fmt_num),
                Col("first_trade", "First trade", fmt_time),
                Col("last_trade", "Last trade", fmt_time),
            ],
        )
        s.note(
            "Volumes are shares for stocks and contracts for futures, so they are not added across the two; "
            "futures values use 100,000 VND per index point."
        )
    f = q(queries.OVERVIEW_FRAMES).row(0, named=True)
    measures = pl.DataFrame(
        {
            "measure": ["Raw frames", "Capture sessions", "Quarantined frames (cách ly)", "Alerts (cảnh báo)"],
            "count": [f["raw_frames"], f["raw_sessions"], f["quarantined"], f["alerts"]],
        }
    )
    s.table("Frames (khung dữ liệu)", measures, [text_col("measure", "Measure"), Col("count", "Count", fmt_num)])
    other_dates = [d for d in (f["trade_dates"] or []) if d != day]
    if other_dates:
        s.note(f"Trades carry other trading dates than {day}: {', '.join(map(str, other_dates))}.", "warn")
    s.table(
        "Inputs (dữ liệu đầu vào)",
        pl.DataFrame(
            {
                "input": list(inputs),
                "file": [i.label for i in inputs.values()],
                "state": ["missing" if i.missing else ("empty" if not i.rows else "ok") for i in inputs.values()],
                "rows": [i.rows for i in inputs.values()],
            },
            schema={"input": pl.String, "file": pl.String, "state": pl.String, "rows": pl.Int64},
        ),
        [
            text_col("input", "Input"),
            text_col("file", "File"),
            text_col("state", "State"),
            Col("rows", "Rows", fmt_num),
        ],
    )
    return s


def prices(q: Runner, inputs: dict[str, Input]) -> Section:
    s = Section("prices", "Price and volume per symbol (giá và khối lượng)")
    if not s.absent(inputs["board"]):
        s.note(
            "Board colours (màu bảng giá): green = up (tăng), red = down (giảm), yellow = at reference "
            "(tham chiếu), purple = ceiling (trần), cyan = floor (sàn)."
        )
        s.table(
            "Price board (bảng giá)",
            q(queries.BOARD),
            [
                text_col("symbol", "Symbol"),
                text_col("exchange", "Exchange"),
                text_col("price_state", "State"),
                Col("last_price", "Last (giá khớp)", fmt_price, css="px"),
                Col("change", "Change", fmt_signed_price, css="px"),
                Col("change_pct", "Change %", fmt_signed_pct, css="px"),
                Col("ref_price", "Ref (tham chiếu)", fmt_price, css="ref"),
                Col("ceiling", "Ceiling (trần)", fmt_price, css="ceil"),
                Col("floor", "Floor (sàn)", fmt_price, css="floor"),
                Col("volume", "Volume (khối lượng)", fmt_num),
                Col("value_vnd", "Value VND (giá trị)", fmt_num),
                Col("active_buy_share", "Active buy share (mua chủ động)", fmt_share),
                Col("foreign_net_val_vnd", "Foreign net VND (khối ngoại ròng)", fmt_signed),
            ],
            row_class=("price_state", "st"),
            css="board",
        )
        s.note(
            "Volume and value exclude put-through deals; active buy share = active buy / (active buy + active "
            "sell) volume."
        )
    s.note("1-minute candles (nến 1 phút)", "heading")
    if not s.absent(inputs["candles_1m"]):
        candles = q(queries.TOP_CANDLES, top_n=TOP_CANDLE_SYMBOLS)
        symbols = candles["symbol"].unique(maintain_order=True).to_list()
        s.note(
            f"The {len(symbols)} most-traded symbol(s) by matched value (at most {TOP_CANDLE_SYMBOLS}): "
            f"{', '.join(symbols)}. Volume bars split active buy / active sell / neutral."
        )
        for (symbol,), part in candles.group_by("symbol", maintain_order=True):
            s.chart(charts.to_div(charts.candles(symbol, part), f"chart-candles-{slug(symbol)}", height_px=460))
    return s


_STAT_COLS = [
    Col("trade_count", "Trades", fmt_num),
    Col("volume", "Volume", fmt_num),
    Col("buy_volume", "Active buy vol (mua chủ động)", fmt_num),
    Col("sell_volume", "Active sell vol (bán chủ động)", fmt_num),
    Col("neutral_volume", "Neutral vol (trung tính)", fmt_num),
    Col("value_vnd", "Value VND", fmt_num),
    Col("buy_value_vnd", "Active buy VND", fmt_num),
    Col("sell_value_vnd", "Active sell VND", fmt_num),
    Col("neutral_value_vnd", "Neutral VND", fmt_num),
]


def phases(q: Runner, inputs: dict[str, Input]) -> Section:
    s = Section("phases", "Active buy / sell by session phase (mua / bán chủ động theo phiên)")
    s.note(
        "Active buy (mua chủ động) = the buyer took the ask; Active sell (bán chủ động) = the seller hit the "
        "bid; neutral (trung tính) = neither, and every auction (ATO mở cửa, ATC đóng cửa) and put-through "
        "(thỏa thuận) print. Phases: ato, continuous (khớp lệnh liên tục), atc, pt."
    )
    if s.absent(inputs["session_stats"]):
        return s
    check = q(queries.PHASE_CHECK).row(0, named=True)
    if check["symbols_failing"]:
        s.note(
            f"Check FAILED for {check['symbols_failing']} of {check['symbols_checked']} symbols: "
            + " | ".join(check["failures"]),
            "warn",
        )
    else:
        s.note(
            f"Check passed: for all {check['symbols_checked']} symbols the four phases sum exactly to the "
            "total in every column (trades, volume, value and their buy / sell / neutral splits), and buy + "
            "sell + neutral = all in every row."
        )
    s.table(
        "All symbols by phase (toàn thị trường theo phiên), VND",
        q(queries.SESSION_MARKET),
        [
            text_col("phase", "Phase"),
            Col("trade_count", "Trades", fmt_num),
            Col("value_vnd", "Value VND", fmt_num),
            Col("buy_value_vnd", "Active buy VND (mua chủ động)", fmt_num),
            Col("sell_value_vnd", "Active sell VND (bán chủ động)", fmt_num),
            Col("neutral_value_vnd", "Neutral VND (trung tính)", fmt_num),
            Col("active_buy_share", "Active buy share", fmt_share),
        ],
    )
    bars = q(queries.PHASE_BARS)
    if bars.height:
        s.chart(charts.to_div(charts.phase_bars(bars), "chart-phases", height_px=480))
    s.table(
        "Active buy / sell / neutral per symbol and phase (exact numbers)",
        q(queries.SESSION_PHASES),
        [text_col("symbol", "Symbol"), text_col("phase", "Phase"), *_STAT_COLS],
    )
    return s


def foreign(q: Runner, inputs: dict[str, Input]) -> Section:
    s = Section("foreign", "Foreign flow (giao dịch khối ngoại)")
    if not s.absent(inputs["foreign_summary"]):
        s.table(
            "Foreign totals (tổng khối ngoại)",
            q(queries.FOREIGN_TOTALS),
            [
                Col("symbols", "Symbols", fmt_num),
                Col("buy_val_vnd", "Buy value VND (mua)", fmt_num),
                Col("sell_val_vnd", "Sell value VND (bán)", fmt_num),
                Col("net_val_vnd", "Net value VND", fmt_signed),
                Col("buy_vol", "Buy volume", fmt_num),
                Col("sell_vol", "Sell volume", fmt_num),
                Col("net_vol", "Net volume", fmt_signed),
                Col("net_buyers", "Net buyers", fmt_num),
                Col("net_sellers", "Net sellers", fmt_num),
                Col("corrections", "Corrections", fmt_num),
            ],
        )
        top = q(queries.FOREIGN_TOP)
        cols = [
            Col("rank", "Rank", fmt_num),
            text_col("symbol", "Symbol"),
            text_col("sector", "Sector"),
            Col("net_val_vnd", "Net value VND", fmt_signed),
            Col("net_vol", "Net volume", fmt_signed),
            Col("buy_val_vnd", "Buy value VND", fmt_num),
            Col("sell_val_vnd", "Sell value VND", fmt_num),
            Col("room_used", "Room used (room đã dùng)", fmt_share),
        ]
        for side, caption in (("buy", "Top 10 net buy (mua ròng)"), ("sell", "Top 10 net sell (bán ròng)")):
            part = top.filter(pl.col("side") == side)
            if part.height:
                s.table(caption, part, cols)
            else:
                s.note(f"{caption}: no symbol.")
        s.note("Corrections: R frames whose cumulative level went down (never counted as negative flow).")
    s.note("By sector (theo ngành)", "heading")
    if not s.absent(inputs["foreign_by_sector"]):
        s.table(
            "By sector (theo ngành)",
            q(queries.FOREIGN_SECTORS),
            [
                text_col("sector", "Sector"),
                Col("symbols", "Symbols", fmt_num),
                Col("buy_val_vnd", "Buy value VND", fmt_num),
                Col("sell_val_vnd", "Sell value VND", fmt_num),
                Col("net_val_vnd", "Net value VND", fmt_signed),
                Col("net_vol", "Net volume", fmt_signed),
            ],
        )
    s.note("Cumulative intraday net value (lũy kế trong phiên)", "heading")
    if not s.absent(inputs["foreign_flow"]):
        cumulative = q(queries.FOREIGN_CUMULATIVE, top_n=TOP_FOREIGN_SERIES)
        market = cumulative.filter(pl.col("series") == "All symbols").row(-1, named=True)
        s.note(
            f"All symbols: {fmt_signed(market['cum_net_val_vnd'])} VND net at {fmt_time(market['minute'])}; the chart "
            f"also draws the {TOP_FOREIGN_SERIES} symbols with the largest net value."
        )
        s.chart(charts.to_div(charts.foreign_cumulative(cumulative), "chart-foreign"))
    return s


def indices(q: Runner, inputs: dict[str, Input]) -> Section:
    s = Section("indices", "Indices (chỉ số)")
    if s.absent(inputs["indices"]):
        return s
    s.table(
        "Latest index values (giá trị chỉ số mới nhất)",
        q(queries.INDICES_LAST),
        [
            text_col("index_id", "Index"),
            Col("value", "Value", fmt_pts),
            Col("change", "Change", fmt_signed_pts),
            Col("change_pct", "Change %", fmt_signed_pct),
            Col("prior_value", "Prior (tham chiếu)", fmt_pts),
            Col("day_high", "High", fmt_pts),
            Col("day_low", "Low", fmt_pts),
            Col("advances", "Advances (tăng)", fmt_num),
            Col("declines", "Declines (giảm)", fmt_num),
            Col("no_changes", "No change (đứng giá)", fmt_num),
            Col("ceilings", "Ceilings (trần)", fmt_num),
            Col("floors", "Floors (sàn)", fmt_num),
            Col("advance_ratio", "Advance ratio", fmt_share),
            Col("total_value_vnd", "Value VND", fmt_num),
            Col("as_of", "As of", fmt_time),
        ],
    )
    s.note("Advance ratio = advances / (advances + declines).")
    series = q(queries.INDICES_SERIES)
    if series.height:
        s.chart(charts.to_div(charts.indices(series), "chart-indices"))
    else:
        s.note("No VN30 or VNINDEX values to draw.")
    return s


def basis(q: Runner, inputs: dict[str, Input]) -> Section:
    s = Section("basis", "Basis (độ lệch cơ sở) of VN30 futures")
    if s.absent(inputs["basis"]):
        return s
    s.note(
        "Basis = futures price - VN30 spot, in index points; premium (basis dương) when > 0, discount "
        "(basis âm) when < 0. Shares are of futures trades (and of contracts traded)."
    )
    s.table(
        "Basis per contract",
        q(queries.BASIS_SUMMARY),
        [
            text_col("symbol", "Contract"),
            text_col("front_month", "Front month", fmt_yes),
            Col("trades", "Trades", fmt_num),
            Col("contracts", "Contracts", fmt_num),
            Col("premium_pct", "Premium % (basis dương)", fmt_pct),
            Col("discount_pct", "Discount % (basis âm)", fmt_pct),
            Col("flat_pct", "Zero %", fmt_pct),
            Col("premium_volume_pct", "Premium % of contracts", fmt_pct),
            Col("mean_basis_pts", "Mean basis pts", fmt_pts),
            Col("min_basis_pts", "Min pts", fmt_pts),
            Col("max_basis_pts", "Max pts", fmt_pts),
            Col("last_basis_pts", "Last basis pts", fmt_pts),
            Col("last_basis_pct", "Last basis %", fmt_signed_pct),
        ],
    )
    series = q(queries.BASIS_SERIES)
    if not series.height:
        s.note("No front-month rows: no basis chart.")
    for i, ((symbol,), part) in enumerate(series.group_by("symbol", maintain_order=True)):
        s.chart(charts.to_div(charts.basis(symbol, part), "chart-basis" + (f"-{slug(symbol)}" if i else "")))
    return s


def alerts(q: Runner, inputs: dict[str, Input]) -> Section:
    s = Section("alerts", "Alerts (cảnh báo)")
    if s.absent(inputs["alerts"], "No alerts"):
        return s
    s.table(
        "Alerts by type and severity (theo loại và mức độ)",
        q(queries.ALERT_COUNTS),
        [
            text_col("alert_type", "Type"),
            text_col("severity", "Severity"),
            Col("alerts", "Alerts", fmt_num),
            Col("symbols", "Symbols", fmt_num),
            Col("first_at", "First", fmt_time),
            Col("last_at", "Last", fmt_time),
        ],
    )
    s.table(
        f"Latest alerts (the {TOP_ALERTS} most recent, newest first)",
        q(queries.ALERTS_LATEST, limit=TOP_ALERTS),
        [
            Col("exch_time", "Time", fmt_time),
            text_col("severity", "Severity"),
            text_col("alert_type", "Type"),
            text_col("symbol", "Symbol"),
            Col("metric", "Metric", fmt_price),
            Col("threshold", "Threshold", fmt_price),
            text_col("details", "Details"),
        ],
        row_class=("severity", "sev"),
    )
    return s


_AGREEMENT_SPLITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("all", ()), ("rule", ("rule",)), ("phase", ("phase",)), ("origin", ("origin",)),
    ("origin x rule", ("origin", "rule")), ("source", ("source",)))
_ORDER = {"rule": ["quote", "tick", "auction", "none"], "phase": ["ato", "continuous", "atc", "plo", "pt"]}


def _agreement(rows: pl.DataFrame) -> pl.DataFrame:
    """Agreement with the vendor flag per split (``transforms.classify.vendor_agreement``, the measure the app
    shows too): split, grp, n, agree, opposite, neutral, agree_pct, agree_sided_pct."""
    parts = []
    for split, by in _AGREEMENT_SPLITS:
        g = vendor_agreement(rows, by)
        if g.height == 0:
            continue
        if by:  # phases and rules in their natural order, the rest alphabetical
            g = g.sort([pl.col(c).replace_strict(_ORDER[c], list(range(len(_ORDER[c]))), default=99)
                        if c in _ORDER else pl.col(c) for c in by] + [pl.col(c) for c in by])
        grp = pl.concat_str([pl.col(c) for c in by], separator=" / ") if by else pl.lit("all trades")
        parts.append(g.select(pl.lit(split).alias("split"), grp.alias("grp"), "n", "agree", "opposite", "neutral",
                              "agree_pct", "agree_sided_pct"))
    return pl.concat(parts, how="vertical") if parts else pl.DataFrame()


def quality(q: Runner, inputs: dict[str, Input], day: dt.date) -> Section:
    s = Section("quality", "Data quality (chất lượng dữ liệu)")
    raw, quarantine = inputs["raw"], inputs["quarantine"]
    s.absent(raw, "No raw frames")
    if raw.rows or quarantine.rows:
        s.table(
            "Frames per channel (khung theo kênh), DataType trimmed and upper-cased",
            q(queries.FRAMES_BY_CHANNEL),
            [
                text_col("channel", "Channel"),
                Col("frames", "Frames", fmt_num),
                Col("sessions", "Sessions", fmt_num),
                Col("quarantined", "Quarantined", fmt_num),
                Col("quarantined_pct", "Quarantined %", fmt_pct),
            ],
        )
    if raw.rows:
        s.table(
            "Frames per source (nguồn)",
            q(queries.FRAMES_BY_SOURCE),
            [text_col("source", "Source"), Col("sessions", "Sessions", fmt_num), Col("frames", "Frames", fmt_num)],
        )
    s.note("Quarantine (cách ly)", "heading")
    if not s.absent(quarantine, "No quarantined frames"):
        s.table(
            "Quarantined frames by reason (reason group = the text before the first ':')",
            q(queries.QUARANTINE_BY_REASON, examples=REASON_EXAMPLES),
            [
                text_col("reason_group", "Reason group"),
                Col("frames", "Frames", fmt_num),
                Col("distinct_reasons", "Distinct reasons", fmt_num),
                text_col("examples", "First reasons", lambda v: " / ".join(v or [])),
            ],
        )
    s.note("Validation (kiểm định, Great Expectations)", "heading")
    if not s.absent(inputs["dq_results"], "Not validated yet: the daily rebuild (vntrack rebuild) runs the checkpoint"):
        by_table = q(queries.DQ_BY_TABLE)
        failed = int(by_table["failed"].sum())
        s.note(f"{int(by_table['expectations'].sum()) - failed:,} of {int(by_table['expectations'].sum()):,} "
               "expectations passed" + (f"; {failed:,} failed" if failed else ""), "warn" if failed else "note")
        s.table("Expectations per curated table", by_table,
                [text_col("table_name", "Table"), Col("expectations", "Expectations", fmt_num),
                 Col("failed", "Failed", fmt_num), Col("rows_checked", "Rows checked", fmt_num)])
        if failed:
            s.table("Failed expectations", q(queries.DQ_FAILED),
                    [text_col("table_name", "Table"), text_col("expectation", "Expectation"),
                     text_col("column_name", "Column"), Col("unexpected_count", "Rows failing", fmt_num),
                     Col("element_count", "Rows", fmt_num), text_col("observed", "Observed")])
    s.note("Agreement with the vendor aggressor flag (so khớp với nhãn chủ động của nhà cung cấp)", "heading")
    if s.absent(inputs["trades"], "No trades"):
        return s
    cov = q(queries.VENDOR_SIDE_COVERAGE).row(0, named=True)
    others = ", ".join(cov["other_vendor_values"]) or "none"
    s.note(
        f"{cov['with_vendor_side']:,} of {cov['trades']:,} trades carry a vendor aggressor flag (BU/SD); the "
        f"others ({cov['without_vendor_side']:,}) say: {others}. BU = buy-initiated, SD = sell-initiated."
    )
    agreement = _agreement(q(queries.AGREEMENT_ROWS))
    if not agreement.height:
        s.note("No trade carries a vendor aggressor flag: nothing to compare.", "empty")
        return s
    for r in agreement.filter(pl.col("grp") == "KBS tick import / tick").iter_rows(named=True):
        s.note(
            f"Tick-rule agreement with the KBS aggressor labels: {r['agree']:,} of {r['n']:,} = "
            f"{fmt_pct(r['agree_pct'])} (trades from KBS tick imports decided by the tick rule).",
            "warn",
        )
    every = agreement.row(0, named=True)
    s.note(
        f"Overall: {every['agree']:,} of {every['n']:,} = {fmt_pct(every['agree_pct'])} agree; "
        f"we said neutral while the vendor gave a side: {every['neutral']:,}; opposite sides: "
        f"{every['opposite']:,}."
    )
    s.table(
        "Agreement with the vendor aggressor flag (BU -> buy, SD -> sell)",
        agreement,
        [
            text_col("split", "Split"),
            text_col("grp", "Group"),
            Col("n", "n", fmt_num),
            Col("agree", "Agree", fmt_num),
            Col("opposite", "Opposite", fmt_num),
            Col("neutral", "We said neutral", fmt_num),
            Col("agree_pct", "Agree %", fmt_pct),
            Col("agree_sided_pct", "Agree % where we gave a side", fmt_pct),
        ],
    )
    s.note(
        "Rule = what decided our side: quote (against the latest book), tick (price vs the last different "
        "price), auction (ATO/ATC prints, always neutral), none. Origin: ssi / feed = live capture; "
        "'KBS tick import' = raw source import:*.csv (the importer's only CSV format); 'SSI recording import' "
        "= other imported files."
    )
    return s


# ---------------------------------------------------------------------------------------------------- render
