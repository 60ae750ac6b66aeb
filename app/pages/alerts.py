"""Alerts (cảnh báo): the day's alerts, filterable by type, severity and symbol, with counts."""

import polars as pl
import streamlit as st

from app import data
from app.ui import shaping
from app.ui.common import header, no_data, source_banner
from transforms.schemas import SEVERITIES

header("Alerts (Cảnh báo)",
       "VOLUME_SPIKE (khối lượng đột biến): a trade > 3x the 20-minute mean; PRICE_BREAKOUT: a trade at the ceiling "
       "(trần) or floor (sàn); FOREIGN_ACCELERATION: foreign net value moving > 30% in 5 minutes; BASIS_FLIP: the "
       "futures basis changes sign. The same alert and symbol is not raised again within 60 s.")


@st.fragment(run_every=data.LIVE_REFRESH)
def live_alerts() -> None:
    snap = data.current_snapshot()
    alerts = snap.table("alerts") if snap else None
    if alerts is None:
        no_data()
        return
    source_banner(snap)
    if not alerts.height:
        st.info("No alert so far today (chưa có cảnh báo).")
        return
    f1, f2, f3 = st.columns(3)
    types = f1.multiselect("Type (loại)", sorted(alerts["alert_type"].unique().to_list()), key="alert_types")
    severities = f2.multiselect("Severity (mức độ)", list(SEVERITIES), key="alert_severities",
                                help="INFO (thông tin tham khảo), WARNING (cần chú ý), CRITICAL (nghiêm trọng)")
    symbols = f3.multiselect("Symbol (mã)", sorted(alerts["symbol"].unique().to_list()), key="alert_symbols")
    shown = alerts
    for col, chosen in (("alert_type", types), ("severity", severities), ("symbol", symbols)):
        if chosen:
            shown = shown.filter(pl.col(col).is_in(chosen))
    counts = shaping.alert_counts(shown)
    cols = st.columns(max(len(counts), 1) + 1)
    cols[0].metric("Shown / all (hiển thị / tổng)", f"{shown.height:,} / {alerts.height:,}")
    for col, row in zip(cols[1:], counts.iter_rows(named=True), strict=False):
        col.metric(f"{row['alert_type']} ({row['severity']})", f"{row['alerts']:,}",
                   help=f"{row['symbols']} symbols (mã) raised it")
    st.dataframe(
        shown.sort("session", "seq", descending=True).select("exch_time", "severity", "alert_type", "symbol", "metric",
                                                             "threshold", "details").head(1000),
        hide_index=True, placeholder="—",
        column_config={"exch_time": st.column_config.DatetimeColumn("Time (giờ)", format="HH:mm:ss")})
    if shown.height > 1000:
        st.caption(f"Newest 1,000 of {shown.height:,} alerts shown; narrow the filters to see the rest.")


live_alerts()
