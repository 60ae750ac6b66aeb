"""Derivatives (phái sinh): the VN30F front month, its basis against VN30, trend and convergence toward expiry."""

from datetime import timedelta

import streamlit as st

from app import data
from app.ui import charts, shaping
from app.ui.common import header, no_data, pct, price, source_banner

header("Derivatives (Phái sinh)",
       "VN30 index futures: basis (độ lệch) = futures - VN30 spot, in points and percent of spot; premium (cộng) "
       "when above zero, discount (trừ) below. The basis converges to zero at expiry (đáo hạn, the third Thursday).")


def _trend(v: float | None) -> str:
    return "—" if v is None else f"{v:+.2f} pts/h"


@st.fragment(run_every=data.LIVE_REFRESH)
def live_derivatives() -> None:
    snap = data.current_snapshot()
    basis = snap.table("basis") if snap else None
    if basis is None or not basis.height:
        no_data("No VN30F trade with a VN30 spot yet.")
        return
    source_banner(snap)
    rows = shaping.front_month_basis(basis)
    if not rows.height:
        st.warning("No trade of the front-month contract yet; other contracts: "
                   + ", ".join(sorted(set(basis["symbol"].to_list()))))
        return
    last = rows.row(-1, named=True)
    symbol = last["symbol"]
    conv = shaping.convergence(rows, snap.trading_date, symbol)
    trend = shaping.basis_trend(rows, last["exch_time"])
    st.subheader(f"Front month (hợp đồng gần nhất): {symbol}")
    c = st.columns(6)
    c[0].metric("Futures price (giá)", price(last["futures_price"], points=True))
    c[1].metric("VN30 spot", price(last["spot"], points=True))
    c[2].metric("Basis (độ lệch)", f"{last['basis_pts']:+.2f} pts", pct(last["basis_pct"], digits=3))
    c[3].metric("Premium / discount (cộng / trừ)", "Premium" if last["premium"] else "Discount")
    days_left = conv["days_to_expiry"]
    c[4].metric("Days to expiry (ngày đến đáo hạn)", days_left if days_left is not None else "—")
    c[5].metric("|basis| now / at open", "—" if conv["ratio"] is None else f"{conv['ratio']:.2f}",
                help="Below 1: the basis narrowed today (converging toward expiry).")
    t = st.columns(4)
    t[0].metric("Trend, last 30 min", _trend(trend["slope_30m_pts_per_h"]))
    t[1].metric("Mean basis, last 30 min", price(trend["mean_30m_pts"], points=True))
    t[2].metric("Trend, whole day", _trend(trend["slope_day_pts_per_h"]))
    t[3].metric("Mean basis, day", price(trend["mean_day_pts"], points=True))

    minutes = shaping.basis_by_minute(rows)
    st.plotly_chart(charts.two_axes(minutes, "minute", {"futures_price": symbol, "spot": "VN30"},
                                    {"basis_pts": "basis (pts)"}, title="Futures, spot and basis per minute",
                                    left_title="points", right_title="basis, points"), key="deriv_day")
    recent = minutes.filter(minutes["minute"] >= minutes["minute"].max() - timedelta(minutes=30))
    st.plotly_chart(charts.line(recent, "minute", "basis_pts", title="Basis, last 30 minutes (pts)", zero_line=True),
                    key="deriv_30m")
    st.subheader("Contracts today (các hợp đồng)")
    st.dataframe(shaping.contracts(basis), hide_index=True, placeholder="—")


live_derivatives()
