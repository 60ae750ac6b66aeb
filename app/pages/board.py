"""Price board (bảng giá): the VN30 members and the VN30F contracts, refreshed every second."""

import streamlit as st

from app import data
from app.ui import board as ui_board
from app.ui.common import header, no_data, source_banner

header("Price board (Bảng giá)",
       "VN30 members: last price (khớp), change against the reference (tham chiếu), ceiling (trần) and floor (sàn), "
       "matched volume and value, best bid/ask, active-buy share (mua chủ động) and foreign net (khối ngoại ròng). "
       "Colours: up green, down red, at reference yellow, ceiling purple, floor cyan.")
sort = st.selectbox("Sort by (sắp xếp)", list(ui_board.SORTS), index=0, key="board_sort")


@st.fragment(run_every=data.LIVE_REFRESH)
def live_board() -> None:
    snap = data.current_snapshot()
    if snap is None or not snap.table("board").height:
        no_data()
        return
    source_banner(snap)
    members, futures = ui_board.split_board(snap.table("board"))
    candles = snap.table("candles_1m")
    up = members.filter(members["price_state"].is_in(["up", "ceiling"])).height
    down = members.filter(members["price_state"].is_in(["down", "floor"])).height
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Symbols (mã)", members.height)
    c2.metric("Advancing (tăng)", up)
    c3.metric("Declining (giảm)", down)
    c4.metric("Matched value (giá trị khớp)", f"{members['value_vnd'].sum() / 1e9:,.1f} bn VND")
    st.dataframe(ui_board.styled(ui_board.shape(members, candles, sort)), hide_index=True, placeholder="—",
                 column_config=ui_board.column_config(), height=36 * (members.height + 1) + 4, key="board_table")
    if futures.height:
        st.subheader("VN30 index futures (Hợp đồng tương lai VN30)")
        st.dataframe(ui_board.styled(ui_board.shape(futures, candles, "Symbol (mã)"), points=True),
                     hide_index=True, placeholder="—", column_config=ui_board.column_config())


live_board()
