"""Volume analysis: active buy (mua chủ động) / active sell (bán chủ động) / neutral, by session phase."""

import streamlit as st

from app import data
from app.ui import charts, shaping
from app.ui.common import STATE_COLOURS, header, no_data, source_banner

header("Volume analysis (Phân tích khối lượng)",
       "Each trade is an active buy (mua chủ động) when it hits the best ask, an active sell (bán chủ động) when it "
       "hits the best bid, else neutral; auction prints (ATO, ATC) and put-through (thỏa thuận) are never active. "
       "Split by session phase (phiên); phases add up exactly to the day.")
phase = st.radio("Phase (phiên) for the per-symbol table", list(shaping.PHASE_LABELS), index=4, horizontal=True,
                 format_func=shaping.PHASE_LABELS.get, key="volume_phase")


@st.fragment(run_every=data.LIVE_REFRESH)
def live_volume() -> None:
    snap = data.current_snapshot()
    stats = snap.table("session_stats") if snap else None
    if stats is None or not stats.height:
        no_data("No trades yet.")
        return
    source_banner(snap)
    phases = shaping.phase_totals(stats)
    colours = {"buy_volume": STATE_COLOURS["up"], "sell_volume": STATE_COLOURS["down"], "neutral_volume": "#999"}
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.stacked(phases, "label", {"buy_volume": "Active buy (mua chủ động)",
                                                       "sell_volume": "Active sell (bán chủ động)",
                                                       "neutral_volume": "Neutral (trung tính)"},
                                     title="Stocks' volume by phase (shares)", colours=colours),
                      key="volume_phase_chart")
    right.dataframe(phases.drop("phase"), hide_index=True, placeholder="—", column_config={
        "label": "Phase (phiên)",
        "buy_value_bn": st.column_config.NumberColumn("Buy value bn", format="%.1f"),
        "sell_value_bn": st.column_config.NumberColumn("Sell value bn", format="%.1f"),
        "active_buy_share_pct": st.column_config.NumberColumn("Active buy %", format="%.1f%%")})

    st.subheader(f"Per symbol: {shaping.PHASE_LABELS[phase]}")
    st.dataframe(shaping.per_symbol_sides(stats, phase), hide_index=True, placeholder="—", column_config={
        "buy_pct": st.column_config.ProgressColumn("Active buy %", min_value=0, max_value=100, format="%.1f%%"),
        "sell_pct": st.column_config.ProgressColumn("Active sell %", min_value=0, max_value=100, format="%.1f%%"),
        "net_active_volume": st.column_config.NumberColumn("Buy - sell volume", format="%+d")})

    st.subheader("Agreement with SSI's aggressor flag (Side BU/SD)")
    if snap.has("trades"):
        agree = shaping.vendor_agreement(snap.table("trades"))
        if agree["compared"].sum():
            st.dataframe(agree, hide_index=True, placeholder="—", column_config={
                "agree_pct": st.column_config.NumberColumn("Agreement %", format="%.2f%%"),
                "ours_neutral": st.column_config.NumberColumn("Ours neutral, SSI flagged")})
        else:
            st.info("No trade of this day carries SSI's BU/SD flag (B-bar or auction-only data).")
    else:
        st.info("The live snapshot (contract C3) carries no per-trade table: the agreement with SSI's flag shows "
                "for finished and replayed days.")


live_volume()
