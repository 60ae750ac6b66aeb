"""History (lịch sử): any recorded day: 1-minute, 5-minute or 1-hour candles with volume, trades, foreign, index and
basis history."""

import streamlit as st

from app import data
from app.ui import charts
from app.ui.common import header, no_data

header("History (Lịch sử)",
       "Finished days (phiên đã đóng) from the warehouse: 1-minute, 5-minute or 1-hour candles (nến) with volume "
       "split into "
       "active buy / sell, the trades (lệnh khớp), foreign (khối ngoại), index (chỉ số) and futures basis history.")

days = data.history_call("days")
if not days:
    no_data("No finished day yet.")
    st.stop()

c1, c2 = st.columns([1, 2])
day = c1.selectbox("Trading date (ngày giao dịch)", days, format_func=lambda d: f"{d:%Y-%m-%d (%a)}",
                   key="history_day")
symbols = data.history_call("symbols", day)
if not symbols:
    st.info(f"{day} has no candles (no trade was recorded).")
    st.stop()
symbol = c2.selectbox("Symbol (mã)", symbols, key="history_symbol")

candles_tab, trades_tab, foreign_tab, index_tab, basis_tab, days_tab = st.tabs([
    "Candles (nến)", "Trades (khớp lệnh)", "Foreign (khối ngoại)", "Indices (chỉ số)", "Futures & basis (phái sinh)",
    "All days (các phiên)"])

INTERVALS = {"1m": "1 minute", "5m": "5 minutes", "1h": "1 hour"}

with candles_tab:
    interval = st.radio("Interval (khung)", list(INTERVALS), format_func=INTERVALS.get, horizontal=True,
                        key="history_interval")
    candles = data.history_call("candles", day, symbol, interval)
    title = f"{symbol} {day}: {INTERVALS[interval]} candles and volume"
    st.plotly_chart(charts.candlestick(candles, title=title), key="hist_candles")
    if candles.height:
        st.caption(f"{candles.height} candles of {INTERVALS[interval]} · open {candles['open'][0]:,.2f} · high {candles['high'].max():,.2f} · "
                   f"low {candles['low'].min():,.2f} · close {candles['close'][-1]:,.2f} · "
                   f"volume {candles['volume'].sum():,}")

with trades_tab:
    st.subheader(f"{symbol}: by phase and aggressor side (mua/bán chủ động)")
    st.dataframe(data.history_call("trade_sides", day, symbol), hide_index=True, placeholder="—")
    st.subheader("Latest 500 trades (newest first)")
    st.dataframe(data.history_call("trades", day, symbol, 500), hide_index=True, placeholder="—", column_config={
        "exch_time": st.column_config.DatetimeColumn("Time", format="HH:mm:ss")})

with foreign_tab:
    summary, minutes = data.history_call("foreign_history", day)
    st.plotly_chart(charts.line(minutes.with_columns(cum_net_bn=minutes["cum_net_val_vnd"] / 1e9), "minute",
                                "cum_net_bn", title="Cumulative net foreign value, bn VND", zero_line=True),
                    key="hist_foreign")
    st.dataframe(summary, hide_index=True, placeholder="—")

with index_tab:
    idx = data.history_call("index_history", day)
    st.plotly_chart(charts.line(idx, "minute", "change_pct", by="index_id", title="Index change vs prior close, %",
                                zero_line=True), key="hist_index")
    st.dataframe(idx, hide_index=True, placeholder="—")

with basis_tab:
    basis = data.history_call("basis_history", day)
    st.plotly_chart(charts.line(basis, "minute", "basis_pts", by="symbol", title="Basis per contract (pts)",
                                zero_line=True), key="hist_basis")
    st.dataframe(basis, hide_index=True, placeholder="—")

with days_tab:
    st.subheader("Every recorded day")
    left, right = st.columns(2)
    left.dataframe(data.history_call("index_by_day"), hide_index=True, placeholder="—")
    right.dataframe(data.history_call("foreign_by_day"), hide_index=True, placeholder="—")
    st.subheader("Front month closing basis per day (convergence toward expiry)")
    st.dataframe(data.history_call("basis_by_day"), hide_index=True, placeholder="—")
