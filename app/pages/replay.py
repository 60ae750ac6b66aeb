"""Replay (phát lại): pick a recorded day and watch it unfold in the live pages at a chosen speed."""

from datetime import datetime, time

import streamlit as st

from app import data
from app.data.replay import NotReplayable
from app.data.snapshot import exch_datetime
from app.ui.common import header, no_data, price

SPEEDS = [1, 10, 60, 300, 1200]

header("Replay (Phát lại)",
       "Choose a finished day and a speed: the live pages (price board, foreign flow, volume, derivatives, indices, "
       "alerts) then show that day as it stood at the replay clock (exchange time), recomputed from its tables. "
       "Nothing is written; only this browser tab replays.")

days = data.curated_days()
if not days:
    no_data("No finished day to replay.")
    st.stop()

state = data.replay_state()
c1, c2, c3 = st.columns(3)
day = c1.selectbox("Day (ngày)", list(reversed(days)), key="replay_day")
speed = c2.select_slider("Speed (tốc độ), x real time", SPEEDS, value=60, key="replay_speed")
start = c3.time_input("Start at (bắt đầu), exchange time", time(9, 0), step=300, key="replay_start")

b1, b2, b3, b4 = st.columns(4)
if b1.button("▶ Start replay (bắt đầu)", type="primary", key="replay_go"):
    try:
        state = data.start_replay(day, speed, exch_datetime(day, start.strftime("%H:%M:%S")))
    except NotReplayable as e:
        st.error(str(e))
if state is not None:
    if b2.button("⏸ Pause" if not state.paused else "▶ Resume", key="replay_pause"):
        state.pause() if not state.paused else state.play(speed)
    if b3.button("⏩ Apply speed", key="replay_speed_apply"):
        state.play(speed)
    if b4.button("⏹ Stop, back to live (dừng)", key="replay_stop"):
        data.stop_replay()
        state = None


@st.fragment(run_every=data.LIVE_REFRESH)
def replay_clock() -> None:
    current = data.replay_state()
    if current is None:
        st.info("No replay running: the live pages show the live snapshot or the latest finished day.")
        return
    snap = data.current_snapshot()
    # the time the tables are at (loading the day takes a moment, during which the clock runs on)
    cursor: datetime = snap.cursor if snap is not None and snap.cursor is not None else current.cursor()
    status = "finished" if current.finished else ("paused" if current.paused else f"playing at {current.speed:g}x")
    st.subheader(f"{current.day} · {cursor:%H:%M:%S} exchange time · {status}")
    opening = exch_datetime(current.day, "08:45:00")
    done = (cursor - opening).total_seconds() / max(1.0, (current.end - opening).total_seconds())
    st.progress(min(1.0, max(0.0, done)), text="session progress (tiến độ phiên)")
    vn30 = snap.table("indices").filter(snap.table("indices")["index_id"] == "VN30")
    m = st.columns(4)
    m[0].metric("VN30", price(vn30["value"][-1], points=True) if vn30.height else "—")
    m[1].metric("Trades so far (lệnh khớp)", f"{snap.table('trades').height:,}")
    m[2].metric("Alerts so far (cảnh báo)", f"{snap.table('alerts').height:,}")
    m[3].metric("Matched value (giá trị)", f"{snap.table('board')['value_vnd'].sum() / 1e9:,.1f} bn")
    st.page_link("pages/board.py", label="Watch it on the price board (bảng giá)", icon="📋")
    st.page_link("pages/alerts.py", label="Alerts as they fire (cảnh báo)", icon="🚨")


replay_clock()
