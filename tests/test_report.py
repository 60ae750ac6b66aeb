"""The daily report (reports/daily.py): a small hand-made lake with known numbers, then assertions on the content.

Every curated table is built with its exact schema from transforms/schemas.py and written where the daily flow
writes it (docs/architecture.md §3). The numbers below are hand-computed in the comments; the report must show them.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from reports import ReportPaths, build_report
from transforms import schemas

DAY = dt.date(2025, 3, 14)
TZ = ZoneInfo(schemas.TZ)


def _t(hms: str) -> dt.datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return dt.datetime(DAY.year, DAY.month, DAY.day, h, m, s, tzinfo=TZ)


def _frame(schema: pl.Schema, rows: list[dict]) -> pl.DataFrame:
    """Rows (absent keys -> null) with exactly ``schema``; ``trading_date`` defaults to DAY."""
    if "trading_date" in schema:
        rows = [{"trading_date": DAY, **r} for r in rows]
    return pl.DataFrame(rows, schema=schema)


def _curated(lake: Path, table: str, df: pl.DataFrame) -> None:
    path = lake / "curated" / f"date={DAY:%Y-%m-%d}" / f"{table}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    assert df.schema == schemas.CURATED[table]
    df.write_parquet(path)


# --- trades --------------------------------------------------------------------------------------------------------
# Vendor side BU/SD on 9 trades (seq 2-7 of s1, 1-3 of kbs1):
#   agree: s1/2 (quote buy), s1/3 (quote sell), s1/5 (tick buy), kbs1/1 (quote buy), kbs1/2 (tick sell) = 5
#   opposite: s1/6 (tick sell vs BU), kbs1/3 (tick buy vs SD) = 2;  we said neutral: s1/4 (quote), s1/7 (auction) = 2
#   by rule: quote n=4 agree=3 -> 75.0%; tick n=4 agree=2 -> 50.0%; auction n=1 agree=0 -> 0.0%
#   by phase: continuous n=8 agree=5 -> 62.5%; atc n=1 -> 0.0%; all: 5 of 9 -> 55.6%
#   origin "KBS tick import" (session kbs1, raw source import:VNM.csv): n=3 agree=2 -> 66.7%;
#   KBS tick import / tick: n=2 agree=1 -> 50.0%
TRADES = [
    dict(session="s1", seq=1, exch_time=_t("09:15:00"), symbol="FPT", price=100_000.0, volume=1_000,
         phase="ato", rule="auction", aggressor_side="neutral", vendor_side="Unknown", trading_session="ATO"),
    dict(session="s1", seq=2, exch_time=_t("09:20:00"), symbol="FPT", price=100_100.0, volume=200,
         phase="continuous", rule="quote", aggressor_side="buy", vendor_side="BU"),
    dict(session="s1", seq=3, exch_time=_t("09:21:00"), symbol="FPT", price=100_000.0, volume=300,
         phase="continuous", rule="quote", aggressor_side="sell", vendor_side="SD"),
    dict(session="s1", seq=4, exch_time=_t("09:22:00"), symbol="FPT", price=100_050.0, volume=100,
         phase="continuous", rule="quote", aggressor_side="neutral", vendor_side="BU"),
    dict(session="s1", seq=5, exch_time=_t("10:00:00"), symbol="FPT", price=100_200.0, volume=400,
         phase="continuous", rule="tick", aggressor_side="buy", vendor_side="BU"),
    dict(session="s1", seq=6, exch_time=_t("10:01:00"), symbol="FPT", price=100_100.0, volume=100,
         phase="continuous", rule="tick", aggressor_side="sell", vendor_side="BU"),
    dict(session="s1", seq=7, exch_time=_t("14:45:00"), symbol="FPT", price=100_300.0, volume=500,
         phase="atc", rule="auction", aggressor_side="neutral", vendor_side="SD"),
    dict(session="s1", seq=8, exch_time=_t("14:50:00"), symbol="FPT", price=99_000.0, volume=10_000,
         phase="pt", rule="none", aggressor_side="neutral", vendor_side=None, trading_session="PT"),
    dict(session="kbs1", seq=1, exch_time=_t("09:30:00"), symbol="VNM", price=70_000.0, volume=100,
         phase="continuous", rule="quote", aggressor_side="buy", vendor_side="BU"),
    dict(session="kbs1", seq=2, exch_time=_t("09:31:00"), symbol="VNM", price=69_900.0, volume=200,
         phase="continuous", rule="tick", aggressor_side="sell", vendor_side="SD"),
    dict(session="kbs1", seq=3, exch_time=_t("09:32:00"), symbol="VNM", price=70_100.0, volume=300,
         phase="continuous", rule="tick", aggressor_side="buy", vendor_side="SD"),
]


def _trades() -> pl.DataFrame:
    rows = [{"exchange": "HOSE", "source": "X-TRADE", "value_vnd": round(r["price"] * r["volume"]), **r}
            for r in TRADES]
    return _frame(schemas.TRADES, rows)


# --- session stats (by hand from TRADES) ---------------------------------------------------------------------------
# FPT continuous: volumes 200 b, 300 s, 100 n, 400 b, 100 s -> 1,100 = 600 b + 400 s + 100 n
#   values 20,020,000 + 30,000,000 + 10,005,000 + 40,080,000 + 10,010,000 = 110,115,000
# FPT total: 8 trades, volume 1,000 + 1,100 + 500 + 10,000 = 12,600; value 1,250,265,000
_ZERO = dict(trade_count=0, volume=0, value_vnd=0, buy_volume=0, sell_volume=0, neutral_volume=0,
             buy_value_vnd=0, sell_value_vnd=0, neutral_value_vnd=0)
SESSION_STATS = [
    dict(symbol="FPT", phase="ato", **{**_ZERO, "trade_count": 1, "volume": 1_000, "value_vnd": 100_000_000,
                                        "neutral_volume": 1_000, "neutral_value_vnd": 100_000_000}),
    dict(symbol="FPT", phase="continuous", trade_count=5, volume=1_100, value_vnd=110_115_000, buy_volume=600,
         sell_volume=400, neutral_volume=100, buy_value_vnd=60_100_000, sell_value_vnd=40_010_000,
         neutral_value_vnd=10_005_000),
    dict(symbol="FPT", phase="atc", **{**_ZERO, "trade_count": 1, "volume": 500, "value_vnd": 50_150_000,
                                        "neutral_volume": 500, "neutral_value_vnd": 50_150_000}),
    dict(symbol="FPT", phase="pt", **{**_ZERO, "trade_count": 1, "volume": 10_000, "value_vnd": 990_000_000,
                                       "neutral_volume": 10_000, "neutral_value_vnd": 990_000_000}),
    dict(symbol="FPT", phase="total", trade_count=8, volume=12_600, value_vnd=1_250_265_000, buy_volume=600,
         sell_volume=400, neutral_volume=11_600, buy_value_vnd=60_100_000, sell_value_vnd=40_010_000,
         neutral_value_vnd=1_150_155_000),
    dict(symbol="VNM", phase="ato", **_ZERO),
    dict(symbol="VNM", phase="continuous", trade_count=3, volume=600, value_vnd=42_010_000, buy_volume=400,
         sell_volume=200, neutral_volume=0, buy_value_vnd=28_030_000, sell_value_vnd=13_980_000,
         neutral_value_vnd=0),
    dict(symbol="VNM", phase="atc", **_ZERO),
    dict(symbol="VNM", phase="pt", **_ZERO),
    dict(symbol="VNM", phase="total", trade_count=3, volume=600, value_vnd=42_010_000, buy_volume=400,
         sell_volume=200, neutral_volume=0, buy_value_vnd=28_030_000, sell_value_vnd=13_980_000,
         neutral_value_vnd=0),
]

BOARD = [
    dict(symbol="FPT", exchange="HOSE", last_price=100_300.0, ref_price=100_000.0, ceiling=107_000.0,
         floor=93_000.0, change=300.0, change_pct=0.3, price_state="up", volume=2_600, value_vnd=260_265_000,
         active_buy_share=0.6),
    dict(symbol="VNM", exchange="HOSE", last_price=70_100.0, ref_price=70_100.0, ceiling=75_000.0,
         floor=65_200.0, change=0.0, change_pct=0.0, price_state="unchanged", volume=600, value_vnd=42_010_000),
    dict(symbol="HPG", exchange="HOSE", last_price=28_850.0, ref_price=26_990.0, ceiling=28_850.0,
         floor=25_130.0, change=1_860.0, change_pct=6.89, price_state="ceiling", volume=100, value_vnd=2_885_000),
    dict(symbol="MWG", exchange="HOSE", last_price=50_000.0, ref_price=51_000.0, ceiling=54_500.0,
         floor=47_500.0, change=-1_000.0, change_pct=-1.96, price_state="down", volume=100, value_vnd=5_000_000),
    dict(symbol="VCB", exchange="HOSE", last_price=83_700.0, ref_price=90_000.0, ceiling=96_300.0,
         floor=83_700.0, change=-6_300.0, change_pct=-7.0, price_state="floor", volume=100, value_vnd=8_370_000),
]

CANDLES = [
    dict(symbol="FPT", minute=_t("09:20:00"), open=100_100.0, high=100_100.0, low=100_100.0, close=100_100.0,
         volume=200, value_vnd=20_020_000, vwap=100_100.0, trade_count=1, buy_volume=200, sell_volume=0),
    dict(symbol="FPT", minute=_t("09:21:00"), open=100_000.0, high=100_000.0, low=100_000.0, close=100_000.0,
         volume=300, value_vnd=30_000_000, vwap=100_000.0, trade_count=1, buy_volume=0, sell_volume=300),
    dict(symbol="VNM", minute=_t("09:30:00"), open=70_000.0, high=70_000.0, low=70_000.0, close=70_000.0,
         volume=100, value_vnd=7_000_000, vwap=70_000.0, trade_count=1, buy_volume=100, sell_volume=0),
]

# Foreign: FPT +5 bn VND (net buy #1), HPG +1 bn (#2), VNM -2 bn (net sell #1); market +4 bn.
FOREIGN_SUMMARY = [
    dict(symbol="FPT", sector="Technology", buy_vol=60_000, sell_vol=10_000, buy_val_vnd=6_000_000_000,
         sell_val_vnd=1_000_000_000, net_vol=50_000, net_val_vnd=5_000_000_000, room_used=0.98, corrections=0,
         rank_net_buy=1),
    dict(symbol="HPG", sector="Materials", buy_vol=40_000, sell_vol=5_000, buy_val_vnd=1_100_000_000,
         sell_val_vnd=100_000_000, net_vol=35_000, net_val_vnd=1_000_000_000, room_used=0.25, corrections=1,
         rank_net_buy=2),
    dict(symbol="VNM", sector="Consumer Staples", buy_vol=1_000, sell_vol=30_000, buy_val_vnd=70_000_000,
         sell_val_vnd=2_070_000_000, net_vol=-29_000, net_val_vnd=-2_000_000_000, room_used=0.5, corrections=0,
         rank_net_sell=1),
]
FOREIGN_BY_SECTOR = [
    dict(sector="Consumer Staples", symbols=1, buy_val_vnd=70_000_000, sell_val_vnd=2_070_000_000,
         net_val_vnd=-2_000_000_000, net_vol=-29_000),
    dict(sector="Materials", symbols=1, buy_val_vnd=1_100_000_000, sell_val_vnd=100_000_000,
         net_val_vnd=1_000_000_000, net_vol=35_000),
    dict(sector="Technology", symbols=1, buy_val_vnd=6_000_000_000, sell_val_vnd=1_000_000_000,
         net_val_vnd=5_000_000_000, net_vol=50_000),
]
FOREIGN_FLOW = [
    dict(session="s1", seq=20, exch_time=_t("09:30:10"), symbol="FPT", net_val_vnd=3_000_000_000, net_vol=30_000),
    dict(session="s1", seq=21, exch_time=_t("09:45:00"), symbol="VNM", net_val_vnd=-2_000_000_000, net_vol=-29_000),
    dict(session="s1", seq=22, exch_time=_t("10:00:00"), symbol="FPT", net_val_vnd=2_000_000_000, net_vol=20_000),
    dict(session="s1", seq=23, exch_time=_t("10:30:00"), symbol="HPG", net_val_vnd=1_000_000_000, net_vol=35_000),
]

# Indices: VN30 last 1,305.5 (prior 1,290: +15.5); VNINDEX last 1,248 with 150 up / 250 down -> ratio 0.375.
INDICES = [
    dict(session="s1", seq=30, exch_time=_t("09:15:00"), index_id="VN30", value=1_300.0, prior_value=1_290.0,
         change=10.0, change_pct=0.775, advances=20, declines=8, no_changes=2, advance_ratio=20 / 28),
    dict(session="s1", seq=31, exch_time=_t("09:15:00"), index_id="VNINDEX", value=1_250.0, prior_value=1_252.0,
         change=-2.0, change_pct=-0.16, advances=200, declines=150, no_changes=50, advance_ratio=200 / 350),
    dict(session="s1", seq=32, exch_time=_t("10:00:00"), index_id="VN30", value=1_305.5, prior_value=1_290.0,
         change=15.5, change_pct=1.2016, advances=21, declines=7, no_changes=2, advance_ratio=0.75),
    dict(session="s1", seq=33, exch_time=_t("10:00:00"), index_id="VNINDEX", value=1_248.0, prior_value=1_252.0,
         change=-4.0, change_pct=-0.3195, advances=150, declines=250, no_changes=50, advance_ratio=0.375),
]

# Basis: front month VN30F2503, 2 premium of 4 trades -> 50.0%; last basis -1.0 pts.
BASIS = [
    dict(session="s1", seq=40 + i, exch_time=_t(hms), symbol="VN30F2503", is_front_month=True,
         futures_price=1_300.0 + b, spot=1_300.0, basis_pts=b, basis_pct=b / 13, premium=b > 0, volume=10)
    for i, (hms, b) in enumerate([("09:15:05", 2.0), ("09:16:00", 1.0), ("10:00:00", -0.5), ("10:01:00", -1.0)])
] + [dict(session="s1", seq=50, exch_time=_t("10:02:00"), symbol="VN30F2504", is_front_month=False,
          futures_price=1_310.0, spot=1_305.5, basis_pts=4.5, basis_pct=0.3447, premium=True, volume=1)]

ALERTS = [
    dict(session="s1", seq=2, exch_time=_t("09:20:00"), alert_type="VOLUME_SPIKE", severity="WARNING",
         symbol="FPT", metric=200.0, threshold=60.0, details="volume 200 > 3 x mean 20.0 over 10 trades in 20 min"),
    dict(session="s1", seq=7, exch_time=_t("14:45:00"), alert_type="PRICE_BREAKOUT", severity="CRITICAL",
         symbol="HPG", metric=28_850.0, threshold=28_850.0, details="at ceiling"),
    dict(session="kbs1", seq=3, exch_time=_t("09:32:00"), alert_type="VOLUME_SPIKE", severity="WARNING",
         symbol="VNM", metric=300.0, threshold=90.0, details="volume 300 > 3 x mean 30.0 over 12 trades in 20 min"),
]

# Quarantine: "invalid JSON" 3 frames (2 distinct reasons), "unsupported DataType 'Trade'" 2, "field LastPrice" 1.
QUARANTINE = [
    ("s1", 60, "X-TRADE", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
    ("s1", 61, "Trade", "unsupported DataType 'Trade'"),
    ("s1", 62, "X-TRADE", "invalid JSON: Unterminated string starting at: line 1 column 9 (char 8)"),
    ("s1", 63, "X-TRADE", "field LastPrice: not a number"),
    ("s1", 64, "Trade", "unsupported DataType 'Trade'"),
    ("s1", 65, "X-TRADE", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
]


def _raw_frames() -> list[pl.DataFrame]:
    """Two raw segments: s1 (live SSI capture, 25 frames) and kbs1 (a KBS tick CSV import, 3 frames)."""
    s1 = [(seq, "X-TRADE") for seq in range(1, 9)]
    s1 += [(10, "X-Quote"), (11, " x-quote"), (12, "X-QUOTE")]  # one channel, spelled three ways
    s1 += [(20 + i, "R") for i in range(4)] + [(30 + i, "MI") for i in range(4)]
    s1 += [(seq, dt_) for (_, seq, dt_, _) in QUARANTINE]
    kbs = [(seq, "X-TRADE") for seq in (1, 2, 3)]

    def seg(session: str, source: str, rows: list[tuple[int, str]]) -> pl.DataFrame:
        return pl.DataFrame(
            {"session": session, "seq": [r[0] for r in rows], "recv_ns": [r[0] * 1_000 for r in rows],
             "data_type": [r[1] for r in rows], "payload": "{}", "cursor": None, "source": source},
            schema={"session": pl.String, "seq": pl.UInt64, "recv_ns": pl.Int64, "data_type": pl.String,
                    "payload": pl.String, "cursor": pl.String, "source": pl.String},
        )

    return [seg("s1", "ssi", s1), seg("kbs1", "import:VNM.csv", kbs)]


def write_lake(lake: Path, *, session_stats: list[dict] = SESSION_STATS) -> None:
    """The full hand-made day: every curated table, quarantine and two raw segments."""
    _curated(lake, "trades", _trades())
    _curated(lake, "session_stats", _frame(schemas.SESSION_STATS, session_stats))
    _curated(lake, "board", _frame(schemas.BOARD, BOARD))
    _curated(lake, "candles_1m", _frame(schemas.CANDLES_1M, CANDLES))
    _curated(lake, "foreign_summary", _frame(schemas.FOREIGN_SUMMARY, FOREIGN_SUMMARY))
    _curated(lake, "foreign_by_sector", _frame(schemas.FOREIGN_BY_SECTOR, FOREIGN_BY_SECTOR))
    _curated(lake, "foreign_flow", _frame(schemas.FOREIGN_FLOW, FOREIGN_FLOW))
    _curated(lake, "indices", _frame(schemas.INDICES, INDICES))
    _curated(lake, "basis", _frame(schemas.BASIS, BASIS))
    _curated(lake, "alerts", _frame(schemas.ALERTS, ALERTS))
    qdir = lake / "quarantine" / f"date={DAY:%Y-%m-%d}"
    qdir.mkdir(parents=True)
    pl.DataFrame(
        [dict(session=s, seq=q, recv_ns=q, data_type=d, payload="{", reason=r) for s, q, d, r in QUARANTINE],
        schema=schemas.QUARANTINE,
    ).write_parquet(qdir / "quarantine.parquet")
    rdir = lake / "raw" / f"date={DAY:%Y-%m-%d}"
    rdir.mkdir(parents=True)
    for i, seg in enumerate(_raw_frames()):
        seg.write_parquet(rdir / f"{seg['session'][0]}-{i:06d}.parquet")


# --- reading the Markdown back -------------------------------------------------------------------------------------


def md_table(md: str, caption: str) -> list[list[str]]:
    """Body rows (cells stripped) of the first Markdown table after the line containing ``caption``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if caption in line)
    rows: list[list[str]] = []
    in_table = False
    for line in lines[start + 1:]:
        if line.startswith("|"):
            in_table = True
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif in_table:
            break
    assert rows, f"no table after {caption!r}"
    header, _sep, *body = rows
    return [header, *body]


def md_row(table: list[list[str]], *first_cells: str) -> dict[str, str]:
    """The row whose first cells are ``first_cells``, as {header: cell}."""
    header, *body = table
    matches = [r for r in body if tuple(r[: len(first_cells)]) == first_cells]
    assert len(matches) == 1, f"{first_cells} matched {len(matches)} rows in {body}"
    return dict(zip(header, matches[0]))


# --- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(name="report", scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportPaths, str, str]:
    lake = tmp_path_factory.mktemp("lake")
    write_lake(lake)
    out = tmp_path_factory.mktemp("out")
    paths = build_report(lake, DAY, out)
    return paths, paths.markdown.read_text(encoding="utf-8"), paths.html.read_text(encoding="utf-8")


# --- tests ---------------------------------------------------------------------------------------------------------


def test_paths(report: tuple[ReportPaths, str, str]) -> None:
    paths, _, _ = report
    assert paths.html.name == "report-2025-03-14.html"
    assert paths.markdown.name == "report-2025-03-14.md"
    assert paths.html.parent == paths.markdown.parent


def test_agreement_by_rule_phase_and_source(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    t = md_table(md, "Agreement with the vendor aggressor flag")
    assert md_row(t, "all", "all trades") == {
        "Split": "all", "Group": "all trades", "n": "9", "Agree": "5", "Opposite": "2",
        "We said neutral": "2", "Agree %": "55.6%", "Agree % where we gave a side": "71.4%",
    }
    assert md_row(t, "rule", "quote")["Agree %"] == "75.0%"
    assert md_row(t, "rule", "quote")["n"] == "4"
    assert md_row(t, "rule", "quote")["Agree"] == "3"
    assert md_row(t, "rule", "tick")["Agree %"] == "50.0%"
    assert md_row(t, "rule", "auction")["We said neutral"] == "1"
    assert md_row(t, "phase", "continuous")["Agree %"] == "62.5%"
    assert md_row(t, "phase", "continuous")["n"] == "8"
    assert md_row(t, "origin", "KBS tick import")["Agree %"] == "66.7%"
    assert md_row(t, "origin", "ssi")["n"] == "6"
    assert md_row(t, "origin x rule", "KBS tick import / tick")["Agree %"] == "50.0%"
    assert md_row(t, "source", "import:VNM.csv")["n"] == "3"
    # No trades of rule "none" had a vendor side (the put-through has none): no such row.
    assert not [r for r in t[1:] if r[:2] == ["rule", "none"]]
    # The headline for KBS tick imports, and the neutral-vs-vendor count.
    assert "Tick-rule agreement with the KBS aggressor labels: 1 of 2 = 50.0%" in md
    assert "we said neutral while the vendor gave a side: 2" in md.lower()


def test_vendor_side_coverage(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    # 11 trades: 9 with BU/SD, 2 without ("Unknown" and null).
    assert "9 of 11 trades carry a vendor aggressor flag (BU/SD)" in md
    assert "Unknown" in md and "null" in md


def test_phases_sum_to_totals(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    assert "Check passed: for all 2 symbols the four phases sum exactly to the total" in md
    t = md_table(md, "Active buy / sell / neutral per symbol and phase")
    fpt_total = md_row(t, "FPT", "total")
    assert fpt_total["Volume"] == "12,600"
    assert fpt_total["Active buy vol (mua chủ động)"] == "600"
    assert fpt_total["Neutral vol (trung tính)"] == "11,600"
    assert md_row(t, "FPT", "continuous")["Value VND"] == "110,115,000"
    m = md_table(md, "All symbols by phase")
    assert md_row(m, "total")["Value VND"] == "1,292,275,000"  # 1,250,265,000 + 42,010,000


def test_phase_check_fails_on_inconsistent_stats(tmp_path: Path) -> None:
    bad = [dict(r) for r in SESSION_STATS]
    fpt_total = next(r for r in bad if r["symbol"] == "FPT" and r["phase"] == "total")
    fpt_total["volume"] += 1  # total no longer the sum of the phases, nor buy + sell + neutral
    write_lake(tmp_path / "lake", session_stats=bad)
    md = build_report(tmp_path / "lake", DAY, tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "Check FAILED for 1 of 2 symbols" in md
    assert "FPT: phases do not sum to total in volume; buy + sell + neutral <> all in total" in md
    assert "Check passed" not in md


def test_foreign_flow(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    top_buy = md_table(md, "Top 10 net buy (mua ròng)")
    assert top_buy[1][:2] == ["1", "FPT"]
    assert md_row(top_buy, "1", "FPT")["Net value VND"] == "+5,000,000,000"
    assert md_row(top_buy, "2", "HPG")["Net value VND"] == "+1,000,000,000"
    top_sell = md_table(md, "Top 10 net sell (bán ròng)")
    assert md_row(top_sell, "1", "VNM")["Net value VND"] == "-2,000,000,000"
    totals = md_table(md, "Foreign totals")
    assert md_row(totals, "3")["Net value VND"] == "+4,000,000,000"
    assert "All symbols: +4,000,000,000 VND net at 10:30:00" in md
    sectors = md_table(md, "By sector (theo ngành)")
    assert [r[0] for r in sectors[1:]] == ["Technology", "Materials", "Consumer Staples"]


def test_board_indices_basis_alerts(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    board = md_table(md, "Price board (bảng giá)")
    assert md_row(board, "HPG")["State"] == "ceiling"
    assert md_row(board, "FPT")["Change %"] == "+0.30%"
    assert md_row(board, "VNM")["Change"] == "0"
    assert md_row(board, "MWG")["Change"] == "-1,000"
    idx = md_table(md, "Latest index values")
    assert [r[0] for r in idx[1:]] == ["VNINDEX", "VN30"]
    assert md_row(idx, "VN30")["Value"] == "1,305.50"
    assert md_row(idx, "VN30")["Change"] == "+15.50"
    assert md_row(idx, "VNINDEX")["Advance ratio"] == "37.5%"
    basis = md_table(md, "Basis per contract")
    front = md_row(basis, "VN30F2503")
    assert front["Front month"] == "yes"
    assert front["Premium % (basis dương)"] == "50.0%"
    assert front["Last basis pts"] == "-1.00"
    counts = md_table(md, "Alerts by type and severity")
    assert md_row(counts, "VOLUME_SPIKE", "WARNING")["Alerts"] == "2"
    assert md_row(counts, "PRICE_BREAKOUT", "CRITICAL")["Alerts"] == "1"
    assert md_row(counts, "all")["Alerts"] == "3"
    latest = md_table(md, "Latest alerts")
    # Newest first by exchange time: HPG 14:45, VNM 09:32, FPT 09:20.
    assert [(r[0], r[3]) for r in latest[1:]] == [("14:45:00", "HPG"), ("09:32:00", "VNM"), ("09:20:00", "FPT")]


def test_data_quality(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    ch = md_table(md, "Frames per channel")
    assert md_row(ch, "X-TRADE")["Frames"] == "15"  # 8 + 3 trades + 4 quarantined X-TRADE frames
    assert md_row(ch, "X-QUOTE")["Frames"] == "3"  # 'X-Quote', ' x-quote', 'X-QUOTE'
    assert md_row(ch, "TRADE")["Quarantined"] == "2"
    q = md_table(md, "Quarantined frames by reason")
    inv = md_row(q, "invalid JSON")
    assert inv["Frames"] == "3"
    assert inv["Distinct reasons"] == "2"
    assert "Expecting value: line 1 column 1 (char 0)" in inv["First reasons"]
    assert md_row(q, "unsupported DataType 'Trade'")["Frames"] == "2"
    assert md_row(q, "field LastPrice")["Frames"] == "1"
    ov = md_table(md, "Frames (khung dữ liệu)")
    assert md_row(ov, "Raw frames")[ov[0][1]] == "28"
    assert md_row(ov, "Quarantined frames (cách ly)")[ov[0][1]] == "6"


def test_html_self_contained(report: tuple[ReportPaths, str, str]) -> None:
    _, _, html = report
    bundle_head = get_plotlyjs()[:400]
    assert html.count(bundle_head) == 1, "plotly.js must be embedded inline exactly once"
    script_tags = re.findall(r"<script\b[^>]*>", html, flags=re.I)
    assert script_tags and all("src" not in tag.lower() for tag in script_tags), script_tags
    assert not re.search(r"<script[^>]*src\s*=\s*[\"']?(https?:)?//", html, flags=re.I)
    assert not re.search(r"<link\b[^>]*href\s*=\s*[\"']?(https?:)?//", html, flags=re.I)
    # Charts: candlesticks for the traded symbols, the stacked phase bars, foreign, indices, basis.
    for div in ("chart-candles-FPT", "chart-candles-VNM", "chart-phases", "chart-foreign", "chart-indices",
                "chart-basis"):
        assert f'id="{div}"' in html, div
    assert '"type":"candlestick"' in html
    # Board colours (docs/market.md §10) and Vietnamese terms beside English.
    assert re.search(r'<tr class="st-ceiling">\s*<td[^>]*>HPG<', html)
    assert re.search(r'<tr class="st-floor">\s*<td[^>]*>VCB<', html)
    assert re.search(r'<tr class="st-up">\s*<td[^>]*>FPT<', html)
    assert "Active buy (mua chủ động)" in html and "Active sell (bán chủ động)" in html
    assert "75.0%" in html


def test_markdown_has_no_charts(report: tuple[ReportPaths, str, str]) -> None:
    _, md, _ = report
    assert "<script" not in md and "plotly" not in md.lower()


def test_empty_day(tmp_path: Path) -> None:
    paths = build_report(tmp_path / "no-lake", DAY, tmp_path / "out")
    md = paths.markdown.read_text(encoding="utf-8")
    html = paths.html.read_text(encoding="utf-8")
    assert "No data for 2025-03-14" in md and "No data for 2025-03-14" in html
    assert "trades.parquet is missing" in md
    assert "No raw frames" in md
    assert "<script" not in html  # nothing to chart: no plotly bundle either


def test_raw_without_curated(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    rdir = lake / "raw" / f"date={DAY:%Y-%m-%d}"
    rdir.mkdir(parents=True)
    _raw_frames()[0].write_parquet(rdir / "s1-000000.parquet")
    md = build_report(lake, DAY, tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "No curated tables for 2025-03-14, but 25 raw frames: rebuild the day" in md
    assert md_row(md_table(md, "Frames per channel"), "X-QUOTE")["Frames"] == "3"
    assert "No trades: trades.parquet is missing for this day." in md


def test_empty_files_and_partial_day(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for table, schema in schemas.CURATED.items():
        _curated(lake, table, schemas.empty(schema))  # every table present with zero rows
    _curated(lake, "trades", _trades())  # trades only: the agreement still works without raw
    md = build_report(lake, DAY, tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "No data for 2025-03-14" not in md
    assert "board.parquet has no rows" in md
    assert "No alerts: alerts.parquet has no rows" in md
    t = md_table(md, "Agreement with the vendor aggressor flag")
    assert md_row(t, "rule", "quote")["Agree %"] == "75.0%"
    assert md_row(t, "origin", "(no raw frame)")["n"] == "9"


def test_missing_column_is_explained(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _curated(lake, "trades", _trades())
    path = lake / "curated" / f"date={DAY:%Y-%m-%d}" / "trades.parquet"
    _trades().drop("rule").write_parquet(path)
    with pytest.raises(ValueError, match=r"trades\.parquet.*missing column.*rule"):
        build_report(lake, DAY, tmp_path / "out")


def test_validation_results_are_shown_when_the_day_was_validated(tmp_path: Path) -> None:
    from storage.lake import dq_results_path, write_table
    from transforms.schemas import DQ_RESULTS

    write_lake(tmp_path / "lake")
    md = build_report(tmp_path / "lake", DAY, tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "Not validated yet" in md
    checked = dt.datetime(2026, 7, 20, 15, 5, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    rows = [
        {"trading_date": DAY, "run_id": "r1", "table_name": "trades", "expectation": "expect_column_values_to_not_be_null",
         "column_name": "symbol", "success": True, "element_count": 12, "unexpected_count": 0, "observed": None,
         "checked_at": checked},
        {"trading_date": DAY, "run_id": "r1", "table_name": "trades", "expectation": "expect_column_values_to_be_between",
         "column_name": "price", "success": False, "element_count": 12, "unexpected_count": 2, "observed": "2 above ceiling",
         "checked_at": checked},
    ]
    write_table(dq_results_path(tmp_path / "lake", DAY), pl.DataFrame(rows, schema=DQ_RESULTS))
    md = build_report(tmp_path / "lake", DAY, tmp_path / "out").markdown.read_text(encoding="utf-8")
    assert "1 of 2 expectations passed; 1 failed" in md
    failed = md_row(md_table(md, "Failed expectations"), "trades")
    assert failed["Expectation"] == "expect_column_values_to_be_between" and failed["Rows failing"] == "2"
