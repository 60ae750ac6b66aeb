"""The scalar reference: raw frames -> every parsed and curated table, frame by frame.

The way the original per-message system worked: frames are visited once in arrival order ``(session, seq)``,
each payload is ``json.loads``-ed and dispatched on its DataType, per-symbol state lives in dicts, rows are
emitted as dicts. Polars is used only at the end, to build frames with the exact schemas of
``transforms.schemas``. It is the test oracle of the vectorized transforms (docs/analytics.md).
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from transforms import schemas
from market.calendar import front_month
from market.rules import FUTURES_PREFIX, round_half_up
from transforms.params import DEFAULT_PARAMS, AnalyticsParams
from transforms.reference.aggregates import BoardState, candles_1m, session_stats
from transforms.reference.alerts import BasisSigns, Cooldown, VolumeHistory, foreign_acceleration, price_breakout
from transforms.reference.foreign import ForeignFlow, by_sector
from transforms.reference.parse import Rejected, parse_payload
from transforms.reference.trades import TradeDeriver, stream_key

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _seconds(t: datetime) -> int:
    """Whole seconds of a naive exch_time since 1970-01-01 (local), for window arithmetic."""
    return (t.toordinal() - _EPOCH_ORDINAL) * 86400 + t.hour * 3600 + t.minute * 60 + t.second


def run_reference(
    raw: pl.DataFrame, trading_date: date, *, futures_override: str | None = None,
    params: AnalyticsParams = DEFAULT_PARAMS,
) -> dict[str, pl.DataFrame]:
    """Every parsed and curated table of one batch of raw frames, computed row by row.

    Parameters
    ----------
    raw : raw frame records (docs/architecture.md §3): session str, seq u64, recv_ns i64, data_type str (nullable),
        payload str, cursor str, source str. Any order; processed in ``(session, seq)`` order.
    trading_date : the lake partition date, used for frames without ``TradingDate``.
    futures_override : a VN30F contract to treat as the front month (``VNTRACK_FUTURES_OVERRIDE``).
    params : the analytics parameters (``transforms.params``), as for ``transforms.pipeline.run_day``.

    Returns
    -------
    dict of table name -> DataFrame: the parsed tables (``x_trade``, ``x_quote``, ``x``, ``foreign_room``,
    ``index``, ``bar``, ``status``, ``odd_lot``; schemas ``schemas.PARSED``), ``quarantine``
    (``schemas.QUARANTINE``) and every curated table of ``schemas.CURATED``.

    References: docs/analytics.md (every rule); docs/architecture.md §3-§5.
    """
    frames = sorted(
        zip(raw["session"].to_list(), raw["seq"].to_list(), raw["recv_ns"].to_list(),
            raw["data_type"].to_list(), raw["payload"].to_list()),
        key=lambda f: (f[0], f[1]),
    )
    # Pass 1: parse (rows keep arrival order) and note which channels each (day, symbol) has.
    parsed: dict[str, list[dict]] = {channel: [] for channel in schemas.PARSED}
    quarantine: list[dict] = []
    events: list[tuple[str, dict]] = []
    xtrade_days: set[tuple[date, str]] = set()
    x_days: set[tuple[date, str]] = set()
    for session, seq, recv_ns, data_type, payload in frames:
        try:
            channel, row = parse_payload(payload, trading_date)
        except Rejected as exc:
            quarantine.append({"session": session, "seq": seq, "recv_ns": recv_ns, "data_type": data_type,
                               "payload": payload, "reason": exc.reason})
            continue
        row["session"], row["seq"], row["recv_ns"] = session, seq, recv_ns
        parsed[channel].append(row)
        events.append((channel, row))
        if channel == "X-TRADE":
            xtrade_days.add((row["trading_date"], row["symbol"]))
        elif channel == "X":
            x_days.add((row["trading_date"], row["symbol"]))

    # Pass 2: the analytics, frame by frame.
    out = _Analytics(TradeDeriver(xtrade_days, x_days, params), params.basis.front_month or futures_override,
                     params)
    for channel, row in events:
        out.on_frame(channel, row)

    tables = {name: _frame(parsed[channel], schema) for channel, (name, schema) in schemas.PARSED.items()}
    tables["quarantine"] = _frame(quarantine, schemas.QUARANTINE)
    summary = out.foreign.summary()
    alerts = sorted(out.alerts, key=lambda a: (a["session"], a["seq"], a["alert_type"]))
    curated = {
        "trades": out.trades,
        "session_stats": session_stats(out.trades),
        "foreign_flow": out.foreign_rows,
        "foreign_summary": summary,
        "foreign_by_sector": by_sector(summary),
        "indices": out.indices,
        "basis": out.basis,
        "alerts": alerts,
        "candles_1m": candles_1m(out.trades),
        "board": out.board.rows(summary),
        "book_top": _book_top(parsed["X-QUOTE"], parsed["X"]),
    }
    for name, schema in schemas.CURATED.items():
        tables[name] = _frame(curated[name], schema)
    return tables


class _Analytics:
    """State of the curated tables while frames are visited in arrival order."""

    def __init__(self, deriver: TradeDeriver, futures_override: str | None,
                 params: AnalyticsParams = DEFAULT_PARAMS) -> None:
        self.deriver = deriver
        self.params = params
        a = params.alerts
        self.futures_override = futures_override
        self.trades: list[dict] = []
        self.foreign_rows: list[dict] = []
        self.indices: list[dict] = []
        self.basis: list[dict] = []
        self.alerts: list[dict] = []
        self.foreign = ForeignFlow(params)
        self.board = BoardState()
        self._trade_t_eff: dict[str, int] = {}
        self._basis_t_eff: dict[str, int] = {}
        self._volumes = VolumeHistory(a.volume_spike)
        self._signs = BasisSigns(a.basis_flip.deadband_pts)
        self._cooldown = Cooldown(a.cooldown_s)
        self._spot: float | None = None  # latest non-null VN30 IndexValue
        self._front_month: dict[date, str] = {}

    def on_frame(self, channel: str, row: dict) -> None:
        if channel == "X-TRADE":
            self._on_trade(self.deriver.on_x_trade(row), row)
        elif channel == "X":
            self._on_trade(self.deriver.on_x(row), row)
            self.board.on_book(row, is_x=True)
        elif channel == "X-QUOTE":
            self.deriver.on_x_quote(row)
            self.board.on_book(row, is_x=False)
        elif channel == "B":
            self._on_trade(self.deriver.on_bar(row), row)
        elif channel == "R":
            self._on_foreign(row)
        elif channel == "MI":
            self._on_index(row)

    # ------------------------------------------------------------------------------------------------ trades

    def _on_trade(self, trade: dict | None, row: dict) -> None:
        if trade is None:
            return
        trade = {"session": row["session"], "seq": row["seq"], **trade}
        self.trades.append(trade)
        self.board.on_trade(trade)
        key = stream_key(trade)
        t_s = _seconds(trade["exch_time"])
        t_eff = self._trade_t_eff.get(key)
        t_eff = t_s if t_eff is None or t_s > t_eff else t_eff
        self._trade_t_eff[key] = t_eff
        a = self.params.alerts
        if trade["phase"] == "continuous" and a.volume_spike.enabled:
            self._emit(self._volumes.check(key, t_eff, trade["volume"]), trade, key, t_eff)
        if trade["phase"] != "pt":
            if a.price_breakout.enabled:
                self._emit(price_breakout(trade["price"], trade["ceiling"], trade["floor"]), trade, key, t_eff)
            if trade["symbol"].upper().startswith(FUTURES_PREFIX):
                self._on_basis(trade)

    def _on_basis(self, trade: dict) -> None:
        spot = self._spot
        if spot is None:
            return
        day = trade["trading_date"]
        front = self._front_month.get(day)
        if front is None:
            front = self._front_month[day] = front_month(day, self.futures_override)
        basis_pts = trade["price"] - spot
        row = {
            "session": trade["session"],
            "seq": trade["seq"],
            "trading_date": day,
            "exch_time": trade["exch_time"],
            "symbol": trade["symbol"],
            "is_front_month": trade["symbol"] == front,
            "futures_price": trade["price"],
            "spot": spot,
            "basis_pts": basis_pts,
            "basis_pct": basis_pts / spot * 100 if spot != 0 else None,
            "premium": basis_pts > 0,
            "volume": trade["volume"],
        }
        self.basis.append(row)
        key = row["symbol"]
        t_s = _seconds(row["exch_time"])
        t_eff = self._basis_t_eff.get(key)
        t_eff = t_s if t_eff is None or t_s > t_eff else t_eff
        self._basis_t_eff[key] = t_eff
        if self.params.alerts.basis_flip.enabled:
            self._emit(self._signs.check(key, basis_pts), row, key, t_eff)

    # ------------------------------------------------------------------------------------- foreign, index

    def _on_foreign(self, row: dict) -> None:
        key = stream_key(row)
        flow, t_eff, level_prev, level_now = self.foreign.on_row(row, key, _seconds(row["exch_time"]))
        flow = {"session": row["session"], "seq": row["seq"], **flow}
        self.foreign_rows.append(flow)
        self.board.on_foreign(row)
        p = self.params.alerts.foreign_acceleration
        if p.enabled:
            self._emit(foreign_acceleration(level_now, level_prev, p), flow, key, t_eff)

    def _on_index(self, row: dict) -> None:
        value, prior = row["index_value"], row["prior_index_value"]
        change = value - prior if value is not None and prior is not None else None
        advances, declines = row["advances"], row["declines"]
        breadth = advances + declines if advances is not None and declines is not None else None
        total_value = row["total_value"]
        self.indices.append(
            {
                "session": row["session"],
                "seq": row["seq"],
                "trading_date": row["trading_date"],
                "exch_time": row["exch_time"],
                "index_id": row["index_id"],
                "value": value,
                "prior_value": prior,
                "change": change,
                "change_pct": change / prior * 100 if change is not None and prior != 0 else None,
                "advances": advances,
                "declines": declines,
                "no_changes": row["no_changes"],
                "ceilings": row["ceilings"],
                "floors": row["floors"],
                "advance_ratio": advances / breadth if breadth else None,
                "total_qtty": row["total_qtty"],
                "total_value_vnd": _round_half_up(total_value),
                "trading_session": row["trading_session"],
            }
        )
        if row["index_id"].upper() == "VN30" and value is not None:
            self._spot = value

    # ------------------------------------------------------------------------------------------------ alerts

    def _emit(self, candidate: dict | None, source_row: dict, key: str, t_eff: int) -> None:
        if candidate is None or not self._cooldown.admit(candidate["alert_type"], key, t_eff):
            return
        self.alerts.append(
            {
                "session": source_row["session"],
                "seq": source_row["seq"],
                "trading_date": source_row["trading_date"],
                "exch_time": source_row["exch_time"],
                "alert_type": candidate["alert_type"],
                "severity": candidate["severity"],
                "symbol": source_row["symbol"],
                "metric": candidate["metric"],
                "threshold": candidate["threshold"],
                "details": candidate["details"],
            }
        )


def _round_half_up(x: float | None) -> int | None:
    return round_half_up(x) if x is not None else None


def _book_top(x_quote: list[dict], x: list[dict]) -> list[dict]:
    """Level 1 of every X-QUOTE and X frame, in arrival order (docs/analytics.md, "Book top")."""
    rows = [{"session": r["session"], "seq": r["seq"], "trading_date": r["trading_date"],
             "exch_time": r["exch_time"], "symbol": r["symbol"], "exchange": r["exchange"], "source": source,
             "best_bid": r["bid_price_1"], "best_bid_vol": r["bid_vol_1"], "best_ask": r["ask_price_1"],
             "best_ask_vol": r["ask_vol_1"], "trading_session": r["trading_session"]}
            for source, frames in (("X-QUOTE", x_quote), ("X", x)) for r in frames]
    return sorted(rows, key=lambda r: (r["session"], r["seq"]))


def _frame(rows: list[dict], schema: pl.Schema) -> pl.DataFrame:
    """Rows (dicts holding at least the schema's columns) -> a frame with exactly ``schema``; Datetime columns
    are built naive (local exchange time) and then given the zone."""
    names = list(schema)
    naive = pl.Schema({n: (pl.Datetime("us") if isinstance(d, pl.Datetime) else d) for n, d in schema.items()})
    df = pl.DataFrame({n: pl.Series(n, [r[n] for r in rows], dtype=naive[n]) for n in names}, schema=naive)
    zoned = [pl.col(n).dt.replace_time_zone(d.time_zone) for n, d in schema.items()
             if isinstance(d, pl.Datetime) and d.time_zone]
    return df.with_columns(zoned) if zoned else df
