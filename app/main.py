"""VN Stock Tracker: the Streamlit multipage app. Entry file: it only declares the navigation (docs/architecture.md §1).

Run with ``vntrack app`` (binds 127.0.0.1). Pages live in ``app/pages/``; data access in ``app/data``.
"""

import streamlit as st

st.set_page_config(page_title="VN Stock Tracker", page_icon="📈", layout="wide")

st.navigation({
    "Market (thị trường)": [
        st.Page("pages/board.py", title="Price board (Bảng giá)", icon="📋", default=True),
        st.Page("pages/foreign.py", title="Foreign flow (Khối ngoại)", icon="🌏"),
        st.Page("pages/volume.py", title="Volume analysis (Mua/bán chủ động)", icon="📊"),
        st.Page("pages/derivatives.py", title="Derivatives (Phái sinh)", icon="📈"),
        st.Page("pages/indices.py", title="Indices (Chỉ số)", icon="🧭"),
        st.Page("pages/alerts.py", title="Alerts (Cảnh báo)", icon="🚨"),
    ],
    "Days (các phiên)": [
        st.Page("pages/history.py", title="History (Lịch sử)", icon="🗂️"),
        st.Page("pages/replay.py", title="Replay (Phát lại)", icon="⏯️"),
        st.Page("pages/experiments.py", title="Experiments (Thử nghiệm)", icon="🧪"),
    ],
    "Pipeline (hệ thống)": [
        st.Page("pages/health.py", title="Pipeline health (Tình trạng)", icon="🩺"),
    ],
}).run()
