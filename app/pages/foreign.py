"""Foreign flow (khối ngoại): totals, intraday cumulative net, by sector, top 10, speed and acceleration, room."""

import streamlit as st

from app import data
from app.ui import charts, shaping
from app.ui.common import bn_vnd, header, no_data, shares, source_banner

header("Foreign flow (Khối ngoại)",
       "Foreign investors' buying and selling from SSI's R channel: net = buy - sell (mua ròng / bán ròng), "
       "speed = net volume over the trailing 5 minutes per minute, acceleration = speed now - speed 60 s earlier, "
       "room used (room đã dùng) = 1 - current room / total room.")


@st.fragment(run_every=data.LIVE_REFRESH)
def live_foreign() -> None:
    snap = data.current_snapshot()
    summary = snap.table("foreign_summary") if snap else None
    if summary is None or not summary.height:
        no_data("No foreign-room (R) data yet.")
        return
    source_banner(snap)
    totals = shaping.foreign_totals(summary)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Foreign buy (mua)", bn_vnd(totals["buy_val_vnd"]))
    c2.metric("Foreign sell (bán)", bn_vnd(totals["sell_val_vnd"]))
    c3.metric("Net value (giá trị ròng)", bn_vnd(totals["net_val_vnd"], signed=True))
    c4.metric("Net volume (khối lượng ròng)", shares(totals["net_vol"], signed=True))

    left, right = st.columns(2)
    with left:
        cum = shaping.cumulative_net_by_minute(snap.table("foreign_flow"))  # every source carries foreign_flow
        st.plotly_chart(charts.line(cum, "minute", "cum_net_bn", title="Cumulative net foreign value "
                                    "(lũy kế ròng), bn VND", zero_line=True), key="foreign_cum")
    with right:
        sectors = snap.table("foreign_by_sector").sort("net_val_vnd", descending=True)
        st.plotly_chart(charts.bars(sectors.with_columns(net_bn=sectors["net_val_vnd"] / 1e9), "sector", "net_bn",
                                    title="Net by sector (theo ngành), bn VND", horizontal=True),
                        key="foreign_sector")

    buy_col, sell_col = st.columns(2)
    cfg = {"net_bn": st.column_config.NumberColumn("Net bn VND", format="%+.2f"),
           "net_vol": st.column_config.NumberColumn("Net volume", format="%+d"),
           "room_used_pct": st.column_config.NumberColumn("Room used %", format="%.1f%%")}
    buy_col.subheader("Top 10 net buy (mua ròng)")
    buy_col.dataframe(shaping.top_foreign(summary, "buy"), hide_index=True, placeholder="—", column_config=cfg)
    sell_col.subheader("Top 10 net sell (bán ròng)")
    sell_col.dataframe(shaping.top_foreign(summary, "sell"), hide_index=True, placeholder="—", column_config=cfg)

    st.subheader("Speed and acceleration per symbol (tốc độ, gia tốc)")
    speed = shaping.foreign_speed(snap.table("foreign_flow"))
    st.dataframe(speed, hide_index=True, placeholder="—", column_config={
        "speed_vol_per_min": st.column_config.NumberColumn("Net speed, shares/min", format="%+.0f"),
        "accel_vol_per_min": st.column_config.NumberColumn("Net acceleration", format="%+.0f"),
        "speed_buy_vol_per_min": st.column_config.NumberColumn("Buy speed (mua)", format="%.0f"),
        "accel_buy_vol_per_min": st.column_config.NumberColumn("Buy acceleration", format="%+.0f"),
        "speed_sell_vol_per_min": st.column_config.NumberColumn("Sell speed (bán)", format="%.0f"),
        "accel_sell_vol_per_min": st.column_config.NumberColumn("Sell acceleration", format="%+.0f"),
        "cum_net_vol": st.column_config.NumberColumn("Net volume today", format="%+d"),
        "room_used_pct": st.column_config.NumberColumn("Room used %", format="%.1f%%")})
    st.subheader("Foreign room used (tỷ lệ room đã dùng)")
    room = summary.select("symbol", "sector", (summary["room_used"] * 100).alias("room_used_pct"), "corrections") \
        .sort("room_used_pct", descending=True, nulls_last=True)
    st.dataframe(room, hide_index=True, placeholder="—", column_config={
        "room_used_pct": st.column_config.ProgressColumn("Room used %", min_value=0, max_value=100, format="%.1f%%"),
        "corrections": st.column_config.NumberColumn("Corrections (điều chỉnh)")})


live_foreign()
