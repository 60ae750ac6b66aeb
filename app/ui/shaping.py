"""Shaping of snapshot tables for the live pages (frames in, frames out; no I/O, no widgets).

Units: ``*_vnd`` VND, ``*_bn`` billion VND, ``*_pct`` percent, volumes in shares/contracts.
References: docs/analytics.md §4 (session stats), §6 (foreign), §7 (indices), §8 (basis).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from market.calendar import futures_expiry
from transforms import classify

PHASE_LABELS = {"ato": "ATO (mở cửa)", "continuous": "Continuous (liên tục)", "atc": "ATC (đóng cửa)",
                "pt": "Put-through (thỏa thuận)", "total": "Total (tổng)"}


# ---------------------------------------------------------------------------------------------------- foreign


def foreign_totals(summary: pl.DataFrame) -> dict[str, int]:
    """``{buy_val_vnd, sell_val_vnd, net_val_vnd, net_vol}`` summed over the foreign summary."""
    return {c: int(summary[c].sum() or 0) for c in ("buy_val_vnd", "sell_val_vnd", "net_val_vnd", "net_vol")}


def top_foreign(summary: pl.DataFrame, side: str) -> pl.DataFrame:
    """The top 10 net buyers (``side="buy"``) or sellers (``"sell"``) by rank: rank, symbol, sector, net_bn,
    net_vol, room_used_pct."""
    rank = f"rank_net_{side}"
    return summary.filter(pl.col(rank).is_not_null()).sort(rank).select(
        pl.col(rank).alias("rank"), "symbol", "sector", (pl.col("net_val_vnd") / 1e9).alias("net_bn"), "net_vol",
        (pl.col("room_used") * 100).alias("room_used_pct"))


def cumulative_net_by_minute(flow: pl.DataFrame) -> pl.DataFrame:
    """minute, net_bn (market net foreign value in the minute), cum_net_bn (running sum), from ``foreign_flow``."""
    return (
        flow.group_by(pl.col("exch_time").dt.truncate("1m").alias("minute")).agg(pl.col("net_val_vnd").sum())
        .sort("minute")
        .select("minute", (pl.col("net_val_vnd") / 1e9).alias("net_bn"),
                (pl.col("net_val_vnd").cum_sum() / 1e9).alias("cum_net_bn"))
    )


def foreign_speed(flow: pl.DataFrame) -> pl.DataFrame:
    """Per symbol, the latest R row (arrival order): symbol, exch_time, speed_vol_per_min, accel_vol_per_min,
    cum_net_vol, room_used_pct; fastest (|speed|) first."""
    return (
        flow.sort("session", "seq").group_by("symbol", maintain_order=True).last()
        .select("symbol", "exch_time", "speed_vol_per_min", "accel_vol_per_min", "cum_net_vol",
                (pl.col("room_used") * 100).alias("room_used_pct"))
        .sort(pl.col("speed_vol_per_min").abs(), descending=True, nulls_last=True)
    )


# ----------------------------------------------------------------------------------------------------- volume


def phase_totals(stats: pl.DataFrame) -> pl.DataFrame:
    """Per phase (ato, continuous, atc, pt, in that order), summed over stocks (futures left out: contracts and
    shares do not add): phase, label, buy_volume, sell_volume, neutral_volume, buy_value_bn, sell_value_bn,
    active_buy_share_pct (buy / (buy + sell) of the volume)."""
    stocks = stats.filter(~pl.col("symbol").str.starts_with("VN30F") & (pl.col("phase") != "total"))
    order = list(PHASE_LABELS)
    out = stocks.group_by("phase").agg(
        pl.col("buy_volume", "sell_volume", "neutral_volume", "buy_value_vnd", "sell_value_vnd").sum())
    out = out.with_columns(pl.col("phase").replace_strict({p: i for i, p in enumerate(order)}, return_dtype=pl.Int32)
                           .alias("_o")).sort("_o")
    active = pl.col("buy_volume") + pl.col("sell_volume")
    return out.select(
        "phase", pl.col("phase").replace_strict(PHASE_LABELS, return_dtype=pl.String).alias("label"),
        "buy_volume", "sell_volume", "neutral_volume",
        (pl.col("buy_value_vnd") / 1e9).alias("buy_value_bn"), (pl.col("sell_value_vnd") / 1e9).alias("sell_value_bn"),
        pl.when(active > 0).then(pl.col("buy_volume") / active * 100).alias("active_buy_share_pct"),
    )


def per_symbol_sides(stats: pl.DataFrame, phase: str) -> pl.DataFrame:
    """One row per symbol of ``phase`` (or ``total``): symbol, volume, buy/sell/neutral volume, active buy and
    sell share of the volume (percent), buy - sell volume; by volume."""
    s = stats.filter(pl.col("phase") == phase)
    vol = pl.col("volume")
    return s.select(
        "symbol", "volume", "buy_volume", "sell_volume", "neutral_volume",
        pl.when(vol > 0).then(pl.col("buy_volume") / vol * 100).alias("buy_pct"),
        pl.when(vol > 0).then(pl.col("sell_volume") / vol * 100).alias("sell_pct"),
        (pl.col("buy_volume") - pl.col("sell_volume")).alias("net_active_volume"),
    ).sort("volume", descending=True)


def vendor_agreement(trades: pl.DataFrame) -> pl.DataFrame:
    """Agreement of our aggressor side with the vendor's flag (SSI ``Side`` BU = buy, SD = sell), per phase and
    overall, as ``transforms.classify.vendor_agreement`` computes it for the report too.

    Returns phase, compared (trades), agree (trades), agree_pct, ours_neutral (trades we called neutral that the
    vendor flagged), rows ``total`` last; no row when nothing is flagged.
    """
    by_phase = classify.vendor_agreement(trades, ("phase",))
    total = classify.vendor_agreement(trades).with_columns(pl.lit("total").alias("phase"))
    out = pl.concat([by_phase, total.select(by_phase.columns)], how="vertical_relaxed")
    return out.select("phase", pl.col("n").alias("compared"), "agree", "agree_pct",
                      pl.col("neutral").alias("ours_neutral"))


# ------------------------------------------------------------------------------------------------ derivatives


def front_month_basis(basis: pl.DataFrame) -> pl.DataFrame:
    """The front-month contract's basis rows in arrival order."""
    return basis.filter(pl.col("is_front_month")).sort("session", "seq")


def basis_by_minute(rows: pl.DataFrame) -> pl.DataFrame:
    """minute, futures_price (last), spot (last), basis_pts (mean), basis_pct (mean), volume: per minute."""
    return rows.group_by(pl.col("exch_time").dt.truncate("1m").alias("minute"), maintain_order=True).agg(
        pl.col("futures_price").last(), pl.col("spot").last(), pl.col("basis_pts").mean(),
        pl.col("basis_pct").mean(), pl.col("volume").sum()).sort("minute")


def basis_trend(rows: pl.DataFrame, as_of: datetime, minutes: int = 30) -> dict[str, float | None]:
    """Basis trend over the last ``minutes`` before ``as_of`` and over the day (points per hour, least squares
    over the rows' exchange time), with the mean basis of each span."""
    def slope(df: pl.DataFrame) -> tuple[float | None, float | None]:
        if df.height < 2:
            return None, (df["basis_pts"].mean() if df.height else None)
        x = (df["exch_time"].dt.epoch("s") - df["exch_time"].dt.epoch("s").min()).cast(pl.Float64) / 3600
        y = df["basis_pts"]
        vx = ((x - x.mean()) ** 2).sum()
        s = None if vx == 0 else float(((x - x.mean()) * (y - y.mean())).sum() / vx)
        return s, float(y.mean())

    recent = rows.filter(pl.col("exch_time") > as_of - timedelta(minutes=minutes))
    s30, m30 = slope(recent)
    sday, mday = slope(rows)
    return {"slope_30m_pts_per_h": s30, "mean_30m_pts": m30, "slope_day_pts_per_h": sday, "mean_day_pts": mday}


def contracts(basis: pl.DataFrame) -> pl.DataFrame:
    """Per VN30F contract traded today: symbol, is_front_month, expiry, last_price, basis_pts (last), contracts."""
    rows = basis.sort("session", "seq").group_by("symbol", "is_front_month", maintain_order=True).agg(
        pl.col("futures_price").last().alias("last_price"), pl.col("basis_pts").last(),
        pl.col("volume").sum().alias("contracts")).sort("symbol")
    expiries = pl.Series("expiry", [expiry_of(s) for s in rows["symbol"]], dtype=pl.Date)
    return rows.insert_column(2, expiries)


def expiry_of(symbol: str) -> date | None:
    """Expiry of a ``VN30FYYMM`` contract (third Thursday rule, market/calendar.py); None if not that form."""
    try:
        yy, mm = int(symbol[5:7]), int(symbol[7:9])
    except (ValueError, IndexError):
        return None
    return futures_expiry(2000 + yy, mm) if 1 <= mm <= 12 else None


def convergence(rows: pl.DataFrame, day: date, symbol: str) -> dict[str, float | int | None]:
    """How far the basis has converged: days to expiry, |basis| now, at the day's first row, and the ratio.

    A futures contract settles at the VN30 value on expiry, so the basis tends to zero as expiry nears
    (convergence); ``ratio`` < 1 means the basis narrowed today.
    """
    exp = expiry_of(symbol)
    days_left = (exp - day).days if exp else None
    if not rows.height:
        return {"days_to_expiry": days_left, "abs_basis_now": None, "abs_basis_open": None, "ratio": None}
    now, first = abs(rows["basis_pts"][-1]), abs(rows["basis_pts"][0])
    return {"days_to_expiry": days_left, "abs_basis_now": now, "abs_basis_open": first,
            "ratio": (now / first) if first else None}


# ---------------------------------------------------------------------------------------------------- indices


def index_series(indices: pl.DataFrame, index_id: str) -> pl.DataFrame:
    """One index's rows in arrival order (``index_id`` compared case-insensitively)."""
    return indices.filter(pl.col("index_id").str.to_uppercase() == index_id.upper()).sort("session", "seq")


def latest_breadth(rows: pl.DataFrame) -> dict | None:
    """The last row (arrival order) that carries breadth (advances + declines + no_changes > 0), as a dict.

    *Decision*: the closing MI frame (15:00, session "C") may carry zero counts; the board keeps showing the
    breadth of the last frame that had any.
    """
    with_counts = rows.filter((pl.col("advances").fill_null(0) + pl.col("declines").fill_null(0)
                               + pl.col("no_changes").fill_null(0)) > 0)
    return with_counts.row(-1, named=True) if with_counts.height else None


# ----------------------------------------------------------------------------------------------------- alerts


def alert_counts(alerts: pl.DataFrame) -> pl.DataFrame:
    """alert_type, severity, alerts (count), symbols (distinct); most frequent first."""
    return alerts.group_by("alert_type", "severity").agg(pl.len().alias("alerts"),
                                                          pl.col("symbol").n_unique().alias("symbols")).sort(
        "alerts", "alert_type", descending=[True, False])
