"""Plotly figures of the pages (frames in, figures out; no data access). Times on the x axis are exchange time."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from app.ui.common import STATE_COLOURS

UP, DOWN = STATE_COLOURS["up"], STATE_COLOURS["down"]
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=380,
               legend=dict(orientation="h", y=-0.12, yanchor="top", x=0))
LUNCH = [dict(bounds=[11.5, 13], pattern="hour")]
"""The HOSE lunch break (11:30-13:00, docs/market.md §2) is cut out of intraday time axes."""


def _intraday(fig: go.Figure) -> go.Figure:
    fig.update_xaxes(rangebreaks=LUNCH)
    return fig


def _naive(s: pl.Series) -> list:
    """Exchange wall time without the zone (plotly would otherwise shift it to the browser's zone)."""
    return s.dt.replace_time_zone(None).to_list() if s.dtype.time_zone else s.to_list()


def line(df: pl.DataFrame, x: str, y: str, *, by: str | None = None, title: str = "", y_title: str = "",
         zero_line: bool = False) -> go.Figure:
    """One line per value of ``by`` (or one line)."""
    fig = go.Figure()
    groups = df.partition_by(by, maintain_order=True, as_dict=True) if by and df.height else {(y,): df}
    for key, g in groups.items():
        fig.add_trace(go.Scatter(x=_naive(g[x]), y=g[y].to_list(), mode="lines", name=str(key[0])))
    if zero_line:
        fig.add_hline(y=0, line_dash="dot", line_color="#888")
    fig.update_layout(title=title, yaxis_title=y_title, **_LAYOUT)
    return _intraday(fig) if isinstance(df.schema.get(x), pl.Datetime) else fig


def bars(df: pl.DataFrame, x: str, y: str, *, title: str = "", y_title: str = "", horizontal: bool = False,
         signed_colours: bool = True) -> go.Figure:
    """Bars coloured green (> 0) / red (< 0) when ``signed_colours``."""
    values = df[y].to_list()
    colours = [UP if (v or 0) >= 0 else DOWN for v in values] if signed_colours else None
    trace = (go.Bar(y=df[x].to_list(), x=values, orientation="h", marker_color=colours) if horizontal
             else go.Bar(x=df[x].to_list(), y=values, marker_color=colours))
    fig = go.Figure(trace)
    fig.update_layout(title=title, yaxis_title="" if horizontal else y_title, xaxis_title=y_title if horizontal else "",
                      **_LAYOUT)
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    return fig


def stacked(df: pl.DataFrame, x: str, ys: dict[str, str], *, title: str = "", y_title: str = "",
            colours: dict[str, str] | None = None) -> go.Figure:
    """Stacked bars: one trace per column of ``ys`` (``{column: legend label}``)."""
    fig = go.Figure()
    for col, label in ys.items():
        fig.add_trace(go.Bar(x=df[x].to_list(), y=df[col].to_list(), name=label,
                             marker_color=(colours or {}).get(col)))
    fig.update_layout(barmode="stack", title=title, yaxis_title=y_title, **_LAYOUT)
    return fig


def candlestick(candles: pl.DataFrame, *, title: str = "") -> go.Figure:
    """1-minute candlestick (up green, down red) with the volume below, split into active buy / sell / other."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.03)
    t = _naive(candles["minute"])
    fig.add_trace(go.Candlestick(x=t, open=candles["open"].to_list(), high=candles["high"].to_list(),
                                 low=candles["low"].to_list(), close=candles["close"].to_list(), name="OHLC",
                                 increasing_line_color=UP, decreasing_line_color=DOWN), row=1, col=1)
    fig.add_trace(go.Scatter(x=t, y=candles["vwap"].to_list(), name="VWAP", line=dict(width=1, color="#f5c518")),
                  row=1, col=1)
    other = (candles["volume"] - candles["buy_volume"] - candles["sell_volume"]).to_list()
    for name, y, colour in (("active buy (mua chủ động)", candles["buy_volume"].to_list(), UP),
                            ("active sell (bán chủ động)", candles["sell_volume"].to_list(), DOWN),
                            ("neutral / auction", other, "#999")):
        fig.add_trace(go.Bar(x=t, y=y, name=name, marker_color=colour), row=2, col=1)
    fig.update_layout(title=title, barmode="stack", xaxis_rangeslider_visible=False,
                      **{**_LAYOUT, "height": 560})
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="volume", row=2, col=1)
    return _intraday(fig)


def two_axes(df: pl.DataFrame, x: str, left: dict[str, str], right: dict[str, str], *, title: str = "",
             left_title: str = "", right_title: str = "") -> go.Figure:
    """Lines on a left axis and bars/lines on a right axis (e.g. futures and spot vs basis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    t = _naive(df[x]) if df.height else []
    for col, label in left.items():
        fig.add_trace(go.Scatter(x=t, y=df[col].to_list(), name=label, mode="lines"), secondary_y=False)
    for col, label in right.items():
        fig.add_trace(go.Scatter(x=t, y=df[col].to_list(), name=label, mode="lines", line=dict(dash="dot")),
                      secondary_y=True)
    fig.update_layout(title=title, **_LAYOUT)
    fig.update_yaxes(title_text=left_title, secondary_y=False)
    fig.update_yaxes(title_text=right_title, secondary_y=True)
    return _intraday(fig)


def timeline(events: pl.DataFrame, *, title: str = "") -> go.Figure:
    """Capture events as markers on a wall-clock timeline, one row per kind."""
    colours = {"gap": DOWN, "reconnect": "#f5c518", "disconnect": "#ff9100", "server_error": DOWN,
               "heartbeat_timeout": "#ff9100", "connect": UP, "subscribe": "#33d6ff"}
    fig = go.Figure()
    for (kind,), g in events.partition_by("kind", as_dict=True, maintain_order=True).items():
        fig.add_trace(go.Scatter(x=_naive(g["wall_time"]), y=[kind] * g.height, mode="markers", name=kind,
                                 marker=dict(size=11, color=colours.get(kind)), text=g["detail"].to_list(),
                                 hovertemplate="%{x}<br>%{text}<extra></extra>"))
    gaps = events.filter(pl.col("gap_s").is_not_null())
    for row in gaps.iter_rows(named=True):  # a gap is a span, from its first missing instant to the resumption
        fig.add_trace(go.Scatter(x=[row["gap_start"].replace(tzinfo=None), row["gap_end"].replace(tzinfo=None)],
                                 y=["gap", "gap"], mode="lines", line=dict(width=8, color=DOWN), showlegend=False,
                                 hovertemplate=f"gap {row['gap_s']:.1f} s<extra></extra>"))
    fig.update_layout(title=title, **{**_LAYOUT, "height": 300})
    return fig
