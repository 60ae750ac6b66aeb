"""Indices (chỉ số): VN30 and VNINDEX intraday, with market breadth."""

import polars as pl
import streamlit as st

from app import data
from app.ui import charts, shaping
from app.ui.common import header, no_data, pct, price, source_banner

header("Indices (Chỉ số)",
       "VN30 and VNINDEX from SSI's MI channel: value, change against the prior close (tham chiếu), and breadth: "
       "advances (tăng), declines (giảm), unchanged (đứng giá), advance ratio = adv / (adv + dec).")


@st.fragment(run_every=data.LIVE_REFRESH)
def live_indices() -> None:
    snap = data.current_snapshot()
    indices = snap.table("indices") if snap else None
    if indices is None or not indices.height:
        no_data("No index (MI) data yet.")
        return
    source_banner(snap)
    for index_id in ("VN30", "VNINDEX"):
        rows = shaping.index_series(indices, index_id)
        if not rows.height:
            st.info(f"No {index_id} frames in this day's data.")
            continue
        last = rows.row(-1, named=True)
        breadth = shaping.latest_breadth(rows) or last
        st.subheader(index_id)
        c = st.columns(6)
        c[0].metric("Value (điểm)", price(last["value"], points=True),
                    f"{last['change']:+.2f} ({pct(last['change_pct'])})" if last["change"] is not None else None)
        c[1].metric("Advances (tăng)", breadth["advances"])
        c[2].metric("Declines (giảm)", breadth["declines"])
        c[3].metric("Unchanged (đứng giá)", breadth["no_changes"])
        c[4].metric("Advance ratio", "—" if breadth["advance_ratio"] is None else f"{breadth['advance_ratio']:.2f}")
        c[5].metric("Value traded (giá trị)", f"{(last['total_value_vnd'] or 0) / 1e9:,.0f} bn")
        left, right = st.columns([3, 2])
        left.plotly_chart(charts.line(rows, "exch_time", "value", title=f"{index_id} intraday (trong ngày)",
                                      y_title="points"), key=f"idx_{index_id}")
        counts = {"advances": "advances", "no_changes": "unchanged", "declines": "declines"}
        right.plotly_chart(charts.stacked(pl.DataFrame([breadth]), "index_id", counts,
                                          title="Breadth now (độ rộng)",
                                          colours={"advances": "#1fd15a", "no_changes": "#f5c518",
                                                   "declines": "#ff4d4f"}), key=f"breadth_{index_id}")
        ratio = rows.filter(pl.col("advance_ratio").is_not_null())
        if ratio.height:
            st.plotly_chart(charts.line(ratio, "exch_time", "advance_ratio", y_title="adv / (adv + dec)",
                                        title=f"{index_id} advance ratio intraday (tỷ lệ mã tăng)"),
                            key=f"ratio_{index_id}")


live_indices()
