"""The price board (bảng giá) as a styled table: shaping and the Vietnamese board colours (docs/market.md §10).

Frames in, a pandas Styler out (Streamlit renders per-cell colours only from a Styler).
"""

from __future__ import annotations

import pandas as pd
import polars as pl
import streamlit as st

from app.ui.common import CEILING_COLOUR, FLOOR_COLOUR, REFERENCE_COLOUR, STATE_COLOURS
from market.reference_data import vn30_members

SORTS: dict[str, tuple[str, bool]] = {
    "Symbol (mã)": ("symbol", False),
    "% change (thay đổi)": ("change_pct", True),
    "Value (giá trị)": ("value_vnd", True),
    "Volume (khối lượng)": ("volume", True),
    "Active buy share (mua chủ động)": ("active_buy_share", True),
    "Foreign net (NN ròng)": ("foreign_net_val_vnd", True),
}
"""Sort choices: label -> (board column, descending)."""

COLUMNS = {
    "symbol": "Symbol (Mã)",
    "last_price": "Last (Khớp)",
    "change": "+/-",
    "change_pct": "%",
    "ref_price": "Ref (TC)",
    "ceiling": "Ceiling (Trần)",
    "floor": "Floor (Sàn)",
    "volume": "Volume (KL)",
    "value_bn": "Value bn (GT tỷ)",
    "best_bid": "Bid (Mua 1)",
    "best_bid_vol": "Bid vol",
    "best_ask": "Ask (Bán 1)",
    "best_ask_vol": "Ask vol",
    "active_buy_pct": "Active buy % (mua chủ động)",
    "foreign_net_bn": "Foreign net bn (NN ròng)",
    "trend": "Intraday (trong ngày)",
}


def split_board(board: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(VN30 members, futures)`` rows of the board; members as shipped (market/data/vn30_members.csv)."""
    members = board.filter(pl.col("symbol").is_in(vn30_members()))
    futures = board.filter(pl.col("symbol").str.starts_with("VN30F"))
    return members, futures


def sparklines(candles: pl.DataFrame) -> pl.DataFrame:
    """symbol, trend (list of 1-minute closes in minute order) from ``candles_1m``."""
    return candles.sort("symbol", "minute").group_by("symbol", maintain_order=True).agg(
        pl.col("close").alias("trend"))


def shape(board: pl.DataFrame, candles: pl.DataFrame, sort: str) -> pl.DataFrame:
    """The board's display columns (values in billion VND, shares in percent), sorted by a :data:`SORTS` key."""
    col, desc = SORTS[sort]
    return (
        board.join(sparklines(candles), on="symbol", how="left")
        .with_columns(
            (pl.col("value_vnd") / 1e9).alias("value_bn"),
            (pl.col("active_buy_share") * 100).alias("active_buy_pct"),
            (pl.col("foreign_net_val_vnd") / 1e9).alias("foreign_net_bn"),
        )
        .sort(col, descending=desc, nulls_last=True)
    )


def styled(shaped: pl.DataFrame, *, points: bool = False) -> pd.io.formats.style.Styler:
    """A Styler of :func:`shape`'s rows: symbol/last/change/% coloured by ``price_state``; reference, ceiling
    and floor columns in their own colours."""
    keep = [c for c in COLUMNS if c in shaped.columns]
    pdf = shaped.select(*keep, "price_state").to_pandas()
    price_fmt = "{:,.1f}" if points else "{:,.0f}"

    def by_state(row: pd.Series) -> list[str]:
        colour = STATE_COLOURS.get(row["price_state"] or "", "")
        coloured = {"symbol", "last_price", "change", "change_pct"}
        return [f"color: {colour}; font-weight: 600" if (c in coloured and colour) else "" for c in row.index]

    styler = pdf.style.apply(by_state, axis=1)
    styler = styler.map(lambda _: f"color: {REFERENCE_COLOUR}", subset=["ref_price"])
    styler = styler.map(lambda _: f"color: {CEILING_COLOUR}", subset=["ceiling"])
    styler = styler.map(lambda _: f"color: {FLOOR_COLOUR}", subset=["floor"])
    fmt = {c: price_fmt for c in ("last_price", "change", "ref_price", "ceiling", "floor", "best_bid", "best_ask")}
    fmt |= {"change_pct": "{:+.2f}%", "volume": "{:,.0f}", "best_bid_vol": "{:,.0f}", "best_ask_vol": "{:,.0f}",
            "value_bn": "{:,.1f}", "active_buy_pct": "{:.1f}%", "foreign_net_bn": "{:+,.1f}"}
    styler = styler.format({k: v for k, v in fmt.items() if k in pdf.columns}, na_rep="—")
    return styler.hide(axis="columns", subset=["price_state"])


def column_config() -> dict:
    """Streamlit column config: headers with the Vietnamese terms and the sparkline column."""
    cfg = {c: st.column_config.Column(label) for c, label in COLUMNS.items() if c != "trend"}
    cfg["trend"] = st.column_config.LineChartColumn(COLUMNS["trend"], width="medium")
    cfg["price_state"] = None
    return cfg
