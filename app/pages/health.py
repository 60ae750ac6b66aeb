"""Pipeline health (tình trạng hệ thống): capture, live loop, gaps and reconnects, quarantine, flows, data quality."""

import streamlit as st

from app import data
from app.data.health import event_counts, prefect_api_url
from app.ui import charts
from app.ui.common import header, no_data

header("Pipeline health (Tình trạng hệ thống)",
       "The capture daemon and the live loop (trực tiếp): state, last-frame age, frames per second; capture events "
       "(gaps = mất dữ liệu, reconnects = kết nối lại) on a timeline; quarantined frames (khung lỗi); the last "
       "Prefect flow runs; data-quality results (kiểm tra chất lượng dữ liệu).")


@st.fragment(run_every=data.LIVE_REFRESH)
def live_health() -> None:
    snap = data.latest_snapshot()
    st.subheader("Capture and live loop (thu thập và xử lý trực tiếp)")
    if snap is None or snap.kind != "live":
        st.info("No live snapshot is published (the live loop is not running): "
                + (f"the pages show the finished day {snap.trading_date}." if snap else "the lake is empty."))
        return
    h = snap.health
    c = st.columns(6)
    c[0].metric("Capture state", str(h.get("state", "?")))
    c[1].metric("Last frame age", f"{h.get('last_frame_age_s', float('nan')):.1f} s")
    c[2].metric("Frames/s (10 s)", f"{h.get('frames_per_s', 0):,.0f}")
    c[3].metric("Lag", f"{h.get('lag_ms', 0):,.0f} ms")
    c[4].metric("Frames today", f"{h.get('frames_total', 0):,}")
    c[5].metric("Quarantined", f"{h.get('quarantined_total', 0):,}")
    d = st.columns(4)
    d[0].metric("Gaps today (mất dữ liệu)", h.get("gaps", 0))
    d[1].metric("Reconnects (kết nối lại)", h.get("reconnects", 0))
    d[2].metric("Micro-batch", f"{h.get('batch_ms', 0):,.0f} ms")
    d[3].metric("Snapshot version", snap.version)
    st.caption("Sessions: " + ", ".join(h.get("sessions", [])) + " · watermarks (last seq): "
               + ", ".join(f"{k}={v:,}" for k, v in (h.get("watermarks") or {}).items()))


live_health()

days = data.health_days()
if not days:
    no_data()
    st.stop()
day = st.selectbox("Day (ngày)", days, key="health_day")

st.subheader("Capture events (sự kiện thu thập)")
events = data.capture_events(day)
if events is None or not events.height:
    st.info("No capture events recorded for this day (e.g. a simulated or imported day).")
else:
    counts = event_counts(events)
    cols = st.columns(len(counts))
    for col, (kind, n) in zip(cols, sorted(counts.items()), strict=True):
        col.metric(kind, n)
    st.plotly_chart(charts.timeline(events, title="Events by wall-clock time"), key="health_timeline")
    st.dataframe(events, hide_index=True, placeholder="—")

st.subheader("Quarantined frames (khung dữ liệu lỗi)")
quarantined = data.quarantine(day)
if not quarantined.height:
    st.success("No quarantined frame for this day.")
else:
    by_reason = quarantined.group_by("data_type", "reason").len().sort("len", descending=True)
    st.dataframe(by_reason, hide_index=True, placeholder="—")
    st.dataframe(quarantined.head(200), hide_index=True, placeholder="—")

st.subheader("Flow runs (Prefect)")
if prefect_api_url() is None:
    st.info("PREFECT_API_URL is not set: no Prefect server to ask. Set it (e.g. http://127.0.0.1:4200/api) to see "
            "the last flow runs here.")
else:
    try:
        runs = data.flow_runs()
    except Exception as e:  # the server is down or unreachable: say so, never a traceback
        st.warning(f"Prefect's API at {prefect_api_url()} did not answer: {type(e).__name__}: {e}")
    else:
        if runs is None or not runs.height:
            st.info("Prefect has no flow runs yet.")
        else:
            st.dataframe(runs, hide_index=True, placeholder="—")

st.subheader("Data quality (chất lượng dữ liệu)")
dq = data.history_call("dq_results", day)
if not dq.height:
    st.info("No data-quality results for this day yet (they come with the warehouse load).")
else:
    st.dataframe(dq, hide_index=True, placeholder="—")
