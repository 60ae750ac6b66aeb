"""Plotly figures of the daily report, built from the query results in ``reports/queries.py``.

Each builder takes a small Polars frame (already aggregated in SQL; times are naive exchange wall time,
Asia/Ho_Chi_Minh) and returns a ``go.Figure``. :func:`to_div` turns a figure into an HTML fragment without
plotly.js; the report embeds :func:`plotly_bundle` once, inline, so the file needs no network at view time.

Colours follow the Vietnamese board convention (docs/market.md §10): up / active buy green, down / active sell red,
reference / neutral yellow, ceiling purple, floor cyan.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

GREEN = "#16a34a"  # up, active buy (mua chủ động)
RED = "#dc2626"  # down, active sell (bán chủ động)
YELLOW = "#d4a106"  # reference, neutral (trung tính)
PURPLE = "#a21caf"  # ceiling (trần)
CYAN = "#0891b2"  # floor (sàn)
GREY = "#6b7280"

PHASE_LABELS = {"ato": "ATO", "continuous": "Continuous", "atc": "ATC", "pt": "Put-through"}

# Hide the lunch break (11:30-13:00) on intraday axes: docs/market.md §2.
_LUNCH = [dict(bounds=[11.5, 13], pattern="hour")]
_CONFIG = {"displaylogo": False, "responsive": True}
_TEMPLATE = go.layout.Template(
    layout=dict(
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=dict(showgrid=True, gridcolor="#eee", zeroline=False),
        yaxis=dict(showgrid=True, gridcolor="#eee", zeroline=False),
        margin=dict(l=60, r=20, t=50, b=40),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
        hovermode="x unified",
    )
)


def plotly_bundle() -> str:
    """The plotly.js library as one JavaScript string (about 4.8 MB), to inline once in a ``<script>``."""
    return get_plotlyjs()


def to_div(fig: go.Figure, div_id: str, *, height_px: int = 420) -> str:
    """An HTML fragment (``<div>`` + inline ``<script>``) drawing ``fig``; plotly.js not included.

    ``div_id`` is fixed by the caller so that the same data always gives the same file.
    """
    fig.update_layout(template=_TEMPLATE, height=height_px)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG,
                       default_height=f"{height_px}px")


def candles(symbol: str, df: pl.DataFrame) -> go.Figure:
    """1-minute candlesticks over volume split by aggressor side.

    Parameters
    ----------
    symbol : str
        Shown in the title.
    df : pl.DataFrame
        One row per minute of ``symbol``: ``minute`` (datetime, exchange wall time), ``open``/``high``/``low``/
        ``close`` (f64, VND/share or points), ``buy_volume``/``sell_volume``/``neutral_volume`` (i64, shares or
        contracts), ``vwap`` (f64, price units).
    """
    x = df["minute"].to_list()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.03)
    fig.add_trace(go.Candlestick(x=x, open=df["open"].to_list(), high=df["high"].to_list(),
                                 low=df["low"].to_list(), close=df["close"].to_list(), name="OHLC",
                                 increasing_line_color=GREEN, decreasing_line_color=RED), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=df["vwap"].to_list(), name="VWAP", mode="lines",
                             line=dict(color=GREY, width=1, dash="dot")), row=1, col=1)
    for col, name, colour in (("buy_volume", "Active buy (mua chủ động)", GREEN),
                              ("sell_volume", "Active sell (bán chủ động)", RED),
                              ("neutral_volume", "Neutral (trung tính)", YELLOW)):
        fig.add_trace(go.Bar(x=x, y=df[col].to_list(), name=name, marker_color=colour), row=2, col=1)
    fig.update_layout(title=f"{symbol}: 1-minute candles and volume (nến 1 phút, khối lượng)", barmode="stack",
                      xaxis_rangeslider_visible=False, showlegend=True)
    fig.update_xaxes(rangebreaks=_LUNCH)
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="volume", row=2, col=1)
    return fig


def phase_bars(df: pl.DataFrame) -> go.Figure:
    """Active buy / sell / neutral volume, stacked, for each symbol and session phase.

    Parameters
    ----------
    df : pl.DataFrame
        ``symbol`` (str), ``phase`` (ato/continuous/atc/pt), ``buy_volume``, ``sell_volume``, ``neutral_volume``
        (i64, shares or contracts); rows in display order.
    """
    x = [df["symbol"].to_list(), [PHASE_LABELS.get(p, p) for p in df["phase"].to_list()]]
    fig = go.Figure()
    for col, name, colour in (("buy_volume", "Active buy (mua chủ động)", GREEN),
                              ("sell_volume", "Active sell (bán chủ động)", RED),
                              ("neutral_volume", "Neutral (trung tính)", YELLOW)):
        fig.add_trace(go.Bar(x=x, y=df[col].to_list(), name=name, marker_color=colour))
    fig.update_layout(barmode="stack", hovermode="closest",
                      title="Volume by aggressor side and session phase (khối lượng theo phiên)",
                      yaxis_title="volume (shares / contracts)")
    return fig


def foreign_cumulative(df: pl.DataFrame) -> go.Figure:
    """Cumulative net foreign value through the day: all symbols, and the symbols with the largest net.

    Parameters
    ----------
    df : pl.DataFrame
        ``series`` (str: 'All symbols' or a symbol), ``minute`` (datetime), ``cum_net_val_vnd`` (i64, VND).
    """
    fig = go.Figure()
    for (series,), part in df.group_by("series", maintain_order=True):
        fig.add_trace(go.Scatter(
            x=part["minute"].to_list(), y=part["cum_net_val_vnd"].to_list(), name=series, mode="lines+markers",
            line_shape="hv", line=dict(width=3 if series == "All symbols" else 1.5),
        ))
    fig.add_hline(y=0, line_color=GREY, line_width=1)
    fig.update_layout(title="Cumulative net foreign value (giá trị mua ròng khối ngoại lũy kế), VND",
                      yaxis_title="VND")
    fig.update_xaxes(rangebreaks=_LUNCH)
    return fig


def indices(df: pl.DataFrame) -> go.Figure:
    """VNINDEX (left axis) and VN30 (right axis) through the day.

    Parameters
    ----------
    df : pl.DataFrame
        ``index_id`` (VN30/VNINDEX), ``minute`` (datetime), ``value`` (f64, points).
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for index_id, colour, secondary in (("VNINDEX", "#1d4ed8", False), ("VN30", "#ea580c", True)):
        part = df.filter(pl.col("index_id") == index_id)
        if part.height:
            fig.add_trace(go.Scatter(x=part["minute"].to_list(), y=part["value"].to_list(), name=index_id,
                                     mode="lines", line=dict(color=colour)), secondary_y=secondary)
    fig.update_layout(title="Indices intraday (chỉ số trong phiên), points")
    fig.update_yaxes(title_text="VNINDEX", secondary_y=False)
    fig.update_yaxes(title_text="VN30", secondary_y=True, showgrid=False)
    fig.update_xaxes(rangebreaks=_LUNCH)
    return fig


def basis(symbol: str, df: pl.DataFrame) -> go.Figure:
    """Front-month basis (futures - VN30 spot) through the day, premium green above 0, discount red below.

    Parameters
    ----------
    symbol : str
        The front-month contract, shown in the title.
    df : pl.DataFrame
        ``minute`` (datetime), ``basis_pts`` (f64, index points).
    """
    x = df["minute"].to_list()
    y = df["basis_pts"].to_list()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[v if v is not None and v > 0 else 0 for v in y], fill="tozeroy",
                             mode="none", fillcolor="rgba(22,163,74,0.25)", name="Premium (basis dương)",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=[v if v is not None and v < 0 else 0 for v in y], fill="tozeroy",
                             mode="none", fillcolor="rgba(220,38,38,0.25)", name="Discount (basis âm)",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name="basis pts", line=dict(color="#111")))
    fig.add_hline(y=0, line_color=GREY, line_width=1)
    fig.update_layout(title=f"{symbol}: basis (độ lệch cơ sở) = futures - VN30, points", yaxis_title="points")
    fig.update_xaxes(rangebreaks=_LUNCH)
    return fig
